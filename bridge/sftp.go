package bridge

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/schema"
)

// SFTPConfig is an sftp connection's settings (connections.config).
type SFTPConfig struct {
	Host string `json:"host"`
	Port int    `json:"port,omitempty"`
	User string `json:"user"`
	// HostKey pins the server's key: "SHA256:<base64>" as ssh-keygen -l
	// prints it, or a public key line ("ssh-ed25519 AAAA...") as in
	// known_hosts. Required: hrisbridge never trusts an unknown host.
	HostKey string `json:"host_key"`
	// Dir is the remote directory to read; default ".".
	Dir string `json:"dir,omitempty"`
	// Patterns are path.Match globs on file names; default "*".
	Patterns []string `json:"patterns,omitempty"`
	// Ack is what happens to a remote file after its ingest commits:
	// leave (default), archive (move into ArchiveDir) or delete.
	Ack        string `json:"ack,omitempty"`
	ArchiveDir string `json:"archive_dir,omitempty"`
	// MaxFiles bounds the files taken per run; default 100.
	MaxFiles int `json:"max_files,omitempty"`
	// Policy holds the ingest guards.
	Policy Policy `json:"policy,omitempty"`
}

// SFTPSecret is an sftp connection's credentials, sealed at rest, with
// the OpenPGP keys for encrypted drops.
type SFTPSecret struct {
	Password   string `json:"password,omitempty"`
	PrivateKey string `json:"private_key,omitempty"`
	Passphrase string `json:"passphrase,omitempty"`
	PGP
}

// Validate checks the settings, naming the bad key.
func (c *SFTPConfig) Validate() error {
	switch {
	case c.Host == "":
		return errors.New("sftp connection: host is required")
	case c.User == "":
		return errors.New("sftp connection: user is required")
	case c.HostKey == "":
		return errors.New("sftp connection: host_key is required (pin the server's key: ssh-keyscan HOST | ssh-keygen -lf -)")
	case c.Ack != "" && c.Ack != "leave" && c.Ack != "archive" && c.Ack != "delete":
		return fmt.Errorf("sftp connection: ack %q must be leave, archive or delete", c.Ack)
	case c.Ack == "archive" && c.ArchiveDir == "":
		return errors.New("sftp connection: archive_dir is required when ack is archive")
	}
	for _, p := range c.Patterns {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("sftp connection: patterns: %q: %w", p, err)
		}
	}
	if err := c.Policy.Validate(); err != nil {
		return fmt.Errorf("sftp connection: %w", err)
	}
	_, err := pinnedKey(c.HostKey)
	return err
}

// ErrHostKeyMismatch means the server did not present the pinned key.
var ErrHostKeyMismatch = errors.New("host key mismatch")

// pinnedKey returns the SHA256 fingerprint a host key setting pins.
func pinnedKey(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "SHA256:") {
		return s, nil
	}
	fields := strings.Fields(s)
	for i := range fields { // known_hosts lines start with host names
		if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.Join(fields[i:], " "))); err == nil {
			return ssh.FingerprintSHA256(k), nil
		}
	}
	return "", fmt.Errorf("sftp connection: host_key %q is neither SHA256:<fingerprint> nor a public key line", s)
}

func hostKeyCallback(pinned string) ssh.HostKeyCallback {
	return func(host string, _ net.Addr, key ssh.PublicKey) error {
		got := ssh.FingerprintSHA256(key)
		if got != pinned {
			return fmt.Errorf("%w for %s: server presented %s, connection pins %s", ErrHostKeyMismatch, host, got, pinned)
		}
		return nil
	}
}

// dialSFTP connects and authenticates. The client closes when ctx ends.
func dialSFTP(ctx context.Context, cfg SFTPConfig, sec SFTPSecret) (*sftp.Client, error) {
	pinned, err := pinnedKey(cfg.HostKey)
	if err != nil {
		return nil, err
	}
	var auth []ssh.AuthMethod
	if sec.PrivateKey != "" {
		signer, err := parseKey(sec)
		if err != nil {
			return nil, err
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if sec.Password != "" {
		auth = append(auth, ssh.Password(sec.Password))
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cmp.Or(cfg.Port, 22)))
	d := net.Dialer{Timeout: 15 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
	sc, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{
		User: cfg.User, Auth: auth, HostKeyCallback: hostKeyCallback(pinned), Timeout: 15 * time.Second,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	nc.SetDeadline(time.Time{}) //nolint:errcheck
	client := ssh.NewClient(sc, chans, reqs)
	sc2, err := sftp.NewClient(client, sftp.UseConcurrentReads(true))
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("sftp %s: %w", addr, err)
	}
	context.AfterFunc(ctx, func() { sc2.Close(); client.Close() })
	return sc2, nil
}

func parseKey(sec SFTPSecret) (ssh.Signer, error) {
	if sec.Passphrase != "" {
		s, err := ssh.ParsePrivateKeyWithPassphrase([]byte(sec.PrivateKey), []byte(sec.Passphrase))
		if err != nil {
			return nil, fmt.Errorf("sftp connection: private key: %w", err)
		}
		return s, nil
	}
	s, err := ssh.ParsePrivateKey([]byte(sec.PrivateKey))
	if err != nil {
		return nil, fmt.Errorf("sftp connection: private key: %w", err)
	}
	return s, nil
}

// remoteFile is a file found in the remote directory.
type remoteFile struct {
	Path string
	Info fs.FileInfo
}

// list returns the files to take, in name order.
func list(c *sftp.Client, cfg SFTPConfig) ([]remoteFile, error) {
	dir := cmp.Or(cfg.Dir, ".")
	entries, err := c.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	patterns := cfg.Patterns
	if len(patterns) == 0 {
		patterns = []string{"*"}
	}
	var out []remoteFile
	for _, fi := range entries {
		if !fi.Mode().IsRegular() || sftpd.TempName(fi.Name()) {
			continue
		}
		for _, p := range patterns {
			if ok, _ := path.Match(p, fi.Name()); ok {
				out = append(out, remoteFile{Path: path.Join(dir, fi.Name()), Info: fi})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	if max := cmp.Or(cfg.MaxFiles, 100); len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// acknowledge archives or deletes a remote file after its ingest committed.
func acknowledge(c *sftp.Client, cfg SFTPConfig, p string) error {
	switch cfg.Ack {
	case "archive":
		c.MkdirAll(cfg.ArchiveDir) //nolint:errcheck // Rename reports a missing dir
		dst := path.Join(cfg.ArchiveDir, path.Base(p))
		if err := c.PosixRename(p, dst); err != nil {
			if err2 := c.Rename(p, dst); err2 != nil {
				return fmt.Errorf("archive %s: %w", p, err2)
			}
		}
	case "delete":
		if err := c.Remove(p); err != nil {
			return fmt.Errorf("delete %s: %w", p, err)
		}
	}
	return nil
}

// decodeConnection reads an sftp connection's settings and secret.
func (b *Bridge) decodeConnection(conn schema.Connection) (SFTPConfig, SFTPSecret, error) {
	var cfg SFTPConfig
	var sec SFTPSecret
	dec := json.NewDecoder(bytes.NewReader(conn.Config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, sec, fmt.Errorf("connection %s config: %w", conn.Name, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, sec, err
	}
	if len(conn.Secret) > 0 {
		if b.cfg.Box == nil {
			return cfg, sec, errors.New("bridge: no secret box to open connection credentials")
		}
		plain, err := b.cfg.Box.Open(conn.Secret)
		if err != nil {
			return cfg, sec, fmt.Errorf("connection %s secret: %w", conn.Name, err)
		}
		if err := json.Unmarshal(plain, &sec); err != nil {
			return cfg, sec, fmt.Errorf("connection %s secret: %w", conn.Name, err)
		}
	}
	return cfg, sec, nil
}
