package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
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

func open(t *testing.T) *postgres.Store { return openURL(t, pgtest.URL(t)) }

// openMigrated opens a copy of the migrated template database.
func openMigrated(t *testing.T) *postgres.Store { return openURL(t, storetest.URL(t, "postgres")) }

func openURL(t *testing.T, url string) *postgres.Store {
	s, err := postgres.Open(context.Background(), url, box(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestPostgresStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) schema.Store {
		s := openMigrated(t)
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPostgresReadyBeforeMigrate(t *testing.T) {
	s := open(t)
	if err := s.Ready(context.Background()); !errors.Is(err, storeutil.ErrStale) {
		t.Fatalf("Ready before Migrate = %v, want ErrStale", err)
	}
}

// migratedConnection opens a migrated store with a tenant and one of its
// connections.
func migratedConnection(t *testing.T, slug string) (*postgres.Store, schema.Connection) {
	t.Helper()
	ctx := context.Background()
	s := openMigrated(t)
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
	e.Hash, _ = e.ContentHash(schema.NewHashKey(storetest.HashKey), nil)
	if update {
		err = in.UpdateEmployees(ctx, []*schema.Employee{e})
	} else {
		e.ID = schema.NewID()
		err = in.InsertEmployees(ctx, []*schema.Employee{e})
	}
	if err != nil {
		t.Fatal(err)
	}
	f.Status = schema.FileApplied
	if err := in.Commit(ctx, f); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresSSNSealedAtRest reads the raw columns: the SSN must not be
// there in the clear.
func TestPostgresSSNSealedAtRest(t *testing.T) {
	ctx := context.Background()
	s, c := migratedConnection(t, "a")
	e := &schema.Employee{TenantID: c.TenantID, ExternalID: "E1", FirstName: "A", LastName: "B", SSN: "123456789", EmploymentStatus: "active"}
	write(t, s, c, "x", e, false)
	var row string
	var sealed []byte
	if err := s.Pool().QueryRow(ctx, `SELECT employees::text, ssn_sealed FROM employees`).Scan(&row, &sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(row, "123456789") || strings.Contains(string(sealed), "123456789") {
		t.Fatalf("SSN stored in the clear: %q", row)
	}
}

// TestPostgresColumnsADBACanRead: every normalized field is a typed
// column that plain SQL reads (dates as date, money as numeric, custom
// fields as jsonb), and an update replaces them.
func TestPostgresColumnsADBACanRead(t *testing.T) {
	ctx := context.Background()
	s, c := migratedConnection(t, "dba")
	e := &schema.Employee{TenantID: c.TenantID, ConnectionID: c.ID, ExternalID: "E1", FirstName: "Ada", LastName: "Lovelace", SSN: "123456789",
		EmploymentStatus: "active", EmploymentType: "full_time", Department: "Eng", Location: "HQ", HireDate: "2020-01-06", HourlyRate: "42.50",
		HomeAddress: &schema.Address{Line1: "1 Main St", City: "Springfield"}, AnnualSalary: &schema.Money{Amount: "85000.00", Currency: "USD"},
		CustomFields: map[string]string{"union": "L42"}}
	write(t, s, c, "a", e, false)
	var last, dept, city, union string
	var hired time.Time
	var salary, rate float64
	err := s.Pool().QueryRow(ctx, `SELECT last_name, department, city, hire_date, annual_salary::float8, hourly_rate::float8, custom_fields->>'union'
FROM employees WHERE department = 'Eng' AND hire_date < DATE '2021-01-01' AND annual_salary > 80000`).Scan(&last, &dept, &city, &hired, &salary, &rate, &union)
	if err != nil || last != "Lovelace" || dept != "Eng" || city != "Springfield" || hired.Format("2006-01-02") != "2020-01-06" || salary != 85000 || rate != 42.5 || union != "L42" {
		t.Fatalf("SQL read %q %q %q %v %v %v %q, %v", last, dept, city, hired, salary, rate, union, err)
	}
	got, err := s.Employees(ctx, c.TenantID, schema.EmployeeQuery{Limit: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("Employees = %v, %v", got, err)
	}
	want := *e
	want.CreatedAt, want.UpdatedAt = got[0].CreatedAt, got[0].UpdatedAt
	if !reflect.DeepEqual(got[0], want) {
		t.Fatalf("read back %+v, want %+v", got[0], want)
	}
	changed := *e
	changed.FirstName, changed.HireDate, changed.AnnualSalary = "Augusta", "", nil
	write(t, s, c, "b", &changed, true)
	if got, err := s.Employee(ctx, c.TenantID, e.ID); err != nil || got.FirstName != "Augusta" || got.HireDate != "" || got.AnnualSalary != nil ||
		got.HomeAddress == nil || got.HomeAddress.City != "Springfield" || got.SSN != "123456789" {
		t.Fatalf("updated employee = %+v, %v", got, err)
	}
	// The columns check what the model allows.
	if _, err := s.Pool().Exec(ctx, `UPDATE employees SET employment_status = 'fired'`); err == nil {
		t.Fatal("employment_status accepted a value outside its enum")
	}
}
