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
	sp, err := b.kept(f)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = b.withLease(ctx, conn, func(ctx context.Context) error {
		res, err = b.reapply(ctx, conn, f, schema.FileReleased, "released by an operator", sp, true)
		return err
	})
	if err == nil {
		b.updateHealth(context.WithoutCancel(ctx), conn)
	}
	return res, err
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
