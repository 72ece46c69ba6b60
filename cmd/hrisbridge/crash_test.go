package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hrisbridge/hrisbridge/parsers/synth"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/secret"
	"github.com/hrisbridge/hrisbridge/schema/storage"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// child runs `hrisbridge ARGS` as a separate process (this test binary in
// main mode), optionally told to SIGKILL itself at a crash point.
func child(t *testing.T, crashAt string, args ...string) (string, error) {
	t.Helper()
	skipProcesses(t)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "HRISBRIDGE_TEST_MAIN=1", "HRISBRIDGE_TEST_CRASH_AT="+crashAt, "HRISBRIDGE_LOG_LEVEL=error")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func killed(err error) bool {
	ee, ok := err.(*exec.ExitError)
	if !ok {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// TestIngestSurvivesKill kills a real hrisbridge process with SIGKILL at
// several points of an ingest (mid-rows, before and after commit) and then
// runs the ingest again: each file is applied exactly once, with nothing
// duplicated or lost, on both stores.
func TestIngestSurvivesKill(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			url := storetest.URL(t, kind)
			key := secret.NewKey()
			t.Setenv("HRISBRIDGE_DATABASE_URL", url)
			t.Setenv("HRISBRIDGE_MASTER_KEY", key)
			t.Setenv("HRISBRIDGE_DATA_DIR", dir)
			if _, err := runCLI(t, "tenants", "create", "acme"); err != nil {
				t.Fatal(err)
			}
			const rows = 1500
			first := filepath.Join(dir, "census-1.csv")
			second := filepath.Join(dir, "census-2.csv")
			writeCensus(t, first, rows, nil)
			writeCensus(t, second, rows, func(i int) bool { return i%100 == 7 }) // 15 people change
			points := []string{"row-1", "row-750", "row-1500", "before-commit", "after-commit"}
			for _, file := range []string{first, second} {
				for _, p := range points {
					out, err := child(t, p, "ingest", "--tenant", "acme", "--layout", "census-csv", "--json", file)
					if !killed(err) {
						t.Fatalf("crash at %s: the child was not killed: %v\n%s", p, err, out)
					}
				}
				out, err := child(t, "", "ingest", "--tenant", "acme", "--layout", "census-csv", "--json", file)
				if err != nil {
					t.Fatalf("ingest after the crashes: %v\n%s", err, out)
				}
				var rep ingestReport
				json.Unmarshal([]byte(strings.TrimSpace(out)), &rep)
				// The after-commit crash committed: the rerun is a duplicate.
				if rep.Status != schema.FileDuplicate {
					t.Fatalf("rerun of %s = %+v, want duplicate (applied once, by the run killed after commit)", filepath.Base(file), rep)
				}
			}
			k, _ := secret.ParseKey(key)
			box, _ := secret.New(k)
			s, err := storage.Open(context.Background(), url, box)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tn, _ := s.TenantBySlug(context.Background(), "acme")
			es, err := s.Employees(context.Background(), tn.ID, schema.EmployeeQuery{Limit: rows + 10})
			if err != nil {
				t.Fatal(err)
			}
			evs, _ := s.Events(context.Background(), tn.ID, 0, 10*rows)
			byType := map[string]int{}
			for _, e := range evs {
				byType[e.Type]++
			}
			// The first file is the connection's baseline: one event, once.
			if len(es) != rows || len(evs) != 16 || byType["sync.baseline"] != 1 || byType["employee.updated"] != 15 {
				t.Fatalf("after crashes: %d employees, events %v; want %d, one sync.baseline, 15 updates", len(es), byType, rows)
			}
			files, _ := s.Files(context.Background(), tn.ID, schema.ListQuery{Limit: 100})
			applied := 0
			for _, f := range files {
				if f.Status == schema.FileApplied {
					applied++
				}
				if f.Status == schema.FileProcessing {
					t.Fatalf("a crashed ingest left a file in processing: %+v", f)
				}
			}
			if applied != 2 {
				t.Fatalf("%d applied files, want 2", applied)
			}
		})
	}
}

func writeCensus(t *testing.T, path string, rows int, changed func(int) bool) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := synth.Census(f, rows, 3, changed); err != nil {
		t.Fatal(err)
	}
}

func TestIngestJSONAndImplicitConnection(t *testing.T) {
	dir := sqliteEnv(t)
	runCLI(t, "tenants", "create", "acme")
	path := filepath.Join(dir, "c.csv")
	os.WriteFile(path, []byte("EE ID,First Name,Last Name,Status\nE1,A,B,A\nE2,C,D,Q\n"), 0o644)
	out, err := runCLI(t, "ingest", "--tenant", "acme", "--layout", "census-csv", "--json", path)
	if exitCode(err) != 2 {
		t.Fatalf("ingest of a rejected file exits %d (%v), want 2 as validate", exitCode(err), err)
	}
	var got map[string]any
	json.Unmarshal([]byte(out), &got)
	for _, k := range []string{"file_id", "status", "rows", "valid", "invalid", "created", "updated", "unchanged", "missing", "events"} {
		if _, ok := got[k]; !ok {
			t.Errorf("--json lacks %q: %s", k, out)
		}
	}
	// 1 of 2 rows invalid is above 5%: rejected, nothing applied.
	if got["status"] != "rejected" || got["invalid"] != 1.0 {
		t.Fatalf("ingest = %s", out)
	}
	os.WriteFile(path, []byte("EE ID,First Name,Last Name,Status\nE1,A,B,A\n"), 0o644)
	out, err = runCLI(t, "ingest", "--tenant", "acme", "--layout", "census-csv", "--json", path)
	if !strings.Contains(out, `"status":"applied"`) || !strings.Contains(out, `"events":1`) || exitCode(err) != 0 {
		t.Fatalf("second ingest = %s (%v)", out, err)
	}
	out, err = runCLI(t, "ingest", "--tenant", "acme", "--layout", "census-csv", "--json", path)
	if !strings.Contains(out, `"status":"duplicate"`) || exitCode(err) != 0 {
		t.Fatalf("same bytes through the implicit connection = %s (%v), want duplicate, exit 0", out, err)
	}
	// Applied with row errors: 1 (one invalid row of 30 is under 5%).
	var b strings.Builder
	b.WriteString("EE ID,First Name,Last Name,Status\nE1,A,B,A\n")
	for i := range 30 {
		fmt.Fprintf(&b, "E%d,A,B,A\n", i+10)
	}
	b.WriteString("E99,A,B,Q\n")
	os.WriteFile(path, []byte(b.String()), 0o644)
	if out, err := runCLI(t, "ingest", "--tenant", "acme", "--layout", "census-csv", "--json", path); exitCode(err) != 1 {
		t.Fatalf("applied with errors exits %d (%v): %s", exitCode(err), err, out)
	}
	if _, err := runCLI(t, "ingest", "--tenant", "acme", "--layout", "census-csv", filepath.Join(t.TempDir(), "missing.csv")); exitCode(err) != 2 {
		t.Fatalf("an unreadable file exits %d (%v), want 2", exitCode(err), err)
	}
	if out, _ := runCLI(t, "files", "list", "--tenant", "acme"); strings.Count(out, "c.csv") != 4 {
		t.Fatalf("files list:\n%s", out)
	}
}

// TestDropboxAddCLI adds drop box accounts with the CLI (the SFTP side is
// tested in package bridge against the real server).
func TestDropboxAddCLI(t *testing.T) {
	_, pw := withDropboxLogin(t)
	if _, err := runCLI(t, "dropbox", "add", "--tenant", "acme", "--connection", "hr-uploads", "--user", "acme-hr", "--password-file", pw); err == nil {
		t.Fatal("a second account with the same user name was added")
	}
	if _, err := runCLI(t, "dropbox", "add", "--tenant", "acme", "--connection", "hr-uploads", "--user", "other"); err == nil {
		t.Fatal("an account without password or key was added")
	}
}

// withDropboxLogin sets up an embedded store with tenant acme and the drop
// box login acme-hr (password hunter22) of connection hr-uploads, and
// returns the data directory and the password file.
func withDropboxLogin(t *testing.T) (dir, pw string) {
	t.Helper()
	dir = sqliteEnv(t)
	runCLI(t, "tenants", "create", "acme")
	pw = filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("hunter22\n"), 0o600)
	if out, err := runCLI(t, "dropbox", "add", "--tenant", "acme", "--connection", "hr-uploads", "--user", "acme-hr", "--password-file", pw); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return dir, pw
}

// skipProcesses skips, under -short, a test that starts hrisbridge
// processes.
func skipProcesses(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts hrisbridge processes; skipped by -short")
	}
}
