package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

type ingestFixture struct {
	t      *testing.T
	store  schema.Store
	bridge *Bridge
	conn   schema.Connection
	seen   int // events already looked at
	sent   int // deliveries so far
}

func newIngest(t *testing.T, s schema.Store, layout string, policy Policy) *ingestFixture {
	t.Helper()
	return newIngestFor(t, s, "acme", layout, policy)
}

// newIngestNamed is newIngest for a census-csv connection of another tenant.
func newIngestNamed(t *testing.T, s schema.Store, tenant string, policy Policy) *ingestFixture {
	t.Helper()
	return newIngestFor(t, s, tenant, "census-csv", policy)
}

func newIngestFor(t *testing.T, s schema.Store, tenant, layout string, policy Policy) *ingestFixture {
	t.Helper()
	ctx := context.Background()
	b, err := New(Config{Store: s, Box: storetest.Box(t), SpoolDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tn := schema.Tenant{Slug: tenant, Name: tenant}
	if err := s.CreateTenant(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"policy": policy})
	conn := schema.Connection{TenantID: tn.ID, Name: "uploads", Kind: schema.ConnDropbox, Layout: layout, Config: cfg, Enabled: true}
	if err := s.CreateConnection(ctx, &conn); err != nil {
		t.Fatal(err)
	}
	return &ingestFixture{t: t, store: s, bridge: b, conn: conn}
}

// census renders a census of the given "ID:status" people.
func census(people ...string) string {
	var b strings.Builder
	b.WriteString("Employee ID,First Name,Last Name,Status,Term Date,Department\n")
	for _, p := range people {
		id, status, _ := strings.Cut(p, ":")
		term := ""
		if status == "T" {
			term = "10/31/2026"
		}
		fmt.Fprintf(&b, "%s,First %s,Last,%s,%s,Eng\n", id, id, status, term)
	}
	return b.String()
}

func people(n int, status string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("E%02d:%s", i+1, status)
	}
	return out
}

// ingest delivers body as a new file: each delivery gets its own bytes
// (trailing blank lines, which parsers skip), as a new export would.
func (f *ingestFixture) ingest(body string) Result {
	f.t.Helper()
	f.sent++
	return f.ingestRaw(body + strings.Repeat("\n", f.sent))
}

// ingestRaw delivers exactly body.
func (f *ingestFixture) ingestRaw(body string) Result {
	f.t.Helper()
	res, err := f.bridge.IngestReader(context.Background(), f.conn, "census.csv", strings.NewReader(body))
	if err != nil {
		f.t.Fatalf("ingest: %v", err)
	}
	f.checkIndexCache()
	return res
}

// newEvents returns the types of events written since the last call, sorted.
func (f *ingestFixture) newEvents() []string {
	f.t.Helper()
	evs, err := f.store.Events(context.Background(), f.conn.TenantID, 0, 10000)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range evs[f.seen:] {
		var d struct {
			ExternalID string `json:"external_id"`
		}
		json.Unmarshal(e.Data, &d)
		out = append(out, e.Type+":"+d.ExternalID)
	}
	f.seen = len(evs)
	sort.Strings(out)
	return out
}

func (f *ingestFixture) employee(ext string) schema.Employee {
	f.t.Helper()
	es, _ := f.store.Employees(context.Background(), f.conn.TenantID, schema.EmployeeQuery{Limit: 1000})
	for _, e := range es {
		if e.ExternalID == ext {
			return e
		}
	}
	f.t.Fatalf("no employee %s", ext)
	return schema.Employee{}
}

func counts(r Result) string {
	f := r.File
	return fmt.Sprintf("%s c%d u%d s%d m%d e%d", f.Status, f.Created, f.Updated, f.Unchanged, r.Missing, r.Events)
}

func TestFullSnapshotFlagsAbsence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := newIngest(t, s, "census-csv", Policy{})
		if got := counts(f.ingest(census("E1:A", "E2:A", "E3:A", "E4:A", "E5:A"))); got != "applied c5 u0 s0 m0 e1" {
			t.Fatalf("first file: %s", got)
		}
		f.newEvents()
		// Same people, other order and a changed department: only E3 is written.
		body := strings.Replace(census("E5:A", "E4:A", "E3:A", "E2:A", "E1:A"), "First E3,Last,A,,Eng", "First E3,Last,A,,Ops", 1)
		before := f.employee("E1").UpdatedAt
		if got := counts(f.ingest(body)); got != "applied c0 u1 s4 m0 e1" {
			t.Fatalf("reordered file: %s", got)
		}
		if after := f.employee("E1").UpdatedAt; !after.Equal(before) {
			t.Fatalf("unchanged E1 was written: updated_at %v -> %v", before, after)
		}
		if got := f.newEvents(); fmt.Sprint(got) != "[employee.updated:E3]" {
			t.Fatalf("events = %v", got)
		}
		// E2 leaves the snapshot: flagged, not terminated (E3 moves back to Eng).
		if got := counts(f.ingest(census("E1:A", "E3:A", "E4:A", "E5:A"))); got != "applied c0 u1 s3 m1 e2" {
			t.Fatalf("E2 absent: %s", got)
		}
		if e := f.employee("E2"); !e.MissingFromSnapshot || e.EmploymentStatus != "active" {
			t.Fatalf("E2 = missing %v status %s, want flagged and still active", e.MissingFromSnapshot, e.EmploymentStatus)
		}
		if got := f.newEvents(); fmt.Sprint(got) != "[employee.missing_from_snapshot:E2 employee.updated:E3]" {
			t.Fatalf("events = %v", got)
		}
		// Absent again: already flagged, nothing new.
		if got := counts(f.ingest(census("E1:A", "E3:A", "E4:A", "E5:A"))); got != "applied c0 u0 s4 m0 e0" {
			t.Fatalf("E2 still absent: %s", got)
		}
		// E2 comes back: the flag clears.
		f.ingest(census("E1:A", "E2:A", "E3:A", "E4:A", "E5:A"))
		if e := f.employee("E2"); e.MissingFromSnapshot {
			t.Fatal("E2 still flagged after returning")
		}
		if got := f.newEvents(); fmt.Sprint(got) != "[employee.updated:E2]" {
			t.Fatalf("events = %v", got)
		}
	})
}

func TestAbsentTerminateAndRehire(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := newIngest(t, s, "census-csv", Policy{Absent: "terminate"})
		f.ingest(census("E1:A", "E2:A", "E3:A", "E4:A", "E5:A"))
		f.newEvents()
		f.ingest(census("E1:A", "E3:A", "E4:A", "E5:A"))
		e := f.employee("E2")
		if e.EmploymentStatus != "terminated" || e.TerminationDate == "" || !e.MissingFromSnapshot {
			t.Fatalf("E2 = %s %q missing=%v, want terminated by absence", e.EmploymentStatus, e.TerminationDate, e.MissingFromSnapshot)
		}
		if got := f.newEvents(); fmt.Sprint(got) != "[employee.terminated:E2]" {
			t.Fatalf("events = %v", got)
		}
		f.ingest(census("E1:A", "E2:A", "E3:A", "E4:A", "E5:A"))
		if e := f.employee("E2"); e.EmploymentStatus != "active" || e.MissingFromSnapshot {
			t.Fatalf("E2 = %s missing=%v after returning", e.EmploymentStatus, e.MissingFromSnapshot)
		}
		if got := f.newEvents(); fmt.Sprint(got) != "[employee.rehired:E2]" {
			t.Fatalf("events = %v", got)
		}
		// A terminated-in-file employee is a termination event too.
		f.ingest(census("E1:A", "E2:T", "E3:A", "E4:A", "E5:A"))
		if got := f.newEvents(); fmt.Sprint(got) != "[employee.terminated:E2]" {
			t.Fatalf("events = %v", got)
		}
	})
}

func TestDeltaIgnoresAbsence(t *testing.T) {
	s := openSQLite(t)
	f := newIngest(t, s, "census-csv", Policy{})
	if err := s.PutLayout(context.Background(), f.conn.TenantID, f.conn.ID, "census-csv", []byte("mode: delta\n")); err != nil {
		t.Fatal(err)
	}
	f.ingest(census(people(10, "A")...))
	if got := counts(f.ingest(census("E01:A"))); got != "applied c0 u0 s1 m0 e0" {
		t.Fatalf("delta of one: %s (no absence, no shrink hold)", got)
	}
	if e := f.employee("E05"); e.MissingFromSnapshot {
		t.Fatal("delta file flagged absence")
	}
}

func TestShrinkHoldsThenRelease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		f := newIngest(t, s, "census-csv", Policy{})
		f.ingest(census(people(10, "A")...))
		f.newEvents()
		res := f.ingestRaw(census(people(7, "A")...)) // 30% fewer: a truncated export?
		if res.File.Status != schema.FileHeld || !strings.Contains(res.File.Detail, "shrank from 10 to 7") {
			t.Fatalf("shrunk file = %s %q, want held", res.File.Status, res.File.Detail)
		}
		if e := f.employee("E10"); e.MissingFromSnapshot {
			t.Fatal("a held file changed data")
		}
		// No change events; only the notices of the hold and of the
		// connection being degraded by it.
		if evs := f.newEvents(); strings.Join(evs, " ") != "connection.unhealthy: file.held:" {
			t.Fatalf("a held file wrote events %v", evs)
		}
		// The same bytes again are a duplicate of the held file, not a new hold.
		if again := f.ingestRaw(census(people(7, "A")...)); again.File.Status != schema.FileDuplicate {
			t.Fatalf("resent held file = %s", again.File.Status)
		}
		rel, err := f.bridge.Release(ctx, f.conn.TenantID, res.File.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := counts(rel); got != "applied c0 u0 s7 m3 e3" {
			t.Fatalf("released: %s", got)
		}
		held, _ := s.File(ctx, f.conn.TenantID, res.File.ID)
		if held.Status != schema.FileReleased {
			t.Fatalf("held file row = %s, want released", held.Status)
		}
		if _, err := f.bridge.Release(ctx, f.conn.TenantID, res.File.ID, false); err == nil {
			t.Fatal("released twice")
		}
	})
}

func TestSchemaDriftHoldsThenDiscard(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	f := newIngest(t, s, "census-csv", Policy{})
	s.PutLayout(ctx, f.conn.TenantID, "", "census-csv", []byte("checks: {expected_header: [Employee ID, First Name, Last Name, Status, Term Date, Department]}\n"))
	if got := counts(f.ingest(census("E1:A"))); got != "applied c1 u0 s0 m0 e1" {
		t.Fatalf("agreed header: %s", got)
	}
	drifted := strings.Replace(census("E1:A", "E2:A"), "Department", "Cost Center", 1)
	res := f.ingest(drifted)
	if res.File.Status != schema.FileHeld || !strings.Contains(res.File.Detail, `column "Cost Center" is new`) {
		t.Fatalf("drifted file = %s %q", res.File.Status, res.File.Detail)
	}
	if err := f.bridge.Discard(ctx, f.conn.TenantID, res.File.ID); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.File(ctx, f.conn.TenantID, res.File.ID); d.Status != schema.FileDiscarded {
		t.Fatalf("discarded file = %s", d.Status)
	}
	if es, _ := s.Employees(ctx, f.conn.TenantID, schema.EmployeeQuery{Limit: 10}); len(es) != 1 {
		t.Fatalf("a discarded file applied: %d employees", len(es))
	}
	if _, err := f.bridge.Release(ctx, f.conn.TenantID, res.File.ID, false); err == nil {
		t.Fatal("a discarded file was released")
	}
}

func TestTrailerMismatchRejects(t *testing.T) {
	s := openSQLite(t)
	f := newIngest(t, s, "newhire-fixed", Policy{})
	good := "H4123456789ACME\nW4E1        123456789ROBIN                           MILNER                        500 MAIN ST                             AUSTIN                   TX787012026110219940704\nT400000000001\n"
	if got := counts(f.ingestRaw(good)); got != "applied c1 u0 s0 m0 e1" {
		t.Fatalf("new-hire file: %s", got)
	}
	bad := strings.Replace(good, "T400000000001", "T400000000002", 1)
	res := f.ingestRaw(bad)
	if res.File.Status != schema.FileRejected || !strings.Contains(res.File.Detail, "E_TRAILER_COUNT") {
		t.Fatalf("count mismatch = %s %q", res.File.Status, res.File.Detail)
	}
	errs, _ := s.RecordErrors(context.Background(), f.conn.TenantID, res.File.ID)
	if len(errs) != 1 || errs[0].Code != schema.ECodeTrailerCount || errs[0].Line != 3 {
		t.Fatalf("record errors = %+v", errs)
	}
	truncated := strings.TrimSuffix(good, "T400000000001\n")
	if res := f.ingestRaw(truncated); res.File.Status != schema.FileRejected || !strings.Contains(res.File.Detail, "E_TRUNCATED") {
		t.Fatalf("truncated = %s %q", res.File.Status, res.File.Detail)
	}
}

func TestReleaseRefusesAStaleHeldFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		f := newIngest(t, s, "census-csv", Policy{})
		f.ingest(census(people(10, "A")...))
		held := f.ingestRaw(census(people(5, "A")...)) // shrank by half: held
		if held.File.Status != schema.FileHeld {
			t.Fatalf("shrunk file = %s, want held", held.File.Status)
		}
		// A newer full snapshot applies: one person changed department.
		newer := strings.Replace(census(people(10, "A")...), "E03,First E03,Last,A,,Eng", "E03,First E03,Last,A,,Sales", 1)
		if got := counts(f.ingest(newer)); got != "applied c0 u1 s9 m0 e1" {
			t.Fatalf("newer file: %s", got)
		}
		_, err := f.bridge.Release(ctx, f.conn.TenantID, held.File.ID, false)
		if !errors.Is(err, schema.ErrState) || !strings.Contains(err.Error(), "set its people back to older values") {
			t.Fatalf("release of a stale held file: %v, want ErrState", err)
		}
		if e := f.employee("E03"); e.Department != "Sales" || f.employee("E10").MissingFromSnapshot {
			t.Fatalf("a refused release changed data: E03 in %s", e.Department)
		}
		if h, _ := s.File(ctx, f.conn.TenantID, held.File.ID); h.Status != schema.FileHeld {
			t.Fatalf("refused file is %s, want still held", h.Status)
		}
		// Deliberately, with overwrite: the older snapshot applies.
		rel, err := f.bridge.Release(ctx, f.conn.TenantID, held.File.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := counts(rel); got != "applied c0 u1 s4 m5 e6" {
			t.Fatalf("overwriting release: %s", got)
		}
	})
}

func TestAnotherEmployersSnapshotIsHeld(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := newIngest(t, s, "census-csv", Policy{})
		f.ingest(census(people(10, "A")...))
		f.newEvents()
		other := make([]string, 10)
		for i := range other {
			other[i] = fmt.Sprintf("X%02d:A", i+1)
		}
		res := f.ingest(census(other...)) // same size, none of the same ids
		if res.File.Status != schema.FileHeld || !strings.Contains(res.File.Detail, "only 0 of the 10 people") {
			t.Fatalf("foreign snapshot = %s %q, want held for overlap", res.File.Status, res.File.Detail)
		}
		if e := f.employee("E01"); e.MissingFromSnapshot {
			t.Fatal("a held file flagged people missing")
		}
		// Half the people kept (and half new hires) is at the limit: applies.
		mixed := append(people(5, "A"), other[:5]...)
		if got := counts(f.ingest(census(mixed...))); got != "applied c5 u0 s5 m5 e10" {
			t.Fatalf("half overlap: %s", got)
		}
		// The limit can be turned off per connection.
		off := 0.0
		g := newIngestNamed(t, s, "acme2", Policy{MinOverlapRatio: &off})
		g.ingest(census(people(10, "A")...))
		if res := g.ingest(census(other...)); res.File.Status != schema.FileApplied {
			t.Fatalf("overlap guard off: %s %q", res.File.Status, res.File.Detail)
		}
	})
}

// TestRenamedColumnIsHeldAndNeverLeaks: a full snapshot whose header lost
// a column the last file mapped (the SSN header renamed) is held for
// drift; released anyway, the renamed column's SSNs are kept masked in
// custom fields, and every row is read under the new header (none taken
// as unchanged under the old mapping).
func TestRenamedColumnIsHeldAndNeverLeaks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		f := newIngest(t, s, "census-csv", Policy{})
		body := "Employee ID,First Name,Last Name,Status,SSN\nE1,Ada,L,A,510-55-1000\nE2,Bo,M,A,510-55-1001\nE3,Cy,N,A,510-55-1002\n"
		if got := counts(f.ingest(body)); got != "applied c3 u0 s0 m0 e1" {
			t.Fatalf("first file: %s", got)
		}
		renamed := strings.Replace(body, ",SSN\n", ",Natl Identifier\n", 1)
		res := f.ingest(renamed)
		if res.File.Status != schema.FileHeld || !strings.Contains(res.File.Detail, "no column for ssn") {
			t.Fatalf("renamed SSN column = %s %q, want held for drift", res.File.Status, res.File.Detail)
		}
		if e := f.employee("E1"); e.SSN != "510551000" || len(e.CustomFields) != 0 {
			t.Fatalf("a held file changed E1: %+v", e)
		}
		rel, err := f.bridge.Release(ctx, f.conn.TenantID, res.File.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if rel.Recognised != 0 {
			t.Fatalf("%d rows were taken as unchanged under the old mapping", rel.Recognised)
		}
		for _, id := range []string{"E1", "E2", "E3"} {
			e := f.employee(id)
			if v := e.CustomFields["Natl Identifier"]; !strings.HasPrefix(v, "***-**-") {
				t.Fatalf("%s custom field = %q, want masked", id, v)
			}
		}
		// Delta files are not full snapshots: no drift hold.
		g := newIngestFor(t, s, "acme-delta", "census-csv", Policy{})
		s.PutLayout(ctx, g.conn.TenantID, "", "census-csv", []byte("mode: delta\n"))
		g.ingest(body)
		if res := g.ingest(renamed); res.File.Status != schema.FileApplied {
			t.Fatalf("delta with a renamed column = %s %q", res.File.Status, res.File.Detail)
		}
	})
}

// TestFileRecordsHowItWasRead: the file record says what encoding and
// delimiter a file was read with under the built-in layout's auto.
func TestFileRecordsHowItWasRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := newIngest(t, s, "census-csv", Policy{})
		res := f.ingest("Employee ID;First Name;Last Name;Status\r\nE1;Ren\xe9e;L;A\r\n") // Windows-1252
		if res.File.Status != schema.FileApplied || res.File.ReadAs != "windows-1252, delimiter ;" {
			t.Fatalf("file = %s %q", res.File.Status, res.File.ReadAs)
		}
		got, _ := s.File(context.Background(), f.conn.TenantID, res.File.ID)
		if got.ReadAs != "windows-1252, delimiter ;" || f.employee("E1").FirstName != "Renée" {
			t.Fatalf("stored file read_as = %q", got.ReadAs)
		}
	})
}
