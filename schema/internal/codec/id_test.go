package codec

import (
	"fmt"
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

func TestParseUUID(t *testing.T) {
	for i := 0; i < 1000; i++ {
		id := NewID()
		u, ok := ParseUUID(id)
		if !ok {
			t.Fatalf("ParseUUID(%q) failed", id)
		}
		if got := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:]); got != id {
			t.Fatalf("ParseUUID(%q) = %s", id, got)
		}
	}
	if id, key := NewKey(); key != func() [16]byte { u, _ := ParseUUID(id); return u }() {
		t.Fatalf("NewKey = %s, %x: the bytes are not the id's", id, key)
	}
	if u, ok := ParseUUID("01A22E06-A28F-7000-A053-0E04A2363767"); !ok || u[0] != 0x01 || u[15] != 0x67 {
		t.Fatalf("upper case: %x, %v", u, ok)
	}
	for _, bad := range []string{"", "abc", "01a22e06a28f7000a0530e04a2363767", "01a22e06-a28f-7000-a053-0e04a236376g",
		"01a22e06-a28f-7000-a053-0e04a23637670", "01a22e06-a28f-7000-a053_0e04a2363767", "{01a22e06-a28f-7000-a053-0e04a2363767}"} {
		if _, ok := ParseUUID(bad); ok || ValidID(bad) {
			t.Errorf("ParseUUID(%q) accepted", bad)
		}
	}
}

// FuzzParseUUID holds ParseUUID to google/uuid on the canonical form.
func FuzzParseUUID(f *testing.F) {
	f.Add("01a22e06-a28f-7000-a053-0e04a2363767")
	f.Add("01A22E06-A28F-7000-A053-0E04A236376x")
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := ParseUUID(s)
		want, err := uuid.Parse(s)
		canonical := len(s) == 36 && err == nil
		if ok != canonical || ok && u != [16]byte(want) {
			t.Fatalf("ParseUUID(%q) = %x, %v; google/uuid %x, %v", s, u, ok, want, err)
		}
	})
}
