package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

// testJobSyncRuns: a job's run is queued once, and each attempt takes the
// same row over, whichever of the enqueuer and the worker writes first.
func testJobSyncRuns(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	tick := time.Date(2026, 11, 2, 2, 30, 0, 0, time.UTC)
	q := schema.SyncRun{TenantID: tn.ID, ConnectionID: conn.ID, Trigger: schema.TriggerScheduled, JobID: 77, ScheduledFor: &tick}
	if err := s.QueueSyncRun(ctx, &q); err != nil || q.Status != schema.RunQueued || q.ID == "" {
		t.Fatalf("QueueSyncRun = %+v, %v", q, err)
	}
	again := schema.SyncRun{TenantID: tn.ID, ConnectionID: conn.ID, Trigger: schema.TriggerScheduled, JobID: 77}
	if err := s.QueueSyncRun(ctx, &again); err != nil || again.ID != q.ID {
		t.Fatalf("second QueueSyncRun = %+v, %v; want the first run %s", again, err, q.ID)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		r := schema.SyncRun{TenantID: tn.ID, ConnectionID: conn.ID, Trigger: schema.TriggerScheduled, JobID: 77, Attempt: attempt}
		if err := s.StartSyncRun(ctx, &r); err != nil || r.ID != q.ID {
			t.Fatalf("StartSyncRun attempt %d = %s, %v; want run %s", attempt, r.ID, err, q.ID)
		}
		r.Status, r.Error, r.ErrorCode = schema.RunRetrying, "dial: refused", schema.ECodeSFTPDial
		if attempt == 2 {
			r.Status = schema.RunFailed
		}
		if err := s.FinishSyncRun(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SyncRun(ctx, tn.ID, q.ID)
	if err != nil || got.Status != schema.RunFailed || got.Attempt != 2 || got.ErrorCode != schema.ECodeSFTPDial || got.JobID != 77 ||
		got.ScheduledFor == nil || !got.ScheduledFor.Equal(tick) || got.FinishedAt == nil {
		t.Fatalf("SyncRun = %+v, %v", got, err)
	}
	// A worker faster than the enqueuer: QueueSyncRun returns its row.
	w := schema.SyncRun{TenantID: tn.ID, ConnectionID: conn.ID, Trigger: schema.TriggerManual, JobID: 78, Attempt: 1}
	if err := s.StartSyncRun(ctx, &w); err != nil {
		t.Fatal(err)
	}
	late := schema.SyncRun{TenantID: tn.ID, ConnectionID: conn.ID, Trigger: schema.TriggerManual, JobID: 78}
	if err := s.QueueSyncRun(ctx, &late); err != nil || late.ID != w.ID || late.Status != schema.RunRunning {
		t.Fatalf("late QueueSyncRun = %+v, %v; want running run %s", late, err, w.ID)
	}
	other := mustConnection(t, s, tn.ID)
	o := schema.SyncRun{TenantID: tn.ID, ConnectionID: other.ID, Trigger: schema.TriggerManual}
	if err := s.StartSyncRun(ctx, &o); err != nil {
		t.Fatal(err)
	}
	rs, err := s.SyncRuns(ctx, tn.ID, schema.ListQuery{Limit: 10, ConnectionID: conn.ID})
	if err != nil || len(rs) != 2 {
		t.Fatalf("SyncRuns(connection) = %d runs, %v; want 2", len(rs), err)
	}
	if _, err := s.SyncRun(ctx, mustTenant(t, s).ID, q.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("SyncRun of another tenant = %v; want ErrNotFound", err)
	}
}

// testTicks: replicas racing to advance one tick see exactly one winner.
func testTicks(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	if err := s.UpdateConnectionSchedule(ctx, tn.ID, conn.ID, "30 2 * * *", "America/New_York", schema.CatchUpSkip); err != nil {
		t.Fatal(err)
	}
	c, err := s.Connection(ctx, tn.ID, conn.ID)
	if err != nil || c.Schedule != "30 2 * * *" || c.TimeZone != "America/New_York" || c.CatchUp != schema.CatchUpSkip || c.LastTickAt != nil {
		t.Fatalf("Connection after UpdateConnectionSchedule = %+v, %v", c, err)
	}
	first := time.Date(2026, 11, 1, 7, 30, 0, 0, time.UTC)
	var wins sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wins.Add(1)
		go func() {
			defer wins.Done()
			ok, err := s.AdvanceTick(ctx, conn.ID, nil, first)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wins.Wait()
	if won != 1 {
		t.Fatalf("%d of 8 racing AdvanceTick calls won; want 1", won)
	}
	next := first.Add(24 * time.Hour)
	if ok, err := s.AdvanceTick(ctx, conn.ID, nil, next); ok || err != nil {
		t.Fatalf("AdvanceTick from a stale nil = %v, %v; want false", ok, err)
	}
	if ok, err := s.AdvanceTick(ctx, conn.ID, &first, next); !ok || err != nil {
		t.Fatalf("AdvanceTick from the current tick = %v, %v; want true", ok, err)
	}
	c, _ = s.Connection(ctx, tn.ID, conn.ID)
	if c.LastTickAt == nil || !c.LastTickAt.Equal(next) {
		t.Fatalf("LastTickAt = %v; want %v", c.LastTickAt, next)
	}
	if err := s.UpdateConnectionSchedule(ctx, tn.ID, "no-such", "@daily", "UTC", schema.CatchUpOnce); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("UpdateConnectionSchedule(unknown) = %v; want ErrNotFound", err)
	}
}

// testConnectionLease: one owner at a time; an expired lease is taken over.
func testConnectionLease(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	until := time.Now().Add(time.Minute)
	if ok, err := s.ClaimConnection(ctx, conn.ID, "a", until); !ok || err != nil {
		t.Fatalf("Claim a = %v, %v", ok, err)
	}
	if ok, err := s.ClaimConnection(ctx, conn.ID, "b", until); ok || err != nil {
		t.Fatalf("Claim b while a holds it = %v, %v; want false", ok, err)
	}
	if ok, err := s.ClaimConnection(ctx, conn.ID, "a", until.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("renew by a = %v, %v", ok, err)
	}
	if err := s.ReleaseConnection(ctx, conn.ID, "b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.ClaimConnection(ctx, conn.ID, "b", until); ok {
		t.Fatal("a release by a non-owner freed the lease")
	}
	if err := s.ReleaseConnection(ctx, conn.ID, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ClaimConnection(ctx, conn.ID, "b", time.Now().Add(-time.Second)); !ok || err != nil {
		t.Fatalf("Claim b after release = %v, %v", ok, err)
	}
	// b's lease is already expired (a killed replica): c takes it over.
	if ok, err := s.ClaimConnection(ctx, conn.ID, "c", until); !ok || err != nil {
		t.Fatalf("Claim c over an expired lease = %v, %v", ok, err)
	}
}

func testConnectionHealth(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	if c, _ := s.Connection(ctx, tn.ID, conn.ID); c.Health.State != schema.HealthHealthy {
		t.Fatalf("new connection health = %+v; want healthy", c.Health)
	}
	since := time.Now().UTC().Truncate(time.Millisecond)
	h := schema.Health{State: schema.HealthFailing, Code: schema.ECodeSFTPAuth, Reason: "login refused", Since: &since}
	e := &schema.Event{TenantID: tn.ID, Type: "connection.unhealthy", Subject: conn.ID, Data: []byte(`{"state":"failing"}`)}
	if err := s.SetConnectionHealth(ctx, conn.ID, h, e); err != nil || e.Seq == 0 {
		t.Fatalf("SetConnectionHealth = %v (seq %d)", err, e.Seq)
	}
	c, _ := s.Connection(ctx, tn.ID, conn.ID)
	if c.Health.State != schema.HealthFailing || c.Health.Code != schema.ECodeSFTPAuth || c.Health.Fix == "" || c.Health.Since == nil {
		t.Fatalf("health = %+v", c.Health)
	}
	if got := eventTypes(t, s, tn.ID); len(got) != 1 || got[0] != "connection.unhealthy" {
		t.Fatalf("events = %v", got)
	}
}

func testWindows(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	oe := schema.Window{TenantID: tn.ID, Name: "open enrollment", StartsOn: "2026-11-01", EndsOn: "2026-11-30", Schedule: "*/15 * * * *", FinalPull: true}
	nh := schema.Window{TenantID: tn.ID, ConnectionID: conn.ID, Name: "new hires", StartsOn: "2026-01-05", EndsOn: "2026-01-09", Schedule: "@hourly"}
	for _, w := range []*schema.Window{&oe, &nh} {
		if err := s.CreateWindow(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	bad := schema.Window{TenantID: tn.ID, Name: "backwards", StartsOn: "2026-02-01", EndsOn: "2026-01-01", Schedule: "@daily"}
	if err := s.CreateWindow(ctx, &bad); err == nil {
		t.Fatal("a window ending before it starts was stored")
	}
	ws, err := s.Windows(ctx, tn.ID)
	if err != nil || len(ws) != 2 || ws[0].ID != nh.ID || ws[1].StartsOn != "2026-11-01" || ws[1].EndsOn != "2026-11-30" || !ws[1].FinalPull || ws[1].ConnectionID != "" {
		t.Fatalf("Windows = %+v, %v", ws, err)
	}
	if !ws[1].AppliesTo(conn) || !ws[0].AppliesTo(conn) {
		t.Fatal("windows do not apply to their connection")
	}
	other := mustTenant(t, s)
	if ws, _ := s.Windows(ctx, other.ID); len(ws) != 0 {
		t.Fatalf("another tenant sees %d windows", len(ws))
	}
	if err := s.DeleteWindow(ctx, other.ID, oe.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("DeleteWindow by another tenant = %v; want ErrNotFound", err)
	}
	if err := s.DeleteWindow(ctx, tn.ID, oe.ID); err != nil {
		t.Fatal(err)
	}
	if ws, _ := s.Windows(ctx, tn.ID); len(ws) != 1 {
		t.Fatalf("after delete: %d windows", len(ws))
	}
}
