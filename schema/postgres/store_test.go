package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
	"github.com/hrisbridge/hrisbridge/schema/postgres"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
	"github.com/hrisbridge/hrisbridge/schema/secret"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func box(t *testing.T) *secret.Box {
	k, _ := secret.ParseKey(secret.NewKey())
	b, err := secret.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func open(t *testing.T) *postgres.Store {
	s, err := postgres.Open(context.Background(), pgtest.URL(t), box(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestPostgresStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) schema.Store {
		s := open(t)
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPostgresReadyBeforeMigrate(t *testing.T) {
	s := open(t)
	if err := s.Ready(context.Background()); !errors.Is(err, codec.ErrStale) {
		t.Fatalf("Ready before Migrate = %v, want ErrStale", err)
	}
}

// migratedConnection opens a migrated store with a tenant and one of its
// connections.
func migratedConnection(t *testing.T, slug string) (*postgres.Store, schema.Connection) {
	t.Helper()
	ctx := context.Background()
	s := open(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tn := schema.Tenant{Slug: slug, Name: slug}
	if err := s.CreateTenant(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	c := schema.Connection{TenantID: tn.ID, Name: "c", Kind: "sftp", Layout: "census-csv"}
	if err := s.CreateConnection(ctx, &c); err != nil {
		t.Fatal(err)
	}
	return s, c
}

// write applies one file of c that inserts e, or updates it.
func write(t *testing.T, s *postgres.Store, c schema.Connection, sha string, e *schema.Employee, update bool) {
	t.Helper()
	ctx := context.Background()
	f := &schema.File{TenantID: c.TenantID, ConnectionID: c.ID, Name: "f", SHA256: sha, Layout: "census-csv"}
	in, err := s.BeginIngest(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if update {
		err = in.Update(ctx, e, e.Encode(storetest.HashKey))
	} else {
		err = in.Insert(ctx, e, e.Encode(storetest.HashKey))
	}
	if err != nil {
		t.Fatal(err)
	}
	f.Status = schema.FileApplied
	if err := in.Commit(ctx, f); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresSSNSealedAtRest reads the raw column: the SSN must not be there
// in the clear.
func TestPostgresSSNSealedAtRest(t *testing.T) {
	ctx := context.Background()
	s, c := migratedConnection(t, "a")
	e := &schema.Employee{TenantID: c.TenantID, ExternalID: "E1", FirstName: "A", LastName: "B", SSN: "123456789", EmploymentStatus: "active"}
	write(t, s, c, "x", e, false)
	var data string
	var record, sealed []byte
	if err := s.Pool().QueryRow(ctx, `SELECT coalesce(data, ''), record, ssn_sealed FROM employees`).Scan(&data, &record, &sealed); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{data, string(record), string(sealed)} {
		if strings.Contains(raw, "123456789") {
			t.Fatalf("SSN stored in the clear: %q", raw)
		}
	}
}

// TestPostgresReadsJSONRows: an employee written before migration 010
// keeps its JSON (record NULL) and reads back the same; its next update
// writes a record.
func TestPostgresReadsJSONRows(t *testing.T) {
	ctx := context.Background()
	s, c := migratedConnection(t, "j")
	e := &schema.Employee{TenantID: c.TenantID, ConnectionID: c.ID, ExternalID: "E1", FirstName: "Ada", LastName: "Lovelace", SSN: "123456789",
		EmploymentStatus: "active", EmploymentType: "full_time", Department: "Eng", Location: "HQ", HireDate: "2020-01-06",
		HomeAddress: &schema.Address{Line1: "1 Main St", City: "Springfield"}, CustomFields: map[string]string{"k": "v"}}
	write(t, s, c, "a", e, false)
	// As the row was before migration 010: JSON in data (with the columns'
	// fields in it), no record.
	if _, err := s.Pool().Exec(ctx, `UPDATE employees SET data = $1, record = NULL`, string(schema.AppendContentJSON(nil, e))); err != nil {
		t.Fatal(err)
	}
	es, err := s.Employees(ctx, c.TenantID, schema.EmployeeQuery{Limit: 10})
	if err != nil || len(es) != 1 {
		t.Fatalf("Employees = %v, %v", es, err)
	}
	got := es[0]
	want := *e
	want.ID, want.CreatedAt, want.UpdatedAt = got.ID, got.CreatedAt, got.UpdatedAt
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("JSON row read as %+v, want %+v", got, want)
	}
	changed := *e
	changed.FirstName = "Augusta"
	write(t, s, c, "b", &changed, true)
	var hasData, hasRecord bool
	if err := s.Pool().QueryRow(ctx, `SELECT data IS NOT NULL, record IS NOT NULL FROM employees`).Scan(&hasData, &hasRecord); err != nil {
		t.Fatal(err)
	}
	if hasData || !hasRecord {
		t.Fatalf("after an update: data kept %v, record written %v; want only the record", hasData, hasRecord)
	}
	if got, err := s.Employee(ctx, c.TenantID, got.ID); err != nil || got.FirstName != "Augusta" || got.HomeAddress == nil || got.HomeAddress.City != "Springfield" || got.SSN != "123456789" {
		t.Fatalf("updated employee = %+v, %v", got, err)
	}
}

// TestPostgresKeyAndHashMigrations: rows written while the keys and hashes
// were text (before migrations 011 and 012) read back the same after
// them, their links intact, and take updates; migration 013 then erases
// their unkeyed hashes.
func TestPostgresKeyAndHashMigrations(t *testing.T) {
	ctx := context.Background()
	s, c := migratedConnection(t, "u")
	e := &schema.Employee{TenantID: c.TenantID, ConnectionID: c.ID, ExternalID: "E1", FirstName: "Ada", LastName: "Lovelace",
		SSN: "123456789", EmploymentStatus: "active"}
	write(t, s, c, "a", e, false)
	f := &schema.File{TenantID: c.TenantID, ConnectionID: c.ID, Name: "f", SHA256: "b", Layout: "census-csv"}
	in, err := s.BeginIngest(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	p := &schema.BenefitPlan{TenantID: c.TenantID, PlanCode: "MED", Name: "Medical", Type: "medical"}
	d := &schema.Dependent{TenantID: c.TenantID, EmployeeExternalID: "E1", ExternalID: "D1", FirstName: "Byron", LastName: "Lovelace", Relationship: "child"}
	n := &schema.Enrollment{TenantID: c.TenantID, EmployeeExternalID: "E1", PlanCode: "MED", CoverageTier: "employee_child", Status: "active", EffectiveDate: "2026-01-01"}
	for _, put := range []func() error{
		func() error { _, err := in.PutPlan(ctx, p, p.Encode()); return err },
		func() error { _, err := in.PutDependent(ctx, d, d.Encode(storetest.HashKey)); return err },
		func() error { _, err := in.PutEnrollment(ctx, n, n.Encode()); return err },
	} {
		if err := put(); err != nil {
			t.Fatal(err)
		}
	}
	f.Status = schema.FileApplied
	if err := in.Commit(ctx, f); err != nil {
		t.Fatal(err)
	}
	read := func() (es []schema.Employee, ds []schema.Dependent, ns []schema.Enrollment) {
		t.Helper()
		var err error
		if es, err = s.Employees(ctx, c.TenantID, schema.EmployeeQuery{ConnectionID: c.ID, Limit: 10}); err != nil || len(es) != 1 {
			t.Fatalf("Employees = %d, %v", len(es), err)
		}
		if ds, err = s.Dependents(ctx, c.TenantID, schema.ListQuery{EmployeeID: es[0].ID, Limit: 10}); err != nil || len(ds) != 1 {
			t.Fatalf("Dependents = %d, %v", len(ds), err)
		}
		if ns, err = s.Enrollments(ctx, c.TenantID, schema.ListQuery{EmployeeID: es[0].ID, Limit: 10}); err != nil || len(ns) != 1 {
			t.Fatalf("Enrollments = %d, %v", len(ns), err)
		}
		return es, ds, ns
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE employees SET source_hash = decode('0123456789abcdef', 'hex')`); err != nil {
		t.Fatal(err)
	}
	index := func() []schema.IndexEntry {
		t.Helper()
		in, err := s.BeginIngest(ctx, &schema.File{TenantID: c.TenantID, ConnectionID: c.ID, Name: "f", SHA256: "index", Layout: "census-csv"})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Rollback(ctx) //nolint:errcheck
		var out []schema.IndexEntry
		if err := in.Index(ctx, func(e schema.IndexEntry) error { out = append(out, e); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	es, ds, ns := read()
	entries := index()
	if len(entries) != 1 || len(entries[0].ContentHash) != 16 || entries[0].SourceHash != "0123456789abcdef" || entries[0].ConnectionID != c.ID {
		t.Fatalf("index = %+v", entries)
	}
	// Back to the keys and hashes as migration 010 left them, then forward
	// again.
	if _, err := s.Pool().Exec(ctx, `
ALTER TABLE employees ALTER COLUMN content_hash TYPE text USING encode(content_hash, 'hex'),
    ALTER COLUMN source_hash DROP DEFAULT, ALTER COLUMN source_hash TYPE text USING encode(source_hash, 'hex'),
    ALTER COLUMN source_hash SET DEFAULT '';
ALTER TABLE dependents DROP CONSTRAINT dependents_tenant_id_employee_id_fkey;
ALTER TABLE enrollments DROP CONSTRAINT enrollments_tenant_id_employee_id_fkey;
ALTER TABLE employees ALTER COLUMN id TYPE text COLLATE "C", ALTER COLUMN tenant_id TYPE text COLLATE "C", ALTER COLUMN connection_id TYPE text;
ALTER TABLE dependents ALTER COLUMN tenant_id TYPE text COLLATE "C", ALTER COLUMN employee_id TYPE text COLLATE "C";
ALTER TABLE enrollments ALTER COLUMN tenant_id TYPE text COLLATE "C", ALTER COLUMN employee_id TYPE text COLLATE "C";
ALTER TABLE dependents ADD CONSTRAINT dependents_tenant_id_employee_id_fkey FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    ADD CONSTRAINT dependents_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE enrollments ADD CONSTRAINT enrollments_tenant_id_employee_id_fkey FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    ADD CONSTRAINT enrollments_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE files DROP COLUMN mapped, DROP COLUMN read_as;
ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE connections DROP COLUMN deleted_at;
ALTER TABLE dropbox_accounts DROP COLUMN rights;
DELETE FROM schema_migrations WHERE version >= 11`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var typ string
	if err := s.Pool().QueryRow(ctx, `SELECT data_type FROM information_schema.columns WHERE table_name = 'employees' AND column_name = 'tenant_id'`).Scan(&typ); err != nil || typ != "uuid" {
		t.Fatalf("employees.tenant_id is %q (%v) after migrating", typ, err)
	}
	es2, ds2, ns2 := read()
	if !reflect.DeepEqual(es, es2) || !reflect.DeepEqual(ds, ds2) || !reflect.DeepEqual(ns, ns2) {
		t.Fatalf("read differently after migrations 011 and 012:\n%+v\n%+v\n%+v\nwas\n%+v\n%+v\n%+v", es2, ds2, ns2, es, ds, ns)
	}
	// Migration 013 erases the unkeyed hashes: each row is written again
	// by the next file, under the keyed hash.
	for i := range entries {
		entries[i].ContentHash, entries[i].SourceHash = "", ""
	}
	if got := index(); !reflect.DeepEqual(got, entries) {
		t.Fatalf("change index after migrating = %+v, want %+v", got, entries)
	}
	changed := *e
	changed.FirstName = "Augusta"
	write(t, s, c, "c", &changed, true)
	if got, err := s.Employee(ctx, c.TenantID, es[0].ID); err != nil || got.FirstName != "Augusta" || got.ConnectionID != c.ID {
		t.Fatalf("updated employee = %+v, %v", got, err)
	}
}
