package bridge

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema"
)

// Inbox holds files pushed to hrisbridge, by HR admins over the drop box
// SFTP server or by HTTP upload, until they are ingested. Each connection
// has a directory:
//
//	inbox/       what its drop box accounts see as "/"; the SFTP server
//	             commits a file here only when its upload completed
//	uploads/     HTTP uploads, named <file id>-<name> (ids are ours, never
//	             a client's: no SFTP account can write here)
//	attempts/    one marker per file being (or failed being) ingested
//	quarantine/  files that killed the process or failed MaxAttempts times
//
// A file stays until its ingest is recorded (its bytes are then kept under
// the bridge's FilesDir and the inbox copy removed), so a crash or restart
// never loses one: Run rescans and a repeated file is a duplicate
// delivery, never a second apply.
type Inbox struct {
	b   *Bridge
	dir string
	// Stable is how long a file found by a rescan (not announced by a
	// completed upload) must be unchanged before it is taken.
	Stable time.Duration
	// Rescan is the interval of rescans; default 30 s.
	Rescan time.Duration
	// MaxAttempts is how many failed ingests of one file (errors, not
	// rejections: a rejected file is recorded and done) put it in
	// quarantine; default 3. A file whose ingest the process did not
	// survive is quarantined at the next start.
	MaxAttempts int
	// Retention removes quarantined files older than it (their bytes are
	// kept sealed too, under the file's record, for replays); zero keeps
	// them.
	Retention time.Duration
	queue     chan string
	mu        sync.Mutex
	busy      map[string]bool
}

// NewInbox returns the inbox under dir.
func (b *Bridge) NewInbox(dir string) *Inbox {
	return &Inbox{b: b, dir: dir, Stable: time.Minute, Rescan: 30 * time.Second, MaxAttempts: 3, queue: make(chan string, 1024), busy: map[string]bool{}}
}

// Root is the directory a connection's drop box accounts see as "/".
func (x *Inbox) Root(connectionID string) (string, error) {
	d := filepath.Join(x.dir, connectionID, "inbox")
	return d, os.MkdirAll(d, 0o750)
}

func (x *Inbox) uploads(connectionID string) (string, error) {
	d := filepath.Join(x.dir, connectionID, "uploads")
	return d, os.MkdirAll(d, 0o750)
}

// Put stores an HTTP upload for conn and returns the file id it will be
// recorded under and the path to hand to Ingest or Notify. The bytes are
// on disk (synced) before Put returns.
func (x *Inbox) Put(conn schema.Connection, name string, r io.Reader) (id, path string, err error) {
	dir, err := x.uploads(conn.ID)
	if err != nil {
		return "", "", err
	}
	name = filepath.Base(filepath.Clean("/" + name))
	if name == "/" || name == "." {
		name = "upload"
	}
	id = uuid.Must(uuid.NewV7()).String()
	path = filepath.Join(dir, id+"-"+name)
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", "", err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", "", err
	}
	return id, path, os.Rename(tmp, path)
}

// Upload stores an HTTP upload. With wait it ingests it now and returns the
// outcome; otherwise it returns the promised file id with status received
// and the inbox ingests it in the background.
func (x *Inbox) Upload(ctx context.Context, conn schema.Connection, name string, r io.Reader, wait bool) (schema.File, error) {
	id, path, err := x.Put(conn, name, r)
	if err != nil {
		return schema.File{}, err
	}
	if !wait {
		x.Notify(path)
		return schema.File{ID: id, TenantID: conn.TenantID, ConnectionID: conn.ID, Name: filepath.Base(name), Status: schema.FileReceived}, nil
	}
	res, err := x.Ingest(ctx, path)
	return res.File, err
}

// Uploaded is the drop box SFTP server's completion hook.
func (x *Inbox) Uploaded(acct sftpd.Account, path string) {
	x.Notify(filepath.Join(acct.Root, filepath.FromSlash(path)))
}

// Notify queues a completed file for ingest.
func (x *Inbox) Notify(path string) {
	select {
	case x.queue <- path:
	default: // the rescan picks it up
	}
}

// Run recovers from an earlier process's end (Recover), then ingests
// notified files and rescans every connection's inbox for files left over
// until ctx ends.
func (x *Inbox) Run(ctx context.Context) error {
	x.Recover(ctx)
	x.scan(ctx, 0) // leftovers from before a restart are complete files
	tick := time.NewTicker(cmp.Or(x.Rescan, 30*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-x.queue:
			x.ingestLogged(ctx, p)
		case <-tick.C:
			x.scan(ctx, x.Stable)
			x.prune(ctx)
		}
	}
}

// prune removes quarantined files past Retention: they hold SSNs in
// clear, and a replay reads the sealed copy kept with the file's record.
func (x *Inbox) prune(ctx context.Context) {
	if x.Retention <= 0 {
		return
	}
	qs, _ := filepath.Glob(filepath.Join(x.dir, "*", "quarantine", "*"))
	for _, q := range qs {
		if fi, err := os.Stat(q); err == nil && time.Since(fi.ModTime()) > x.Retention {
			if err := os.Remove(q); err == nil {
				x.b.cfg.Logger.InfoContext(ctx, "quarantined file past retention removed", "file", q)
			}
		}
	}
}

// Recover cleans up after a process that ended without finishing its
// work: uploads that never completed (SFTP temporaries, HTTP .part
// files) and spooled or decoded temporaries are removed, and a file the
// process was ingesting when it died is quarantined rather than taken
// again (it may be what killed it). Run calls it first.
func (x *Inbox) Recover(ctx context.Context) {
	log := x.b.cfg.Logger
	if n, err := x.b.CleanSpool(); err != nil {
		log.WarnContext(ctx, "spool cleanup failed", "error", err)
	} else if n > 0 {
		log.InfoContext(ctx, "removed temporaries of an earlier process", "files", n)
	}
	conns, _ := os.ReadDir(x.dir)
	for _, c := range conns {
		base := filepath.Join(x.dir, c.Name())
		if n, err := sftpd.RemoveLeftovers(filepath.Join(base, "inbox")); err != nil {
			log.WarnContext(ctx, "drop box cleanup failed", "connection", c.Name(), "error", err)
		} else if n > 0 {
			log.InfoContext(ctx, "removed incomplete drop box uploads", "connection", c.Name(), "files", n)
		}
		parts, _ := filepath.Glob(filepath.Join(base, "uploads", "*.part"))
		for _, p := range parts {
			os.Remove(p)
		}
		x.moveLegacyUploads(ctx, base)
		markers, _ := os.ReadDir(filepath.Join(base, "attempts"))
		for _, m := range markers {
			a, err := readAttempt(filepath.Join(base, "attempts", m.Name()))
			if err != nil || !a.InFlight {
				continue
			}
			if _, err := os.Stat(a.Path); err != nil {
				os.Remove(filepath.Join(base, "attempts", m.Name()))
				continue
			}
			x.quarantine(ctx, a.Path, fmt.Sprintf("the process ended while it ingested this file (attempt %d)", a.Count))
		}
	}
}

// legacyUploadPrefix marked HTTP uploads waiting in a connection's inbox
// (where drop box logins could write too) before they moved to uploads/.
const legacyUploadPrefix = ".http-"

// moveLegacyUploads moves complete HTTP uploads an earlier version left in
// the inbox to uploads/ under the id they were promised, and removes their
// incomplete ones. An id that is not a UUID (a drop box login chose the
// name) is not honoured: the file is left for the operator.
func (x *Inbox) moveLegacyUploads(ctx context.Context, base string) {
	old, _ := filepath.Glob(filepath.Join(base, "inbox", legacyUploadPrefix+"*"))
	for _, p := range old {
		name := strings.TrimPrefix(filepath.Base(p), legacyUploadPrefix)
		if strings.HasSuffix(name, ".part") {
			os.Remove(p)
			continue
		}
		if len(name) < 38 || uuid.Validate(name[:36]) != nil || name[36] != '-' {
			continue
		}
		dir, err := x.uploads(filepath.Base(base))
		if err == nil {
			err = os.Rename(p, filepath.Join(dir, name))
		}
		if err != nil {
			x.b.cfg.Logger.WarnContext(ctx, "earlier HTTP upload not moved", "file", p, "error", err)
		}
	}
}

func (x *Inbox) scan(ctx context.Context, stable time.Duration) {
	conns, _ := os.ReadDir(x.dir)
	for _, c := range conns {
		for _, sub := range []string{"uploads", "inbox"} {
			root := filepath.Join(x.dir, c.Name(), sub)
			files, _ := os.ReadDir(root)
			for _, f := range files {
				fi, err := f.Info()
				if err != nil || !fi.Mode().IsRegular() || sftpd.TempName(f.Name()) || time.Since(fi.ModTime()) < stable {
					continue
				}
				x.ingestLogged(ctx, filepath.Join(root, f.Name()))
			}
		}
	}
}

func (x *Inbox) ingestLogged(ctx context.Context, path string) {
	if _, err := x.Ingest(ctx, path); err != nil && !errors.Is(err, errBusy) && !errors.Is(err, os.ErrNotExist) {
		x.b.cfg.Logger.ErrorContext(ctx, "inbox ingest failed; the file stays for the next try", "file", path, "error", err)
	}
}

var errBusy = errors.New("file is being ingested")

// Ingest applies one inbox file now and removes it from the inbox. On an
// error the file stays in the inbox for the next try, up to MaxAttempts;
// then it is quarantined.
func (x *Inbox) Ingest(ctx context.Context, path string) (Result, error) {
	x.mu.Lock()
	if x.busy[path] {
		x.mu.Unlock()
		return Result{}, errBusy
	}
	x.busy[path] = true
	x.mu.Unlock()
	defer func() { x.mu.Lock(); delete(x.busy, path); x.mu.Unlock() }()

	connDir := filepath.Dir(filepath.Dir(path))
	connID := filepath.Base(connDir)
	conn, err := x.b.connectionByID(ctx, connID)
	if err != nil {
		return Result{}, fmt.Errorf("inbox %s: %w", connID, err)
	}
	if _, err := os.Stat(path); err != nil {
		return Result{}, err
	}
	id, name := uploadName(path)
	if id != "" {
		// An upload whose outcome was recorded before the process could
		// remove it: done, not retried.
		if f, err := x.b.cfg.Store.File(ctx, conn.TenantID, id); err == nil {
			os.Remove(path)
			return Result{File: f}, nil
		}
	}
	marker := x.attemptPath(connDir, path)
	prev, _ := readAttempt(marker)
	a := attempt{Path: path, Count: prev.Count + 1, InFlight: true}
	if err := writeAttempt(marker, a); err != nil {
		return Result{}, err
	}
	sp, err := hashFile(path)
	if err == nil {
		sp.ID = id
		var res Result
		if res, err = x.b.ingestSpooled(ctx, conn, name, sp, false); err == nil {
			// The outcome is recorded and the bytes kept under FilesDir.
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return res, err
			}
			os.Remove(marker)
			x.b.updateHealth(ctx, conn)
			return res, nil
		}
	}
	a.InFlight = false
	if a.Count >= cmp.Or(x.MaxAttempts, 3) && ctx.Err() == nil {
		x.quarantine(ctx, path, fmt.Sprintf("%d ingests failed, the last with: %v", a.Count, err))
		return Result{}, err
	}
	writeAttempt(marker, a) //nolint:errcheck // the count only decides when to give up
	return Result{}, err
}

// uploadName splits an inbox path into the file id an HTTP upload was
// promised (its name under uploads/ is <id>-<name>) and the file's name;
// the id is "" for anything else.
func uploadName(path string) (id, name string) {
	name = filepath.Base(path)
	if filepath.Base(filepath.Dir(path)) == "uploads" && len(name) > 37 {
		return name[:36], name[37:]
	}
	return "", name
}

// attempt is what a marker under attempts/ records of a file's ingests.
type attempt struct {
	Path     string `json:"path"`
	Count    int    `json:"count"`
	InFlight bool   `json:"in_flight"`
}

func (x *Inbox) attemptPath(connDir, path string) string {
	sum := sha256.Sum256([]byte(path))
	return filepath.Join(connDir, "attempts", hex.EncodeToString(sum[:16]))
}

func readAttempt(path string) (attempt, error) {
	var a attempt
	b, err := os.ReadFile(path)
	if err != nil {
		return a, err
	}
	return a, json.Unmarshal(b, &a)
}

// writeAttempt replaces a marker durably: an in-flight marker must be on
// disk before the ingest it announces can kill the process.
func writeAttempt(path string, a attempt) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	b, _ := json.Marshal(a)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// quarantine moves a file out of the inbox into quarantine/, where no scan
// takes it, and records it as rejected (E_QUARANTINED) with its bytes kept,
// so an operator sees it and can replay it deliberately.
func (x *Inbox) quarantine(ctx context.Context, path, why string) {
	log := x.b.cfg.Logger
	connDir := filepath.Dir(filepath.Dir(path))
	qdir := filepath.Join(connDir, "quarantine")
	id, name := uploadName(path)
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	dst := filepath.Join(qdir, id+"-"+name)
	err := os.MkdirAll(qdir, 0o750)
	if err == nil {
		err = os.Rename(path, dst)
	}
	if err != nil {
		log.ErrorContext(ctx, "quarantine failed", "file", path, "error", err)
		return
	}
	os.Remove(x.attemptPath(connDir, path))
	log.ErrorContext(ctx, "file quarantined", "file", path, "quarantined_as", dst, "reason", why)
	conn, err := x.b.connectionByID(ctx, filepath.Base(connDir))
	if err != nil {
		return
	}
	sp, err := hashFile(dst)
	if err != nil {
		return
	}
	file := schema.File{ID: id, TenantID: conn.TenantID, ConnectionID: conn.ID, Name: name, SHA256: sp.SHA256, Size: sp.Size, Layout: conn.Layout}
	if err := x.b.keep(ctx, sp, file); err != nil {
		log.WarnContext(ctx, "quarantined file's bytes not kept", "file_id", id, "error", err)
	}
	if _, err := x.b.reject(ctx, file, &parsers.ParseError{Code: schema.ECodeQuarantined, Err: errors.New("quarantined: " + why)}, nil); err != nil {
		log.ErrorContext(ctx, "quarantined file not recorded", "file_id", id, "error", err)
	}
}

// connectionByID finds a connection by id across tenants (inbox
// directories are named by connection id).
func (b *Bridge) connectionByID(ctx context.Context, id string) (schema.Connection, error) {
	conns, err := b.cfg.Store.Connections(ctx, "")
	if err != nil {
		return schema.Connection{}, err
	}
	for _, c := range conns {
		if c.ID == id {
			return c, nil
		}
	}
	return schema.Connection{}, fmt.Errorf("connection %s: %w", id, schema.ErrNotFound)
}
