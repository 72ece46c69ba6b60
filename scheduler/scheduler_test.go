package scheduler

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseInZone(t *testing.T) {
	tests := []struct {
		spec, tz string
		from     string
		want     string
	}{
		{"30 2 * * *", "America/Chicago", "2026-11-22T00:00:00Z", "2026-11-22T08:30:00Z"},
		{"@daily", "UTC", "2026-11-22T10:00:00Z", "2026-11-23T00:00:00Z"},
		{"*/15 * * * *", "", "2026-11-22T10:01:00Z", "2026-11-22T10:15:00Z"},
		// DST ends in Chicago on 2026-11-01: 02:30 happens once, at CST.
		{"30 2 * * *", "America/Chicago", "2026-11-01T05:00:00Z", "2026-11-01T08:30:00Z"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.spec, tt.tz)
		if err != nil {
			t.Fatal(err)
		}
		from, _ := time.Parse(time.RFC3339, tt.from)
		if got := s.Next(from).UTC().Format(time.RFC3339); got != tt.want {
			t.Errorf("Parse(%q, %q).Next(%s) = %s, want %s", tt.spec, tt.tz, tt.from, got, tt.want)
		}
	}
	for _, bad := range []string{"", "61 * * * *", "* * *", "@fortnightly"} {
		if _, err := Parse(bad, ""); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if _, err := Parse("@daily", "Mars/Olympus"); err == nil {
		t.Error("unknown time zone accepted")
	}
}

// TestRunNeverOverlaps fires a job every "minute" on a fake clock while
// each run takes three minutes: runs must be sequential.
func TestRunNeverOverlaps(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	after := func(d time.Duration) <-chan time.Time {
		advance(d)
		c := make(chan time.Time, 1)
		c <- now()
		return c
	}
	s, _ := Parse("* * * * *", "UTC")
	var running, maxRunning, runs atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	job := Job{Name: "pull", Schedule: s, Run: func(context.Context) error {
		if n := running.Add(1); n > maxRunning.Load() {
			maxRunning.Store(n)
		}
		advance(3 * time.Minute)
		running.Add(-1)
		if runs.Add(1) == 5 {
			cancel()
		}
		return nil
	}}
	(&Scheduler{Now: now, After: after, Logger: slog.New(slog.DiscardHandler)}).Run(ctx, []Job{job})
	if maxRunning.Load() != 1 || runs.Load() != 5 {
		t.Fatalf("max concurrent runs %d, runs %d; want 1 and 5", maxRunning.Load(), runs.Load())
	}
}
