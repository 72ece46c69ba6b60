package bridge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hrisbridge/hrisbridge/bridge/filestore"
	"github.com/hrisbridge/hrisbridge/schema"
)

// keptKey is where a received file's bytes are kept, per connection and
// content: the same bytes delivered twice are kept once.
func keptKey(f schema.File) string { return f.ConnectionID + "/" + f.SHA256 }

// keepReceived keeps a received file's bytes before anything of it is
// recorded or applied: a file whose copy cannot be written (a full disk,
// an unreachable bucket) fails, unacknowledged, and is taken again later,
// rather than applied or held with no copy for replays and releases. It
// marks sp kept, so that no later step keeps it again.
func (b *Bridge) keepReceived(ctx context.Context, conn schema.Connection, sp *spooled) error {
	if err := b.keep(ctx, *sp, schema.File{ConnectionID: conn.ID, SHA256: sp.SHA256}); err != nil {
		return fmt.Errorf("keep the file's bytes before applying it: %w", err)
	}
	sp.kept = true
	return nil
}

// keep stores a received file's bytes (as received: still compressed or
// encrypted), sealed, for replays and releases. Bytes read back from the
// store are not stored again; the same bytes delivered again are, which
// restarts their retention.
func (b *Bridge) keep(ctx context.Context, sp spooled, f schema.File) error {
	if sp.kept {
		return nil
	}
	if err := sp.sync(); err != nil {
		return err
	}
	return b.files.PutFile(ctx, keptKey(f), sp.Path)
}

// Replay re-runs the pipeline on a file's kept bytes with the current
// layout and policy, recorded as run (trigger replay). An applied file
// is first marked replayed, which frees its (connection, sha256) slot so
// the same bytes apply again; change detection then writes only what the
// new layout reads differently. Rejected and failed files replay as a
// new delivery. Held files are released instead (Release), duplicates
// replay through their original. The replay holds the connection's sync
// lease (ErrBusy while a sync runs).
func (b *Bridge) Replay(ctx context.Context, tenantID, fileID string, run *schema.SyncRun) (Result, error) {
	f, err := b.cfg.Store.File(ctx, tenantID, fileID)
	if err != nil {
		return Result{}, fmt.Errorf("file %s: %w", fileID, err)
	}
	if err := Replayable(f); err != nil {
		return Result{}, err
	}
	sp, drop, err := b.kept(ctx, f)
	if err != nil {
		return Result{}, err
	}
	defer drop()
	conn, err := b.cfg.Store.Connection(ctx, tenantID, f.ConnectionID)
	if err != nil {
		return Result{}, err
	}
	sp.ID = uuid.Must(uuid.NewV7()).String()
	if conn.Kind == schema.ConnAPI {
		sp.layout = f.Layout // the fetch's connector and entity
	}
	run.TenantID, run.ConnectionID, run.FileID = tenantID, f.ConnectionID, fileID
	run.Trigger = schema.TriggerReplay
	var res Result
	err = b.recordRun(ctx, conn, run, true, func(ctx context.Context) (err error) {
		res, err = b.reapply(ctx, conn, f, schema.FileReplayed, "replayed as file "+sp.ID, sp, false)
		if err == nil {
			run.Files, run.Rows = 1, res.File.Rows
		}
		return err
	})
	return res, err
}

// CheckReplay tells whether a file can be replayed here: its status
// allows it (schema.ErrState otherwise, saying what to do instead) and its
// bytes are kept (E_FILE_GONE).
func (b *Bridge) CheckReplay(ctx context.Context, f schema.File) error {
	if err := Replayable(f); err != nil {
		return err
	}
	ok, err := b.files.Exists(ctx, keptKey(f))
	if err == nil && !ok {
		err = &SyncError{Code: schema.ECodeFileGone, Err: fmt.Errorf("file %s: its bytes are no longer kept: %w", f.ID, ErrGone)}
	}
	return err
}

// Replayable tells whether a file's status allows a replay.
func Replayable(f schema.File) error {
	switch f.Status {
	case schema.FileApplied, schema.FileAppliedWithErrors, schema.FileRejected, schema.FileFailed:
	case schema.FileHeld:
		return fmt.Errorf("file %s is held: release or discard it instead: %w", f.ID, schema.ErrState)
	case schema.FileDuplicate:
		return fmt.Errorf("file %s is a duplicate delivery: replay the file it duplicates (%s): %w", f.ID, f.Detail, schema.ErrState)
	default:
		return fmt.Errorf("file %s is %s and cannot be replayed: %w", f.ID, f.Status, schema.ErrState)
	}
	return nil
}

// ErrGone means a file's bytes were pruned (or kept on another replica
// without a shared files_dir).
var ErrGone = errors.New("file bytes gone")

// kept opens a recorded file's kept bytes into the spool and returns them
// as a spooled file with the func that removes it, or E_FILE_GONE.
func (b *Bridge) kept(ctx context.Context, f schema.File) (spooled, func(), error) {
	tmp, err := os.CreateTemp(b.cfg.SpoolDir, tempPattern("drop"))
	if err != nil {
		return spooled{}, nil, err
	}
	path := tmp.Name()
	tmp.Close()
	os.Remove(path) // GetFile creates it
	err = b.files.GetFile(ctx, keptKey(f), path)
	if errors.Is(err, filestore.ErrNotFound) {
		return spooled{}, nil, &SyncError{Code: schema.ECodeFileGone, Err: fmt.Errorf("file %s: its bytes are no longer kept: %w", f.ID, ErrGone)}
	}
	if err != nil {
		return spooled{}, nil, err
	}
	return spooled{Path: path, SHA256: f.SHA256, Size: f.Size, Remote: f.Remote, kept: true}, func() { os.Remove(path) }, nil
}

// reapply applies a recorded file's bytes again as a new delivery. A
// file that holds its (connection, sha256) slot (held or applied) first
// moves to status to, which frees the slot; if the new ingest fails, the
// status is put back, so nothing is lost and the operator can retry.
// release skips the hold guards.
func (b *Bridge) reapply(ctx context.Context, conn schema.Connection, f schema.File, to, detail string, sp spooled, release bool) (Result, error) {
	holds := f.Status == schema.FileHeld || f.Status == schema.FileApplied || f.Status == schema.FileAppliedWithErrors
	if holds {
		if err := b.cfg.Store.SetFileStatus(ctx, f.TenantID, f.ID, f.Status, to, detail); err != nil {
			return Result{}, err
		}
	}
	res, err := b.ingestSpooled(ctx, conn, f.Name, sp, release)
	if err != nil && holds {
		b.cfg.Store.SetFileStatus(context.WithoutCancel(ctx), f.TenantID, f.ID, to, f.Status, f.Detail) //nolint:errcheck
	}
	return res, err
}

// PruneFiles deletes kept bytes older than retention, except those of
// held files (an operator still has to decide on them). It returns how
// many files it removed.
func (b *Bridge) PruneFiles(ctx context.Context, retention time.Duration) (int, error) {
	b.sealLegacy(ctx)
	cutoff := time.Now().Add(-retention)
	var old []string
	err := b.files.List(ctx, "", func(o filestore.Object) error {
		if !o.ModTime.Before(cutoff) {
			return nil
		}
		// Keys are <connection id>/<sha256>.
		connID, sha, ok := strings.Cut(o.Key, "/")
		if !ok {
			return nil
		}
		if f, err := b.cfg.Store.FileBySHA256(ctx, connID, sha); err == nil && f.Status == schema.FileHeld {
			return nil
		}
		old = append(old, o.Key)
		return nil
	})
	n := 0
	for _, k := range old {
		if b.files.Delete(ctx, k) == nil {
			n++
		}
	}
	return n, err
}

// deleteKept deletes every kept file of a connection and returns how many.
func (b *Bridge) deleteKept(ctx context.Context, connID string) (int, error) {
	var keys []string
	if err := b.files.List(ctx, connID+"/", func(o filestore.Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := b.files.Delete(ctx, k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// sealLegacy seals the kept files that an earlier version left in clear
// in FilesDir (named <connection id>-<sha256>, beside the bucket's
// <connection id>/ directories) and removes the clear copies.
func (b *Bridge) sealLegacy(ctx context.Context) {
	entries, _ := os.ReadDir(b.cfg.FilesDir)
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || len(name) != 36+1+64 || name[36] != '-' {
			continue
		}
		path := filepath.Join(b.cfg.FilesDir, name)
		key := name[:36] + "/" + name[37:]
		if err := b.files.PutFile(ctx, key, path); err != nil {
			b.cfg.Logger.WarnContext(ctx, "a kept file in clear was not sealed", "file", path, "error", err)
			continue
		}
		os.Remove(path)
	}
}
