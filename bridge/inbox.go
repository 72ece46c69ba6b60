package bridge

import (
	"cmp"
	"context"
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
	"github.com/hrisbridge/hrisbridge/schema"
)

// Inbox holds files pushed to hrisbridge, by HR admins over the drop box
// SFTP server or by HTTP upload, until they are ingested. Each connection
// has a directory: inbox/ is what its drop box accounts see as "/". A
// file stays in inbox/ until its ingest is recorded (its bytes are then
// kept under the bridge's FilesDir and the inbox copy removed), so a
// crash or restart never loses one: Run rescans and a repeated file is a
// duplicate delivery, never a second apply.
type Inbox struct {
	b   *Bridge
	dir string
	// Stable is how long a file found by a rescan (not announced by a
	// completed upload) must be unchanged before it is taken.
	Stable time.Duration
	// Rescan is the interval of rescans; default 30 s.
	Rescan time.Duration
	queue  chan string
	mu     sync.Mutex
	busy   map[string]bool
}

// NewInbox returns the inbox under dir.
func (b *Bridge) NewInbox(dir string) *Inbox {
	return &Inbox{b: b, dir: dir, Stable: time.Minute, Rescan: 30 * time.Second, queue: make(chan string, 1024), busy: map[string]bool{}}
}

// Root is the directory a connection's drop box accounts see as "/".
func (x *Inbox) Root(connectionID string) (string, error) {
	d := filepath.Join(x.dir, connectionID, "inbox")
	return d, os.MkdirAll(d, 0o750)
}

// httpPrefix marks an HTTP upload's file name with the file id promised to
// the uploader.
const httpPrefix = ".http-"

// Put stores an HTTP upload for conn and returns the file id it will be
// recorded under and the path to hand to Ingest or Notify. The bytes are
// on disk (synced) before Put returns.
func (x *Inbox) Put(conn schema.Connection, name string, r io.Reader) (id, path string, err error) {
	root, err := x.Root(conn.ID)
	if err != nil {
		return "", "", err
	}
	name = filepath.Base(filepath.Clean("/" + name))
	if name == "/" || name == "." {
		name = "upload"
	}
	id = uuid.Must(uuid.NewV7()).String()
	tmp := filepath.Join(root, httpPrefix+id+"-"+name+".part")
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
	path = strings.TrimSuffix(tmp, ".part")
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

// Run ingests notified files and rescans every connection's inbox for
// files left over (after a restart) until ctx ends.
func (x *Inbox) Run(ctx context.Context) error {
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
		}
	}
}

func (x *Inbox) scan(ctx context.Context, stable time.Duration) {
	conns, _ := os.ReadDir(x.dir)
	for _, c := range conns {
		root := filepath.Join(x.dir, c.Name(), "inbox")
		files, _ := os.ReadDir(root)
		for _, f := range files {
			fi, err := f.Info()
			if err != nil || !fi.Mode().IsRegular() || (sftpd.TempName(f.Name()) && !strings.HasPrefix(f.Name(), httpPrefix)) ||
				strings.HasSuffix(f.Name(), ".part") || time.Since(fi.ModTime()) < stable {
				continue
			}
			x.ingestLogged(ctx, filepath.Join(root, f.Name()))
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
// error the file stays in the inbox for the next try.
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
	sp, err := hashFile(path)
	if err != nil {
		return Result{}, err
	}
	name := filepath.Base(path)
	if rest, ok := strings.CutPrefix(name, httpPrefix); ok && len(rest) > 37 {
		sp.ID, name = rest[:36], rest[37:]
	}
	res, err := x.b.ingestSpooled(ctx, conn, name, sp, false)
	if err != nil {
		return res, err
	}
	// The outcome is recorded and the bytes kept under FilesDir.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}
	x.b.updateHealth(ctx, conn)
	return res, nil
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
