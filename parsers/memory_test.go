package parsers

import (
	"io"
	"runtime"
	"testing"

	"github.com/hrisbridge/hrisbridge/parsers/synth"
)

// TestStreamingMemoryIsFlat streams 300k census rows (about 60 MB) from a
// generator through the reader and checks that the live heap afterwards
// holds no more than the duplicate-id table, not the file.
func TestStreamingMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 60 MB")
	}
	const rows = 300_000
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(synth.Census(pw, rows, 7, nil)) }()
	r, err := OpenReusing(pr, census(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := r.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if n != rows {
		t.Fatalf("read %d rows, want %d", n, rows)
	}
	// 300k ids need about 4 MB of table; the file is 60 MB.
	if ms.HeapAlloc > 16<<20 {
		t.Fatalf("live heap %d MB after streaming %d rows; the reader holds on to data", ms.HeapAlloc>>20, rows)
	}
	runtime.KeepAlive(r)
}
