// Package faultproxy is a TCP proxy on loopback that puts network faults
// between hrisbridge and a peer in tests: latency, a bandwidth cap, a
// reset after some bytes, a stall that sends nothing while keeping the
// connection open, a peer that is down, and cutting every connection at
// once (a database restart as the client sees it). Faults change while
// connections are open.
package faultproxy

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards connections from Addr to a target.
type Proxy struct {
	// Addr is the proxy's listen address (127.0.0.1:port); Port its port.
	Addr string
	Port int

	target     string
	latency    atomic.Int64 // added to every chunk, each way (ns)
	rate       atomic.Int64 // bytes per second each way; 0 unlimited
	resetAfter atomic.Int64 // reset a connection after this many bytes from the target
	resets     atomic.Int64 // how many more connections resetAfter applies to
	stallAfter atomic.Int64 // from the target, forward this many bytes then nothing
	stalled    atomic.Bool
	down       atomic.Bool
	conns      atomic.Int64
	bytes      atomic.Int64

	mu     sync.Mutex
	active map[net.Conn]struct{}
	wake   chan struct{} // closed and replaced when a stall ends
}

// Start listens on a free loopback port and forwards to target
// (host:port) until the test ends.
func Start(t testing.TB, target string) *Proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), Port: l.Addr().(*net.TCPAddr).Port, target: target, active: map[net.Conn]struct{}{}, wake: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		p.Cut()
		p.Stall(false)
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); p.serve(c) }()
		}
	}()
	return p
}

// Latency adds d to every chunk forwarded, each way.
func (p *Proxy) Latency(d time.Duration) { p.latency.Store(int64(d)) }

// Rate caps each direction of each connection at bytesPerSecond (0: no
// cap).
func (p *Proxy) Rate(bytesPerSecond int64) { p.rate.Store(bytesPerSecond) }

// ResetAfter resets the next count connections (negative: all) once n
// bytes came from the target; n = 0 turns it off.
func (p *Proxy) ResetAfter(n, count int64) { p.resetAfter.Store(n); p.resets.Store(count) }

// StallAfter forwards n bytes of each connection from the target, then
// nothing, with the connection left open, until Stall(false).
func (p *Proxy) StallAfter(n int64) { p.stallAfter.Store(n); p.stalled.Store(true) }

// Stall stops (true) or resumes (false) forwarding on every connection.
func (p *Proxy) Stall(on bool) {
	p.stalled.Store(on)
	if !on {
		p.stallAfter.Store(0)
		p.mu.Lock()
		close(p.wake)
		p.wake = make(chan struct{})
		p.mu.Unlock()
	}
}

// Down makes the peer unreachable (new connections are reset at once) or
// reachable again.
func (p *Proxy) Down(on bool) { p.down.Store(on) }

// Cut resets every open connection now.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.active {
		reset(c)
	}
}

// Conns is how many connections the proxy accepted; Bytes how many bytes
// it forwarded from the target.
func (p *Proxy) Conns() int64 { return p.conns.Load() }
func (p *Proxy) Bytes() int64 { return p.bytes.Load() }

func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0) //nolint:errcheck // close sends RST
	}
	c.Close()
}

func (p *Proxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.active[c] = struct{}{}
	} else {
		delete(p.active, c)
	}
}

func (p *Proxy) serve(c net.Conn) {
	p.conns.Add(1)
	if p.down.Load() {
		reset(c)
		return
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		reset(c)
		return
	}
	p.track(c, true)
	p.track(s, true)
	defer func() { p.track(c, false); p.track(s, false); c.Close(); s.Close() }()
	var limit int64 = -1
	if n := p.resetAfter.Load(); n > 0 && (p.resets.Load() < 0 || p.resets.Add(-1) >= 0) {
		limit = n
	}
	done := make(chan struct{})
	go func() {
		p.pipe(s, c, -1, false) // client to target
		s.Close()
		close(done)
	}()
	if p.pipe(c, s, limit, true) {
		reset(c)
		reset(s)
	}
	c.Close()
	<-done
}

// pipe copies src to dst with the faults; it reports whether it stopped
// because the connection is to be reset.
func (p *Proxy) pipe(dst, src net.Conn, limit int64, fromTarget bool) bool {
	buf := make([]byte, 16<<10)
	var sent int64
	for {
		n, err := src.Read(buf)
		for n > 0 {
			chunk := buf[:n]
			if fromTarget {
				if after := p.stallAfter.Load(); p.stalled.Load() && (after == 0 || sent >= after) {
					p.waitUnstall()
					continue
				} else if p.stalled.Load() && after > 0 && sent+int64(len(chunk)) > after {
					chunk = chunk[:after-sent]
				}
				if limit >= 0 && sent+int64(len(chunk)) >= limit {
					dst.Write(chunk[:limit-sent]) //nolint:errcheck
					return true
				}
			}
			if d := p.latency.Load(); d > 0 {
				time.Sleep(time.Duration(d))
			}
			if r := p.rate.Load(); r > 0 {
				time.Sleep(time.Duration(int64(len(chunk)) * int64(time.Second) / r))
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return false
			}
			sent += int64(len(chunk))
			if fromTarget {
				p.bytes.Add(int64(len(chunk)))
			}
			copy(buf, buf[len(chunk):n])
			n -= len(chunk)
		}
		if err != nil {
			return false
		}
	}
}

func (p *Proxy) waitUnstall() {
	p.mu.Lock()
	w := p.wake
	p.mu.Unlock()
	if p.stalled.Load() {
		<-w
	}
}
