package storetest

import (
	"testing"
	"time"
)

// WaitUntil polls cond every 20 ms until it reports true, and fails the
// test with what (formatted with args) when timeout passes first. It is
// the tests' one way to wait for something that happens asynchronously
// (a job run, an inbox scan, a webhook delivery).
func WaitUntil(t testing.TB, timeout time.Duration, cond func() bool, what string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: "+what, append([]any{timeout}, args...)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
