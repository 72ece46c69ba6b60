package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storage"
)

// TestPoisonPillIsRejectedInBoundedMemory ingests, in a real process, a
// small gzip that unpacks to a header and one line of 256 MB without a
// newline: the file is rejected with E_TOO_LARGE, the process stays far
// below the line's size, and no decoded temporary is left behind.
func TestPoisonPillIsRejectedInBoundedMemory(t *testing.T) {
	skipProcesses(t)
	dir := sqliteEnv(t)
	if _, err := runCLI(t, "tenants", "create", "acme"); err != nil {
		t.Fatal(err)
	}
	pill := filepath.Join(dir, "census.csv.gz")
	f, _ := os.Create(pill)
	zw := gzip.NewWriter(f)
	zw.Write([]byte("Employee ID,First Name,Last Name,Status\nE1,"))
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for range 256 {
		zw.Write(chunk)
	}
	zw.Close()
	f.Close()
	cmd := exec.Command(os.Args[0], "ingest", "--tenant", "acme", "--layout", "census-csv", "--json", pill)
	cmd.Env = append(os.Environ(), "HRISBRIDGE_TEST_MAIN=1", "HRISBRIDGE_LOG_LEVEL=error")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child's own peak, read from /proc while it runs: its rusage
	// would not do, as a child started with CLONE_VM (as Go starts them)
	// inherits the parent's high-water mark, and this test binary is large
	// by the time this test runs.
	var peakKB atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if kb := int64(peakRSSMB(strconv.Itoa(cmd.Process.Pid)) * 1024); kb > peakKB.Load() {
				peakKB.Store(kb)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	cmd.Wait() //nolint:errcheck // the exit code is another test's; the outcome is read below
	close(stop)
	<-sampled
	var rep ingestReport
	if err := json.Unmarshal([]byte(lastLine(out.String())), &rep); err != nil {
		t.Fatalf("ingest output %q: %v", out.String(), err)
	}
	if rep.Status != schema.FileRejected {
		t.Fatalf("poison pill = %+v, want rejected", rep)
	}
	errs, _ := runCLI(t, "files", "errors", "--tenant", "acme", rep.FileID)
	if !strings.Contains(errs, schema.ECodeTooLarge) {
		t.Fatalf("errors of the poison pill:\n%s", errs)
	}
	rss := peakKB.Load()
	if rss == 0 {
		t.Fatal("the child's memory was never sampled")
	}
	if rss > 200<<10 {
		t.Fatalf("the process peaked at %d MB reading a 256 MB line; the line limit did not bound it", rss>>10)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "spool", "decoded-*")); len(left) > 0 {
		t.Fatalf("decoded temporaries left behind: %v", left)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestKilledPutAppliesNothing kills a real server with SIGKILL while a
// drop box upload is half written, and starts it again: the half file is
// never applied (not at the kill, not at the restart), and its temporary
// is removed.
func TestKilledPutAppliesNothing(t *testing.T) {
	skipProcesses(t)
	dir, _ := withDropboxLogin(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "serve")
		cmd.Env = append(os.Environ(), "HRISBRIDGE_TEST_MAIN=1", "HRISBRIDGE_LOG_LEVEL=warn", "HRISBRIDGE_ADDR=127.0.0.1:0", "HRISBRIDGE_SFTP_ADDR="+addr)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
		return cmd
	}
	// The server generates its host key at first start, here: pinned.
	hostKey, err := bridge.HostKey(filepath.Join(dir, "ssh_host_ed25519_key"))
	if err != nil {
		t.Fatal(err)
	}
	dial := func() (*ssh.Client, error) {
		var err error
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			var c *ssh.Client
			c, err = ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "acme-hr", Auth: []ssh.AuthMethod{ssh.Password("hunter22")},
				HostKeyCallback: ssh.FixedHostKey(hostKey.PublicKey())})
			if err == nil {
				return c, nil
			}
		}
		return nil, err
	}
	srv := start()
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sc.Create("census_20261201.csv")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.WriteString("Employee ID,First Name,Last Name,Status\n")
	for i := range 2000 {
		fmt.Fprintf(&body, "E%05d,Ann,Lee,A\n", i)
	}
	half := body.Bytes()[:body.Len()/2]
	if _, err := w.Write(half); err != nil {
		t.Fatal(err)
	}
	// The bytes reached the server (a round trip after the writes).
	if _, err := sc.Getwd(); err != nil {
		t.Fatal(err)
	}
	srv.Process.Kill() //nolint:errcheck
	srv.Wait()         //nolint:errcheck
	c.Close()
	start()
	c2, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	time.Sleep(500 * time.Millisecond) // the inbox's first scan runs at start
	s, err := storage.Open(context.Background(), os.Getenv("HRISBRIDGE_DATABASE_URL"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tn, _ := s.TenantBySlug(context.Background(), "acme")
	if files, _ := s.Files(context.Background(), tn.ID, schema.ListQuery{Limit: 10}); len(files) != 0 {
		t.Fatalf("a half-written upload was recorded: %+v", files)
	}
	var left []string
	filepath.WalkDir(filepath.Join(dir, "dropbox"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "inbox" {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Fatalf("the inbox kept the half upload: %v", left)
	}
}
