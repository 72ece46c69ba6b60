package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const sampleCensus = "Employee ID,First Name,Last Name,DOB,SSN,Status,Hire Date,Term Date\n" +
	"E1,Ada,Lovelace,12/10/1985,123-45-6789,A,2020-01-06,\n" +
	"E2,Bob,Smith,1/2/1970,234-56-7890,T,20100301,20261031\n"

type fixture struct {
	store  schema.Store
	bridge *Bridge
	srv    *sftpd.TestServer
	conn   schema.Connection
}

func setup(t *testing.T, s schema.Store, cfg SFTPConfig) *fixture {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "outbound"), 0o755)
	srv := sftpd.StartTest(t, root)
	box := storetest.Box(t)
	b, err := New(Config{Store: s, Box: box, SpoolDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tn := schema.Tenant{Slug: "acme", Name: "Acme"}
	if err := s.CreateTenant(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port, cfg.User = "127.0.0.1", srv.Addr.Port, srv.User
	if cfg.StableFor == "" && cfg.Marker == "" {
		cfg.StableFor = "0s" // the stability tests set their own
	}
	if cfg.HostKey == "" {
		cfg.HostKey = ssh.FingerprintSHA256(srv.HostKey)
	}
	cfgJSON, _ := json.Marshal(cfg)
	secret, _ := box.Seal([]byte(`{"password":"` + srv.Password + `"}`))
	conn := schema.Connection{TenantID: tn.ID, Name: "payroll", Kind: schema.ConnSFTP, Layout: "census-csv", Config: cfgJSON, Secret: secret, Enabled: true}
	if err := s.CreateConnection(ctx, &conn); err != nil {
		t.Fatal(err)
	}
	return &fixture{store: s, bridge: b, srv: srv, conn: conn}
}

func (f *fixture) drop(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.srv.Root, "outbound", name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) employees(t *testing.T) []schema.Employee {
	t.Helper()
	es, err := f.store.Employees(context.Background(), f.conn.TenantID, schema.EmployeeQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestSyncPullsParsesAndStores(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := setup(t, s, SFTPConfig{Dir: "outbound", Patterns: []string{"census_*.csv"}})
		f.drop(t, "census_20261101.csv", sampleCensus)
		f.drop(t, "census_20261102.csv.part", sampleCensus+"E3,Half,Written,,,A,,\n")
		f.drop(t, "notes.txt", "not a sampleCensus")
		run, results, err := f.bridge.Sync(context.Background(), f.conn, "manual")
		if err != nil {
			t.Fatalf("Sync: %v", err)
		}
		if run.Status != schema.RunSucceeded || run.Files != 1 || run.Rows != 2 || len(results) != 1 {
			t.Fatalf("run = %+v, results = %+v; want one file of two rows", run, results)
		}
		if got := results[0].File; got.Status != schema.FileApplied || got.Created != 2 || got.SHA256 == "" {
			t.Fatalf("file = %+v, want applied with 2 created", got)
		}
		es := f.employees(t)
		if len(es) != 2 || es[0].ExternalID != "E1" || es[0].SSN != "123456789" || es[1].EmploymentStatus != "terminated" {
			t.Fatalf("employees = %+v", es)
		}
		// The file is left in place (ack: leave); the next run knows it
		// (same path, size and mtime) and does not even download it.
		_, results, err = f.bridge.Sync(context.Background(), f.conn, "manual")
		if err != nil || len(results) != 0 {
			t.Fatalf("second sync = %+v, %v; want nothing taken", results, err)
		}
		// Rewritten with the same bytes (a new mtime): downloaded, and
		// recognised as a duplicate delivery.
		later := time.Now().Add(time.Minute)
		os.Chtimes(filepath.Join(f.srv.Root, "outbound", "census_20261101.csv"), later, later)
		_, results, err = f.bridge.Sync(context.Background(), f.conn, "manual")
		if err != nil || len(results) != 1 || results[0].File.Status != schema.FileDuplicate {
			t.Fatalf("third sync = %+v, %v; want a duplicate delivery", results, err)
		}
		if runs, _ := s.SyncRuns(context.Background(), f.conn.TenantID, schema.ListQuery{Limit: 10}); len(runs) != 3 {
			t.Fatalf("sync runs = %d, want 2", len(runs))
		}
		evs, _ := s.Events(context.Background(), f.conn.TenantID, 0, 100)
		types := map[string]int{}
		for _, e := range evs {
			types[e.Type]++
		}
		if len(evs) != 4 || types["sync.baseline"] != 1 || types["sync.completed"] != 3 {
			t.Fatalf("events = %v, want the first file's baseline, nothing for the duplicate, and a sync.completed per run", types)
		}
	})
}

func TestSyncArchivesAfterCommit(t *testing.T) {
	s := openSQLite(t)
	f := setup(t, s, SFTPConfig{Dir: "outbound", Ack: "archive", ArchiveDir: "archive"})
	f.drop(t, "sampleCensus.csv", sampleCensus)
	if _, _, err := f.bridge.Sync(context.Background(), f.conn, "manual"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.srv.Root, "archive", "sampleCensus.csv")); err != nil {
		t.Fatalf("file not archived: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.srv.Root, "outbound", "sampleCensus.csv")); !os.IsNotExist(err) {
		t.Fatalf("file still in outbound: %v", err)
	}
}

func TestSyncRejectsBadFileAndKeepsIt(t *testing.T) {
	s := openSQLite(t)
	f := setup(t, s, SFTPConfig{Dir: "outbound", Ack: "delete"})
	f.drop(t, "sampleCensus.csv", "Employee ID,First Name,Last Name,Status\nE1,,X,A\nE2,,Y,A\n")
	_, results, err := f.bridge.Sync(context.Background(), f.conn, "manual")
	if err != nil || len(results) != 1 {
		t.Fatalf("Sync = %+v, %v", results, err)
	}
	file := results[0].File
	if file.Status != schema.FileRejected || !strings.Contains(file.Detail, "2 of 2 rows are invalid") {
		t.Fatalf("file = %+v, want rejected for invalid rows", file)
	}
	if es := f.employees(t); len(es) != 0 {
		t.Fatalf("a rejected file applied %d employees", len(es))
	}
	errs, _ := s.RecordErrors(context.Background(), f.conn.TenantID, file.ID)
	if len(errs) != 3 || errs[1].Line != 2 || errs[1].Code != schema.ECodeRequired || errs[1].RecordID != "E1" {
		t.Fatalf("record errors = %+v, want the two rows' errors and the verdict", errs)
	}
	if _, err := os.Stat(filepath.Join(f.srv.Root, "outbound", "sampleCensus.csv")); err != nil {
		t.Fatalf("rejected file was acknowledged (deleted): %v", err)
	}
	evs, _ := s.Events(context.Background(), f.conn.TenantID, 0, 100)
	var rejected []string
	for _, e := range evs {
		if e.Type == "file.rejected" {
			rejected = append(rejected, e.Subject)
		}
	}
	if len(rejected) != 1 || rejected[0] != file.ID {
		t.Fatalf("file.rejected events for %v; want one for %s", rejected, file.ID)
	}
}

func TestSyncRefusesUnpinnedHostKey(t *testing.T) {
	s := openSQLite(t)
	other, _, _, _, _ := ssh.ParseAuthorizedKey([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKrXjOJXWkKr3s6x4G2IYpDsuO2P3lCEyUmUoO2rSlVy"))
	f := setup(t, s, SFTPConfig{Dir: "outbound", HostKey: ssh.FingerprintSHA256(other)})
	f.drop(t, "sampleCensus.csv", sampleCensus)
	run, _, err := f.bridge.Sync(context.Background(), f.conn, "manual")
	if !errors.Is(err, ErrHostKeyMismatch) || run.Status != schema.RunFailed {
		t.Fatalf("Sync = %v (run %s), want ErrHostKeyMismatch", err, run.Status)
	}
	if !strings.Contains(err.Error(), ssh.FingerprintSHA256(f.srv.HostKey)) || !strings.Contains(err.Error(), ssh.FingerprintSHA256(other)) {
		t.Fatalf("mismatch error %q must name both fingerprints", err)
	}
	if es := f.employees(t); len(es) != 0 {
		t.Fatal("data read from an unpinned host")
	}
}

func TestSFTPConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  SFTPConfig
		want string
	}{
		{SFTPConfig{User: "u", HostKey: "SHA256:x"}, "host is required"},
		{SFTPConfig{Host: "h", HostKey: "SHA256:x"}, "user is required"},
		{SFTPConfig{Host: "h", User: "u"}, "host_key is required"},
		{SFTPConfig{Host: "h", User: "u", HostKey: "nonsense"}, "host_key"},
		{SFTPConfig{Host: "h", User: "u", HostKey: "SHA256:x", Ack: "move"}, "ack"},
		{SFTPConfig{Host: "h", User: "u", HostKey: "SHA256:x", Ack: "archive"}, "archive_dir"},
		{SFTPConfig{Host: "h", User: "u", HostKey: "SHA256:x", Patterns: []string{"["}}, "patterns"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want error naming %q", tt.cfg, err, tt.want)
		}
	}
	known := "sftp.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKrXjOJXWkKr3s6x4G2IYpDsuO2P3lCEyUmUoO2rSlVy"
	if err := (&SFTPConfig{Host: "h", User: "u", HostKey: known}).Validate(); err != nil {
		t.Errorf("known_hosts line rejected: %v", err)
	}
}

// TestSyncSkipsAFileStillBeingWritten grows a file between the two
// listings of a pull: it is left for the next run.
func TestSyncSkipsAFileStillBeingWritten(t *testing.T) {
	s := openSQLite(t)
	f := setup(t, s, SFTPConfig{Dir: "outbound", StableFor: "400ms"})
	f.drop(t, "done.csv", sampleCensus)
	f.drop(t, "growing.csv", "Employee ID,First Name,Last Name,DOB,SSN,Status,Hire Date,Term Date\nE7,A,B,,,A,,\n")
	// The export keeps writing through the first pull (so any two listings
	// see it change), then finishes.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			fh, _ := os.OpenFile(filepath.Join(f.srv.Root, "outbound", "growing.csv"), os.O_APPEND|os.O_WRONLY, 0)
			fmt.Fprintf(fh, "G%d,C,D,,,A,,\n", i)
			fh.Close()
		}
	}()
	_, results, err := f.bridge.Sync(context.Background(), f.conn, "manual")
	if err != nil || len(results) != 1 || results[0].File.Name != "done.csv" {
		t.Fatalf("first run took %+v, %v; want done.csv only", results, err)
	}
	close(stop)
	<-stopped
	_, results, err = f.bridge.Sync(context.Background(), f.conn, "manual")
	if err != nil || len(results) != 1 || results[0].File.Name != "growing.csv" || results[0].File.Rows < 3 {
		t.Fatalf("second run = %+v, %v; want the finished growing.csv with 2 rows", results, err)
	}
}

func TestSyncWaitsForMarkers(t *testing.T) {
	s := openSQLite(t)
	f := setup(t, s, SFTPConfig{Dir: "outbound", Marker: ".done", Ack: "archive", ArchiveDir: "archive"})
	f.drop(t, "a.csv", sampleCensus)
	f.drop(t, "b.csv", sampleCensus+"E3,Cy,L,,,A,,\n")
	f.drop(t, "b.done", "")
	_, results, err := f.bridge.Sync(context.Background(), f.conn, "manual")
	if err != nil || len(results) != 1 || results[0].File.Name != "b.csv" {
		t.Fatalf("run = %+v, %v; want b.csv (marked) only", results, err)
	}
	for _, p := range []string{"archive/b.csv", "archive/b.done", "outbound/a.csv"} {
		if _, err := os.Stat(filepath.Join(f.srv.Root, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestSyncOrderByMtime(t *testing.T) {
	s := openSQLite(t)
	f := setup(t, s, SFTPConfig{Dir: "outbound", Order: "mtime"})
	f.drop(t, "z-old.csv", sampleCensus)
	f.drop(t, "a-new.csv", sampleCensus+"E3,Cy,L,,,A,,\n")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(f.srv.Root, "outbound", "z-old.csv"), old, old)
	_, results, _ := f.bridge.Sync(context.Background(), f.conn, "manual")
	if len(results) != 2 || results[0].File.Name != "z-old.csv" {
		t.Fatalf("order = %v", results)
	}
}

func TestSyncRecursive(t *testing.T) {
	s := openSQLite(t)
	f := setup(t, s, SFTPConfig{Dir: "outbound", Recursive: true, Patterns: []string{"*.csv"}, Ack: "archive", ArchiveDir: "outbound/archive"})
	os.MkdirAll(filepath.Join(f.srv.Root, "outbound", "2026", "11"), 0o755)
	os.MkdirAll(filepath.Join(f.srv.Root, "outbound", "archive"), 0o755)
	os.WriteFile(filepath.Join(f.srv.Root, "outbound", "2026", "11", "census.csv"), []byte(sampleCensus), 0o644)
	os.WriteFile(filepath.Join(f.srv.Root, "outbound", "archive", "old.csv"), []byte("junk"), 0o644)
	_, results, err := f.bridge.Sync(context.Background(), f.conn, "manual")
	if err != nil || len(results) != 1 || results[0].File.Status != schema.FileApplied {
		t.Fatalf("recursive pull = %+v, %v; want the nested census only", results, err)
	}
}
