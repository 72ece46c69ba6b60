package bridge

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestRefusedOrDroppedUploadAppliesNothing: a put refused at the
// account's size limit, and one whose connection drops mid-transfer, are
// failures the client sees, and nothing of them is applied or kept.
func TestRefusedOrDroppedUploadAppliesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		d := startDropbox(t, s, schema.DropboxAccount{Username: "hr", MaxBytes: 2000, Rights: []string{"list", "read", "delete"}}, "s3cret")
		c, err := d.client(t, "hr", ssh.Password("s3cret"))
		if err != nil {
			t.Fatal(err)
		}
		big := census(people(200, "A")...) // about 6 KB, past the 2,000-byte limit
		w, _ := c.Create("census.csv")
		_, werr := w.Write([]byte(big))
		cerr := w.Close()
		if werr == nil && cerr == nil {
			t.Fatal("an upload past the size limit succeeded")
		}
		// The connection drops with a file half written.
		d2 := d.sshClient(t, "hr", "s3cret")
		c2, err := sftpClient(d2)
		if err != nil {
			t.Fatal(err)
		}
		w2, _ := c2.Create("census-2.csv")
		w2.Write([]byte(big[:1000]))
		c2.Getwd() // a round trip: the write reached the server
		d2.Close()
		time.Sleep(200 * time.Millisecond)
		if fs, _ := s.Files(context.Background(), d.f.conn.TenantID, schema.ListQuery{Limit: 10}); len(fs) != 0 {
			t.Fatalf("a failed upload was recorded: %s %s", fs[0].Name, fs[0].Status)
		}
		root, _ := d.inbox.Root(d.f.conn.ID)
		if left, _ := os.ReadDir(root); len(left) != 0 {
			t.Fatalf("a failed upload left %s in the inbox", left[0].Name())
		}
		// A complete upload still works.
		put(t, c, "census-3.csv", census("E1:A"))
		if fs := d.waitFiles(t, 1); fs[0].Status != schema.FileApplied {
			t.Fatalf("complete upload = %s", fs[0].Status)
		}
	})
}

// TestUploadNamesDoNotChooseFileIDs: a drop box user cannot pick the id a
// file is recorded under, whatever the name, and cannot write where HTTP
// uploads wait.
func TestUploadNamesDoNotChooseFileIDs(t *testing.T) {
	s := openSQLite(t)
	d := startDropbox(t, s, schema.DropboxAccount{Username: "hr"}, "s3cret")
	c, err := d.client(t, "hr", ssh.Password("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	const forged = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	put(t, c, forged+"-census.csv", census("E1:A"))
	put(t, c, ".http-"+forged+"-x.csv", census("E2:A")) // an old internal marker: never taken
	if _, err := c.Create("../uploads/" + forged + "-y.csv"); err == nil {
		t.Fatal("the drop box user wrote outside the inbox")
	}
	d.waitFiles(t, 1)
	time.Sleep(100 * time.Millisecond)
	files, _ := s.Files(context.Background(), d.f.conn.TenantID, schema.ListQuery{Limit: 10})
	if len(files) != 1 || files[0].ID == forged || files[0].Name != forged+"-census.csv" {
		t.Fatalf("files = %+v, want one with a generated id", files)
	}
}

// TestCommittedUploadIsRecognised: an HTTP upload whose outcome was
// recorded before the process could remove it (a kill in between) is
// recognised and removed at the next pass, not retried forever.
func TestCommittedUploadIsRecognised(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := newIngest(t, s, "census-csv", Policy{})
		inbox := f.bridge.NewInbox(t.TempDir())
		ctx := context.Background()
		body := census("E1:A")
		id, path, err := inbox.Put(f.conn, "census.csv", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if res, err := inbox.Ingest(ctx, path); err != nil || res.File.ID != id {
			t.Fatalf("first ingest = %v %+v", err, res.File)
		}
		os.WriteFile(path, []byte(body), 0o640) // as if the removal never happened
		res, err := inbox.Ingest(ctx, path)
		if err != nil || res.File.ID != id || res.File.Status != schema.FileApplied {
			t.Fatalf("second pass = %v %+v, want the recorded file", err, res.File)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("the committed upload stayed in the inbox")
		}
		if fs, _ := s.Files(ctx, f.conn.TenantID, schema.ListQuery{Limit: 10}); len(fs) != 1 {
			t.Fatalf("%d files recorded, want 1", len(fs))
		}
	})
}

// TestCompressedUploadOnAFreshServer: the spool a gzip is decoded into
// exists before any pull or CLI ingest made it.
func TestCompressedUploadOnAFreshServer(t *testing.T) {
	s := openSQLite(t)
	f := newIngest(t, s, "census-csv", Policy{})
	spool := filepath.Join(t.TempDir(), "never", "made", "spool")
	b, err := New(Config{Store: s, Box: storetest.Box(t), SpoolDir: spool, Logger: f.bridge.cfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(census("E1:A", "E2:A")))
	zw.Close()
	file, err := b.NewInbox(t.TempDir()).Upload(context.Background(), f.conn, "census.csv.gz", &gz, true)
	if err != nil || file.Status != schema.FileApplied {
		t.Fatalf("gzip upload = %v %s %s", err, file.Status, file.Detail)
	}
}

// TestRecoverCleansUpAndQuarantines: at start the inbox removes what
// incomplete uploads and dead processes left, and quarantines the file
// an earlier process died ingesting instead of taking it again.
func TestRecoverCleansUpAndQuarantines(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := newIngest(t, s, "census-csv", Policy{})
		inbox := f.bridge.NewInbox(t.TempDir())
		root, _ := inbox.Root(f.conn.ID)
		ctx := context.Background()
		pill := filepath.Join(root, "pill.csv")
		os.WriteFile(pill, []byte(census("Q9:A")), 0o640)
		connDir := filepath.Dir(root)
		if err := writeAttempt(inbox.attemptPath(connDir, pill), attempt{Path: pill, Count: 1, InFlight: true}); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, ".hrisbridge-upload-ABC"), []byte("half"), 0o640)
		os.MkdirAll(filepath.Join(connDir, "uploads"), 0o750)
		os.WriteFile(filepath.Join(connDir, "uploads", "x-census.csv.part"), []byte("half"), 0o640)
		// An earlier version's HTTP upload, complete and promised an id,
		// and an incomplete one.
		const promised = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
		os.WriteFile(filepath.Join(root, ".http-"+promised+"-census.csv"), []byte(census("E1:A", "E2:A")), 0o640)
		os.WriteFile(filepath.Join(root, ".http-"+promised+"-x.csv.part"), []byte("half"), 0o640)
		dead := filepath.Join(f.bridge.cfg.SpoolDir, "decoded-999999999-123") // no such process
		os.WriteFile(dead, []byte("3 GB once"), 0o600)
		live := filepath.Join(f.bridge.cfg.SpoolDir, tempPattern("drop")[:len(tempPattern("drop"))-1]+"456")
		os.WriteFile(live, []byte("in use"), 0o600)

		inbox.Recover(ctx)
		inbox.scan(ctx, 0)

		for _, p := range []string{pill, filepath.Join(root, ".hrisbridge-upload-ABC"), filepath.Join(connDir, "uploads", "x-census.csv.part"), dead} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s is still there", filepath.Base(p))
			}
		}
		if _, err := os.Stat(live); err != nil {
			t.Error("a running process's spool file was removed")
		}
		q, _ := os.ReadDir(filepath.Join(connDir, "quarantine"))
		if len(q) != 1 || !strings.HasSuffix(q[0].Name(), "-pill.csv") {
			t.Fatalf("quarantine holds %v", q)
		}
		files, _ := s.Files(ctx, f.conn.TenantID, schema.ListQuery{Limit: 10})
		var quarantined schema.File
		for _, fl := range files {
			switch {
			case fl.ID == promised && fl.Status == schema.FileApplied:
			case fl.Status == schema.FileRejected:
				quarantined = fl
			default:
				t.Fatalf("unexpected file %+v", fl)
			}
		}
		if len(files) != 2 || quarantined.ID == "" {
			t.Fatalf("files = %+v, want the quarantined one, rejected, and the earlier upload applied under its promised id", files)
		}
		if left, _ := filepath.Glob(filepath.Join(root, ".http-*")); len(left) != 0 {
			t.Fatalf("earlier uploads left in the inbox: %v", left)
		}
		errs, _ := s.RecordErrors(ctx, f.conn.TenantID, quarantined.ID)
		if len(errs) != 1 || errs[0].Code != schema.ECodeQuarantined {
			t.Fatalf("errors = %+v", errs)
		}
		es, _ := s.Employees(ctx, f.conn.TenantID, schema.EmployeeQuery{Limit: 10})
		if len(es) != 2 || slices.ContainsFunc(es, func(e schema.Employee) bool { return e.ExternalID == "Q9" }) {
			t.Fatalf("employees = %d, want the earlier upload's E1 and E2 and not the quarantined file's Q9", len(es))
		}
	})
}

// failingStore fails every ingest, as a database that keeps refusing would.
type failingStore struct{ schema.Store }

func (failingStore) BeginIngest(context.Context, *schema.File) (schema.Ingest, error) {
	return nil, errors.New("database refused")
}

// TestRepeatedFailureQuarantines: a file whose ingest fails MaxAttempts
// times stops being retried.
func TestRepeatedFailureQuarantines(t *testing.T) {
	s := openSQLite(t)
	f := newIngest(t, s, "census-csv", Policy{})
	b, err := New(Config{Store: failingStore{s}, Box: storetest.Box(t), SpoolDir: t.TempDir(), Logger: f.bridge.cfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	inbox := b.NewInbox(t.TempDir())
	inbox.MaxAttempts = 2
	root, _ := inbox.Root(f.conn.ID)
	path := filepath.Join(root, "census.csv")
	os.WriteFile(path, []byte(census("E1:A")), 0o640)
	ctx := context.Background()
	for i := range 2 {
		if _, err := inbox.Ingest(ctx, path); err == nil {
			t.Fatalf("attempt %d succeeded against a failing store", i+1)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the file stayed in the inbox after its last attempt")
	}
	if q, _ := os.ReadDir(filepath.Join(filepath.Dir(root), "quarantine")); len(q) != 1 {
		t.Fatalf("quarantine holds %d files", len(q))
	}
}
