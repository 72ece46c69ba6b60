package bridge

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestReplicasShareFilesInABucket: two replicas with no file system in
// common (own spools, own files_dir) keep files in one S3-compatible
// bucket (gofakes3 in process, over HTTP): a file held on one is
// released on the other, and a file applied on one replays on the other.
func TestReplicasShareFilesInABucket(t *testing.T) {
	be := s3mem.New()
	if err := be.CreateBucket("kept"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "hrisbridge")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "hrisbridge-secret")
	url := "s3://kept?region=us-east-1&use_path_style=true&disable_https=true&endpoint=" + srv.URL
	s := openSQLite(t)
	box := storetest.Box(t)
	replica := func() *Bridge {
		b, err := New(Config{Store: s, Box: box, SpoolDir: t.TempDir(), FilesDir: t.TempDir(), FilesURL: url, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	f := newIngest(t, s, "census-csv", Policy{})
	f.bridge = replica()
	other := replica()
	applied := f.ingest(census(people(10, "A")...))
	held := f.ingest(census(people(5, "A")...))
	if held.File.Status != schema.FileHeld {
		t.Fatalf("second file = %s", held.File.Status)
	}
	ctx := context.Background()
	rel, err := other.Release(ctx, f.conn.TenantID, held.File.ID, false)
	if err != nil || rel.File.Status != schema.FileApplied || rel.File.Valid != 5 {
		t.Fatalf("release on the other replica = %+v %v", rel.File, err)
	}
	if err := other.CheckReplay(ctx, applied.File); err != nil {
		t.Fatalf("the other replica cannot replay the first file: %v", err)
	}
	if _, err := other.Replay(ctx, f.conn.TenantID, applied.File.ID, &schema.SyncRun{}); err != nil {
		t.Fatalf("replay on the other replica: %v", err)
	}
	obj, err := be.GetObject("kept", applied.File.ConnectionID+"/"+applied.File.SHA256, nil)
	if err != nil {
		t.Fatalf("the applied file is not in the bucket: %v", err)
	}
	obj.Contents.Close()
}

// TestQuarantinePastRetention: quarantined drop box files, which hold
// SSNs in clear, go once past the retention; fresh ones stay.
func TestQuarantinePastRetention(t *testing.T) {
	dir := t.TempDir()
	f := newIngest(t, openSQLite(t), "census-csv", Policy{})
	x := f.bridge.NewInbox(dir)
	x.Retention = time.Hour
	q := filepath.Join(dir, f.conn.ID, "quarantine")
	os.MkdirAll(q, 0o700)
	os.WriteFile(filepath.Join(q, "old.csv"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(q, "new.csv"), []byte("x"), 0o600)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(q, "old.csv"), old, old)
	x.prune(context.Background())
	left, _ := os.ReadDir(q)
	if len(left) != 1 || left[0].Name() != "new.csv" {
		t.Fatalf("quarantine holds %v", left)
	}
}

// TestLegacyKeptFilesAreSealed: kept files an earlier version left in
// clear are sealed into the store at the next prune, and replay.
func TestLegacyKeptFilesAreSealed(t *testing.T) {
	s := openSQLite(t)
	f := newIngest(t, s, "census-csv", Policy{})
	applied := f.ingest(census(people(3, "A")...))
	ctx := context.Background()
	// As an earlier version kept it: in clear, named <connection>-<sha256>.
	var body bytes.Buffer
	if err := f.bridge.files.Get(ctx, keptKey(applied.File), &body); err != nil {
		t.Fatal(err)
	}
	f.bridge.files.Delete(ctx, keptKey(applied.File))
	legacy := filepath.Join(f.bridge.cfg.FilesDir, applied.File.ConnectionID+"-"+applied.File.SHA256)
	os.WriteFile(legacy, body.Bytes(), 0o600)
	if _, err := f.bridge.PruneFiles(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Fatalf("the clear copy is still there: %v", err)
	}
	if err := f.bridge.CheckReplay(ctx, applied.File); err != nil {
		t.Fatalf("the sealed legacy file cannot be replayed: %v", err)
	}
}
