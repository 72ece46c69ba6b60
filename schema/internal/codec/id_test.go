package codec

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestNewID: ids are RFC 9562 version 7 UUIDs, unique, and increasing in
// the order they were made, also many in one millisecond and from several
// goroutines.
func TestNewID(t *testing.T) {
	const n = 20_000
	prev := ""
	for i := 0; i < n; i++ {
		id := NewID()
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 || u.Variant() != uuid.RFC4122 || u.String() != id {
			t.Fatalf("NewID() = %q: %v, version %v, variant %v", id, err, u.Version(), u.Variant())
		}
		if id <= prev {
			t.Fatalf("NewID() = %s after %s", id, prev)
		}
		if ms := time.Unix(u.Time().UnixTime()); time.Since(ms) > time.Minute || time.Until(ms) > time.Minute {
			t.Fatalf("NewID() = %s: time %v", id, ms)
		}
		prev = id
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i := 0; i < n; i++ {
				id := NewID()
				mu.Lock()
				if seen[id] {
					t.Errorf("NewID() = %s twice", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
