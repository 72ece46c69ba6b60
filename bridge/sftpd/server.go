// Package sftpd is hrisbridge's own SFTP server (pkg/sftp's request server
// over x/crypto/ssh). Each account is jailed to one directory through
// os.Root, so no path, "..", absolute name or symlink reaches outside it.
// The demo serves its sample drops with it, and tests use it as the
// employer's server.
package sftpd

import (
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
}

// Config configures a Server.
type Config struct {
	// HostKey is the server's identity. Required.
	HostKey ssh.Signer
	// Accounts maps user names to accounts.
	Accounts map[string]Account
	// Logger receives connection events; default slog.Default().
	Logger *slog.Logger
	// IdleTimeout closes connections idle this long; default 10 minutes.
	IdleTimeout time.Duration
}

// Server serves SFTP on a listener.
type Server struct {
	cfg Config
	ssh *ssh.ServerConfig
	wg  sync.WaitGroup
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
	s := &Server{cfg: cfg}
	s.ssh = &ssh.ServerConfig{
		PasswordCallback:  s.checkPassword,
		PublicKeyCallback: s.checkKey,
		MaxAuthTries:      3,
	}
	s.ssh.AddHostKey(cfg.HostKey)
	return s, nil
}

func (s *Server) checkPassword(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	a, ok := s.cfg.Accounts[c.User()]
	if !ok || len(a.PasswordHash) == 0 {
		bcrypt.CompareHashAndPassword(dummyHash, pw) //nolint:errcheck // same cost for unknown users
		return nil, errors.New("password rejected")
	}
	if bcrypt.CompareHashAndPassword(a.PasswordHash, pw) != nil {
		return nil, errors.New("password rejected")
	}
	return &ssh.Permissions{Extensions: map[string]string{"user": c.User()}}, nil
}

func (s *Server) checkKey(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	a, ok := s.cfg.Accounts[c.User()]
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
	acct := s.cfg.Accounts[conn.Permissions.Extensions["user"]]
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
		h := &handler{root: root, readOnly: acct.ReadOnly}
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
