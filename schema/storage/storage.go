// Package storage opens the store a database URL names: postgres://... for
// PostgreSQL, sqlite://PATH for the embedded SQLite store.
package storage

import (
	"context"
	"fmt"
	"strings"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres"
	"github.com/hrisbridge/hrisbridge/schema/sqlite"
)

// DefaultURL is the embedded store used when no database URL is set.
const DefaultURL = "sqlite://./data/hrisbridge.db"

// Open opens the store for url without migrating it.
func Open(ctx context.Context, url string, box schema.Sealer) (schema.Store, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url, box)
	case strings.HasPrefix(url, "sqlite://"):
		path := strings.TrimPrefix(url, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("database_url %q: sqlite:// needs a file path", url)
		}
		return sqlite.Open(ctx, path, box)
	}
	return nil, fmt.Errorf("database_url %q: must start with postgres:// or sqlite://", url)
}

// IsPostgres reports whether url names a PostgreSQL store.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}
