package parsers

import (
	"fmt"
	"testing"
)

func TestIDSetFindsEveryDuplicateAndNoOther(t *testing.T) {
	s := newIDSet()
	const n = 300_000 // forces many splits
	for i := range n {
		if s.add(fmt.Sprint("E", i)) {
			t.Fatalf("E%d reported as a duplicate on first sight", i)
		}
	}
	for i := 0; i < n; i += 997 {
		if !s.add(fmt.Sprint("E", i)) {
			t.Fatalf("E%d not found the second time", i)
		}
	}
	if s.depth == 0 {
		t.Fatal("the table never split")
	}
}
