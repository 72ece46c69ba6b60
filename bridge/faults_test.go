package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge/faultproxy"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storage"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// throughProxy points the fixture's SFTP connection at a fault proxy in
// front of its server.
func (f *fixture) throughProxy(t *testing.T) *faultproxy.Proxy {
	p := faultproxy.Start(t, f.srv.Addr.String())
	var cfg SFTPConfig
	json.Unmarshal(f.conn.Config, &cfg)
	cfg.Port = p.Port
	f.conn.Config, _ = json.Marshal(cfg)
	return p
}

// TestFaultSFTPSlowNarrowLink: 20 ms added to every chunk each way and a
// 256 KB/s cap; the pull is slow and right.
func TestFaultSFTPSlowNarrowLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := setup(t, s, SFTPConfig{Dir: "outbound"})
		f.drop(t, "census.csv", storetest.Census(8000)) // ~200 KB
		p := f.throughProxy(t)
		p.Latency(20 * time.Millisecond)
		p.Rate(256 << 10)
		run, results, err := f.bridge.Sync(context.Background(), f.conn, "manual")
		if err != nil || run.Status != schema.RunSucceeded || len(results) != 1 || results[0].File.Created != 8000 {
			t.Fatalf("sync over a slow link = %+v %+v %v", run, results, err)
		}
		if p.Bytes() < int64(len(storetest.Census(8000))) {
			t.Fatalf("only %d bytes went through the proxy", p.Bytes())
		}
	})
}

// TestFaultSFTPResetMidTransfer: the first connection is reset after 24
// KB of a ~200 KB file; the retry within the sync applies it once.
func TestFaultSFTPResetMidTransfer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := setup(t, s, SFTPConfig{Dir: "outbound"})
		f.bridge.cfg.Retries, f.bridge.cfg.RetryBase = 2, 20*time.Millisecond
		f.drop(t, "census.csv", storetest.Census(8000))
		p := f.throughProxy(t)
		p.ResetAfter(24<<10, 1)
		run, results, err := f.bridge.Sync(context.Background(), f.conn, "manual")
		if err != nil || run.Status != schema.RunSucceeded || len(results) != 1 || results[0].File.Created != 8000 || p.Conns() != 2 {
			t.Fatalf("sync with a reset = %+v %+v %v (%d connections)", run, results, err, p.Conns())
		}
		files, _ := s.Files(context.Background(), f.conn.TenantID, schema.ListQuery{Limit: 10})
		if len(files) != 1 {
			t.Fatalf("files = %d, want the one applied once", len(files))
		}
	})
}

// TestFaultSFTPStall: the server stops sending mid-transfer and keeps the
// connection open; the read timeout ends the pull as a transient failure
// with nothing applied, and the next sync, the link healed, applies the
// file once.
func TestFaultSFTPStall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := setup(t, s, SFTPConfig{Dir: "outbound"})
		f.bridge.cfg.Retries, f.bridge.cfg.IdleTimeout = -1, 2*time.Second
		f.drop(t, "census.csv", storetest.Census(8000))
		p := f.throughProxy(t)
		p.StallAfter(40 << 10)                                                // past the handshake and listing, into the file
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a speed bound
		defer cancel()
		_, _, err := f.bridge.Sync(ctx, f.conn, "manual")
		var se *SyncError
		if err == nil || !errors.As(err, &se) || !se.Transient || ctx.Err() != nil {
			t.Fatalf("stalled pull = %v (context %v), want a transient failure by the read timeout", err, ctx.Err())
		}
		if len(f.employees(t)) != 0 {
			t.Fatal("a stalled pull applied rows")
		}
		p.Stall(false)
		f.bridge.cfg.IdleTimeout = time.Minute
		_, results, err := f.bridge.Sync(context.Background(), f.conn, "manual")
		if err != nil || len(results) != 1 || results[0].File.Created != 8000 {
			t.Fatalf("after the stall = %+v %v", results, err)
		}
	})
}

// TestSFTPIdleDuringLongApply: the file's apply takes longer than the
// read timeout while the SFTP connection waits, healthy but silent, for
// the acknowledgement. Keepalives (a request every third of the timeout,
// answered by the server) keep it alive: the file is archived right after
// its commit. A stalled server answers none, so the timeout still ends it
// (TestFaultSFTPStall).
func TestSFTPIdleDuringLongApply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := setup(t, s, SFTPConfig{Dir: "outbound", Ack: "archive", ArchiveDir: "archive"})
		os.MkdirAll(filepath.Join(f.srv.Root, "archive"), 0o755)
		f.bridge.cfg.Retries, f.bridge.cfg.IdleTimeout = -1, 2*time.Second
		f.bridge.cfg.Checkpoint = func(point string) {
			if point == "before-commit" {
				time.Sleep(5 * time.Second) // an apply longer than the read timeout
			}
		}
		f.drop(t, "census.csv", storetest.Census(100))
		run, _, err := f.bridge.Sync(context.Background(), f.conn, "manual")
		if err != nil || run.Status != schema.RunSucceeded {
			t.Fatalf("sync = %+v %v", run, err)
		}
		if _, err := os.Stat(filepath.Join(f.srv.Root, "archive", "census.csv")); err != nil {
			t.Fatalf("not archived after a long apply: %v", err)
		}
	})
}

// TestFaultPostgresCutMidIngest: every connection to PostgreSQL is reset
// halfway through applying a file (a restart, as the client sees it): the
// ingest fails and applies nothing; applied again once the database is
// back, the file applies exactly once: every person once, one creation
// event each.
func TestFaultPostgresCutMidIngest(t *testing.T) {
	base, err := url.Parse(storetest.URL(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	p := faultproxy.Start(t, base.Host)
	via := *base
	via.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port))
	ctx := context.Background()
	s, err := storage.Open(ctx, via.String(), storetest.Box(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := newIngest(t, s, "census-csv", Policy{})
	// A first file makes the connection's baseline: the big one then
	// announces each new person.
	first := "Employee ID,First Name,Last Name,Status\nB1,Base,Line,A\n"
	if _, err := f.bridge.IngestReader(ctx, f.conn, "first.csv", strings.NewReader(first)); err != nil {
		t.Fatal(err)
	}
	f.bridge.cfg.Checkpoint = func(point string) {
		if point == "row-5000" {
			p.Cut()
		}
	}
	body := storetest.Census(20000) + "B1,Base,Line,A\n"
	_, err = f.bridge.IngestReader(ctx, f.conn, "census.csv", strings.NewReader(body))
	if err == nil {
		t.Fatal("an ingest whose database went away succeeded")
	}
	if es, _ := s.Employees(ctx, f.conn.TenantID, schema.EmployeeQuery{Limit: 10}); len(es) != 1 {
		t.Fatalf("a cut ingest left %d people, want only the baseline's one", len(es))
	}
	f.bridge.cfg.Checkpoint = nil
	res, err := f.bridge.IngestReader(ctx, f.conn, "census.csv", strings.NewReader(body))
	if err != nil || res.File.Status != schema.FileApplied || res.File.Created != 20000 {
		t.Fatalf("the retry = %+v %v", res.File, err)
	}
	n, events := storetest.Tally(t, s, f.conn.TenantID)
	hires := events[schema.EventEmployeeHired]
	if n != 20001 || p.Conns() < 2 {
		t.Fatalf("people = %d (want 20001), connections = %d", n, p.Conns())
	}
	if hires != 20000 {
		t.Fatalf("hire events = %d, want one per new person", hires)
	}
}

// smallDisk mounts a tmpfs of size bytes for the test (root only) and
// returns its path and a func that resizes it.
func smallDisk(t *testing.T, size int) (string, func(int)) {
	dir := t.TempDir()
	mount := func(opts string) error {
		return exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).Run()
	}
	if err := mount("size=" + strconv.Itoa(size)); err != nil {
		if os.Getenv("CI") == "true" && os.Geteuid() == 0 {
			t.Fatalf("mount a tmpfs: %v", err)
		}
		t.Skipf("a full disk is simulated with a small tmpfs, which needs root: %v", err)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() }) //nolint:errcheck
	return dir, func(n int) {
		if err := exec.Command("mount", "-o", "remount,size="+strconv.Itoa(n), dir).Run(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFaultDiskFull: the spool, then the files directory, fills up (a
// 256 KB tmpfs and a ~500 KB file): the sync fails with the system's
// error, nothing is applied or recorded as applied, and the remote file
// is not acknowledged (not archived); with room again, the next sync
// applies it once and archives it.
func TestFaultDiskFull(t *testing.T) {
	for _, where := range []string{"spool", "files"} {
		t.Run(where, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s schema.Store) {
				f := setup(t, s, SFTPConfig{Dir: "outbound", Ack: "archive", ArchiveDir: "archive"})
				disk, resize := smallDisk(t, 256<<10)
				cfg := f.bridge.cfg
				if where == "spool" {
					cfg.SpoolDir = disk
				} else {
					cfg.FilesDir = disk
				}
				cfg.Retries = -1
				b, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				f.drop(t, "census.csv", storetest.Census(20000))
				_, _, err = b.Sync(context.Background(), f.conn, "manual")
				if err == nil || !strings.Contains(err.Error(), "no space left on device") {
					t.Fatalf("sync onto a full %s = %v, want the system's no space error", where, err)
				}
				if len(f.employees(t)) != 0 {
					t.Fatal("rows applied from a file that could not be kept")
				}
				if files, _ := s.Files(context.Background(), f.conn.TenantID, schema.ListQuery{Limit: 10}); len(files) != 0 {
					t.Fatalf("files recorded: %+v", files)
				}
				if _, err := os.Stat(filepath.Join(f.srv.Root, "outbound", "census.csv")); err != nil {
					t.Fatalf("the remote file was acknowledged: %v", err)
				}
				resize(16 << 20)
				_, results, err := b.Sync(context.Background(), f.conn, "manual")
				if err != nil || len(results) != 1 || results[0].File.Created != 20000 {
					t.Fatalf("with room again = %+v %v", results, err)
				}
				if _, err := os.Stat(filepath.Join(f.srv.Root, "archive", "census.csv")); err != nil {
					t.Fatalf("not archived after the apply: %v", err)
				}
			})
		})
	}
}
