package bridge

import (
	"context"
	"fmt"
	"os"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Sync runs one pull of conn: lists its remote directory, ingests each new
// file and acknowledges it after commit. Every run is recorded as a sync
// run; the returned error is the run's failure, if any.
func (b *Bridge) Sync(ctx context.Context, conn schema.Connection, trigger string) (schema.SyncRun, []Result, error) {
	run := schema.SyncRun{TenantID: conn.TenantID, ConnectionID: conn.ID, Trigger: trigger}
	if err := b.cfg.Store.StartSyncRun(ctx, &run); err != nil {
		return run, nil, err
	}
	results, err := b.pull(ctx, conn, &run)
	run.Status = schema.RunSucceeded
	if err != nil {
		run.Status, run.Error = schema.RunFailed, err.Error()
		b.cfg.Logger.ErrorContext(ctx, "sync failed", "tenant", conn.TenantID, "connection", conn.Name, "error", err)
	}
	if b.cfg.ObserveRun != nil {
		b.cfg.ObserveRun(run)
	}
	if ferr := b.cfg.Store.FinishSyncRun(context.WithoutCancel(ctx), &run); ferr != nil && err == nil {
		err = ferr
	}
	return run, results, err
}

func (b *Bridge) pull(ctx context.Context, conn schema.Connection, run *schema.SyncRun) ([]Result, error) {
	if conn.Kind != schema.ConnSFTP {
		return nil, fmt.Errorf("connection %s is %s; only sftp connections pull", conn.Name, conn.Kind)
	}
	cfg, sec, err := b.decodeConnection(conn)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // closes the SFTP client
	client, err := dialSFTP(ctx, cfg, sec)
	if err != nil {
		return nil, err
	}
	files, err := list(client, cfg)
	if err != nil {
		return nil, err
	}
	var results []Result
	for _, rf := range files {
		f, err := client.Open(rf.Path)
		if err != nil {
			return results, fmt.Errorf("open %s: %w", rf.Path, err)
		}
		sp, err := spool(b.cfg.SpoolDir, f)
		f.Close()
		if err != nil {
			return results, fmt.Errorf("download %s: %w", rf.Path, err)
		}
		res, err := b.ingestSpooled(ctx, conn, rf.Info.Name(), sp, false)
		os.Remove(sp.Path)
		if err != nil {
			return results, err
		}
		results = append(results, res)
		run.Files++
		run.Rows += res.File.Rows
		if res.File.Status == schema.FileRejected {
			continue // left in place for a person to look at
		}
		if err := acknowledge(client, cfg, rf.Path); err != nil {
			// The data is committed; a failed archive never re-applies it
			// (the same bytes are a duplicate), so report and go on.
			b.cfg.Logger.WarnContext(ctx, "acknowledge failed", "connection", conn.Name, "file", rf.Path, "error", err)
		}
	}
	return results, nil
}
