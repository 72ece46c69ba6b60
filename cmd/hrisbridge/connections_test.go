package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
	if err == nil || !strings.Contains(out, "E_SFTP_HOST_KEY") || !strings.Contains(out, "Fix: Confirm with the employer") {
		t.Fatalf("test against a wrong pin = %v\n%s", err, out)
	}
	out, err = runCLI(t, "connections", "trust-host", "--tenant", "acme", "adp")
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
	runCLI(t, "connections", "trust-host", "--tenant", "acme", "bad")
	if out, err := runCLI(t, "connections", "test", "--tenant", "acme", "bad"); err == nil || !strings.Contains(out, "E_SFTP_AUTH") {
		t.Fatalf("test with a wrong password = %v\n%s", err, out)
	}
}
