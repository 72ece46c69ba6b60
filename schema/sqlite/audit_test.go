package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/sqlite"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestAuditWhileAnIngestHoldsTheWriteLock: an ingest keeps SQLite's one
// write lock for the whole file; a PII read is audited (and answered)
// meanwhile, well inside the busy timeout, and reads go on.
func TestAuditWhileAnIngestHoldsTheWriteLock(t *testing.T) {
	s, tn, c := migratedWith(t, schema.ConnDropbox)
	ctx := context.Background()
	in, err := s.BeginIngest(ctx, &schema.File{TenantID: tn.ID, ConnectionID: c.ID, Name: "big.csv", SHA256: "x", Layout: "census-csv"})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Rollback(ctx) //nolint:errcheck
	e := &schema.Employee{ID: schema.NewID(), TenantID: tn.ID, ExternalID: "E1", FirstName: "Ada", LastName: "L", SSN: "510551000", EmploymentStatus: "active"}
	if err := in.InsertEmployees(ctx, []*schema.Employee{e}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.Audit(short, schema.AuditEntry{TenantID: tn.ID, KeyID: "k1", Action: "pii.read", Resource: "/v1/employees"}); err != nil {
		t.Fatalf("audit during an ingest: %v", err)
	}
	log, err := s.AuditLog(short, tn.ID, schema.AuditQuery{Limit: 10})
	if err != nil || len(log) != 1 || log[0].Action != "pii.read" {
		t.Fatalf("audit log = %+v, %v", log, err)
	}
	if _, err := s.Employees(short, tn.ID, schema.EmployeeQuery{Limit: 10}); err != nil {
		t.Fatalf("read during an ingest: %v", err)
	}
}

// TestDatabaseFilesAreOwnerOnly: the database and audit files are created
// readable by their owner only.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hb.db")
	s, err := sqlite.Open(context.Background(), path, storetest.Box(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, sqlite.AuditPath(path), path + "-wal", sqlite.AuditPath(path) + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			continue // a WAL file may be checkpointed away
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

// migratedWith opens a migrated store with a tenant and a connection of
// kind.
func migratedWith(t *testing.T, kind string) (*sqlite.Store, schema.Tenant, schema.Connection) {
	t.Helper()
	s := open(t)
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tn := schema.Tenant{Slug: "acme", Name: "Acme"}
	if err := s.CreateTenant(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	c := schema.Connection{TenantID: tn.ID, Name: "c", Kind: kind, Layout: "census-csv", Enabled: true}
	if err := s.CreateConnection(ctx, &c); err != nil {
		t.Fatal(err)
	}
	return s, tn, c
}
