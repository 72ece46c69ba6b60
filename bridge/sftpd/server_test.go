package sftpd

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

func connect(t *testing.T, ts *TestServer, password string) (*sftp.Client, error) {
	t.Helper()
	c, err := ssh.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ts.Addr.Port)), &ssh.ClientConfig{
		User: ts.User, Auth: []ssh.AuthMethod{ssh.Password(password)}, HostKeyCallback: ssh.FixedHostKey(ts.HostKey),
	})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return sftp.NewClient(c)
}

func TestJailHoldsAgainstEscapes(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("payroll of another tenant"), 0o644)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "census.csv"), []byte("ok"), 0o644)
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(root, "link.txt"))
	os.Symlink(outside, filepath.Join(root, "linkdir"))
	ts := StartTest(t, root)
	c, err := connect(t, ts, ts.Password)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := c.Open("/census.csv"); err != nil {
		t.Fatalf("Open inside the jail: %v", err)
	} else {
		f.Close()
	}
	rel, _ := filepath.Rel(root, filepath.Join(outside, "secret.txt"))
	for _, p := range []string{"../" + filepath.Base(outside) + "/secret.txt", rel, filepath.Join(outside, "secret.txt"), "link.txt", "linkdir/secret.txt"} {
		f, err := c.Open(p)
		if err == nil {
			b, _ := io.ReadAll(f)
			f.Close()
			if string(b) == "payroll of another tenant" {
				t.Errorf("Open(%q) escaped the jail", p)
			}
		}
	}
	if err := c.Symlink("/etc/passwd", "x"); err == nil {
		t.Error("Symlink allowed inside the jail")
	}
	w, err := c.Create("../escape.txt")
	if err == nil {
		w.Write([]byte("x"))
		w.Close()
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "escape.txt")); err == nil {
		t.Error("Create(../escape.txt) wrote outside the jail")
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	ts := StartTest(t, t.TempDir())
	if _, err := connect(t, ts, "wrong"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
}

func TestReadOnlyAccount(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "a.csv"), []byte("a"), 0o644)
	ts := StartTest(t, root, func(a *Account) { a.ReadOnly = true })
	c, err := connect(t, ts, ts.Password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("b.csv"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Create on a read-only account = %v, want permission denied", err)
	}
	if err := c.Remove("a.csv"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Remove on a read-only account = %v, want permission denied", err)
	}
}
