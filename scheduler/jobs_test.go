package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storage"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
	"github.com/riverqueue/river"
)

const census = "Employee ID,First Name,Last Name,DOB,SSN,Status,Hire Date,Term Date\n" +
	"E1,Ada,Lovelace,12/10/1985,123-45-6789,A,2020-01-06,\n" +
	"E2,Bob,Smith,1/2/1970,234-56-7890,T,20100301,20261031\n"

type jobsFixture struct {
	store schema.Store
	jobs  *Jobs
	b     *bridge.Bridge
	srv   *sftpd.TestServer
	conn  schema.Connection
	box   schema.Sealer
}

// startJobs runs the job system on s against a real SFTP server, with
// short waits so retries happen within the test.
func startJobs(t *testing.T, s schema.Store, schedule string, cfg bridge.SFTPConfig, tweak ...func(*bridge.Config, *Config)) *jobsFixture {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "outbound"), 0o755)
	srv := sftpd.StartTest(t, root)
	box := storetest.Box(t)
	spool := t.TempDir()
	bcfg := bridge.Config{Store: s, Box: box, SpoolDir: spool, Retries: -1, Logger: slog.New(slog.DiscardHandler)}
	jcfg := Config{Store: s, Queue: func(ctx context.Context, rc *river.Config) (Queue, error) {
		return storage.NewJobQueue(ctx, s, rc)
	}, Logger: slog.New(slog.DiscardHandler), MaxAttempts: 2, RetryBase: 100 * time.Millisecond,
		PlanEvery: 100 * time.Millisecond, Busy: 100 * time.Millisecond}
	for _, fn := range tweak {
		fn(&bcfg, &jcfg)
	}
	b, err := bridge.New(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	tn := schema.Tenant{Slug: "acme", Name: "Acme"}
	if err := s.CreateTenant(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.User, cfg.Dir, cfg.StableFor = "127.0.0.1", srv.User, "outbound", "0s"
	if cfg.Port == 0 {
		cfg.Port = srv.Addr.Port
	}
	cfg.HostKey = ssh.FingerprintSHA256(srv.HostKey)
	raw, _ := json.Marshal(cfg)
	secret, _ := box.Seal([]byte(`{"password":"` + srv.Password + `"}`))
	conn := schema.Connection{TenantID: tn.ID, Name: "payroll", Kind: schema.ConnSFTP, Layout: "census-csv", Schedule: schedule, Config: raw, Secret: secret, Enabled: true}
	if err := s.CreateConnection(ctx, &conn); err != nil {
		t.Fatal(err)
	}
	jcfg.Bridge = b
	j, err := New(ctx, jcfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- j.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Jobs.Run: %v", err)
		}
	})
	return &jobsFixture{store: s, jobs: j, b: b, srv: srv, conn: conn, box: box}
}

func (f *jobsFixture) drop(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.srv.Root, "outbound", name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lazy formats as what it returns when formatted.
type lazy func() string

func (l lazy) String() string { return l() }

// waitRun waits until the run reaches a final status.
func (f *jobsFixture) waitRun(t *testing.T, id string) schema.SyncRun {
	t.Helper()
	return f.waitRunOf(t, f.conn.TenantID, id)
}

// waitRunOf waits until a tenant's run reaches a final status.
func (f *jobsFixture) waitRunOf(t *testing.T, tenantID, id string) schema.SyncRun {
	t.Helper()
	var r schema.SyncRun
	storetest.WaitUntil(t, 30*time.Second, func() bool {
		var err error
		if r, err = f.store.SyncRun(context.Background(), tenantID, id); err != nil {
			t.Fatal(err)
		}
		return r.Status == schema.RunSucceeded || r.Status == schema.RunFailed
	}, "run %s still %s", id, lazy(func() string { return r.Status }))
	return r
}

// waitHealth waits for a connection's health (it is updated just after
// its run is finished).
func (f *jobsFixture) waitHealth(t *testing.T, c schema.Connection, state string) schema.Health {
	t.Helper()
	var cur schema.Connection
	storetest.WaitUntil(t, 10*time.Second, func() bool {
		var err error
		if cur, err = f.store.Connection(context.Background(), c.TenantID, c.ID); err != nil {
			t.Fatal(err)
		}
		return cur.Health.State == state
	}, "connection health is not %s", state)
	return cur.Health
}

func (f *jobsFixture) runs(t *testing.T) []schema.SyncRun {
	t.Helper()
	rs, err := f.store.SyncRuns(context.Background(), f.conn.TenantID, schema.ListQuery{Limit: 100, ConnectionID: f.conn.ID})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func eventTypes(t *testing.T, s schema.Store, tenantID string) []string {
	t.Helper()
	es, err := s.Events(context.Background(), tenantID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// TestScheduledSyncsRunAsJobs: a connection on @every 1s syncs by itself
// through River, one job and one run per tick, and picks a dropped file up.
func TestScheduledSyncsRunAsJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := startJobs(t, s, "@every 1s", bridge.SFTPConfig{})
		f.drop(t, "census.csv", census)
		deadline := time.Now().Add(30 * time.Second)
		for {
			var ok, withFile int
			for _, r := range f.runs(t) {
				if r.Status == schema.RunSucceeded && r.Trigger == schema.TriggerScheduled && r.JobID != 0 && r.ScheduledFor != nil {
					ok++
					withFile += r.Files
				}
			}
			if ok >= 3 && withFile == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 30s: %d scheduled runs succeeded, %d files taken; runs: %+v", ok, withFile, f.runs(t))
			}
			time.Sleep(100 * time.Millisecond)
		}
		ticks := map[time.Time]int{}
		for _, r := range f.runs(t) {
			if r.ScheduledFor != nil {
				ticks[*r.ScheduledFor]++
			}
		}
		for tick, n := range ticks {
			if n != 1 {
				t.Errorf("tick %s has %d runs", tick, n)
			}
		}
		es, _ := s.Employees(context.Background(), f.conn.TenantID, schema.EmployeeQuery{Limit: 10})
		if len(es) != 2 {
			t.Fatalf("%d employees after the scheduled pull; want 2", len(es))
		}
	})
}

// TestManualSyncRetriesThenFails: a manual trigger queues a job whose run
// shows queued, then retrying after a transient failure, then failed with
// the last error once attempts run out; the connection turns unhealthy
// and recovers with an event each when a later sync succeeds.
func TestManualSyncRetriesThenFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		l, _ := (&netListen{}).closedPort(t)
		f := startJobs(t, s, "", bridge.SFTPConfig{Port: l})
		ctx := context.Background()
		run, err := f.jobs.EnqueueSync(ctx, f.conn, "")
		// A worker may have taken the job, and failed its first attempt,
		// before EnqueueSync reads the run back.
		if err != nil || run.ID == "" || run.JobID == 0 || (run.Status != schema.RunQueued && run.Status != schema.RunRunning && run.Status != schema.RunRetrying) {
			t.Fatalf("EnqueueSync = %+v, %v", run, err)
		}
		got := f.waitRun(t, run.ID)
		if got.Status != schema.RunFailed || got.Attempt != 2 || got.ErrorCode != schema.ECodeSFTPDial || got.Trigger != schema.TriggerManual {
			t.Fatalf("run = %+v; want failed after 2 attempts with E_SFTP_DIAL", got)
		}
		if h := f.waitHealth(t, f.conn, schema.HealthDegraded); h.State != schema.HealthDegraded || h.Code != schema.ECodeSFTPDial || h.Fix == "" {
			t.Fatalf("health after a failed job = %+v", h)
		}
		c, _ := s.Connection(ctx, f.conn.TenantID, f.conn.ID)
		// Point the connection at the live server: the next sync recovers.
		var cfg bridge.SFTPConfig
		json.Unmarshal(c.Config, &cfg)
		cfg.Port = f.srv.Addr.Port
		raw, _ := json.Marshal(cfg)
		if err := s.UpdateConnectionConfig(ctx, c.TenantID, c.ID, raw); err != nil {
			t.Fatal(err)
		}
		c.Config = raw
		run, err = f.jobs.EnqueueSync(ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := f.waitRun(t, run.ID); got.Status != schema.RunSucceeded || got.Attempt != 1 {
			t.Fatalf("run = %+v", got)
		}
		f.waitHealth(t, c, schema.HealthHealthy)
		types := eventTypes(t, s, c.TenantID)
		if count(types, "connection.unhealthy") != 1 || count(types, "connection.recovered") != 1 {
			t.Fatalf("events = %v; want one unhealthy and one recovered", types)
		}
		// One sync.failed for the job (not one per attempt), one sync.completed.
		if count(types, "sync.failed") != 1 || count(types, "sync.completed") != 1 {
			t.Fatalf("events = %v; want one sync.failed and one sync.completed", types)
		}
	})
}

// TestAuthFailureIsPermanent: a refused login is not retried: the run
// fails at its first attempt and the connection is failing at once.
func TestAuthFailureIsPermanent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := startJobs(t, s, "", bridge.SFTPConfig{})
		ctx := context.Background()
		wrong, _ := f.box.Seal([]byte(`{"password":"wrong"}`))
		c := f.conn
		c.Secret = wrong
		if err := s.CreateConnection(ctx, &c); err == nil {
			t.Fatal("duplicate connection name accepted")
		}
		c.Name = "payroll-wrong-password"
		if err := s.CreateConnection(ctx, &c); err != nil {
			t.Fatal(err)
		}
		f.conn = c
		run, err := f.jobs.EnqueueSync(ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		got := f.waitRun(t, run.ID)
		if got.Status != schema.RunFailed || got.Attempt != 1 || got.ErrorCode != schema.ECodeSFTPAuth {
			t.Fatalf("run = %+v; want failed at attempt 1 with E_SFTP_AUTH", got)
		}
		if h := f.waitHealth(t, c, schema.HealthFailing); h.State != schema.HealthFailing || h.Code != schema.ECodeSFTPAuth {
			t.Fatalf("health = %+v; want failing", h)
		}
	})
}

// TestReplayRerunsKeptBytes: a file applied under one layout override is
// replayed after the override changes; only the records it now reads
// differently are written, and the replay is its own run.
func TestReplayRerunsKeptBytes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := startJobs(t, s, "", bridge.SFTPConfig{})
		ctx := context.Background()
		f.drop(t, "census.csv", census)
		run, _ := f.jobs.EnqueueSync(ctx, f.conn, "")
		if got := f.waitRun(t, run.ID); got.Status != schema.RunSucceeded || got.Files != 1 {
			t.Fatalf("sync = %+v", got)
		}
		files, _ := s.Files(ctx, f.conn.TenantID, schema.ListQuery{Limit: 10})
		if len(files) != 1 || files[0].Status != schema.FileApplied {
			t.Fatalf("files = %+v", files)
		}
		orig := files[0]
		// Remove the file from the server: the replay must use kept bytes.
		os.Remove(filepath.Join(f.srv.Root, "outbound", "census.csv"))
		replay, err := f.jobs.EnqueueReplay(ctx, orig.TenantID, orig.ID)
		if err != nil || replay.Trigger != schema.TriggerReplay || replay.FileID != orig.ID {
			t.Fatalf("EnqueueReplay = %+v, %v", replay, err)
		}
		if got := f.waitRun(t, replay.ID); got.Status != schema.RunSucceeded || got.Files != 1 || got.Rows != 2 {
			t.Fatalf("replay run = %+v", got)
		}
		files, _ = s.Files(ctx, f.conn.TenantID, schema.ListQuery{Limit: 10})
		if len(files) != 2 || files[0].Status != schema.FileApplied || files[0].Unchanged != 2 || files[1].Status != schema.FileReplayed {
			t.Fatalf("files after replay = %+v", files)
		}
		// The replay of a replayed file is refused: replay the new one.
		if _, err := f.b.Replay(ctx, orig.TenantID, orig.ID, &schema.SyncRun{}); err == nil {
			t.Fatal("a replayed file replayed again")
		}
	})
}

type netListen struct{}

// closedPort returns a loopback port nothing listens on.
func (netListen) closedPort(t *testing.T) (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port, nil
}

// TestConcurrentManualSyncsAllExist queues many manual syncs at once
// while the workers run them: every call returns a run that exists,
// however a worker's start races the queuing's record of the run.
func TestConcurrentManualSyncsAllExist(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := startJobs(t, s, "", bridge.SFTPConfig{})
		f.drop(t, "census.csv", census)
		ctx := context.Background()
		const n = 60
		type result struct {
			run schema.SyncRun
			err error
		}
		out := make(chan result, n)
		for range n {
			go func() {
				run, err := f.jobs.EnqueueSync(ctx, f.conn, schema.TriggerManual)
				out <- result{run, err}
			}()
		}
		for range n {
			r := <-out
			if r.err != nil {
				t.Fatalf("EnqueueSync: %v", r.err)
			}
			if r.run.ID == "" || r.run.JobID == 0 {
				t.Fatalf("queued run without id: %+v", r.run)
			}
			if _, err := s.SyncRun(ctx, f.conn.TenantID, r.run.ID); err != nil {
				t.Fatalf("run %s of job %d: %v", r.run.ID, r.run.JobID, err)
			}
		}
	})
}

// TestSmallEmployersTickFirst: a connection whose last file was large
// (more than 10,000 rows) has its ticks queued behind the small ones',
// and a planning pass inserts the small ones' ticks first.
func TestSmallEmployersTickFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := startJobs(t, s, "", bridge.SFTPConfig{})
		ctx := context.Background()
		if p := f.jobs.tickPriority(ctx, f.conn); p != 1 {
			t.Fatalf("a connection with no file yet has priority %d", p)
		}
		small := schema.File{TenantID: f.conn.TenantID, ConnectionID: f.conn.ID, Name: "a.csv", SHA256: "a", Status: schema.FileApplied, Rows: 900}
		if err := s.RecordFile(ctx, &small, nil); err != nil {
			t.Fatal(err)
		}
		f.jobs.sizes.Delete(f.conn.ID) // as after a sync of it here
		if p := f.jobs.tickPriority(ctx, f.conn); p != 1 {
			t.Fatalf("after a 900-row file: priority %d", p)
		}
		time.Sleep(2 * time.Millisecond) // newest first by time
		large := schema.File{TenantID: f.conn.TenantID, ConnectionID: f.conn.ID, Name: "b.csv", SHA256: "b", Status: schema.FileApplied, Rows: 60_000}
		if err := s.RecordFile(ctx, &large, nil); err != nil {
			t.Fatal(err)
		}
		if p := f.jobs.tickPriority(ctx, f.conn); p != 1 {
			t.Fatalf("the size is read again within a minute: priority %d", p)
		}
		f.jobs.sizes.Delete(f.conn.ID)
		if p := f.jobs.tickPriority(ctx, f.conn); p != 2 {
			t.Fatalf("after a 60,000-row file: priority %d", p)
		}
		// A planning pass takes the small employers' connections first.
		other := schema.Connection{TenantID: f.conn.TenantID, Name: "small", Kind: schema.ConnSFTP, Layout: "census-csv", Schedule: "0 2 * * *",
			Config: f.conn.Config, Secret: f.conn.Secret, Enabled: true}
		if err := s.CreateConnection(ctx, &other); err != nil {
			t.Fatal(err)
		}
		big := f.conn
		big.Schedule = "0 2 * * *"
		conns := []schema.Connection{big, other}
		f.jobs.smallFirst(ctx, conns)
		if conns[0].ID != other.ID || conns[1].ID != big.ID {
			t.Fatalf("order = %s, %s; want the small one first", conns[0].Name, conns[1].Name)
		}
	})
}

// TestLargeSyncsLeaveWorkersForSmall: two workers, of which one may run a
// large sync while small ones wait. Three connections whose drops pass
// LargeDrop are queued before six small ones, and every large sync is
// held at row 100 until the test lets go. Nothing is known of any size
// before the listing (first syncs), so only the admission can keep the
// second worker for the small ones: the other large syncs are deferred
// (their runs queued again) and the six small files apply meanwhile. Once
// no small sync waits, a second large one takes the free worker (over the
// one slot: nothing waits for it). Released, every large file applies,
// once. PostgreSQL only: SQLite has one writer, so there a large file's
// apply holds every other whatever the workers.
func TestLargeSyncsLeaveWorkersForSmall(t *testing.T) {
	s := postgresStore(t)
	hold := make(chan struct{})
	var mu sync.Mutex
	var arrived []time.Time             // when large syncs reached row 100
	smallDone := map[string]time.Time{} // connection id -> run settled
	f := startJobs(t, s, "", bridge.SFTPConfig{}, func(b *bridge.Config, j *Config) {
		b.Checkpoint = func(point string) {
			if point == "row-100" {
				mu.Lock()
				arrived = append(arrived, time.Now())
				mu.Unlock()
				<-hold
			}
		}
		b.ObserveRun = func(r schema.SyncRun) {
			mu.Lock()
			smallDone[r.ConnectionID] = time.Now()
			mu.Unlock()
		}
		j.Workers, j.LargeWorkers = 2, 1
	})
	defer func() {
		select {
		case <-hold:
		default:
			close(hold)
		}
	}()
	ctx := context.Background()
	conn := func(i int) schema.Connection {
		dir := fmt.Sprintf("drop%d", i)
		os.MkdirAll(filepath.Join(f.srv.Root, dir), 0o755)
		var cfg bridge.SFTPConfig
		json.Unmarshal(f.conn.Config, &cfg)
		cfg.Dir = dir
		raw, _ := json.Marshal(cfg)
		// An employer each: a tenant's own ingests take turns.
		tn := schema.Tenant{Slug: dir, Name: dir}
		if err := s.CreateTenant(ctx, &tn); err != nil {
			t.Fatal(err)
		}
		c := f.conn
		c.ID, c.TenantID, c.Name, c.Config = "", tn.ID, dir, raw
		if err := s.CreateConnection(ctx, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	var b strings.Builder
	b.WriteString("Employee ID,First Name,Last Name,Status\n")
	for i := 0; b.Len() <= LargeDrop; i++ {
		fmt.Fprintf(&b, "E%06d,Firstname-of-some-length-%06d,Lastname-of-some-length,A\n", i, i)
	}
	large := b.String()
	var conns []schema.Connection
	for i := range 9 {
		c := conn(i)
		body := large
		if i >= 3 {
			body = census
		}
		os.WriteFile(filepath.Join(f.srv.Root, c.Name, "census.csv"), []byte(body), 0o644)
		conns = append(conns, c)
	}
	runs := map[string]string{} // connection name -> run id
	for _, c := range conns {
		r, err := f.jobs.EnqueueSync(ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		runs[c.Name] = r.ID
	}
	var lastSmall time.Time
	for _, c := range conns[3:] {
		if r := f.waitRunOf(t, c.TenantID, runs[c.Name]); r.Status != schema.RunSucceeded || r.Files != 1 {
			t.Fatalf("small %s while a large sync held a worker: %+v", c.Name, r)
		}
		mu.Lock()
		if smallDone[c.ID].After(lastSmall) {
			lastSmall = smallDone[c.ID]
		}
		mu.Unlock()
	}
	storetest.WaitUntil(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(arrived) == 2
	}, "no second large sync took the free worker once no small one waited")
	mu.Lock()
	if !arrived[1].After(lastSmall) {
		t.Errorf("a second large sync started at %s, before the last small one was done (%s)", arrived[1].Format(time.StampMicro), lastSmall.Format(time.StampMicro))
	}
	mu.Unlock()
	close(hold)
	for _, c := range conns[:3] {
		if r := f.waitRunOf(t, c.TenantID, runs[c.Name]); r.Status != schema.RunSucceeded || r.Files != 1 {
			t.Fatalf("large %s: %+v", c.Name, r)
		}
		files, err := s.Files(ctx, c.TenantID, schema.ListQuery{ConnectionID: c.ID, Limit: 10})
		if err != nil || len(files) != 1 || files[0].Status != schema.FileApplied {
			t.Fatalf("large %s files = %+v %v; want one applied", c.Name, files, err)
		}
	}
}

// postgresStore opens a migrated store on a new PostgreSQL database.
func postgresStore(t *testing.T) schema.Store {
	ctx := context.Background()
	s, err := storage.Open(ctx, storetest.URL(t, "postgres"), storetest.Box(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}
