package bridge

import (
	"runtime/debug"
	"testing"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestIngestGCPercent: the ingest percentage holds while any ingest runs,
// also overlapping ones, and the one before comes back after the last.
func TestIngestGCPercent(t *testing.T) {
	before := debug.SetGCPercent(120)
	defer debug.SetGCPercent(before)
	defer SetIngestGCPercent(0)

	duringIngest()() // not set: nothing changes
	if p := gcPercent(); p != 120 {
		t.Fatalf("GC percent %d with no ingest percentage set, want 120", p)
	}
	SetIngestGCPercent(50)
	first := duringIngest()
	second := duringIngest()
	if p := gcPercent(); p != 50 {
		t.Fatalf("GC percent %d during two ingests, want 50", p)
	}
	first()
	if p := gcPercent(); p != 50 {
		t.Fatalf("GC percent %d while one ingest still runs, want 50", p)
	}
	second()
	if p := gcPercent(); p != 120 {
		t.Fatalf("GC percent %d after the last ingest, want 120 back", p)
	}
}
