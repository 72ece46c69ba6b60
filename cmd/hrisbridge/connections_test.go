package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
)

func TestConnectionsTestAndTrustHost(t *testing.T) {
	dir := sqliteEnv(t)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "census_1.csv"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(root, "census_2.csv.part"), []byte("x"), 0o644)
	srv := sftpd.StartTest(t, root)
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte(srv.Password), 0o600)
	runCLI(t, "tenants", "create", "acme")
	wrong := "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if out, err := runCLI(t, "connections", "create", "--tenant", "acme", "--name", "adp", "--host", "127.0.0.1", "--port", strconv.Itoa(srv.Addr.Port),
		"--user", srv.User, "--host-key", wrong, "--pattern", "census_*", "--password-file", pw); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	out, err := runCLI(t, "connections", "test", "--tenant", "acme", "adp")
	if err == nil || !strings.Contains(out, "E_SFTP_HOST_KEY") || !strings.Contains(out, "Fix: Confirm with the employer") || err.Error() != "exit status 1" {
		t.Fatalf("test against a wrong pin = %v\n%s", err, out)
	}
	// sync fails the same way, with the fix, the error printed once.
	out, err = runCLI(t, "sync", "--tenant", "acme", "adp")
	if exitCode(err) != 1 || strings.Count(out, "E_SFTP_HOST_KEY") != 1 || !strings.Contains(out, "Fix: Confirm with the employer") {
		t.Fatalf("failed sync = %v\n%s", err, out)
	}
	// Without a terminal and without --yes, nothing is pinned.
	out, err = runCLI(t, "connections", "trust-host", "--tenant", "acme", "adp")
	if err == nil || !strings.Contains(out, "presents ssh-ed25519 SHA256:") || !strings.Contains(err.Error(), "not pinned") {
		t.Fatalf("trust-host without --yes = %v\n%s", err, out)
	}
	if out, _ := runCLI(t, "connections", "test", "--tenant", "acme", "adp"); !strings.Contains(out, "E_SFTP_HOST_KEY") {
		t.Fatalf("a refused trust-host pinned the key:\n%s", out)
	}
	out, err = runCLI(t, "connections", "trust-host", "--tenant", "acme", "adp", "--yes")
	if err != nil || !strings.Contains(out, "SHA256:") || !strings.Contains(out, "was: "+wrong) {
		t.Fatalf("trust-host = %v\n%s", err, out)
	}
	out, err = runCLI(t, "connections", "test", "--tenant", "acme", "adp")
	if err != nil || !strings.Contains(out, "1 files would be taken") || !strings.Contains(out, "census_1.csv") || strings.Contains(out, ".part") {
		t.Fatalf("test after trust = %v\n%s", err, out)
	}
	os.WriteFile(pw, []byte("wrong"), 0o600)
	runCLI(t, "connections", "create", "--tenant", "acme", "--name", "bad", "--host", "127.0.0.1", "--port", strconv.Itoa(srv.Addr.Port),
		"--user", srv.User, "--host-key", wrong, "--password-file", pw)
	runCLI(t, "connections", "trust-host", "--tenant", "acme", "bad", "--yes")
	if out, err := runCLI(t, "connections", "test", "--tenant", "acme", "bad"); err == nil || !strings.Contains(out, "E_SFTP_AUTH") {
		t.Fatalf("test with a wrong password = %v\n%s", err, out)
	}
}

// TestConnectionsUpdateDeleteAndDropbox: a connection's settings and
// credentials change in place (the new password works), creating a
// duplicate says so in words, deleting keeps its files' records, and drop
// box logins are listed, updated and deleted.
func TestConnectionsUpdateDeleteAndDropbox(t *testing.T) {
	dir := sqliteEnv(t)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "census_1.csv"), []byte("x"), 0o644)
	srv := sftpd.StartTest(t, root)
	pw, bad := filepath.Join(dir, "pw"), filepath.Join(dir, "bad")
	os.WriteFile(pw, []byte(srv.Password), 0o600)
	os.WriteFile(bad, []byte("wrong"), 0o600)
	runCLI(t, "tenants", "create", "acme")
	create := []string{"connections", "create", "--tenant", "acme", "--name", "adp", "--host", "127.0.0.1", "--port", strconv.Itoa(srv.Addr.Port),
		"--user", srv.User, "--host-key", ssh.FingerprintSHA256(srv.HostKey), "--pattern", "census_*", "--password-file", bad}
	out, err := runCLI(t, create...)
	if err != nil || !strings.Contains(out, "runs only on demand") {
		t.Fatalf("create = %v %s", err, out)
	}
	if _, err := runCLI(t, create...); err == nil || !strings.Contains(err.Error(), `has a connection named "adp" already`) {
		t.Fatalf("duplicate create = %v", err)
	}
	if out, err := runCLI(t, "connections", "test", "--tenant", "acme", "adp"); err == nil || !strings.Contains(out, "E_SFTP_AUTH") {
		t.Fatalf("test with the wrong password = %v %s", err, out)
	}
	if out, err := runCLI(t, "connections", "update", "--tenant", "acme", "adp", "--password-file", pw, "--pattern", "census_*.csv", "--layout", "payroll-census-fixed"); err != nil {
		t.Fatalf("update = %v %s", err, out)
	}
	out, err = runCLI(t, "connections", "test", "--tenant", "acme", "adp")
	if err != nil || !strings.Contains(out, "census_1.csv") {
		t.Fatalf("test after the password update = %v %s", err, out)
	}
	if out, _ := runCLI(t, "connections", "list", "--tenant", "acme"); !strings.Contains(out, "payroll-census-fixed") {
		t.Fatalf("layout not updated:\n%s", out)
	}
	if _, err := runCLI(t, "connections", "update", "--tenant", "acme", "adp", "--ack", "shred"); err == nil || !strings.Contains(err.Error(), "ack") {
		t.Fatalf("an invalid update = %v", err)
	}
	// Drop box logins.
	if _, err := runCLI(t, "dropbox", "add", "--tenant", "acme", "--connection", "uploads", "--user", "hr1", "--password-file", pw); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "dropbox", "update", "--tenant", "acme", "hr1", "--max-bytes", "1000", "--rights", "upload,list"); err != nil || !strings.Contains(out, "updated") {
		t.Fatalf("dropbox update = %v %s", err, out)
	}
	out, _ = runCLI(t, "dropbox", "list", "--tenant", "acme")
	if !strings.Contains(out, "hr1") || !strings.Contains(out, "1000") || !strings.Contains(out, "uploads") {
		t.Fatalf("dropbox list:\n%s", out)
	}
	if out, err := runCLI(t, "dropbox", "delete", "--tenant", "acme", "hr1"); err != nil || !strings.Contains(out, "deleted drop box user hr1") {
		t.Fatalf("dropbox delete = %v %s", err, out)
	}
	// Delete the pulled connection: gone from the list, its name free.
	out, err = runCLI(t, "connections", "delete", "--tenant", "acme", "adp")
	if err != nil || !strings.Contains(out, "files, runs and records are kept") {
		t.Fatalf("delete = %v %s", err, out)
	}
	if out, _ := runCLI(t, "connections", "list", "--tenant", "acme"); strings.Contains(out, "adp") {
		t.Fatalf("deleted connection listed:\n%s", out)
	}
	if _, err := runCLI(t, create...); err != nil {
		t.Fatalf("re-create after delete = %v", err)
	}
	out, _ = runCLI(t, "audit", "--tenant", "acme")
	for _, action := range []string{"connection.create", "connection.update", "connection.delete", "dropbox.create", "dropbox.update", "dropbox.delete"} {
		if !strings.Contains(out, action) {
			t.Errorf("audit lacks %s:\n%s", action, out)
		}
	}
}
