package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/scheduler"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storage"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
	"github.com/riverqueue/river"
)

// send does a request with a JSON body and decodes the answer into out.
func (e *env) send(method, path, key string, body, out any) *http.Response {
	e.t.Helper()
	raw, _ := json.Marshal(body)
	return e.request(method, path, key, "application/json", raw, out)
}

// request does a request with a body of contentType and decodes the JSON
// answer into out (when not nil).
func (e *env) request(method, path, key, contentType string, body []byte, out any) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out) //nolint:errcheck
	}
	return resp
}

func TestScheduleAndWindowsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		e := newEnv(t, s)
		tn, key := e.tenant("acme", 0, schema.ScopeRead, schema.ScopeWrite)
		_, other := e.tenant("globex", 0, schema.ScopeRead, schema.ScopeWrite)
		readOnly := e.key(tn.ID, schema.ScopeRead)
		conn, _ := s.Connection(context.Background(), tn.ID, "payroll")
		path := "/v1/connections/" + conn.ID

		var p Problem
		if r := e.send("PUT", path+"/schedule", key, map[string]string{"schedule": "30 2 * * *", "time_zone": "Mars/Olympus"}, &p); r.StatusCode != 422 {
			t.Fatalf("bad time zone: %d %+v", r.StatusCode, p)
		}
		if r := e.send("PUT", path+"/schedule", key, map[string]string{"schedule": "every night"}, &p); r.StatusCode != 422 {
			t.Fatalf("bad cron: %d", r.StatusCode)
		}
		if r := e.send("PUT", path+"/schedule", readOnly, map[string]string{"schedule": "@daily"}, nil); r.StatusCode != 403 {
			t.Fatalf("read key set a schedule: %d", r.StatusCode)
		}
		if r := e.send("PUT", path+"/schedule", other, map[string]string{"schedule": "@daily"}, nil); r.StatusCode != 404 {
			t.Fatalf("another tenant set a schedule: %d", r.StatusCode)
		}
		var d struct {
			schema.Connection
			NextSyncs []scheduler.Tick `json:"next_syncs"`
		}
		if r := e.send("PUT", path+"/schedule", key, map[string]string{"schedule": "30 2 * * *", "time_zone": "America/New_York", "catch_up": "skip"}, &d); r.StatusCode != 200 {
			t.Fatalf("PUT schedule: %d", r.StatusCode)
		}
		ny, _ := time.LoadLocation("America/New_York")
		if d.TimeZone != "America/New_York" || d.CatchUp != "skip" || len(d.NextSyncs) != 5 || d.NextSyncs[0].At.In(ny).Format("15:04") != "02:30" {
			t.Fatalf("connection after PUT schedule = %+v", d)
		}
		if d.Health.State != schema.HealthHealthy {
			t.Fatalf("health = %+v", d.Health)
		}

		// Windows: validated, listed, scoped to the tenant, deletable.
		tomorrow := time.Now().In(ny).AddDate(0, 0, 1).Format(time.DateOnly)
		bad := map[string]any{"name": "oe", "starts_on": "2026-12-01", "ends_on": "2026-11-01", "schedule": "@hourly"}
		if r := e.send("POST", "/v1/windows", key, bad, &p); r.StatusCode != 422 {
			t.Fatalf("backwards window: %d", r.StatusCode)
		}
		var w schema.Window
		good := map[string]any{"name": "open enrollment", "connection_id": conn.ID, "starts_on": tomorrow, "ends_on": tomorrow, "schedule": "*/15 * * * *", "final_pull": true}
		if r := e.send("POST", "/v1/windows", key, good, &w); r.StatusCode != 201 || w.ID == "" || !w.FinalPull {
			t.Fatalf("POST window: %d %+v", r.StatusCode, w)
		}
		e.get(path, key, &d)
		// Today's 02:30 may still come first; from tomorrow's midnight the
		// window's schedule takes over.
		opens, first := mustDay(t, tomorrow, ny), -1
		for i, s := range d.NextSyncs {
			if s.Trigger == schema.TriggerWindow && first < 0 {
				first = i
			}
			if first < 0 && !s.At.Before(opens) || first >= 0 && s.Trigger != schema.TriggerWindow {
				t.Fatalf("next syncs with a window tomorrow: %+v", d.NextSyncs)
			}
		}
		if first < 0 || !d.NextSyncs[first].At.Equal(opens) {
			t.Fatalf("next syncs with a window tomorrow: %+v", d.NextSyncs)
		}
		var list struct{ Data []schema.Window }
		if e.get("/v1/windows", other, &list); len(list.Data) != 0 {
			t.Fatalf("another tenant sees %d windows", len(list.Data))
		}
		if r := e.do("DELETE", "/v1/windows/"+w.ID, other, nil); r.StatusCode != 404 {
			t.Fatalf("another tenant deleted a window: %d", r.StatusCode)
		}
		if r := e.do("DELETE", "/v1/windows/"+w.ID, key, nil); r.StatusCode != 204 {
			t.Fatalf("DELETE window: %d", r.StatusCode)
		}
		if e.get("/v1/windows", key, &list); len(list.Data) != 0 {
			t.Fatalf("after delete: %d windows", len(list.Data))
		}
		log, _ := s.AuditLog(context.Background(), tn.ID, schema.AuditQuery{Limit: 10})
		if len(log) != 3 {
			t.Fatalf("audit log has %d entries; want schedule, window create and delete", len(log))
		}
	})
}

func mustDay(t *testing.T, day string, loc *time.Location) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, day, loc)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestTriggerSyncAndReplayAPI: POST .../sync answers 202 with a queued
// run that a real River worker then runs (here to a dead port: failed,
// with its code); replay refuses what cannot be replayed.
func TestTriggerSyncAndReplayAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		b, err := bridge.New(bridge.Config{Store: s, Box: storetest.Box(t), SpoolDir: t.TempDir(), Retries: -1, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		jobs := startJobs(t, s, b)
		e := newEnvWith(t, s, Config{Jobs: jobs})
		tn, key := e.tenant("acme", 0, schema.ScopeRead, schema.ScopeWrite)
		_, other := e.tenant("globex", 0, schema.ScopeRead, schema.ScopeWrite)
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		conn, _ := s.Connection(ctx, tn.ID, "payroll")
		cfg := fmt.Sprintf(`{"host":"127.0.0.1","port":%d,"user":"hr","host_key":"SHA256:AAAA"}`, port)
		s.UpdateConnectionConfig(ctx, tn.ID, conn.ID, []byte(cfg))

		if r := e.send("POST", "/v1/connections/"+conn.ID+"/sync", other, nil, nil); r.StatusCode != 404 {
			t.Fatalf("another tenant triggered a sync: %d", r.StatusCode)
		}
		var run schema.SyncRun
		r := e.send("POST", "/v1/connections/"+conn.ID+"/sync", key, nil, &run)
		if r.StatusCode != 202 || run.ID == "" || r.Header.Get("Location") != "/v1/sync-runs/"+run.ID || run.Trigger != schema.TriggerManual {
			t.Fatalf("POST sync: %d %+v", r.StatusCode, run)
		}
		deadline := time.Now().Add(20 * time.Second)
		for run.Status != schema.RunFailed {
			if time.Now().After(deadline) {
				t.Fatalf("run still %s", run.Status)
			}
			time.Sleep(50 * time.Millisecond)
			e.get("/v1/sync-runs/"+run.ID, key, &run)
		}
		if run.ErrorCode != schema.ECodeSFTPDial || run.JobID == 0 || run.Attempt != 1 {
			t.Fatalf("run = %+v", run)
		}
		var runs struct{ Data []schema.SyncRun }
		if e.get("/v1/sync-runs?connection_id="+conn.ID, key, &runs); len(runs.Data) != 1 {
			t.Fatalf("runs of the connection = %d", len(runs.Data))
		}
		if r := e.get("/v1/sync-runs/"+run.ID, other, nil); r.StatusCode != 404 {
			t.Fatalf("another tenant read the run: %d", r.StatusCode)
		}
		// The file from newEnv's tenant was stored without bytes: 410.
		files, _ := s.Files(ctx, tn.ID, schema.ListQuery{Limit: 1})
		var p Problem
		if r := e.send("POST", "/v1/files/"+files[0].ID+"/replay", key, nil, &p); r.StatusCode != 410 || p.Code != schema.ECodeFileGone {
			t.Fatalf("replay without bytes: %d %+v", r.StatusCode, p)
		}
		if r := e.send("POST", "/v1/files/"+files[0].ID+"/replay", other, nil, nil); r.StatusCode != 404 {
			t.Fatalf("another tenant replayed a file: %d", r.StatusCode)
		}
	})
}

// startJobs runs the real job system (River on the store's database) for
// a test, with one attempt per sync.
func startJobs(t *testing.T, s schema.Store, b *bridge.Bridge) *scheduler.Jobs {
	t.Helper()
	ctx := context.Background()
	jobs, err := scheduler.New(ctx, scheduler.Config{Store: s, Bridge: b, Queue: func(ctx context.Context, rc *river.Config) (scheduler.Queue, error) {
		return storage.NewJobQueue(ctx, s, rc)
	}, MaxAttempts: 1, PlanEvery: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- jobs.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	return jobs
}
