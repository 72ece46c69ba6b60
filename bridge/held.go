package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Release applies a held file as an operator approved it: the hold guards
// (shrink, overlap, schema drift) are skipped, every other guard still
// applies. A held file older than a file of its connection that applied
// since is refused (it would set people back to older values) unless
// overwrite says the operator means to do that.
func (b *Bridge) Release(ctx context.Context, tenantID, fileID string, overwrite bool) (Result, error) {
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
	if !overwrite {
		newer, err := b.appliedSince(ctx, f)
		if err != nil {
			return Result{}, err
		}
		if newer.ID != "" {
			return Result{}, fmt.Errorf("file %s was held before file %s (%s) applied: releasing it would set its people back to older values; "+
				"discard it, or release it with overwrite to apply it over the newer data: %w", fileID, newer.ID, newer.Name, schema.ErrState)
		}
	}
	sp, drop, err := b.kept(ctx, f)
	if err != nil {
		return Result{}, err
	}
	defer drop()
	if conn.Kind == schema.ConnAPI {
		sp.layout = f.Layout
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
	if err := b.files.Delete(ctx, keptKey(f)); err != nil {
		b.cfg.Logger.WarnContext(ctx, "a discarded file's bytes were not deleted (retention prunes them)", "file_id", f.ID, "error", err)
	}
	return nil
}

// appliedSince returns the newest file of held's connection that applied
// after held was received, or a zero File.
func (b *Bridge) appliedSince(ctx context.Context, held schema.File) (schema.File, error) {
	q := schema.ListQuery{ConnectionID: held.ConnectionID, Limit: 200}
	for {
		files, err := b.cfg.Store.Files(ctx, held.TenantID, q)
		if err != nil {
			return schema.File{}, err
		}
		for _, f := range files {
			if f.ID == held.ID || f.ReceivedAt.Before(held.ReceivedAt) {
				return schema.File{}, nil // files are listed newest first
			}
			applied := f.Status == schema.FileApplied || f.Status == schema.FileAppliedWithErrors
			if applied && f.AppliedAt != nil && f.AppliedAt.After(held.ReceivedAt) {
				return f, nil
			}
		}
		if len(files) < q.Limit {
			return schema.File{}, nil
		}
		q.Cursor = files[len(files)-1].ID
	}
}
