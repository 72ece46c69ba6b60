package throttle

import (
	"fmt"
	"testing"
	"time"
)

func TestCounter(t *testing.T) {
	c := New(2, time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Fail("k", now)
	if c.Blocked("k", now) != 0 {
		t.Fatal("blocked after one failure of two")
	}
	c.Fail("k", now.Add(time.Second))
	if got := c.Blocked("k", now.Add(2*time.Second)); got != 58*time.Second {
		t.Fatalf("wait = %s, want 58s (until the first failure leaves the window)", got)
	}
	if c.Blocked("other", now) != 0 {
		t.Fatal("another key is blocked")
	}
	if c.Blocked("k", now.Add(61*time.Second)) != 0 {
		t.Fatal("still blocked after the window")
	}
	c.Fail("k", now.Add(62*time.Second))
	c.Fail("k", now.Add(63*time.Second))
	c.Reset("k")
	if c.Blocked("k", now.Add(64*time.Second)) != 0 {
		t.Fatal("blocked after a reset")
	}
}

// TestCounterBoundsMemory: a spray of one failure per key does not keep
// every key once their failures have left the window.
func TestCounterBoundsMemory(t *testing.T) {
	c := New(5, time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxKeys + 1 {
		c.Fail(fmt.Sprint(i), now)
	}
	c.Fail("late", now.Add(2*time.Minute))
	if n := len(c.fails); n != 1 {
		t.Fatalf("%d keys kept, want only the one still in its window", n)
	}
}
