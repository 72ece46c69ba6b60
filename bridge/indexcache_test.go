package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// checkIndexCache fails the test unless the change index the bridge keeps
// for the fixture's tenant is what reading the store afresh gives, and is
// current for the tenant's next ingest. Every fixture ingest calls it.
func (f *ingestFixture) checkIndexCache() {
	f.t.Helper()
	c := f.bridge.indexes
	c.mu.Lock()
	kept := c.byTen[f.conn.TenantID]
	c.mu.Unlock()
	if kept == nil {
		return
	}
	ctx := context.Background()
	sum := make([]byte, 32)
	rand.Read(sum) //nolint:errcheck
	in, err := f.store.BeginIngest(ctx, &schema.File{ID: schema.NewID(), TenantID: f.conn.TenantID, ConnectionID: kept.conn,
		Name: "check.csv", SHA256: hex.EncodeToString(sum), Layout: f.conn.Layout})
	if err != nil {
		f.t.Fatal(err)
	}
	defer in.Rollback(ctx) //nolint:errcheck
	if kept.gen != in.Generation()-1 {
		f.t.Fatalf("kept index is of generation %d, the next ingest is %d", kept.gen, in.Generation())
	}
	fresh, err := loadIndex(ctx, in)
	if err != nil {
		f.t.Fatal(err)
	}
	if got, want := dumpIndex(kept.idx), dumpIndex(fresh); !maps.Equal(got, want) {
		f.t.Fatalf("kept index differs from the store's:\nkept  %v\nstore %v", got, want)
	}
	if kept.idx.previous != fresh.previous {
		f.t.Fatalf("kept index counts %d present, the store %d", kept.idx.previous, fresh.previous)
	}
}

func dumpIndex(x *index) map[string]string {
	out := map[string]string{}
	for i, e := range x.entries {
		out[string(x.externalID(i))] = fmt.Sprintf("%x %x %b", e.hash, e.source, e.flags&^seen)
	}
	return out
}

func TestIndexCacheIsUsedOnlyWhenCurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		a := newIngest(t, s, "census-csv", Policy{})
		// A second bridge on the same store is another replica.
		replica, err := New(Config{Store: s, Box: a.bridge.cfg.Box, SpoolDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		b := &ingestFixture{t: t, store: s, bridge: replica, conn: a.conn, sent: 10}
		first := census("E1:A", "E2:A", "E3:A")
		a.ingest(first)
		if c := a.bridge.indexes.byTen[a.conn.TenantID]; c == nil || len(c.idx.entries) != 3 {
			t.Fatalf("no index kept after the first file: %+v", c)
		}
		if got := counts(b.ingest(census("E1:A", "E2:A", "E3:T"))); got != "applied c0 u1 s2 m0 e1" {
			t.Fatalf("replica's file = %s", got)
		}
		// a's kept index says E3 is active, as the first file had it: used,
		// it would take this file as unchanged.
		if got := counts(a.ingest(first)); got != "applied c0 u1 s2 m0 e1" {
			t.Fatalf("after the replica's file = %s, want E3 updated", got)
		}
		if got := a.newEvents(); fmt.Sprint(got) != "[employee.rehired:E3 employee.terminated:E3 sync.baseline:]" {
			t.Fatalf("events = %v", got)
		}
	})
}

func TestIndexCacheBound(t *testing.T) {
	c := newIndexCache(5)
	mk := func(n int) *index {
		x := newIndex()
		for i := range n {
			x.add(fmt.Sprint(i), indexEntry{flags: sameConn}) //nolint:errcheck
		}
		return x
	}
	c.put("t1", "c", 1, mk(2))
	c.put("t2", "c", 1, mk(2))
	if c.take("t1", "c", 2) == nil {
		t.Fatal("t1 not kept")
	}
	c.put("t1", "c", 2, mk(2))
	c.put("t3", "c", 1, mk(2)) // over 5: t2, used least recently, goes
	if _, ok := c.byTen["t2"]; ok || len(c.byTen) != 2 {
		t.Fatalf("kept %v", slicesOfKeys(c.byTen))
	}
	c.put("t4", "c", 1, mk(6)) // larger than the bound: not kept
	if _, ok := c.byTen["t4"]; ok {
		t.Fatal("an index over the bound was kept")
	}
	if c.take("t1", "other", 3) != nil || c.take("t3", "c", 5) != nil {
		t.Fatal("an index was taken for another connection or a later generation")
	}
	if len(c.byTen) != 0 {
		t.Fatal("a refused take kept the index")
	}
}

func slicesOfKeys(m map[string]*cachedIndex) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestIndexTellsApartIDsOfOneHash(t *testing.T) {
	x := newIndex()
	// Find two ids whose 32-bit keys collide.
	byKey := map[uint32]string{}
	var a, b string
	for i := 0; a == ""; i++ {
		id := fmt.Sprint("E", i)
		if other, ok := byKey[x.hash(id)]; ok {
			a, b = other, id
		}
		byKey[x.hash(id)] = id
	}
	x.add(a, indexEntry{hash: 1})   //nolint:errcheck
	x.add(b, indexEntry{hash: 2})   //nolint:errcheck
	x.add("c", indexEntry{hash: 3}) //nolint:errcheck
	x.next = 2                      // no help from the order
	for id, want := range map[string]uint64{a: 1, b: 2, "c": 3} {
		if e := x.find(id); e == nil || e.hash != want {
			t.Fatalf("find(%s) = %+v, want hash %d", id, e, want)
		}
	}
	if x.find("nobody") != nil {
		t.Fatal("found an id never added")
	}
}
