package bridge

import (
	"runtime/debug"
	"sync"
)

// An ingest's live heap is mostly long-lived indexes (the change index
// and the duplicate check, ~45 MB per million employees), and Go's
// default lets the heap grow to twice what is live before collecting.
// Serving the API is the opposite: little is live, much is allocated,
// and collecting early is pure cost. So while an ingest runs the process
// may collect earlier than otherwise (SetIngestGCPercent), and goes back
// when the last one ends.
var ingestGC struct {
	sync.Mutex
	percent int // 0: leave the collector alone
	running int
	outside int // the percentage to go back to
}

// SetIngestGCPercent sets the garbage collector's target percentage
// (debug.SetGCPercent) for while at least one ingest runs; 0, the
// default, leaves the collector alone. Call it once, before ingesting.
func SetIngestGCPercent(p int) {
	ingestGC.Lock()
	defer ingestGC.Unlock()
	ingestGC.percent = p
}

// duringIngest applies the ingest GC percentage until the returned func
// is called.
func duringIngest() (done func()) {
	ingestGC.Lock()
	defer ingestGC.Unlock()
	if ingestGC.percent == 0 {
		return func() {}
	}
	if ingestGC.running == 0 {
		ingestGC.outside = debug.SetGCPercent(ingestGC.percent)
	}
	ingestGC.running++
	return func() {
		ingestGC.Lock()
		defer ingestGC.Unlock()
		if ingestGC.running--; ingestGC.running == 0 {
			debug.SetGCPercent(ingestGC.outside)
		}
	}
}
