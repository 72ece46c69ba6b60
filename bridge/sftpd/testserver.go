package sftpd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestServer is a loopback server with one password account, for tests.
type TestServer struct {
	Addr     *net.TCPAddr
	HostKey  ssh.PublicKey
	User     string
	Password string
	Root     string
}

// StartTest starts a server on 127.0.0.1 serving root to user "hr" with
// password "s3cret", stopped when the test ends. opts adjust the account.
func StartTest(t testing.TB, root string, opts ...func(*Account)) *TestServer {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := HashPassword("s3cret")
	acct := Account{User: "hr", PasswordHash: hash, Root: root}
	for _, o := range opts {
		o(&acct)
	}
	srv, err := New(Config{HostKey: signer, Logger: slog.New(slog.DiscardHandler), Accounts: StaticAccounts(map[string]Account{"hr": acct})})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }() //nolint:errcheck
	t.Cleanup(func() { cancel(); <-done })
	return &TestServer{Addr: l.Addr().(*net.TCPAddr), HostKey: signer.PublicKey(), User: "hr", Password: "s3cret", Root: root}
}
