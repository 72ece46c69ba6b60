package schema

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// rowIngest serves Index from entries and, when kept is set, KeptIndex
// from chunks: enough of an Ingest for LoadKnown.
type rowIngest struct {
	Ingest
	entries []IndexEntry
	chunks  [][]byte
}

func (r *rowIngest) Index(_ context.Context, fn func(IndexEntry) error) error {
	for _, e := range r.entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

type keptIngest struct{ *rowIngest }

func (k keptIngest) KeptIndex(_ context.Context, fn func([]byte) error) (bool, error) {
	for _, c := range k.chunks {
		if err := fn(c); err != nil {
			return true, err
		}
	}
	return len(k.chunks) > 0, nil
}

func (k keptIngest) KeepIndex(_ context.Context, chunks func(func([]byte) error) error, replace bool) error {
	if replace {
		k.chunks = k.chunks[:0]
	}
	return chunks(func(c []byte) error { k.chunks = append(k.chunks, append([]byte(nil), c...)); return nil })
}

func dump(k *Known) string {
	var b strings.Builder
	k.Each(func(ext, conn string, hash, source uint64, missing bool) {
		fmt.Fprintf(&b, "%s|%s|%x|%x|%v\n", ext, conn, hash, source, missing)
	})
	return b.String()
}

func sampleEntries(n int) []IndexEntry {
	out := make([]IndexEntry, n)
	for i := range out {
		out[i] = IndexEntry{ExternalID: fmt.Sprintf("E%07d", n-i), ContentHash: fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15),
			ConnectionID: []string{"c1", "c2", ""}[i%3], Missing: i%7 == 0, SourceHash: fmt.Sprintf("%016x", uint64(i+1))}
	}
	return out
}

// TestKeptIndexRoundTrip: an index kept in chunks (several of them for
// 100,000 employees) reads back as the index read from the rows, and a
// chunk that does not decode makes LoadKnown read the rows instead.
func TestKeptIndexRoundTrip(t *testing.T) {
	ctx := context.Background()
	rows := &rowIngest{entries: sampleEntries(100_000)}
	fromRows, err := LoadKnown(ctx, rows, "c1")
	if err != nil || fromRows.Kept() || fromRows.Previous() == 0 {
		t.Fatalf("from rows: kept=%v previous=%d err=%v", fromRows.Kept(), fromRows.Previous(), err)
	}
	keeper := keptIngest{&rowIngest{}}
	if err := keeper.KeepIndex(ctx, fromRows.Chunks, true); err != nil {
		t.Fatal(err)
	}
	if len(keeper.chunks) < 2 {
		t.Fatalf("%d chunks for 100,000 employees, want several", len(keeper.chunks))
	}
	fromKept, err := LoadKnown(ctx, keeper, "c1")
	if err != nil || !fromKept.Kept() {
		t.Fatalf("from kept: kept=%v err=%v", fromKept.Kept(), err)
	}
	if dump(fromKept) != dump(fromRows) || fromKept.Previous() != fromRows.Previous() {
		t.Fatal("the kept index reads back differently")
	}
	// Another connection's view of the same kept index.
	other, _ := LoadKnown(ctx, keptIngest{&rowIngest{chunks: keeper.chunks}}, "c2")
	otherRows, _ := LoadKnown(ctx, rows, "c2")
	if dump(other) != dump(otherRows) || other.Previous() != otherRows.Previous() || len(other.Unseen()) != len(otherRows.Unseen()) {
		t.Fatal("the kept index reads back differently for another connection")
	}
	// A damaged chunk: read the rows.
	bad := keptIngest{&rowIngest{entries: rows.entries, chunks: [][]byte{keeper.chunks[0], []byte("hbk1e1\xff")}}}
	k, err := LoadKnown(ctx, bad, "c1")
	if err != nil || k.Kept() || dump(k) != dump(fromRows) {
		t.Fatalf("damaged kept index: kept=%v err=%v", k.Kept(), err)
	}
	// An empty index keeps one chunk, and reads back empty and kept.
	empty, _ := LoadKnown(ctx, &rowIngest{}, "c1")
	e := keptIngest{&rowIngest{}}
	if err := e.KeepIndex(ctx, empty.Chunks, true); err != nil || len(e.chunks) != 1 {
		t.Fatalf("empty index: %d chunks, %v", len(e.chunks), err)
	}
	if k, err := LoadKnown(ctx, e, "c1"); err != nil || !k.Kept() || k.Len() != 0 {
		t.Fatalf("empty kept index: kept=%v len=%d err=%v", k.Kept(), k.Len(), err)
	}
}

// FuzzKeptChunk: whatever bytes a kept chunk holds, decoding it fails
// cleanly or yields entries that encode back to a chunk that decodes to
// the same index.
func FuzzKeptChunk(f *testing.F) {
	k, _ := LoadKnown(context.Background(), &rowIngest{entries: sampleEntries(20)}, "c1")
	k.Chunks(func(c []byte) error { f.Add(append([]byte(nil), c...)); return nil }) //nolint:errcheck
	f.Add([]byte(keptMagic))
	k.dirty, k.entries[3].flags = 1, k.entries[3].flags|dirty
	k.deltaChunks(func(c []byte) error { f.Add(append([]byte(nil), c...)); return nil }) //nolint:errcheck
	f.Fuzz(func(t *testing.T, b []byte) {
		a := &Known{conns: []string{"c1"}}
		if a.decodeChunk(b) != nil {
			return
		}
		var again [][]byte
		a.Chunks(func(c []byte) error { again = append(again, append([]byte(nil), c...)); return nil }) //nolint:errcheck
		c := &Known{conns: []string{"c1"}}
		for _, chunk := range again {
			if err := c.decodeChunk(chunk); err != nil {
				t.Fatalf("re-encoded chunk does not decode: %v", err)
			}
		}
		if dump(a) != dump(c) {
			t.Fatalf("round trip differs:\n%s\nvs\n%s", dump(a), dump(c))
		}
	})
}

// TestKnownBlocks: ids spread over several id blocks and entries over
// several added blocks, loaded and then written, all read back whole and
// in order.
func TestKnownBlocks(t *testing.T) {
	ctx := context.Background()
	const stored, hired = 150_000, 100_000
	rows := &rowIngest{}
	for i := 0; i < stored; i++ {
		rows.entries = append(rows.entries, IndexEntry{ExternalID: fmt.Sprintf("emp-%016d", 2*i), ContentHash: fmt.Sprintf("%016x", i+1), ConnectionID: "c1"})
	}
	k, err := LoadKnown(ctx, keptIngest{rows}, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.ids) < 3 {
		t.Fatalf("%d id blocks for %d ids of 20 bytes, want several", len(k.ids), stored)
	}
	for i := 0; i < hired; i++ {
		e := &Employee{ExternalID: fmt.Sprintf("emp-%016d", 2*i+1)}
		if c := k.Classify(e, fmt.Sprintf("%016x", i+1)); c != New {
			t.Fatalf("%s: %v, want New", e.ExternalID, c)
		}
		if err := k.Wrote(e, New, fmt.Sprintf("%016x", i+1), 0); err != nil {
			t.Fatal(err)
		}
	}
	if k.Len() != stored+hired || len(k.added) < 2 {
		t.Fatalf("Len %d in %d added blocks, want %d in several", k.Len(), len(k.added), stored+hired)
	}
	n, prev := 0, ""
	k.Each(func(ext, conn string, hash, source uint64, missing bool) {
		if ext <= prev || !strings.HasPrefix(ext, "emp-") || len(ext) != 20 || conn != "c1" {
			t.Fatalf("entry %d: %q after %q (%s)", n, ext, prev, conn)
		}
		prev = ext
		n++
	})
	if n != stored+hired {
		t.Fatalf("Each saw %d entries, want %d", n, stored+hired)
	}
	if err := k.add(strings.Repeat("x", 1<<16), 0, 0, 0, 0); err == nil {
		t.Fatal("an id of 64 KiB was indexed")
	}
}

// TestKeptIndexDeltas: files that write a few employees keep only those,
// after the kept chunks; the index read back from base and deltas is the
// index the writes left, and a file that writes many replaces it whole.
func TestKeptIndexDeltas(t *testing.T) {
	ctx := context.Background()
	const n = 4000
	rows := &rowIngest{}
	for i := 0; i < n; i++ {
		rows.entries = append(rows.entries, IndexEntry{ExternalID: fmt.Sprintf("E%05d", 2*i), ContentHash: fmt.Sprintf("%016x", i+1), ConnectionID: "c1", SourceHash: fmt.Sprintf("%016x", i+7)})
	}
	keeper := keptIngest{rows}
	k, err := LoadKnown(ctx, keeper, "c1")
	if err != nil || k.Kept() {
		t.Fatalf("first load: kept=%v, %v", k.Kept(), err)
	}
	if err := k.Keep(ctx, keeper); err != nil {
		t.Fatal(err)
	}
	base := len(keeper.chunks)
	// file writes the employees at ids (changed when stored, else new)
	// with content hash hash, and sets a source hash on one more.
	file := func(ids []int, hash string) (*Known, string) {
		t.Helper()
		k, err := LoadKnown(ctx, keeper, "c1")
		if err != nil || !k.Kept() {
			t.Fatalf("load: kept=%v, %v", k.Kept(), err)
		}
		for _, i := range ids {
			e := &Employee{ExternalID: fmt.Sprintf("E%05d", i)}
			c := k.Classify(e, hash)
			if c == Unchanged {
				t.Fatalf("%s unchanged", e.ExternalID)
			}
			if err := k.Wrote(e, c, hash, uint64(i)); err != nil {
				t.Fatal(err)
			}
		}
		k.WroteSource("E00010", 99)
		want := dump(k)
		if err := k.Keep(ctx, keeper); err != nil {
			t.Fatal(err)
		}
		return k, want
	}
	// Two small files: a delta each.
	_, want := file([]int{1, 4, 5, 3001, 2 * (n - 1)}, "00000000000000aa")
	if len(keeper.chunks) != base+1 {
		t.Fatalf("%d chunks after a small file, want the %d of the base and one delta", len(keeper.chunks), base)
	}
	if k, _ := LoadKnown(ctx, keeper, "c1"); dump(k) != want || k.Len() != n+3 {
		t.Fatalf("base and one delta read back differently (%d entries)", k.Len())
	}
	_, want = file([]int{5, 7, 8}, "00000000000000bb") // 5 again: the later delta wins
	if len(keeper.chunks) != base+2 {
		t.Fatalf("%d chunks after two small files, want %d", len(keeper.chunks), base+2)
	}
	k, _ = LoadKnown(ctx, keeper, "c1")
	if dump(k) != want || k.Len() != n+4 {
		t.Fatalf("base and two deltas read back differently (%d entries)", k.Len())
	}
	var got string
	k.Each(func(ext, _ string, hash, _ uint64, _ bool) {
		if ext == "E00005" {
			got = fmt.Sprintf("%x", hash)
		}
	})
	if got != "bb" {
		t.Fatalf("E00005 has hash %s, want the last delta's bb", got)
	}
	// A file that writes more than an eighth: the whole index again.
	many := make([]int, n/4)
	for i := range many {
		many[i] = 2 * i
	}
	_, want = file(many, "ffffffffffffffcc")
	if len(keeper.chunks) != 1 {
		t.Fatalf("%d chunks after a large file, want the index whole in one", len(keeper.chunks))
	}
	if k, _ := LoadKnown(ctx, keeper, "c1"); dump(k) != want {
		t.Fatal("the replaced index reads back differently")
	}
	// A delta before the base is damage: the rows are read instead.
	var delta []byte
	k, _ = LoadKnown(ctx, keeper, "c1")
	e := &Employee{ExternalID: "E00001"}
	k.Wrote(e, k.Classify(e, "00000000000000dd"), "00000000000000dd", 1)                  //nolint:errcheck
	k.deltaChunks(func(c []byte) error { delta = append([]byte(nil), c...); return nil }) //nolint:errcheck
	bad := keptIngest{&rowIngest{entries: rows.entries, chunks: [][]byte{delta, keeper.chunks[0]}}}
	if k, err := LoadKnown(ctx, bad, "c1"); err != nil || k.Kept() || k.Len() != n {
		t.Fatalf("delta before base: kept=%v len=%d err=%v; want the rows", k.Kept(), k.Len(), err)
	}
}
