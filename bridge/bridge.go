package bridge

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema"
)

// Config configures a Bridge.
type Config struct {
	// Store receives every file's outcome. Required.
	Store schema.Store
	// Box opens connection credentials sealed at rest. Required for pulls.
	Box schema.Sealer
	// SpoolDir holds files while they are ingested; default
	// $TMPDIR/hrisbridge-spool.
	SpoolDir string
	// MaxInvalidRatio rejects a file whose share of invalid rows is above
	// it; default 0.05.
	MaxInvalidRatio float64
	// Layouts resolves a connection's layout; default the built-in layout
	// the connection names.
	Layouts func(ctx context.Context, conn schema.Connection) (*parsers.Layout, error)
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Bridge runs syncs and ingests files.
type Bridge struct{ cfg Config }

// New returns a Bridge for cfg.
func New(cfg Config) (*Bridge, error) {
	if cfg.Store == nil {
		return nil, errors.New("bridge: Store is required")
	}
	cfg.SpoolDir = cmp.Or(cfg.SpoolDir, filepath.Join(os.TempDir(), "hrisbridge-spool"))
	cfg.MaxInvalidRatio = cmp.Or(cfg.MaxInvalidRatio, 0.05)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Layouts == nil {
		cfg.Layouts = func(_ context.Context, conn schema.Connection) (*parsers.Layout, error) {
			return parsers.Builtin(conn.Layout)
		}
	}
	return &Bridge{cfg: cfg}, nil
}
