// Package sftpd is hrisbridge's own SFTP server (pkg/sftp's request server
// over x/crypto/ssh). Each account is jailed to one directory through
// os.Root, so no path, "..", absolute name or symlink reaches outside it.
// The demo serves its sample drops with it, and tests use it as the
// employer's server.
package sftpd

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge/throttle"
)

// Account is one login and the directory it is jailed to.
type Account struct {
	User string
	// PasswordHash is a bcrypt hash; empty disables password login.
	PasswordHash []byte
	// AuthorizedKeys may log in with public key authentication.
	AuthorizedKeys []ssh.PublicKey
	// Root is the directory the account sees as "/".
	Root string
	// ReadOnly refuses writes, renames and removals.
	ReadOnly bool
	// UploadOnly refuses listing, reading and removing: the account can
	// only drop files (and stat what it uploads), unless NoList, NoRead
	// and NoDelete say otherwise right by right.
	UploadOnly bool
	// NoList, NoRead and NoDelete refuse one right each: a drop box
	// login's rights are the ones not refused (see bridge.DropboxServer).
	NoList, NoRead, NoDelete bool
	// MaxBytes caps one file; 0 means no cap.
	MaxBytes int64
	// Tag is the caller's, handed back to Uploaded (a connection id).
	Tag string
}

// Config configures a Server.
type Config struct {
	// HostKey is the server's identity. Required.
	HostKey ssh.Signer
	// Accounts finds an account by user name.
	Accounts func(user string) (Account, bool)
	// Uploaded, when set, is called after an upload's file is closed, with
	// the account and the file's path under the account's root.
	Uploaded func(acct Account, path string)
	// MaxFailures failed logins from one address within FailureWindow
	// lock that address out for the rest of the window; default 5 in 15
	// minutes.
	MaxFailures   int
	FailureWindow time.Duration
	// Logger receives connection events; default slog.Default().
	Logger *slog.Logger
	// IdleTimeout closes connections idle this long; default 10 minutes.
	IdleTimeout time.Duration
}

// Server serves SFTP on a listener.
type Server struct {
	cfg      Config
	ssh      *ssh.ServerConfig
	wg       sync.WaitGroup
	failures *throttle.Counter // by remote host
}

// StaticAccounts serves a fixed set of accounts.
func StaticAccounts(m map[string]Account) func(string) (Account, bool) {
	return func(user string) (Account, bool) {
		a, ok := m[user]
		return a, ok
	}
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.HostKey == nil {
		return nil, errors.New("sftpd: HostKey is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.Accounts == nil {
		return nil, errors.New("sftpd: Accounts is required")
	}
	cfg.MaxFailures = cmp.Or(cfg.MaxFailures, 5)
	cfg.FailureWindow = cmp.Or(cfg.FailureWindow, 15*time.Minute)
	s := &Server{cfg: cfg, failures: throttle.New(cfg.MaxFailures, cfg.FailureWindow)}
	s.ssh = &ssh.ServerConfig{
		PasswordCallback:  s.checkPassword,
		PublicKeyCallback: s.checkKey,
		MaxAuthTries:      3,
	}
	s.ssh.AddHostKey(cfg.HostKey)
	return s, nil
}

var errLockedOut = errors.New("too many failed logins from this address; try again later")

// lockedOut reports whether host failed too often lately.
func (s *Server) lockedOut(host string) bool { return s.failures.Blocked(host, time.Now()) > 0 }

func (s *Server) failed(host string) { s.failures.Fail(host, time.Now()) }

func hostOf(c ssh.ConnMetadata) string {
	h, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	return h
}

func (s *Server) checkPassword(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	if s.lockedOut(hostOf(c)) {
		return nil, errLockedOut
	}
	a, ok := s.cfg.Accounts(c.User())
	if !ok || len(a.PasswordHash) == 0 {
		bcrypt.CompareHashAndPassword(dummyHash, pw) //nolint:errcheck // same cost for unknown users
		s.failed(hostOf(c))
		return nil, errors.New("password rejected")
	}
	if bcrypt.CompareHashAndPassword(a.PasswordHash, pw) != nil {
		s.failed(hostOf(c))
		return nil, errors.New("password rejected")
	}
	return &ssh.Permissions{Extensions: map[string]string{"user": c.User()}}, nil
}

// checkKey accepts an authorized key. Offering a key that is not
// authorized is not counted as a failure: clients offer every key they
// hold before they try a password.
func (s *Server) checkKey(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if s.lockedOut(hostOf(c)) {
		return nil, errLockedOut
	}
	a, ok := s.cfg.Accounts(c.User())
	if ok {
		for _, k := range a.AuthorizedKeys {
			if subtle.ConstantTimeCompare(k.Marshal(), key.Marshal()) == 1 {
				return &ssh.Permissions{Extensions: map[string]string{"user": c.User()}}, nil
			}
		}
	}
	return nil, errors.New("public key rejected")
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.MinCost)

// Serve accepts connections until ctx ends, then closes the listener and
// waits for open sessions to finish.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		nc, err := l.Accept()
		if err != nil {
			s.wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, nc)
		}()
	}
}

// idleConn closes a connection that sees no traffic for timeout.
type idleConn struct {
	net.Conn
	timeout time.Duration
}

func (c idleConn) Read(b []byte) (int, error) {
	c.Conn.SetDeadline(time.Now().Add(c.timeout)) //nolint:errcheck
	return c.Conn.Read(b)
}

func (s *Server) handle(ctx context.Context, nc net.Conn) {
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck // handshake timeout
	conn, chans, reqs, err := ssh.NewServerConn(idleConn{nc, s.cfg.IdleTimeout}, s.ssh)
	if err != nil {
		s.cfg.Logger.InfoContext(ctx, "sftp login failed", "remote", nc.RemoteAddr().String(), "error", err)
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	acct, ok := s.cfg.Accounts(conn.Permissions.Extensions["user"])
	if !ok {
		return
	}
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only session channels") //nolint:errcheck
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			return
		}
		go s.serveSession(ctx, acct, ch, creqs)
	}
}

func (s *Server) serveSession(ctx context.Context, acct Account, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
		req.Reply(ok, nil) //nolint:errcheck
		if !ok {
			continue
		}
		root, err := os.OpenRoot(acct.Root)
		if err != nil {
			s.cfg.Logger.ErrorContext(ctx, "sftp root unavailable", "user", acct.User, "error", err)
			return
		}
		defer root.Close()
		h := &handler{root: root, acct: acct, uploaded: s.cfg.Uploaded}
		rs := sftp.NewRequestServer(ch, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h})
		if err := rs.Serve(); err != nil && !errors.Is(err, io.EOF) {
			s.cfg.Logger.InfoContext(ctx, "sftp session ended", "user", acct.User, "error", err)
		}
		return
	}
}

// HashPassword returns the bcrypt hash stored for an account.
func HashPassword(pw string) ([]byte, error) {
	if pw == "" {
		return nil, fmt.Errorf("empty password")
	}
	return bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
}
