package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
	"github.com/hrisbridge/hrisbridge/schema/secret"
	"github.com/hrisbridge/hrisbridge/schema/storage"
)

// cluster is replicas of `hrisbridge serve` sharing one PostgreSQL, and
// the SFTP server they pull from.
type cluster struct {
	t    *testing.T
	env  []string
	key  string
	url  string
	srv  *sftpd.TestServer
	logs []*bytes.Buffer
}

func newCluster(t *testing.T, extraEnv ...string) *cluster {
	skipProcesses(t)
	t.Helper()
	url := pgtest.URL(t)
	key := secret.NewKey()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "outbound"), 0o755)
	c := &cluster{t: t, url: url, key: key, srv: sftpd.StartTest(t, root)}
	c.env = append([]string{"HRISBRIDGE_TEST_MAIN=1", "HRISBRIDGE_DATABASE_URL=" + url, "HRISBRIDGE_MASTER_KEY=" + key,
		"HRISBRIDGE_ADDR=127.0.0.1:0", "HRISBRIDGE_LOG_LEVEL=warn"}, extraEnv...)
	return c
}

// cmd builds `hrisbridge ARGS` with the cluster's environment and a data
// directory of its own.
func (c *cluster) cmd(extraEnv []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(append(os.Environ(), c.env...), "HRISBRIDGE_DATA_DIR="+c.t.TempDir()), extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

func (c *cluster) run(args ...string) string {
	c.t.Helper()
	cmd, out := c.cmd(nil, args...)
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("hrisbridge %v: %v\n%s", args, err, out)
	}
	return out.String()
}

// serve starts a replica, stopped with SIGTERM when the test ends.
func (c *cluster) serve(extraEnv ...string) *exec.Cmd {
	c.t.Helper()
	cmd, out := c.cmd(extraEnv, "serve")
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.logs = append(c.logs, out)
	c.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		cmd.Wait()                          //nolint:errcheck
	})
	return cmd
}

// connection creates tenant acme and its sftp connection to the server.
func (c *cluster) connection(schedule, stableFor string) {
	c.t.Helper()
	pw := filepath.Join(c.t.TempDir(), "pw")
	os.WriteFile(pw, []byte(c.srv.Password), 0o600)
	c.run("tenants", "create", "acme")
	c.run("connections", "create", "--tenant", "acme", "--name", "payroll", "--host", "127.0.0.1", "--port", strconv.Itoa(c.srv.Addr.Port),
		"--user", c.srv.User, "--host-key", ssh.FingerprintSHA256(c.srv.HostKey), "--dir", "outbound", "--stable-for", stableFor,
		"--schedule", schedule, "--password-file", pw)
}

func (c *cluster) drop(name, body string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.srv.Root, "outbound", name), []byte(body), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// store opens the cluster's database from the test.
func (c *cluster) store() (schema.Store, schema.Tenant) {
	c.t.Helper()
	k, _ := secret.ParseKey(c.key)
	box, _ := secret.New(k)
	s, err := storage.Open(context.Background(), c.url, box)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(s.Close)
	tn, err := s.TenantBySlug(context.Background(), "acme")
	if err != nil {
		c.t.Fatal(err)
	}
	return s, tn
}

func (c *cluster) dumpLogs() {
	for i, l := range c.logs {
		c.t.Logf("replica %d:\n%s", i, l)
	}
}

// TestReplicaOneSyncPerTick runs three `hrisbridge serve` processes on one
// PostgreSQL with a connection scheduled every second whose syncs take
// longer than that (stable_for 1.5s): every tick is one job and one run,
// and no two runs of the connection overlap.
func TestReplicaOneSyncPerTick(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "HRISBRIDGE_SYNC_LEASE_TTL=3s")
	c.connection("@every 1s", "1500ms")
	c.drop("census.csv", "Employee ID,First Name,Last Name,DOB,SSN,Status,Hire Date,Term Date\nE1,Ada,Lovelace,12/10/1985,123-45-6789,A,2020-01-06,\n")
	for range 3 {
		c.serve()
	}
	s, tn := c.store()
	ctx := context.Background()
	var finished []schema.SyncRun
	deadline := time.Now().Add(60 * time.Second)
	for len(finished) < 6 {
		if time.Now().After(deadline) {
			c.dumpLogs()
			t.Fatalf("only %d runs finished in 60s", len(finished))
		}
		time.Sleep(250 * time.Millisecond)
		runs, err := s.SyncRuns(ctx, tn.ID, schema.ListQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		finished = finished[:0]
		for _, r := range runs {
			if r.FinishedAt != nil {
				finished = append(finished, r)
			}
		}
	}
	runs, _ := s.SyncRuns(ctx, tn.ID, schema.ListQuery{Limit: 1000})
	perTick := map[time.Time]int{}
	for _, r := range runs {
		if r.ScheduledFor == nil || r.Trigger != schema.TriggerScheduled {
			t.Fatalf("unexpected run %+v", r)
		}
		perTick[r.ScheduledFor.UTC()]++
	}
	for tick, n := range perTick {
		if n != 1 {
			t.Errorf("tick %s has %d runs; want 1", tick, n)
		}
	}
	// One job per tick in River's table, too.
	var jobs, distinct int
	pg := s.(interface{ Pool() *pgxpool.Pool }).Pool()
	if err := pg.QueryRow(ctx, `SELECT count(*), count(DISTINCT args->>'tick') FROM river_job WHERE kind = 'hrisbridge.sync'`).Scan(&jobs, &distinct); err != nil {
		t.Fatal(err)
	}
	if jobs != distinct || jobs < len(perTick) {
		t.Fatalf("river_job holds %d sync jobs for %d distinct ticks (%d runs)", jobs, distinct, len(perTick))
	}
	sort.Slice(finished, func(i, j int) bool { return finished[i].StartedAt.Before(finished[j].StartedAt) })
	for i := 1; i < len(finished); i++ {
		prev, cur := finished[i-1], finished[i]
		if cur.StartedAt.Before(*prev.FinishedAt) {
			t.Errorf("runs overlap: %s ran %s..%s, %s started %s", prev.ID, prev.StartedAt.Format("15:04:05.000"), prev.FinishedAt.Format("15:04:05.000"),
				cur.ID, cur.StartedAt.Format("15:04:05.000"))
		}
		if cur.Status != schema.RunSucceeded {
			t.Errorf("run %+v did not succeed", cur)
		}
	}
	if files, _ := s.Files(ctx, tn.ID, schema.ListQuery{Limit: 10}); len(files) != 1 || files[0].Status != schema.FileApplied {
		t.Fatalf("files = %+v; want the one drop applied once", files)
	}
}

// TestReplicaKilledMidSyncIsRetried: a replica takes a sync job and is
// SIGKILLed in the middle of ingesting its file; another replica rescues
// the job once its time is up, and the file is applied exactly once.
func TestReplicaKilledMidSyncIsRetried(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "HRISBRIDGE_SYNC_TIMEOUT=5s", "HRISBRIDGE_JOB_RESCUE_AFTER=6s",
		"HRISBRIDGE_SYNC_LEASE_TTL=3s", "HRISBRIDGE_JOB_RETRY_BASE=1s")
	c.connection("", "0s")
	dir := t.TempDir()
	census := filepath.Join(dir, "census.csv")
	writeCensus(t, census, 1500, nil)
	body, _ := os.ReadFile(census)
	c.drop("census.csv", string(body))
	victim := c.serve("HRISBRIDGE_TEST_CRASH_AT=row-750")
	out := c.run("sync", "--queue", "--tenant", "acme", "payroll")
	t.Log(out)
	if err := victim.Wait(); !killed(err) {
		c.dumpLogs()
		t.Fatalf("the replica was not killed mid-ingest: %v", err)
	}
	s, tn := c.store()
	ctx := context.Background()
	runs, _ := s.SyncRuns(ctx, tn.ID, schema.ListQuery{Limit: 10})
	if len(runs) != 1 || runs[0].Status != schema.RunRunning || runs[0].Attempt != 1 {
		t.Fatalf("after the kill: runs = %+v; want one running at attempt 1", runs)
	}
	c.serve()
	deadline := time.Now().Add(90 * time.Second)
	for {
		r, err := s.SyncRun(ctx, tn.ID, runs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == schema.RunSucceeded {
			if r.Attempt != 2 || r.Files != 1 || r.Rows != 1500 {
				t.Fatalf("rescued run = %+v; want attempt 2 with the file", r)
			}
			break
		}
		if time.Now().After(deadline) {
			c.dumpLogs()
			t.Fatalf("run still %s after 90s: %+v", r.Status, r)
		}
		time.Sleep(250 * time.Millisecond)
	}
	emps, _ := s.Employees(ctx, tn.ID, schema.EmployeeQuery{Limit: 2000})
	if len(emps) != 1500 {
		t.Fatalf("%d employees; want 1500", len(emps))
	}
	files, _ := s.Files(ctx, tn.ID, schema.ListQuery{Limit: 10})
	if len(files) != 1 || files[0].Status != schema.FileApplied || files[0].Created != 1500 {
		t.Fatalf("files = %+v; want one applied with 1500 created", files)
	}
	events, _ := s.Events(ctx, tn.ID, 0, 5000)
	types := map[string]int{}
	for _, e := range events {
		types[e.Type]++
	}
	if len(events) != 2 || types["sync.baseline"] != 1 || types["sync.completed"] != 1 {
		t.Fatalf("events %v; want one sync.baseline and one sync.completed (none for the killed attempt)", types)
	}
}
