package postgres_test

import (
	"context"
	"errors"
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

// TestPostgresSSNSealedAtRest reads the raw column: the SSN must not be there
// in the clear.
func TestPostgresSSNSealedAtRest(t *testing.T) {
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
	e := &schema.Employee{TenantID: tn.ID, ExternalID: "E1", FirstName: "A", LastName: "B", SSN: "123456789", EmploymentStatus: "active"}
	if err := in.Insert(ctx, e, e.Encode()); err != nil {
		t.Fatal(err)
	}
	f.Status = schema.FileApplied
	if err := in.Commit(ctx, f); err != nil {
		t.Fatal(err)
	}
	var data string
	var sealed []byte
	if err := s.Pool().QueryRow(ctx, `SELECT data::text, ssn_sealed FROM employees`).Scan(&data, &sealed); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{data, string(sealed)} {
		if strings.Contains(raw, "123456789") {
			t.Fatalf("SSN stored in the clear: %q", raw)
		}
	}
}
