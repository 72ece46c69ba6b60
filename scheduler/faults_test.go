package scheduler

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
	"github.com/hrisbridge/hrisbridge/schema/storage"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestFaultPostgresRestartMidIngest: the PostgreSQL server itself goes
// down (an immediate stop, as in a crash: every backend killed, no
// checkpoint) while a sync job is at row 5,000 of a 20,000-row file, and
// comes back two seconds later, recovering from its WAL. The attempt
// fails and nothing of the file is applied; River retries the job on the
// restarted server; the file is applied exactly once: 20,001 people,
// 20,000 hire events, one applied file, the remote file archived, and the
// run shows the attempt that failed and the one that succeeded.
func TestFaultPostgresRestartMidIngest(t *testing.T) {
	pg := pgtest.Own(t)
	ctx := context.Background()
	s, err := storage.Open(ctx, pg.URL, storetest.Box(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var armed atomic.Bool
	var mu sync.Mutex
	var settled []schema.SyncRun // every attempt's outcome, as the bridge settled it
	restarted := make(chan error, 1)
	f := startJobs(t, s, "", bridge.SFTPConfig{Ack: "archive", ArchiveDir: "archive"}, func(b *bridge.Config, j *Config) {
		b.Checkpoint = func(point string) {
			if point != "row-5000" || !armed.CompareAndSwap(true, false) {
				return
			}
			if err := pg.Kill(); err != nil {
				restarted <- err
				return
			}
			go func() {
				time.Sleep(2 * time.Second)
				restarted <- pg.Start()
			}()
		}
		b.ObserveRun = func(r schema.SyncRun) {
			mu.Lock()
			settled = append(settled, r)
			mu.Unlock()
		}
		// A lease that outlives the test: the retry can only start if the
		// failed attempt released it once the server was back.
		b.LeaseTTL = 10 * time.Minute
		j.MaxAttempts = 5
		j.RetryBase = 500 * time.Millisecond
	})
	os.MkdirAll(filepath.Join(f.srv.Root, "archive"), 0o755)

	// A first file makes the connection's baseline: the big one then
	// announces each new person.
	f.drop(t, "first.csv", "Employee ID,First Name,Last Name,Status\nB1,Base,Line,A\n")
	run, err := f.jobs.EnqueueSync(ctx, f.conn, "")
	if err != nil {
		t.Fatal(err)
	}
	if r := f.waitRun(t, run.ID); r.Status != schema.RunSucceeded {
		t.Fatalf("baseline run = %+v", r)
	}

	f.drop(t, "census.csv", storetest.Census(20000)+"B1,Base,Line,A\n")
	armed.Store(true)
	run, err = f.jobs.EnqueueSync(ctx, f.conn, "")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-restarted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the sync never reached row 5,000")
	}
	var r schema.SyncRun
	storetest.WaitUntil(t, 60*time.Second, func() bool {
		var err error
		r, err = f.store.SyncRun(ctx, f.conn.TenantID, run.ID)
		return err == nil && (r.Status == schema.RunSucceeded || r.Status == schema.RunFailed)
	}, "run still %s after the restart", &r.Status)
	if r.Status != schema.RunSucceeded || r.Attempt < 2 {
		t.Fatalf("run after the restart = %+v; want succeeded on a later attempt", r)
	}
	mu.Lock()
	first := settled[1] // [0] is the baseline's
	mu.Unlock()
	if first.Status != schema.RunRetrying || first.ErrorCode != schema.ECodeStore {
		t.Fatalf("the attempt cut by the restart settled as %s %s (%s); want retrying with %s", first.Status, first.ErrorCode, first.Error, schema.ECodeStore)
	}

	files, err := s.Files(ctx, f.conn.TenantID, schema.ListQuery{ConnectionID: f.conn.ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, fl := range files {
		if fl.Name == "census.csv" && fl.Status == schema.FileApplied {
			applied++
			if fl.Created != 20000 {
				t.Errorf("census.csv created %d, want 20000", fl.Created)
			}
		}
	}
	if applied != 1 {
		t.Fatalf("census.csv applied %d times; files: %+v", applied, files)
	}
	people, events := storetest.Tally(t, s, f.conn.TenantID)
	hires := events[schema.EventEmployeeHired]
	if people != 20001 || hires != 20000 {
		t.Fatalf("people = %d (want 20001), hire events = %d (want 20000)", people, hires)
	}
	if _, err := os.Stat(filepath.Join(f.srv.Root, "archive", "census.csv")); err != nil {
		t.Errorf("the applied file was not archived: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.srv.Root, "outbound", "census.csv")); err == nil {
		t.Error("the applied file is still in the drop folder")
	}
}
