package bridge

import (
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// cutProxy forwards loopback TCP to a port and, while cutAfter is set,
// drops each of the first cuts connections after that many bytes from the
// server.
type cutProxy struct {
	port     int
	cutAfter int64
	cuts     int64
	conns    int64
}

func newCutProxy(t *testing.T, target int, cutAfter, cuts int64) *cutProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{port: l.Addr().(*net.TCPAddr).Port, cutAfter: cutAfter, cuts: cuts}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				s, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(target))
				if err != nil {
					return
				}
				defer s.Close()
				limit := atomic.LoadInt64(&p.cutAfter)
				if atomic.AddInt64(&p.conns, 1) > atomic.LoadInt64(&p.cuts) {
					limit = 0
				}
				go func() {
					io.Copy(s, c) //nolint:errcheck
					s.Close()     // the client left: end the server side too
				}()
				if limit > 0 {
					io.CopyN(c, s, limit) //nolint:errcheck
					return
				}
				io.Copy(c, s) //nolint:errcheck
			}()
		}
	}()
	return p
}
