package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
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
	if err := open(t).Ready(context.Background()); !errors.Is(err, codec.ErrStale) {
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
	e := &schema.Employee{TenantID: tn.ID, ExternalID: "E1", FirstName: "A", LastName: "B", SSN: "123456789", EmploymentStatus: "active"}
	if err := in.Insert(ctx, e, e.Encode(storetest.HashKey)); err != nil {
		t.Fatal(err)
	}
	f.Status = schema.FileApplied
	if err := in.Commit(ctx, f); err != nil {
		t.Fatal(err)
	}
	var data string
	var sealed []byte
	if err := s.DB().QueryRow(`SELECT data, ssn_sealed FROM employees`).Scan(&data, &sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(data, "123456789") || strings.Contains(string(sealed), "123456789") {
		t.Fatalf("SSN stored in the clear")
	}
}

// TestJobsFileMigration: runs recorded while the job queue shared the
// main file give up their job ids (the jobs file's ids start again), and
// those still queued end as failed, readable as before.
func TestJobsFileMigration(t *testing.T) {
	s, tn, c := migratedWith(t, schema.ConnSFTP)
	ctx := context.Background()
	old := schema.SyncRun{TenantID: tn.ID, ConnectionID: c.ID, Trigger: schema.TriggerManual, JobID: 1}
	if err := s.QueueSyncRun(ctx, &old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = 9`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.SyncRun(ctx, tn.ID, old.ID)
	if err != nil || got.Status != schema.RunFailed || got.FinishedAt == nil || got.JobID != 0 {
		t.Fatalf("old queued run after the migration = %+v, %v", got, err)
	}
	// A new job with the same id is a new run.
	fresh := schema.SyncRun{TenantID: tn.ID, ConnectionID: c.ID, Trigger: schema.TriggerManual, JobID: 1}
	if err := s.QueueSyncRun(ctx, &fresh); err != nil || fresh.ID == old.ID || fresh.Status != schema.RunQueued {
		t.Fatalf("new run for job 1 = %+v, %v", fresh, err)
	}
}
