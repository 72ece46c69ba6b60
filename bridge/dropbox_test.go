package bridge

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

type dropbox struct {
	f     *ingestFixture
	inbox *Inbox
	addr  string
	key   ssh.PublicKey
}

func startDropbox(t *testing.T, s schema.Store, acct schema.DropboxAccount, password string) *dropbox {
	t.Helper()
	f := newIngest(t, s, "census-csv", Policy{})
	inbox := f.bridge.NewInbox(t.TempDir())
	hk, err := HostKey(filepath.Join(t.TempDir(), "host_key"))
	if err != nil {
		t.Fatal(err)
	}
	if password != "" {
		acct.PasswordHash, _ = sftpd.HashPassword(password)
	}
	acct.TenantID, acct.ConnectionID = f.conn.TenantID, f.conn.ID
	if err := s.CreateDropboxAccount(context.Background(), &acct); err != nil {
		t.Fatal(err)
	}
	srv, err := inbox.DropboxServer(hk, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { srv.Serve(ctx, l); done <- struct{}{} }() //nolint:errcheck
	go func() { inbox.Run(ctx); done <- struct{}{} }()    //nolint:errcheck
	t.Cleanup(func() { cancel(); <-done; <-done })
	return &dropbox{f: f, inbox: inbox, addr: l.Addr().String(), key: hk.PublicKey()}
}

// sshClient logs in with a password and returns the SSH connection.
func (d *dropbox) sshClient(t *testing.T, user, password string) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", d.addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(password)}, HostKeyCallback: ssh.FixedHostKey(d.key)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sftpClient(c *ssh.Client) (*sftp.Client, error) { return sftp.NewClient(c) }

func (d *dropbox) client(t *testing.T, user string, auth ssh.AuthMethod) (*sftp.Client, error) {
	c, err := ssh.Dial("tcp", d.addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{auth}, HostKeyCallback: ssh.FixedHostKey(d.key)})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return sftp.NewClient(c)
}

func put(t *testing.T, c *sftp.Client, name, body string) {
	t.Helper()
	w, err := c.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitFiles waits until the connection has n recorded files.
func (d *dropbox) waitFiles(t *testing.T, n int) []schema.File {
	t.Helper()
	var fs []schema.File
	storetest.WaitUntil(t, 20*time.Second, func() bool {
		fs, _ = d.f.store.Files(context.Background(), d.f.conn.TenantID, schema.ListQuery{Limit: 100})
		return len(fs) >= n
	}, "no %d files recorded", n)
	return fs
}

func TestDropboxUploadIsIngested(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		d := startDropbox(t, s, schema.DropboxAccount{Username: "acme-hr"}, "s3cret")
		c, err := d.client(t, "acme-hr", ssh.Password("s3cret"))
		if err != nil {
			t.Fatal(err)
		}
		put(t, c, "census.csv", census("E1:A", "E2:A"))
		d.waitFiles(t, 1)
		// The usual vendor habit: write under a temporary name, then rename.
		put(t, c, "census-2.csv.part", census("E1:A", "E2:A", "E3:A"))
		time.Sleep(100 * time.Millisecond)
		if fs, _ := s.Files(context.Background(), d.f.conn.TenantID, schema.ListQuery{Limit: 10}); len(fs) != 1 {
			t.Fatalf("a .part file was taken before its rename: %d files", len(fs))
		}
		if err := c.Rename("census-2.csv.part", "census-2.csv"); err != nil {
			t.Fatal(err)
		}
		files := d.waitFiles(t, 2)
		for _, f := range files {
			if f.Status != schema.FileApplied {
				t.Fatalf("file %s = %s %s", f.Name, f.Status, f.Detail)
			}
		}
		if e := d.f.employee("E3"); e.ExternalID != "E3" {
			t.Fatal("second upload not applied")
		}
		// Upload-only: the account cannot list, read or delete.
		if _, err := c.ReadDir("/"); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("ReadDir on an upload-only account = %v", err)
		}
		if _, err := c.Open("census.csv"); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Open on an upload-only account = %v", err)
		}
		if err := c.Remove("anything.csv"); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Remove on an upload-only account = %v", err)
		}
	})
}

func TestDropboxLimitsAndLockout(t *testing.T) {
	s := openSQLite(t)
	d := startDropbox(t, s, schema.DropboxAccount{Username: "hr", MaxBytes: 100, Rights: []string{"list", "read", "delete"}}, "s3cret")
	c, err := d.client(t, "hr", ssh.Password("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := c.Create("big.csv")
	if _, err := w.Write(make([]byte, 200)); err == nil {
		t.Error("a 200-byte upload passed a 100-byte limit")
	}
	w.Close()
	if _, err := c.ReadDir("/"); err != nil {
		t.Errorf("ReadDir with can_list = %v", err)
	}
	for i := range 5 {
		if _, err := d.client(t, "hr", ssh.Password("wrong"+strconv.Itoa(i))); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	if _, err := d.client(t, "hr", ssh.Password("s3cret")); err == nil {
		t.Fatal("the right password got in right after five failures from the same address")
	}
}

func TestInboxRescanTakesLeftovers(t *testing.T) {
	s := openSQLite(t)
	f := newIngest(t, s, "census-csv", Policy{})
	inbox := f.bridge.NewInbox(t.TempDir())
	root, _ := inbox.Root(f.conn.ID)
	// A file a crashed process left behind, and one still being uploaded.
	os.WriteFile(filepath.Join(root, "left.csv"), []byte(census("E1:A")), 0o640)
	os.WriteFile(filepath.Join(root, "busy.csv.filepart"), []byte(census("E9:A")), 0o640)
	ctx, cancel := context.WithCancel(context.Background())
	go inbox.Run(ctx) //nolint:errcheck
	defer cancel()
	// Ingested (recorded), then gone from the inbox.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		fs, _ := s.Files(ctx, f.conn.TenantID, schema.ListQuery{Limit: 10})
		_, err := os.Stat(filepath.Join(root, "left.csv"))
		if len(fs) == 1 && os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leftover: %d files recorded, still in the inbox: %v", len(fs), err == nil)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "busy.csv.filepart")); err != nil {
		t.Fatal("a temporary file was taken")
	}
}

func TestHostKeyPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	a, err := HostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := HostKey(path)
	if err != nil || ssh.FingerprintSHA256(a.PublicKey()) != ssh.FingerprintSHA256(b.PublicKey()) {
		t.Fatalf("host key changed across starts: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key mode %v, want 0600", fi.Mode().Perm())
	}
}
