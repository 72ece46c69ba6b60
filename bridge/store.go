package bridge

import (
	"context"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Store is what the bridge reads and writes (schema.Store has it all):
// connections and their leases and health, files and their ingest
// transaction, sync runs, drop box logins, layout overrides, and notices.
type Store interface {
	LayoutStore

	CreateConnection(ctx context.Context, c *schema.Connection) error
	Connection(ctx context.Context, tenantID, idOrName string) (schema.Connection, error)
	Connections(ctx context.Context, tenantID string) ([]schema.Connection, error)
	UpdateConnection(ctx context.Context, c *schema.Connection) error
	UpdateConnectionConfig(ctx context.Context, tenantID, id string, config []byte) error
	DeleteConnection(ctx context.Context, tenantID, id string) error
	ClaimConnection(ctx context.Context, id, owner string, until time.Time) (bool, error)
	ReleaseConnection(ctx context.Context, id, owner string) error
	SetConnectionHealth(ctx context.Context, id string, h schema.Health, e *schema.Event) error
	DropboxAccount(ctx context.Context, username string) (schema.DropboxAccount, error)

	BeginIngest(ctx context.Context, f *schema.File) (schema.Ingest, error)
	RecordFile(ctx context.Context, f *schema.File, errs []schema.RecordError) error
	File(ctx context.Context, tenantID, id string) (schema.File, error)
	FileBySHA256(ctx context.Context, connectionID, sha string) (schema.File, error)
	Files(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.File, error)
	SeenRemote(ctx context.Context, connectionID, remote string) (bool, error)
	SetFileStatus(ctx context.Context, tenantID, id, from, to, detail string) error

	StartSyncRun(ctx context.Context, r *schema.SyncRun) error
	FinishSyncRun(ctx context.Context, r *schema.SyncRun) error
	SyncRuns(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.SyncRun, error)

	AppendEvent(ctx context.Context, e *schema.Event) error
}

// LayoutStore holds layout overrides (EffectiveLayout reads them).
type LayoutStore interface {
	Layout(ctx context.Context, tenantID, connectionID, name string) ([]byte, error)
}
