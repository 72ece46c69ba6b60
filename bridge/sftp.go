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
	"sync/atomic"
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
	// Recursive also takes files from subdirectories of Dir (not from
	// ArchiveDir).
	Recursive bool `json:"recursive,omitempty"`
	// Order is name (default) or mtime: the order files are taken in.
	Order string `json:"order,omitempty"`
	// StableFor is how long a file's size and modification time must stay
	// unchanged before it is taken (two listings that far apart); default
	// 30s, "0s" to take files at once. Ignored when Marker is set.
	StableFor string `json:"stable_for,omitempty"`
	// Marker, e.g. ".done", ".ok" or ".trg", takes a file only once a
	// marker file (census.csv.done or census.done) is present; the marker
	// is acknowledged with the file.
	Marker string `json:"marker,omitempty"`
	// Policy holds the ingest guards.
	Policy Policy `json:"policy,omitempty"`
	// ExpectFileEvery makes the connection degraded after that many
	// scheduled syncs in a row found no file; 0 expects nothing.
	ExpectFileEvery int `json:"expect_file_every,omitempty"`
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
	case c.Order != "" && c.Order != "name" && c.Order != "mtime":
		return fmt.Errorf("sftp connection: order %q must be name or mtime", c.Order)
	}
	if _, err := c.stableFor(); err != nil {
		return err
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
func dialSFTP(ctx context.Context, cfg SFTPConfig, sec SFTPSecret, idle time.Duration) (*sftp.Client, error) {
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
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	ic := &idleConn{Conn: raw, timeout: idle}
	nc := net.Conn(ic)
	nc.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
	sc, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{
		User: cfg.User, Auth: auth, HostKeyCallback: hostKeyCallback(pinned), Timeout: 15 * time.Second,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	nc.SetDeadline(time.Time{}) //nolint:errcheck
	ic.armed.Store(idle > 0)    // handshake done; idleConn guards reads from here
	client := ssh.NewClient(sc, chans, reqs)
	sc2, err := sftp.NewClient(client, sftp.UseConcurrentReads(true))
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("sftp %s: %w", addr, err)
	}
	context.AfterFunc(ctx, func() { sc2.Close(); client.Close() })
	if idle > 0 {
		go keepalive(ctx, client, idle/3)
	}
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

func (c *SFTPConfig) stableFor() (time.Duration, error) {
	if c.StableFor == "" {
		return 30 * time.Second, nil
	}
	d, err := time.ParseDuration(c.StableFor)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("sftp connection: stable_for %q must be a duration such as 30s", c.StableFor)
	}
	return d, nil
}

// remoteFile is a file found in the remote directory, with its marker
// file when the connection uses markers.
type remoteFile struct {
	Path   string
	Info   fs.FileInfo
	Marker string
}

// list returns the files to take: complete ones only (marked, or
// unchanged across two listings stable_for apart), in the configured order.
func list(ctx context.Context, c *sftp.Client, cfg SFTPConfig) ([]remoteFile, error) {
	files, names, err := listOnce(c, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Marker != "" {
		var marked []remoteFile
		for _, f := range files {
			stem := strings.TrimSuffix(f.Path, path.Ext(f.Path))
			for _, m := range []string{f.Path + cfg.Marker, stem + cfg.Marker} {
				if names[m] {
					f.Marker = m
					marked = append(marked, f)
					break
				}
			}
		}
		files = marked
	} else if wait, _ := cfg.stableFor(); wait > 0 && len(files) > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		again, _, err := listOnce(c, cfg)
		if err != nil {
			return nil, err
		}
		now := map[string]fs.FileInfo{}
		for _, f := range again {
			now[f.Path] = f.Info
		}
		var stable []remoteFile
		for _, f := range files {
			if fi, ok := now[f.Path]; ok && fi.Size() == f.Info.Size() && fi.ModTime().Equal(f.Info.ModTime()) {
				stable = append(stable, f)
			}
		}
		files = stable
	}
	if max := cmp.Or(cfg.MaxFiles, 100); len(files) > max {
		files = files[:max]
	}
	return files, nil
}

// listOnce lists the directory: candidate files in order, and every name
// present (for markers).
func listOnce(c *sftp.Client, cfg SFTPConfig) ([]remoteFile, map[string]bool, error) {
	dir := cmp.Or(cfg.Dir, ".")
	entries, err := readTree(c, dir, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", dir, err)
	}
	patterns := cfg.Patterns
	if len(patterns) == 0 {
		patterns = []string{"*"}
	}
	names := map[string]bool{}
	var out []remoteFile
	for _, e := range entries {
		p, fi := e.path, e.info
		names[p] = true
		if !fi.Mode().IsRegular() || sftpd.TempName(fi.Name()) || cfg.Marker != "" && strings.HasSuffix(fi.Name(), cfg.Marker) {
			continue
		}
		for _, pat := range patterns {
			if ok, _ := path.Match(pat, fi.Name()); ok {
				out = append(out, remoteFile{Path: p, Info: fi})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if cfg.Order == "mtime" && !out[i].Info.ModTime().Equal(out[j].Info.ModTime()) {
			return out[i].Info.ModTime().Before(out[j].Info.ModTime())
		}
		return out[i].Path < out[j].Path
	})
	return out, names, nil
}

type entry struct {
	path string
	info fs.FileInfo
}

// readTree lists dir, and with cfg.Recursive its subdirectories except the
// archive directory.
func readTree(c *sftp.Client, dir string, cfg SFTPConfig) ([]entry, error) {
	fis, err := c.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, fi := range fis {
		p := path.Join(dir, fi.Name())
		if fi.IsDir() {
			if cfg.Recursive && !strings.HasPrefix(fi.Name(), ".") && (cfg.ArchiveDir == "" || path.Clean(p) != path.Clean(cfg.ArchiveDir)) {
				sub, err := readTree(c, p, cfg)
				if err != nil {
					return nil, err
				}
				out = append(out, sub...)
			}
			continue
		}
		out = append(out, entry{p, fi})
	}
	return out, nil
}

// acknowledge archives or deletes a remote file (and its marker) after its
// ingest committed.
func acknowledge(c *sftp.Client, cfg SFTPConfig, f remoteFile) error {
	if f.Marker != "" {
		if err := ackOne(c, cfg, f.Marker); err != nil {
			return err
		}
	}
	return ackOne(c, cfg, f.Path)
}

func ackOne(c *sftp.Client, cfg SFTPConfig, p string) error {
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
	return cfg, sec, b.openSecret(conn, &sec)
}

// openSecret opens a connection's sealed credentials into dst (nothing
// when it has none).
func (b *Bridge) openSecret(conn schema.Connection, dst any) error {
	if len(conn.Secret) == 0 {
		return nil
	}
	if b.cfg.Box == nil {
		return errors.New("bridge: no secret box to open connection credentials")
	}
	plain, err := b.cfg.Box.Open(conn.Secret)
	if err != nil {
		return fmt.Errorf("connection %s secret: %w", conn.Name, err)
	}
	if err := json.Unmarshal(plain, dst); err != nil {
		return fmt.Errorf("connection %s secret: %w", conn.Name, err)
	}
	return nil
}

// keepalive sends an SSH keepalive request every interval until ctx ends
// or the connection fails, as OpenSSH's ServerAliveInterval does: a
// healthy server answers, so a connection idle while a long apply runs
// outlives idleConn's timeout; a stalled one does not, and the timeout
// ends it.
func keepalive(ctx context.Context, c *ssh.Client, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err != nil {
				return
			}
		}
	}
}

// idleConn fails a read that waits longer than timeout: a server that
// stalls mid-transfer ends the pull (as a transient error) instead of
// hanging it.
// Until armed (after the handshake, which has a deadline of its own) it
// reads as the plain connection.
type idleConn struct {
	net.Conn
	timeout time.Duration
	armed   atomic.Bool
}

func (c *idleConn) Read(b []byte) (int, error) {
	if c.armed.Load() {
		c.Conn.SetReadDeadline(time.Now().Add(c.timeout)) //nolint:errcheck
	}
	return c.Conn.Read(b)
}
