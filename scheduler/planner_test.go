package scheduler

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// recorder is an Enqueue that keeps ticks unique by (connection, tick),
// as River's unique jobs do.
type recorder struct {
	mu    sync.Mutex
	seen  map[string]bool
	ticks []Tick
}

func (r *recorder) enqueue(_ context.Context, c schema.Connection, t Tick) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := c.ID + t.At.UTC().String()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	if !r.seen[key] {
		r.seen[key] = true
		r.ticks = append(r.ticks, t)
	}
	return nil
}

func (r *recorder) got() []Tick {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Tick(nil), r.ticks...)
}

func scheduled(t *testing.T, s schema.Store, spec, tz, catchUp string) schema.Connection {
	t.Helper()
	ctx := context.Background()
	tn := schema.Tenant{Slug: "t" + time.Now().Format("150405.000000000"), Name: "T"}
	if err := s.CreateTenant(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	c := schema.Connection{TenantID: tn.ID, Name: "payroll", Kind: schema.ConnSFTP, Layout: "census-csv", Schedule: spec, TimeZone: tz, CatchUp: catchUp, Enabled: true}
	if err := s.CreateConnection(ctx, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// clock is a controllable clock that the test steps.
type clock struct{ now time.Time }

func (c *clock) step(d time.Duration) time.Time { c.now = c.now.Add(d); return c.now }

// TestPlannerNightlyAcrossDSTWithReplicas: three planners on one store,
// stepped ten minutes at a time through the days around the fall-back
// day, enqueue each nightly 01:30 New York tick once (the wall time that
// happens twice on 2026-11-01).
func TestPlannerNightlyAcrossDSTWithReplicas(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		c := scheduled(t, s, "30 1 * * *", "America/New_York", schema.CatchUpOnce)
		rec := &recorder{}
		var ps []*Planner
		for range 3 {
			ps = append(ps, &Planner{Store: s, Enqueue: rec.enqueue, Logger: slog.New(slog.DiscardHandler)})
		}
		clk := &clock{now: at(t, "2026-10-31T00:00:00-04:00")}
		for clk.now.Before(at(t, "2026-11-02T12:00:00-05:00")) {
			var wg sync.WaitGroup
			now := clk.step(10 * time.Minute)
			for _, p := range ps {
				wg.Go(func() {
					if err := p.Plan(ctx, now); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		var got []string
		for _, tk := range rec.got() {
			got = append(got, tk.At.UTC().Format(time.RFC3339)+"/"+tk.Trigger)
		}
		want := []string{"2026-10-31T05:30:00Z/scheduled", "2026-11-01T05:30:00Z/scheduled", "2026-11-02T06:30:00Z/scheduled"}
		if len(got) != len(want) {
			t.Fatalf("ticks = %v\nwant    %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("ticks = %v\nwant    %v", got, want)
			}
		}
		cur, _ := s.Connection(ctx, c.TenantID, c.ID)
		if cur.LastTickAt == nil || !cur.LastTickAt.Equal(at(t, "2026-11-02T06:30:00Z")) {
			t.Fatalf("last tick = %v", cur.LastTickAt)
		}
	})
}

// TestPlannerMissedTicks: after downtime a connection catches up once
// (policy once) or not at all (skip), never once per missed tick; late
// but on-time ticks are coalesced into one.
func TestPlannerMissedTicks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		once := scheduled(t, s, "0 * * * *", "UTC", schema.CatchUpOnce)
		skip := scheduled(t, s, "0 * * * *", "UTC", schema.CatchUpSkip)
		recs := map[string]*recorder{once.ID: {}, skip.ID: {}}
		p := &Planner{Store: s, Logger: slog.New(slog.DiscardHandler), Enqueue: func(ctx context.Context, c schema.Connection, tk Tick) error {
			return recs[c.ID].enqueue(ctx, c, tk)
		}}
		start := at(t, "2026-11-22T08:10:00Z")
		if err := p.Plan(ctx, start); err != nil { // starts both clocks
			t.Fatal(err)
		}
		// Down from 08:10 to 14:30: ticks 09:00..14:00 were missed.
		if err := p.Plan(ctx, at(t, "2026-11-22T14:30:00Z")); err != nil {
			t.Fatal(err)
		}
		if got := recs[once.ID].got(); len(got) != 1 || !got[0].At.Equal(at(t, "2026-11-22T14:00:00Z")) || got[0].Trigger != schema.TriggerCatchUp {
			t.Fatalf("catch_up once: %v; want one catch_up for 14:00", got)
		}
		if got := recs[skip.ID].got(); len(got) != 0 {
			t.Fatalf("catch_up skip: %v; want none", got)
		}
		// Both go on with the next tick on time.
		if err := p.Plan(ctx, at(t, "2026-11-22T15:00:30Z")); err != nil {
			t.Fatal(err)
		}
		for id, r := range recs {
			got := r.got()
			if last := got[len(got)-1]; !last.At.Equal(at(t, "2026-11-22T15:00:00Z")) || last.Trigger != schema.TriggerScheduled {
				t.Fatalf("connection %s after downtime: %v", id, got)
			}
		}
		// A planner that was only slow (within the grace) coalesces two
		// due ticks into one, on time.
		if err := p.Plan(ctx, at(t, "2026-11-22T16:01:00Z")); err != nil {
			t.Fatal(err)
		}
		if got := recs[once.ID].got(); len(got) != 3 || got[2].Trigger != schema.TriggerScheduled {
			t.Fatalf("slow planner: %v", got)
		}
	})
}

// TestPlannerWindows: an open window replaces the base schedule and a
// final pull runs at its close; windows added later take effect at once.
func TestPlannerWindows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		c := scheduled(t, s, "0 2 * * *", "America/Chicago", schema.CatchUpOnce)
		rec := &recorder{}
		p := &Planner{Store: s, Enqueue: rec.enqueue, Logger: slog.New(slog.DiscardHandler)}
		clk := &clock{now: at(t, "2026-10-31T00:00:00-05:00")}
		if err := p.Plan(ctx, clk.now); err != nil {
			t.Fatal(err)
		}
		w := schema.Window{TenantID: c.TenantID, Name: "open enrollment", StartsOn: "2026-11-01", EndsOn: "2026-11-01", Schedule: "0 */4 * * *", FinalPull: true}
		if err := s.CreateWindow(ctx, &w); err != nil {
			t.Fatal(err)
		}
		for clk.now.Before(at(t, "2026-11-02T12:00:00-06:00")) {
			if err := p.Plan(ctx, clk.step(10*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for _, tk := range rec.got() {
			got = append(got, tk.At.In(time.UTC).Format("01-02T15:04Z")+"/"+tk.Trigger)
		}
		// Chicago: CDT (-5) until 2026-11-01 02:00, then CST (-6).
		want := []string{"10-31T07:00Z/scheduled",
			"11-01T05:00Z/window", "11-01T10:00Z/window", "11-01T14:00Z/window", "11-01T18:00Z/window", "11-01T22:00Z/window", "11-02T02:00Z/window",
			"11-02T06:00Z/window_close", "11-02T08:00Z/scheduled"}
		if len(got) != len(want) {
			t.Fatalf("ticks = %v\nwant    %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("ticks = %v\nwant    %v", got, want)
			}
		}
	})
}
