// Package storetest is the one contract test suite that every schema.Store
// must pass; the PostgreSQL and SQLite stores both run it.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Opener returns a fresh, migrated store for one test.
type Opener func(t *testing.T) schema.Store

// Run runs the contract suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, schema.Store)
	}{
		{"Ready", testReady},
		{"Tenants", testTenants},
		{"APIKeys", testAPIKeys},
		{"Connections", testConnections},
		{"IngestCreatesUpdatesAndSkipsUnchanged", testIngestChanges},
		{"IngestRollbackLeavesNothing", testIngestRollback},
		{"FileAppliesOncePerConnection", testFileOnce},
		{"TenantIsolation", testTenantIsolation},
		{"EmployeePaging", testPaging},
		{"SyncRuns", testSyncRuns},
		{"RecordErrors", testRecordErrors},
		{"Audit", testAudit},
		{"LayoutOverrides", testLayouts},
		{"DropboxAccounts", testDropbox},
		{"ConnectionUpdateDelete", testConnectionUpdateDelete},
		{"JobSyncRuns", testJobSyncRuns},
		{"TickCompareAndSet", testTicks},
		{"ConnectionLease", testConnectionLease},
		{"ConnectionHealth", testConnectionHealth},
		{"EnrollmentWindows", testWindows},
		{"EventFeedOfALargeLoad", testEventFeed},
		{"IdsThatAreNotIds", testBadIDs},
		{"ConsoleAccountsLinksSessions", testConsole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			tt.fn(t, s)
		})
	}
}

var seq atomic.Int64

func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e6, seq.Add(1))
}

func mustTenant(t *testing.T, s schema.Store) schema.Tenant {
	t.Helper()
	tn := schema.Tenant{Slug: unique("acme"), Name: "Acme"}
	if err := s.CreateTenant(context.Background(), &tn); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	return tn
}

func mustConnection(t *testing.T, s schema.Store, tenantID string) schema.Connection {
	t.Helper()
	c := schema.Connection{TenantID: tenantID, Name: unique("payroll"), Kind: schema.ConnSFTP, Layout: "census-csv",
		Config: []byte(`{"host":"sftp.example.com"}`), Secret: []byte{1, 2, 3}, Enabled: true}
	if err := s.CreateConnection(context.Background(), &c); err != nil {
		t.Fatalf("CreateConnection: %v", err)
	}
	return c
}

func employee(tenantID, connID, ext string) *schema.Employee {
	return &schema.Employee{TenantID: tenantID, ConnectionID: connID, ExternalID: ext, FirstName: "Ada", LastName: "Lovelace",
		DateOfBirth: "1985-12-10", SSN: "123456789", EmploymentStatus: schema.StatusActive, EmploymentType: "full_time",
		HireDate: "2020-01-06", Department: "Engineering", HomeAddress: &schema.Address{Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701"},
		AnnualSalary: &schema.Money{Amount: "85000.00", Currency: "USD"}, CustomFields: map[string]string{"union_code": "L42"}}
}

// change is what apply did with an employee.
type change string

const (
	added     change = "added"
	changed   change = "changed"
	unchanged change = "unchanged"
)

// Apply writes emps as one file, as the bridge hands a store its writes:
// new employees inserted, changed ones updated (by content hash), each
// with its event, and commits.
func Apply(t testing.TB, s schema.Store, conn schema.Connection, sha string, emps ...*schema.Employee) (*schema.File, []change) {
	t.Helper()
	ctx := context.Background()
	f := &schema.File{TenantID: conn.TenantID, ConnectionID: conn.ID, Name: "census.csv", SHA256: sha, Size: 10, Layout: "census-csv"}
	in, err := s.BeginIngest(ctx, f)
	if err != nil {
		t.Fatalf("BeginIngest: %v", err)
	}
	stored := map[string]schema.IndexEntry{}
	if err := in.EmployeeIndex(ctx, func(int) {}, func(e schema.IndexEntry) error { stored[e.ExternalID] = e; return nil }); err != nil {
		t.Fatalf("EmployeeIndex: %v", err)
	}
	var changes []change
	var inserts, updates []*schema.Employee
	var events []schema.Event
	for _, e := range emps {
		e.Hash, _ = e.ContentHash(schema.NewHashKey(HashKey), nil)
		old, ok := stored[e.ExternalID]
		switch {
		case !ok:
			e.ID = schema.NewID()
			inserts = append(inserts, e)
			events = append(events, schema.EmployeeEvent(schema.EventEmployeeHired, e, nil))
			changes = append(changes, added)
		case old.Hash != e.Hash || !old.SameConnection || old.Missing:
			olds, err := in.EmployeesByExternalID(ctx, []string{e.ExternalID})
			if err != nil || len(olds) != 1 {
				t.Fatalf("EmployeesByExternalID(%s) = %d, %v", e.ExternalID, len(olds), err)
			}
			e.ID = olds[0].ID
			typ, fields := schema.EmployeeEventType(&olds[0], e)
			updates = append(updates, e)
			events = append(events, schema.EmployeeEvent(typ, e, fields))
			changes = append(changes, changed)
		default:
			changes = append(changes, unchanged)
		}
	}
	if err := in.InsertEmployees(ctx, inserts); err != nil {
		t.Fatalf("InsertEmployees: %v", err)
	}
	if err := in.UpdateEmployees(ctx, updates); err != nil {
		t.Fatalf("UpdateEmployees: %v", err)
	}
	if err := in.AppendEvents(ctx, events); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	f.Status, f.Rows, f.Valid = schema.FileApplied, len(emps), len(emps)
	if err := in.Commit(ctx, f); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return f, changes
}

func testReady(t *testing.T, s schema.Store) {
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("Ready on a migrated store = %v, want nil", err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("second Migrate = %v, want nil (idempotent)", err)
	}
}

func testTenants(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	if tn.ID == "" || tn.CreatedAt.IsZero() {
		t.Fatalf("CreateTenant left id or created_at empty: %+v", tn)
	}
	got, err := s.TenantBySlug(ctx, tn.Slug)
	if err != nil || got.ID != tn.ID || got.Name != "Acme" {
		t.Fatalf("TenantBySlug = %+v, %v; want %+v", got, err, tn)
	}
	dup := schema.Tenant{Slug: tn.Slug, Name: "Other"}
	if err := s.CreateTenant(ctx, &dup); !errors.Is(err, schema.ErrDuplicate) {
		t.Fatalf("CreateTenant(duplicate slug) = %v, want ErrDuplicate", err)
	}
	if _, err := s.TenantBySlug(ctx, "nope"); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("TenantBySlug(nope) = %v, want ErrNotFound", err)
	}
	all, err := s.Tenants(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("Tenants = %d, %v; want 1", len(all), err)
	}
}

func testAPIKeys(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	k := schema.APIKey{TenantID: tn.ID, Prefix: unique("hbk"), Hash: []byte("0123456789abcdef0123456789abcdef"), Scopes: []string{"read", "pii:read"}}
	if err := s.CreateAPIKey(ctx, &k); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	got, err := s.APIKeyByPrefix(ctx, k.Prefix)
	if err != nil {
		t.Fatalf("APIKeyByPrefix: %v", err)
	}
	if got.TenantID != tn.ID || string(got.Hash) != string(k.Hash) || !got.HasScope("pii:read") || got.HasScope("write") || got.RevokedAt != nil {
		t.Fatalf("APIKeyByPrefix = %+v, want %+v", got, k)
	}
	admin := schema.APIKey{Prefix: unique("hbk"), Hash: []byte("x"), Scopes: []string{"admin"}}
	if err := s.CreateAPIKey(ctx, &admin); err != nil {
		t.Fatalf("CreateAPIKey(admin, no tenant): %v", err)
	}
	if got, err := s.APIKeyByPrefix(ctx, admin.Prefix); err != nil || got.TenantID != "" || !got.HasScope("write") {
		t.Fatalf("admin key = %+v, %v; want no tenant and every scope", got, err)
	}
	if _, err := s.APIKeyByPrefix(ctx, "missing"); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("APIKeyByPrefix(missing) = %v, want ErrNotFound", err)
	}

	// Expiry, listing, last use and revocation.
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	k2 := schema.APIKey{TenantID: tn.ID, Name: "ci", Prefix: unique("hbk"), Hash: []byte("y"), Scopes: []string{"read"}, ExpiresAt: &exp}
	if err := s.CreateAPIKey(ctx, &k2); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APIKeyByPrefix(ctx, k2.Prefix); got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || !got.Usable(time.Now()) || got.Usable(exp.Add(time.Second)) {
		t.Fatalf("expiring key = %+v", got)
	}
	other := mustTenant(t, s)
	k3 := schema.APIKey{TenantID: other.ID, Prefix: unique("hbk"), Hash: []byte("z"), Scopes: []string{"read"}}
	s.CreateAPIKey(ctx, &k3)
	keys, err := s.APIKeys(ctx, tn.ID)
	if err != nil || len(keys) != 2 || keys[0].ID != k2.ID || keys[1].ID != k.ID || keys[0].Hash != nil {
		t.Fatalf("APIKeys(tenant) = %+v, %v; want its two keys, newest first, without hashes", keys, err)
	}
	if all, _ := s.APIKeys(ctx, ""); len(all) < 4 {
		t.Fatalf("APIKeys(all) = %d keys, want at least 4", len(all))
	}
	used := time.Now().UTC().Truncate(time.Second)
	if err := s.TouchAPIKey(ctx, k.ID, used); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APIKeyByPrefix(ctx, k.Prefix); got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
		t.Fatalf("last used = %v, want %v", got.LastUsedAt, used)
	}
	if _, err := s.RevokeAPIKey(ctx, other.ID, k.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("revoking another tenant's key = %v, want ErrNotFound", err)
	}
	rk, err := s.RevokeAPIKey(ctx, tn.ID, k.Prefix)
	if err != nil || rk.ID != k.ID || rk.RevokedAt == nil {
		t.Fatalf("RevokeAPIKey by prefix = %+v, %v", rk, err)
	}
	if got, _ := s.APIKeyByPrefix(ctx, k.Prefix); got.Usable(time.Now()) {
		t.Fatal("a revoked key is usable")
	}
	if _, err := s.RevokeAPIKey(ctx, tn.ID, k.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("revoking twice = %v, want ErrNotFound", err)
	}
}

func testConnections(t *testing.T, s schema.Store) {
	ctx := context.Background()
	a, b := mustTenant(t, s), mustTenant(t, s)
	c := mustConnection(t, s, a.ID)
	for _, key := range []string{c.ID, c.Name} {
		got, err := s.Connection(ctx, a.ID, key)
		if err != nil || got.ID != c.ID || string(got.Config) == "" || string(got.Secret) != "\x01\x02\x03" || !got.Enabled {
			t.Fatalf("Connection(%q) = %+v, %v", key, got, err)
		}
	}
	if _, err := s.Connection(ctx, b.ID, c.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("Connection from another tenant = %v, want ErrNotFound", err)
	}
	dup := schema.Connection{TenantID: a.ID, Name: c.Name, Kind: "sftp", Layout: "census-csv"}
	if err := s.CreateConnection(ctx, &dup); !errors.Is(err, schema.ErrDuplicate) {
		t.Fatalf("CreateConnection(duplicate name) = %v, want ErrDuplicate", err)
	}
	mustConnection(t, s, b.ID)
	if cs, err := s.Connections(ctx, a.ID); err != nil || len(cs) != 1 {
		t.Fatalf("Connections(a) = %d, %v; want 1", len(cs), err)
	}
	if cs, err := s.Connections(ctx, ""); err != nil || len(cs) != 2 {
		t.Fatalf("Connections(all) = %d, %v; want 2", len(cs), err)
	}
}

func eventTypes(t *testing.T, s schema.Store, tenantID string) []string {
	t.Helper()
	evs, err := s.Events(context.Background(), tenantID, 0, 100)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func testIngestChanges(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	_, ch := Apply(t, s, conn, "sha-1", employee(tn.ID, conn.ID, "E1"), employee(tn.ID, conn.ID, "E2"))
	if ch[0] != added || ch[1] != added {
		t.Fatalf("first file changes = %v, want [added added]", ch)
	}
	e2 := employee(tn.ID, conn.ID, "E2")
	e2.EmploymentStatus, e2.TerminationDate = schema.StatusTerminated, "2026-10-31"
	_, ch = Apply(t, s, conn, "sha-2", employee(tn.ID, conn.ID, "E1"), e2)
	if ch[0] != unchanged || ch[1] != changed {
		t.Fatalf("second file changes = %v, want [unchanged changed]", ch)
	}
	// One change, one event: the termination, with its changed fields.
	want := []string{"employee.hired", "employee.hired", "employee.terminated"}
	if got := eventTypes(t, s, tn.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	evs, _ := s.Events(ctx, tn.ID, 0, 100)
	if evs[2].Seq <= evs[1].Seq || !strings.Contains(string(evs[2].Data), `"employment_status"`) {
		t.Fatalf("events not in sequence, or the termination without its changed fields: %+v", evs)
	}
	got, err := s.Employees(ctx, tn.ID, schema.EmployeeQuery{Limit: 10})
	if err != nil || len(got) != 2 {
		t.Fatalf("Employees = %d, %v; want 2", len(got), err)
	}
	e := got[1]
	if e.ExternalID != "E2" || e.SSN != "123456789" || e.EmploymentStatus != "terminated" || e.HomeAddress.City != "Springfield" ||
		e.AnnualSalary.Amount != "85000.00" || e.CustomFields["union_code"] != "L42" || e.ConnectionID != conn.ID {
		t.Fatalf("stored employee does not round-trip: %+v", e)
	}
	if !e.UpdatedAt.After(e.CreatedAt) && !e.UpdatedAt.Equal(e.CreatedAt) {
		t.Fatalf("updated_at %v before created_at %v", e.UpdatedAt, e.CreatedAt)
	}
	one, err := s.Employee(ctx, tn.ID, e.ID)
	if err != nil || one.ID != e.ID {
		t.Fatalf("Employee(%s) = %+v, %v", e.ID, one, err)
	}
}

func testIngestRollback(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	f := &schema.File{TenantID: tn.ID, ConnectionID: conn.ID, Name: "bad.csv", SHA256: "sha-rb", Layout: "census-csv"}
	in, err := s.BeginIngest(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	e1 := employee(tn.ID, conn.ID, "E1")
	e1.ID = schema.NewID()
	if err := in.InsertEmployees(ctx, []*schema.Employee{e1}); err != nil {
		t.Fatal(err)
	}
	if err := in.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if es, _ := s.Employees(ctx, tn.ID, schema.EmployeeQuery{Limit: 10}); len(es) != 0 {
		t.Fatalf("rolled-back ingest left %d employees", len(es))
	}
	if evs := eventTypes(t, s, tn.ID); len(evs) != 0 {
		t.Fatalf("rolled-back ingest left events %v", evs)
	}
	if fs, _ := s.Files(ctx, tn.ID, schema.ListQuery{Limit: 10}); len(fs) != 0 {
		t.Fatalf("rolled-back ingest left files %+v", fs)
	}
	// The same bytes may be tried again after a rollback.
	Apply(t, s, conn, "sha-rb", employee(tn.ID, conn.ID, "E1"))
}

func testFileOnce(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	a, b := mustConnection(t, s, tn.ID), mustConnection(t, s, tn.ID)
	f, _ := Apply(t, s, a, "sha-same", employee(tn.ID, a.ID, "E1"))
	again := &schema.File{TenantID: tn.ID, ConnectionID: a.ID, Name: "census.csv", SHA256: "sha-same", Layout: "census-csv"}
	if _, err := s.BeginIngest(ctx, again); !errors.Is(err, schema.ErrDuplicate) {
		t.Fatalf("BeginIngest(same sha, same connection) = %v, want ErrDuplicate", err)
	}
	got, err := s.FileBySHA256(ctx, a.ID, "sha-same")
	if err != nil || got.ID != f.ID || got.Status != schema.FileApplied || got.Rows != 1 || got.AppliedAt != nil && got.AppliedAt.IsZero() {
		t.Fatalf("FileBySHA256 = %+v, %v; want the applied file", got, err)
	}
	dup := &schema.File{TenantID: tn.ID, ConnectionID: a.ID, Name: "census.csv", SHA256: "sha-same", Layout: "census-csv", Status: schema.FileDuplicate, Detail: "duplicate of " + f.ID}
	if err := s.RecordFile(ctx, dup, nil); err != nil {
		t.Fatalf("RecordFile(duplicate delivery): %v", err)
	}
	Apply(t, s, b, "sha-same", employee(tn.ID, b.ID, "E9")) // another connection may send the same bytes
	if fs, err := s.Files(ctx, tn.ID, schema.ListQuery{Limit: 10}); err != nil || len(fs) != 3 {
		t.Fatalf("Files = %d, %v; want 3", len(fs), err)
	}
}

func testTenantIsolation(t *testing.T, s schema.Store) {
	ctx := context.Background()
	a, b := mustTenant(t, s), mustTenant(t, s)
	ca, cb := mustConnection(t, s, a.ID), mustConnection(t, s, b.ID)
	fa, _ := Apply(t, s, ca, "sha-a", employee(a.ID, ca.ID, "E1"))
	Apply(t, s, cb, "sha-b", employee(b.ID, cb.ID, "E1")) // same external id, other employer
	ea, _ := s.Employees(ctx, a.ID, schema.EmployeeQuery{Limit: 10})
	eb, _ := s.Employees(ctx, b.ID, schema.EmployeeQuery{Limit: 10})
	if len(ea) != 1 || len(eb) != 1 || ea[0].ID == eb[0].ID {
		t.Fatalf("tenants share employees: a=%+v b=%+v", ea, eb)
	}
	if _, err := s.Employee(ctx, b.ID, ea[0].ID); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("Employee(b, a's id) = %v, want ErrNotFound", err)
	}
	if evs := eventTypes(t, s, b.ID); len(evs) != 1 {
		t.Fatalf("tenant b sees %d events, want its own 1", len(evs))
	}
	if fs, _ := s.Files(ctx, b.ID, schema.ListQuery{Limit: 10}); len(fs) != 1 || fs[0].ID == fa.ID {
		t.Fatalf("tenant b sees files %+v", fs)
	}
}

// testBadIDs: ids from a request that are not ids (PostgreSQL keys
// employees by uuid) find nothing and fail nothing.
func testBadIDs(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	Apply(t, s, conn, "sha-bad-ids", employee(tn.ID, conn.ID, "E1"), employee(tn.ID, conn.ID, "E2"))
	all, err := s.Employees(ctx, tn.ID, schema.EmployeeQuery{Limit: 10})
	if err != nil || len(all) != 2 {
		t.Fatalf("Employees = %d, %v; want 2", len(all), err)
	}
	for _, bad := range []string{"not-an-id", "", "' OR 1=1 --", strings.ToUpper(all[0].ID) + "0"} {
		if _, err := s.Employee(ctx, tn.ID, bad); !errors.Is(err, schema.ErrNotFound) {
			t.Errorf("Employee(%q) = %v, want ErrNotFound", bad, err)
		}
		if bad == "" {
			continue
		}
		for name, q := range map[string]schema.EmployeeQuery{
			"cursor":     {AfterID: bad, Limit: 10},
			"by updated": {AfterID: bad, ByUpdated: true, AfterUpdated: all[1].UpdatedAt.Add(time.Hour), Limit: 10},
			"connection": {ConnectionID: bad, Limit: 10},
		} {
			if es, err := s.Employees(ctx, tn.ID, q); err != nil || len(es) != 0 {
				t.Errorf("Employees(%s %q) = %d, %v; want none and no error", name, bad, len(es), err)
			}
		}
		if ds, err := s.Dependents(ctx, tn.ID, schema.ListQuery{EmployeeID: bad, Limit: 10}); err != nil || len(ds) != 0 {
			t.Errorf("Dependents(employee %q) = %d, %v", bad, len(ds), err)
		}
		if ns, err := s.Enrollments(ctx, tn.ID, schema.ListQuery{EmployeeID: bad, Limit: 10}); err != nil || len(ns) != 0 {
			t.Errorf("Enrollments(employee %q) = %d, %v", bad, len(ns), err)
		}
		if es, err := s.Employees(ctx, bad, schema.EmployeeQuery{Limit: 10}); err != nil || len(es) != 0 {
			t.Errorf("Employees(tenant %q) = %d, %v", bad, len(es), err)
		}
	}
	// A real id in another case is the same id to PostgreSQL's uuid and
	// not to SQLite's text; either way the lookup must not fail.
	if _, err := s.Employee(ctx, tn.ID, strings.ToUpper(all[0].ID)); err != nil && !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("Employee(upper-case id) = %v", err)
	}
	// The filters still filter.
	if es, err := s.Employees(ctx, tn.ID, schema.EmployeeQuery{AfterID: all[0].ID, ConnectionID: conn.ID, Limit: 10}); err != nil || len(es) != 1 || es[0].ID != all[1].ID {
		t.Errorf("Employees(after first, connection) = %+v, %v", es, err)
	}
}

func testPaging(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	var emps []*schema.Employee
	for i := range 7 {
		e := employee(tn.ID, conn.ID, fmt.Sprintf("E%02d", i))
		if i%3 == 0 {
			e.EmploymentStatus, e.TerminationDate = schema.StatusLeave, ""
		}
		emps = append(emps, e)
	}
	Apply(t, s, conn, "sha-page", emps...)
	var seen []string
	after := ""
	for page := 0; page < 10; page++ {
		es, err := s.Employees(ctx, tn.ID, schema.EmployeeQuery{AfterID: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			seen = append(seen, e.ExternalID)
		}
		if len(es) < 3 {
			break
		}
		after = es[len(es)-1].ID
	}
	if fmt.Sprint(seen) != "[E00 E01 E02 E03 E04 E05 E06]" {
		t.Fatalf("paged external ids = %v, want all seven once in creation order", seen)
	}
	leave, err := s.Employees(ctx, tn.ID, schema.EmployeeQuery{Limit: 10, EmploymentStatus: schema.StatusLeave})
	if err != nil || len(leave) != 3 {
		t.Fatalf("Employees(status=leave) = %d, %v; want 3", len(leave), err)
	}
	for _, tt := range []struct {
		q    schema.EmployeeQuery
		want int
	}{
		{schema.EmployeeQuery{ExternalID: "E03"}, 1},
		{schema.EmployeeQuery{Department: "Engineering", EmploymentType: "full_time"}, 7},
		{schema.EmployeeQuery{Department: "Finance"}, 0},
		{schema.EmployeeQuery{Location: "nowhere"}, 0},
		{schema.EmployeeQuery{ConnectionID: conn.ID}, 7},
		{schema.EmployeeQuery{HiredAfter: "2020-01-05"}, 7},
		{schema.EmployeeQuery{HiredAfter: "2020-01-06"}, 0},
		{schema.EmployeeQuery{TerminatedAfter: "2000-01-01"}, 0},
	} {
		tt.q.Limit = 10
		if got, err := s.Employees(ctx, tn.ID, tt.q); err != nil || len(got) != tt.want {
			t.Errorf("Employees(%+v) = %d, %v; want %d", tt.q, len(got), err, tt.want)
		}
	}
	// By updated_at: touch E02 so it sorts last, then page two at a time.
	e2 := employee(tn.ID, conn.ID, "E02")
	e2.Department = "Finance"
	Apply(t, s, conn, "sha-page-2", e2)
	var order []string
	q := schema.EmployeeQuery{Limit: 2, ByUpdated: true}
	for range 10 {
		es, err := s.Employees(ctx, tn.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			order = append(order, e.ExternalID)
		}
		if len(es) < 2 {
			break
		}
		q.AfterID, q.AfterUpdated = es[len(es)-1].ID, es[len(es)-1].UpdatedAt
	}
	if len(order) != 7 || order[6] != "E02" {
		t.Fatalf("by updated_at = %v, want all seven with E02 last", order)
	}
	future, err := s.Employees(ctx, tn.ID, schema.EmployeeQuery{Limit: 10, UpdatedSince: time.Now().Add(time.Hour)})
	if err != nil || len(future) != 0 {
		t.Fatalf("Employees(updated_since=future) = %d, %v; want 0", len(future), err)
	}
}

func testSyncRuns(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	r := schema.SyncRun{TenantID: tn.ID, ConnectionID: conn.ID, Trigger: "manual"}
	if err := s.StartSyncRun(ctx, &r); err != nil {
		t.Fatal(err)
	}
	r.Status, r.Files, r.Rows, r.Error = schema.RunFailed, 1, 10, "dial tcp: refused"
	if err := s.FinishSyncRun(ctx, &r); err != nil {
		t.Fatal(err)
	}
	rs, err := s.SyncRuns(ctx, tn.ID, schema.ListQuery{Limit: 10})
	if err != nil || len(rs) != 1 || rs[0].Status != schema.RunFailed || rs[0].Rows != 10 || rs[0].FinishedAt == nil || rs[0].Error == "" {
		t.Fatalf("SyncRuns = %+v, %v", rs, err)
	}
}

func testRecordErrors(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	f := &schema.File{TenantID: tn.ID, ConnectionID: conn.ID, Name: "c.csv", SHA256: "sha-re", Layout: "census-csv"}
	in, err := s.BeginIngest(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []int{9, 3} {
		if err := in.PutRecordError(ctx, schema.RecordError{Line: line, RecordID: "E7", Field: "hire_date", Code: schema.ECodeDate, Message: "bad"}); err != nil {
			t.Fatal(err)
		}
	}
	f.Status, f.Invalid = schema.FileAppliedWithErrors, 2
	if err := in.Commit(ctx, f); err != nil {
		t.Fatal(err)
	}
	es, err := s.RecordErrors(ctx, tn.ID, f.ID)
	if err != nil || len(es) != 2 || es[0].Line != 3 || es[1].Code != schema.ECodeDate || es[0].FileID != f.ID {
		t.Fatalf("RecordErrors = %+v, %v", es, err)
	}
	rej := &schema.File{TenantID: tn.ID, ConnectionID: conn.ID, Name: "r.csv", SHA256: "sha-rej", Layout: "census-csv", Status: schema.FileRejected, Detail: "too many invalid rows"}
	if err := s.RecordFile(ctx, rej, []schema.RecordError{{Line: 4, Code: schema.ECodeRequired, Message: "x"}}); err != nil {
		t.Fatal(err)
	}
	if es, err := s.RecordErrors(ctx, tn.ID, rej.ID); err != nil || len(es) != 1 || es[0].Line != 4 {
		t.Fatalf("RecordErrors(rejected file) = %+v, %v", es, err)
	}
	other := mustTenant(t, s)
	if es, _ := s.RecordErrors(ctx, other.ID, f.ID); len(es) != 0 {
		t.Fatalf("another tenant reads %d record errors", len(es))
	}
}

func testAudit(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	if err := s.Audit(ctx, schema.AuditEntry{TenantID: tn.ID, KeyID: "k1", Action: "pii.read", Resource: "/v1/employees"}); err != nil {
		t.Fatal(err)
	}
	es, err := s.AuditLog(ctx, tn.ID, schema.AuditQuery{Limit: 10})
	if err != nil || len(es) != 1 || es[0].Action != "pii.read" || es[0].At.IsZero() || es[0].ID == 0 {
		t.Fatalf("AuditLog = %+v, %v", es, err)
	}
	other := mustTenant(t, s)
	t0 := time.Now().Add(-time.Hour).UTC()
	for i, e := range []schema.AuditEntry{
		{TenantID: tn.ID, KeyID: "k2", Action: "key.create", Resource: "key-a", At: t0},
		{TenantID: tn.ID, Actor: "cli:alice", Action: "key.revoke", Resource: "key-a", At: t0.Add(time.Minute)},
		{TenantID: other.ID, KeyID: "k9", Action: "pii.read", Resource: "/v1/employees", At: t0.Add(2 * time.Minute)},
	} {
		if err := s.Audit(ctx, e); err != nil {
			t.Fatalf("Audit %d: %v", i, err)
		}
	}
	resources := func(q schema.AuditQuery, tenantID string) string {
		t.Helper()
		es, err := s.AuditLog(ctx, tenantID, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Action)
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		name   string
		q      schema.AuditQuery
		tenant string
		want   string
	}{
		{"tenant, newest first", schema.AuditQuery{}, tn.ID, "key.revoke key.create pii.read"},
		{"an action", schema.AuditQuery{Action: "pii.read"}, tn.ID, "pii.read"},
		{"a family", schema.AuditQuery{Action: "key."}, tn.ID, "key.revoke key.create"},
		{"a key as actor", schema.AuditQuery{Actor: "k2"}, tn.ID, "key.create"},
		{"a CLI actor", schema.AuditQuery{Actor: "cli:alice"}, tn.ID, "key.revoke"},
		{"a time range", schema.AuditQuery{Since: t0.Add(30 * time.Second), Until: t0.Add(90 * time.Second)}, tn.ID, "key.revoke"},
		{"a page", schema.AuditQuery{Limit: 1}, tn.ID, "key.revoke"},
		{"every tenant", schema.AuditQuery{Action: "pii.read"}, "", "pii.read pii.read"},
		{"another tenant", schema.AuditQuery{}, other.ID, "pii.read"},
	} {
		if got := resources(c.q, c.tenant); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	page, _ := s.AuditLog(ctx, tn.ID, schema.AuditQuery{Limit: 1})
	if rest := resources(schema.AuditQuery{Before: page[0].ID}, tn.ID); rest != "key.create pii.read" {
		t.Errorf("after the first page: %s", rest)
	}
}

func testLayouts(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	if _, err := s.Layout(ctx, tn.ID, "", "census-csv"); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("Layout(absent) = %v, want ErrNotFound", err)
	}
	for _, body := range []string{"v1", "v2"} {
		if err := s.PutLayout(ctx, tn.ID, "", "census-csv", []byte("tenant "+body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutLayout(ctx, tn.ID, conn.ID, "census-csv", []byte("connection")); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Layout(ctx, tn.ID, "", "census-csv"); err != nil || string(b) != "tenant v2" {
		t.Fatalf("tenant layout = %q, %v; want the replacement", b, err)
	}
	if b, err := s.Layout(ctx, tn.ID, conn.ID, "census-csv"); err != nil || string(b) != "connection" {
		t.Fatalf("connection layout = %q, %v", b, err)
	}
	other := mustTenant(t, s)
	if _, err := s.Layout(ctx, other.ID, "", "census-csv"); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("another tenant sees the override: %v", err)
	}
}

func testDropbox(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	a := schema.DropboxAccount{TenantID: tn.ID, ConnectionID: conn.ID, Username: unique("hr"), PasswordHash: []byte("$2a$..."),
		AuthorizedKeys: "ssh-ed25519 AAAA", Rights: []string{"delete", "list"}, MaxBytes: 1 << 20}
	if err := s.CreateDropboxAccount(ctx, &a); err != nil {
		t.Fatal(err)
	}
	got, err := s.DropboxAccount(ctx, a.Username)
	if err != nil || got.ID != a.ID || got.ConnectionID != conn.ID || strings.Join(got.Rights, ",") != "upload,list,delete" || got.Can("read") || got.MaxBytes != 1<<20 || string(got.PasswordHash) != "$2a$..." {
		t.Fatalf("DropboxAccount = %+v, %v", got, err)
	}
	dup := a
	if err := s.CreateDropboxAccount(ctx, &dup); !errors.Is(err, schema.ErrDuplicate) {
		t.Fatalf("duplicate user name = %v, want ErrDuplicate", err)
	}
	if _, err := s.DropboxAccount(ctx, "nobody"); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("unknown user = %v", err)
	}
	other := mustTenant(t, s)
	if as, err := s.DropboxAccounts(ctx, tn.ID); err != nil || len(as) != 1 || as[0].Username != a.Username {
		t.Fatalf("DropboxAccounts = %+v, %v", as, err)
	}
	if as, _ := s.DropboxAccounts(ctx, other.ID); len(as) != 0 {
		t.Fatalf("another tenant lists %d logins", len(as))
	}
	a.PasswordHash, a.Rights, a.MaxBytes = []byte("$2a$new"), nil, 5
	if err := s.UpdateDropboxAccount(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.DropboxAccount(ctx, a.Username); string(got.PasswordHash) != "$2a$new" || strings.Join(got.Rights, ",") != "upload" || got.MaxBytes != 5 {
		t.Fatalf("updated login = %+v", got)
	}
	if err := s.DeleteDropboxAccount(ctx, other.ID, a.Username); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("another tenant deleting = %v, want ErrNotFound", err)
	}
	if err := s.DeleteDropboxAccount(ctx, tn.ID, a.Username); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DropboxAccount(ctx, a.Username); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("deleted login = %v", err)
	}
}

func testConnectionUpdateDelete(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	c := mustConnection(t, s, tn.ID)
	c.Layout, c.Config, c.Secret, c.Enabled = "payroll-census-fixed", []byte(`{"host":"new.example.com"}`), []byte{9}, false
	if err := s.UpdateConnection(ctx, &c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Connection(ctx, tn.ID, c.ID)
	if err != nil || got.Layout != "payroll-census-fixed" || !strings.Contains(string(got.Config), "new.example.com") || string(got.Secret) != "\x09" || got.Enabled {
		t.Fatalf("updated connection = %+v, %v", got, err)
	}
	a := schema.DropboxAccount{TenantID: tn.ID, ConnectionID: c.ID, Username: unique("hr"), PasswordHash: []byte("x")}
	s.CreateDropboxAccount(ctx, &a)
	if err := s.DeleteConnection(ctx, mustTenant(t, s).ID, c.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("another tenant deleting = %v, want ErrNotFound", err)
	}
	if err := s.DeleteConnection(ctx, tn.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Connection(ctx, tn.ID, c.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("deleted connection by id = %v, want ErrNotFound", err)
	}
	if cs, _ := s.Connections(ctx, ""); slices.ContainsFunc(cs, func(x schema.Connection) bool { return x.ID == c.ID }) {
		t.Fatal("a deleted connection is still listed (and would be scheduled)")
	}
	if _, err := s.DropboxAccount(ctx, a.Username); !errors.Is(err, schema.ErrNotFound) {
		t.Fatal("a deleted connection's drop box login still exists")
	}
	again := schema.Connection{TenantID: tn.ID, Name: c.Name, Kind: schema.ConnSFTP, Layout: "census-csv", Config: []byte(`{}`), Enabled: true}
	if err := s.CreateConnection(ctx, &again); err != nil {
		t.Fatalf("the name of a deleted connection is not free: %v", err)
	}
	if err := s.UpdateConnection(ctx, &c); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("updating a deleted connection = %v, want ErrNotFound", err)
	}
}

// testEventFeed pages through the events of a large load: one event
// per write, numbered 1, 2, 3... without gaps, once each, found by id,
// whatever the page size and wherever a page starts.
func testEventFeed(t *testing.T, s schema.Store) {
	ctx := context.Background()
	tn := mustTenant(t, s)
	conn := mustConnection(t, s, tn.ID)
	const hires = 5000
	emps := make([]*schema.Employee, hires)
	for i := range emps {
		emps[i] = employee(tn.ID, conn.ID, fmt.Sprintf("E%05d", i))
	}
	Apply(t, s, conn, "sha-many", emps...)
	// Two events after the hires: a change and a notice.
	changed := employee(tn.ID, conn.ID, "E00007")
	changed.Department = "Finance"
	Apply(t, s, conn, "sha-change", changed)
	if err := s.AppendEvent(ctx, &schema.Event{TenantID: tn.ID, Type: "sync.completed", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}

	var all []schema.Event
	for after := int64(0); ; {
		page, err := s.Events(ctx, tn.ID, after, 333)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 333 {
			t.Fatalf("page of %d events, limit 333", len(page))
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	if len(all) != hires+2 {
		t.Fatalf("feed has %d events, want %d hires and 2 more", len(all), hires)
	}
	ids := map[string]bool{}
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: seqs must count from 1 without gaps", i, e.Seq)
		}
		if ids[e.ID] {
			t.Fatalf("event id %s twice", e.ID)
		}
		ids[e.ID] = true
		if i < hires {
			var d struct {
				EmployeeID   string `json:"employee_id"`
				ExternalID   string `json:"external_id"`
				ConnectionID string `json:"connection_id"`
				Status       string `json:"employment_status"`
			}
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatalf("hire %d data %s: %v", i, e.Data, err)
			}
			want := fmt.Sprintf("E%05d", i)
			if e.Type != "employee.hired" || d.ExternalID != want || d.EmployeeID != e.Subject || d.ConnectionID != conn.ID || d.Status != "active" || e.TenantID != tn.ID {
				t.Fatalf("event %d = %+v (%+v), want the hire of %s", i, e, d, want)
			}
		}
	}
	if all[hires].Type != "employee.updated" || all[hires+1].Type != "sync.completed" {
		t.Fatalf("last events %s, %s; want employee.updated, sync.completed", all[hires].Type, all[hires+1].Type)
	}
	// A page may start anywhere.
	for _, i := range []int{0, 1, 4095, 4096, hires - 1, hires} {
		page, err := s.Events(ctx, tn.ID, all[i].Seq, 3)
		if err != nil {
			t.Fatal(err)
		}
		want := all[i+1 : min(i+4, len(all))]
		if len(page) != len(want) || page[0].ID != want[0].ID || page[len(page)-1].ID != want[len(want)-1].ID {
			t.Fatalf("Events(after event %d) = %d events from %s, want %d from %s", i, len(page), page[0].ID, len(want), want[0].ID)
		}
	}
	// Every event is found by its id, as the feed shows it; not by
	// another tenant.
	other := mustTenant(t, s)
	for _, i := range []int{0, 1, hires - 1, hires, hires + 1} {
		got, err := s.EventByID(ctx, tn.ID, all[i].ID)
		if err != nil {
			t.Fatalf("EventByID(event %d %s): %v", i, all[i].ID, err)
		}
		if got.ID != all[i].ID || got.Seq != all[i].Seq || got.Subject != all[i].Subject || string(got.Data) != string(all[i].Data) || !got.OccurredAt.Equal(all[i].OccurredAt) {
			t.Fatalf("EventByID(event %d) = %+v, want %+v", i, got, all[i])
		}
		if _, err := s.EventByID(ctx, other.ID, all[i].ID); !errors.Is(err, schema.ErrNotFound) {
			t.Fatalf("EventByID(other tenant, event %d) = %v, want ErrNotFound", i, err)
		}
	}
	// A new webhook endpoint starts after the last event.
	w := &schema.WebhookEndpoint{TenantID: tn.ID, URL: "https://example.com/hook", Secret: "whsec_test"}
	if err := s.CreateWebhookEndpoint(ctx, w); err != nil {
		t.Fatal(err)
	}
	if w.LastSeq != all[len(all)-1].Seq {
		t.Fatalf("new endpoint starts after seq %d, want %d", w.LastSeq, all[len(all)-1].Seq)
	}
}
