package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
	"github.com/hrisbridge/hrisbridge/schema/secret"
	"github.com/hrisbridge/hrisbridge/schema/sqlite"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

func open(t *testing.T) *sqlite.Store {
	k, _ := secret.ParseKey(secret.NewKey())
	b, _ := secret.New(k)
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hb.db"), b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestSQLiteStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) schema.Store {
		s := open(t)
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestSQLiteReadyBeforeMigrate(t *testing.T) {
	if err := open(t).Ready(context.Background()); !errors.Is(err, storeutil.ErrStale) {
		t.Fatalf("Ready before Migrate = %v, want ErrStale", err)
	}
}

func TestSQLiteSSNSealedAtRest(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tn := schema.Tenant{Slug: "a", Name: "A"}
	s.CreateTenant(ctx, &tn)
	c := schema.Connection{TenantID: tn.ID, Name: "c", Kind: "sftp", Layout: "census-csv"}
	s.CreateConnection(ctx, &c)
	f := &schema.File{TenantID: tn.ID, ConnectionID: c.ID, Name: "f", SHA256: "x", Layout: "census-csv"}
	in, err := s.BeginIngest(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	e := &schema.Employee{ID: schema.NewID(), TenantID: tn.ID, ExternalID: "E1", FirstName: "A", LastName: "B", SSN: "123456789", EmploymentStatus: "active"}
	if err := in.InsertEmployees(ctx, []*schema.Employee{e}); err != nil {
		t.Fatal(err)
	}
	f.Status = schema.FileApplied
	if err := in.Commit(ctx, f); err != nil {
		t.Fatal(err)
	}
	var row string
	var sealed []byte
	if err := s.DB().QueryRow(`SELECT first_name || last_name || content_hash || source_hash, ssn_sealed FROM employees`).Scan(&row, &sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(row, "123456789") || strings.Contains(string(sealed), "123456789") {
		t.Fatalf("SSN stored in the clear")
	}
}
