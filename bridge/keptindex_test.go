package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// rowsOnly hides a store's kept index, so LoadKnown reads the rows.
type rowsOnly struct{ schema.Ingest }

// dumpIndex loads the change index of conn's tenant, from the kept index
// when the store keeps one (and reports whether it did) or from the rows.
func dumpIndex(t *testing.T, s schema.Store, conn schema.Connection, fromRows bool, n *int) (string, bool) {
	t.Helper()
	ctx := context.Background()
	*n++
	f := schema.File{TenantID: conn.TenantID, ConnectionID: conn.ID, Name: "probe", SHA256: fmt.Sprintf("probe-%d", *n), Layout: conn.Layout}
	in, err := s.BeginIngest(ctx, &f)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Rollback(ctx) //nolint:errcheck
	var src schema.Ingest = in
	if fromRows {
		src = rowsOnly{in}
	}
	k, err := schema.LoadKnown(ctx, src, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	k.Each(func(ext, c string, hash, source uint64, missing bool) {
		fmt.Fprintf(&b, "%s conn=%v hash=%x source=%x missing=%v\n", ext, c == conn.ID, hash, source, missing)
	})
	return b.String(), k.Kept()
}

// TestKeptIndexMatchesRows holds the kept change index to what reading
// every employee row gives, through the writes that change it: new,
// changed, unchanged with a new raw record, absent (flagged and
// terminated), back again, taken over by another connection, and a
// rejected file that must leave it alone.
func TestKeptIndexMatchesRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		f := newIngest(t, s, "census-csv", Policy{Absent: "terminate"})
		cfg, _ := json.Marshal(map[string]any{"policy": Policy{}})
		other := schema.Connection{TenantID: f.conn.TenantID, Name: "other", Kind: schema.ConnDropbox, Layout: "census-csv", Config: cfg, Enabled: true}
		if err := s.CreateConnection(ctx, &other); err != nil {
			t.Fatal(err)
		}
		var probes int
		check := func(step string) {
			t.Helper()
			for _, c := range []schema.Connection{f.conn, other} {
				kept, wasKept := dumpIndex(t, s, c, false, &probes)
				rows, _ := dumpIndex(t, s, c, true, &probes)
				if kept != rows {
					t.Fatalf("%s: kept index differs from the rows\nkept:\n%s\nrows:\n%s", step, kept, rows)
				}
				if _, ok := mustIngest(t, s, c).(schema.IndexKeeper); ok && !wasKept {
					t.Fatalf("%s: the store keeps an index but none was kept", step)
				}
			}
		}
		f.ingest(census("E1:A", "E2:A", "E3:A", "E4:A", "E5:A"))
		check("first file")
		f.ingest(census("E1:A", "E2:L", "E3:A", "E4:A", "E5:A", "E6:A"))
		check("one changed, one new")
		// Same people, a different raw record for E1 (spacing): unchanged
		// content, new source hash.
		f.ingest(strings.Replace(census("E1:A", "E2:L", "E3:A", "E4:A", "E5:A", "E6:A"), "First E1,", "First E1 ,", 1))
		check("new raw record")
		f.ingest(census("E1:A", "E2:L", "E3:A", "E4:A", "E6:A"))
		check("absent, terminated")
		f.ingest(census("E1:A", "E2:L", "E3:A", "E4:A", "E5:A", "E6:A"))
		check("back again")
		if _, err := f.bridge.IngestReader(ctx, other, "census.csv", strings.NewReader(census("E3:A", "E7:A"))); err != nil {
			t.Fatal(err)
		}
		check("taken over by another connection")
		res, err := f.bridge.IngestReader(ctx, f.conn, "census.csv", strings.NewReader(census("E1:A", "E2:A", "E3:A", "E4:A", "E5:A", "E6:A")+"E8,,,,,\nE9,,,,,\n"))
		if err != nil || res.File.Status != schema.FileRejected {
			t.Fatalf("bad file = %v %v, want rejected", res.File.Status, err)
		}
		check("rejected file")
	})
}

// mustIngest opens and rolls back an ingest, to ask what it implements.
func mustIngest(t *testing.T, s schema.Store, c schema.Connection) schema.Ingest {
	t.Helper()
	ctx := context.Background()
	f := schema.File{TenantID: c.TenantID, ConnectionID: c.ID, Name: "probe", SHA256: "implements", Layout: c.Layout}
	in, err := s.BeginIngest(ctx, &f)
	if err != nil {
		t.Fatal(err)
	}
	in.Rollback(ctx) //nolint:errcheck
	return in
}
