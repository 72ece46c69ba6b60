package bridge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge/filestore"
	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema"
)

// Config configures a Bridge.
type Config struct {
	// Store receives every file's outcome. Required.
	Store Store
	// Box opens connection credentials sealed at rest. Required for pulls.
	Box schema.Sealer
	// HashKey keys the content and raw-record hashes of change detection
	// (they cover SSNs). Default: derived from Box's master key
	// (schema.HashPurpose); one of the two is required.
	HashKey []byte
	// SpoolDir holds files while they are ingested; default
	// $TMPDIR/hrisbridge-spool.
	SpoolDir string
	// FilesDir keeps the bytes of every received file (for replays and
	// held files' releases), sealed, named by connection and SHA-256;
	// default SpoolDir/files. FilesURL, when set, names a bucket instead
	// (s3://bucket?region=...): replicas then share no file system.
	FilesDir string
	FilesURL string
	// LeaseTTL is how long a sync's hold on its connection lasts without
	// renewal (it is renewed every third of it); a killed process's lease
	// lapses after it. Default 60s.
	LeaseTTL time.Duration
	// Owner names this process in sync leases; default host:pid.
	Owner string
	// IndexCache is how many employees' change index (about 60 bytes
	// each) stay in memory between files, so that a tenant's next file
	// need not read them back from the store first; default
	// DefaultIndexCache, negative for none.
	IndexCache int
	// Checkpoint, when set, is called at named points of an ingest
	// ("row-N", "before-commit", "after-commit"): the crash tests kill
	// the process there.
	Checkpoint func(point string)
	// Retries is how often a pull that failed for a transient reason is
	// retried within one sync, RetryBase the first wait (doubled each
	// time, with jitter); defaults 3 and 2s. A negative Retries disables.
	Retries   int
	RetryBase time.Duration
	// IdleTimeout ends a transfer that receives nothing for this long;
	// default 60s.
	IdleTimeout time.Duration
	// MaxDecoded caps what one drop may expand to when decompressed or
	// decrypted; default DefaultMaxDecoded (2 GiB).
	MaxDecoded int64
	// Limits bound the lines, values and columns of a file (parsers
	// defaults when zero).
	Limits parsers.Limits
	// MaxInvalidRatio rejects a file whose share of invalid rows is above
	// it; default 0.05.
	MaxInvalidRatio float64
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Observe, when set, is told every file's outcome and ingest time
	// (metrics).
	Observe func(f schema.File, d time.Duration)
	// ObserveRun, when set, is told every sync run's outcome.
	ObserveRun func(r schema.SyncRun)
}

// DefaultIndexCache is Config.IndexCache's default.
const DefaultIndexCache = 1_000_000

// Bridge runs syncs and ingests files.
type Bridge struct {
	cfg     Config
	indexes *indexCache
	// files keeps received files' bytes, sealed.
	files *filestore.Store
}

// New returns a Bridge for cfg.
func New(cfg Config) (*Bridge, error) {
	if cfg.Store == nil {
		return nil, errors.New("bridge: Store is required")
	}
	cfg.SpoolDir = cmp.Or(cfg.SpoolDir, filepath.Join(os.TempDir(), "hrisbridge-spool"))
	cfg.FilesDir = cmp.Or(cfg.FilesDir, filepath.Join(cfg.SpoolDir, "files"))
	cfg.LeaseTTL = cmp.Or(cfg.LeaseTTL, time.Minute)
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	cfg.MaxInvalidRatio = cmp.Or(cfg.MaxInvalidRatio, 0.05)
	cfg.MaxDecoded = cmp.Or(cfg.MaxDecoded, DefaultMaxDecoded)
	cfg.Retries = cmp.Or(cfg.Retries, 3)
	cfg.RetryBase = cmp.Or(cfg.RetryBase, 2*time.Second)
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, time.Minute)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.Limits = cfg.Limits.WithDefaults()
	if cfg.Box == nil {
		return nil, errors.New("bridge: Box is required (it seals credentials and kept files)")
	}
	if cfg.HashKey == nil {
		d, ok := cfg.Box.(interface{ Derive(string) []byte })
		if !ok {
			return nil, errors.New("bridge: HashKey, or a Box that derives one from the master key, is required")
		}
		cfg.HashKey = d.Derive(schema.HashPurpose)
	}
	// A compressed upload is decoded into the spool before anything else
	// may have made it.
	if err := os.MkdirAll(cfg.SpoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("bridge: spool dir: %w", err)
	}
	if cfg.IndexCache == 0 {
		cfg.IndexCache = DefaultIndexCache
	}
	files, err := filestore.Open(context.Background(), cfg.FilesURL, cfg.FilesDir, cfg.Box)
	if err != nil {
		return nil, err
	}
	return &Bridge{cfg: cfg, indexes: newIndexCache(cfg.IndexCache), files: files}, nil
}

// EffectiveLayout resolves layout name for a tenant (and a connection, when
// connectionID is set): the built-in layout, deep-merged with the tenant's
// override and then the connection's.
func EffectiveLayout(ctx context.Context, s LayoutStore, tenantID, connectionID, name string) (*parsers.Layout, error) {
	tenant, err := s.Layout(ctx, tenantID, "", name)
	if err != nil && !errors.Is(err, schema.ErrNotFound) {
		return nil, err
	}
	var conn []byte
	if connectionID != "" {
		if conn, err = s.Layout(ctx, tenantID, connectionID, name); err != nil && !errors.Is(err, schema.ErrNotFound) {
			return nil, err
		}
	}
	return parsers.Resolve(name, tenant, conn)
}
