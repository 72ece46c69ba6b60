package bridge

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Release applies a held file as an operator approved it: the hold guards
// (shrink, schema drift) are skipped, every other guard still applies.
func (b *Bridge) Release(ctx context.Context, tenantID, fileID string) (Result, error) {
	f, err := b.cfg.Store.File(ctx, tenantID, fileID)
	if err != nil {
		return Result{}, fmt.Errorf("file %s: %w", fileID, err)
	}
	if f.Status != schema.FileHeld {
		return Result{}, fmt.Errorf("file %s is %s, not held: %w", fileID, f.Status, schema.ErrState)
	}
	conn, err := b.cfg.Store.Connection(ctx, tenantID, f.ConnectionID)
	if err != nil {
		return Result{}, err
	}
	path := b.keptPath(f)
	fi, err := os.Stat(path)
	if err != nil {
		return Result{}, fmt.Errorf("held file %s: its bytes are gone (%w); ask for the file again", fileID, err)
	}
	// Free the (connection, sha256) slot, then apply as a new delivery.
	if err := b.cfg.Store.SetFileStatus(ctx, tenantID, fileID, schema.FileHeld, schema.FileReleased, "released by an operator"); err != nil {
		return Result{}, err
	}
	res, err := b.ingestSpooled(ctx, conn, f.Name, spooled{Path: path, SHA256: f.SHA256, Size: fi.Size()}, true)
	if err != nil {
		// Put the hold back so nothing is lost; the operator can retry.
		b.cfg.Store.SetFileStatus(context.WithoutCancel(ctx), tenantID, fileID, schema.FileReleased, schema.FileHeld, f.Detail) //nolint:errcheck
		return res, err
	}
	return res, nil // the bytes stay kept, as for every received file
}

// Discard drops a held file without applying it.
func (b *Bridge) Discard(ctx context.Context, tenantID, fileID string) error {
	f, err := b.cfg.Store.File(ctx, tenantID, fileID)
	if err != nil {
		return fmt.Errorf("file %s: %w", fileID, err)
	}
	if err := b.cfg.Store.SetFileStatus(ctx, tenantID, fileID, schema.FileHeld, schema.FileDiscarded, "discarded by an operator"); err != nil {
		if errors.Is(err, schema.ErrNotFound) {
			return fmt.Errorf("file %s is %s, not held: %w", fileID, f.Status, schema.ErrState)
		}
		return err
	}
	os.Remove(b.keptPath(f))
	return nil
}
