package bridge

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/schema"
)

// TestDropboxRightsWithOpenSSHClient drives the drop box with OpenSSH's
// own sftp client, one login per set of rights: each right allows its
// operation and nothing else, and a login is upload-only by default.
func TestDropboxRightsWithOpenSSHClient(t *testing.T) {
	bin, err := exec.LookPath("sftp")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("OpenSSH's sftp client is required under CI=true: %v", err)
		}
		t.Skip("sftp client not installed (apt-get install openssh-client)")
	}
	s := openSQLite(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "id")
	pub, _ := writeKey(t, keyFile)
	d := startDropbox(t, s, schema.DropboxAccount{Username: "up", AuthorizedKeys: string(ssh.MarshalAuthorizedKey(pub))}, "")
	host, port, _ := strings.Cut(d.addr, ":")
	os.WriteFile(filepath.Join(dir, "known_hosts"), []byte("["+host+"]:"+port+" "+string(ssh.MarshalAuthorizedKey(d.key))), 0o600)
	for _, u := range []struct {
		name   string
		rights []string
	}{{"lister", []string{"list"}}, {"reader", []string{"read"}}, {"deleter", []string{"delete"}}} {
		a := schema.DropboxAccount{TenantID: d.f.conn.TenantID, ConnectionID: d.f.conn.ID, Username: u.name, Rights: u.rights,
			AuthorizedKeys: string(ssh.MarshalAuthorizedKey(pub))}
		if err := s.CreateDropboxAccount(t.Context(), &a); err != nil {
			t.Fatal(err)
		}
	}
	root, _ := d.inbox.Root(d.f.conn.ID)
	local := filepath.Join(dir, "census.csv")
	os.WriteFile(local, []byte(census("E1:A")), 0o644)
	// run runs one sftp command as user and reports whether it succeeded.
	run := func(user, cmd string) bool {
		// A file the inbox does not take (a dot name), to read and delete.
		os.WriteFile(filepath.Join(root, ".keep.csv"), []byte("x"), 0o640)
		batch := filepath.Join(dir, "batch")
		os.WriteFile(batch, []byte(cmd+"\n"), 0o600)
		c := exec.Command(bin, "-b", batch, "-P", port, "-i", keyFile, "-o", "UserKnownHostsFile="+filepath.Join(dir, "known_hosts"),
			"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", user+"@"+host)
		c.Dir = dir
		out, err := c.CombinedOutput()
		// sftp -b stops on a failed command, but a refused listing only
		// prints its error: both count as refused.
		return err == nil && !strings.Contains(string(out), "Permission denied")
	}
	for _, tt := range []struct {
		user                     string
		put, list, read, delete_ bool
	}{
		{"up", true, false, false, false},
		{"lister", true, true, false, false},
		{"reader", true, false, true, false},
		{"deleter", true, false, false, true},
	} {
		got := []bool{run(tt.user, "put census.csv up-"+tt.user+".csv"), run(tt.user, "ls"), run(tt.user, "get .keep.csv got.csv"), run(tt.user, "rm .keep.csv")}
		want := []bool{tt.put, tt.list, tt.read, tt.delete_}
		for i, op := range []string{"upload", "list", "read", "delete"} {
			if got[i] != want[i] {
				t.Errorf("%s: %s allowed = %v, want %v", tt.user, op, got[i], want[i])
			}
		}
	}
}
