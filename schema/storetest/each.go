package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
	"github.com/hrisbridge/hrisbridge/schema/secret"
	"github.com/hrisbridge/hrisbridge/schema/storage"
)

// Box returns a secret box with a fresh random key.
func Box(t testing.TB) *secret.Box {
	k, _ := secret.ParseKey(secret.NewKey())
	b, err := secret.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// HashKey is the content-hash key of records the tests write straight to
// a store (the bridge derives its own from the master key).
var HashKey = []byte("storetest content-hash key, 32 b")

// URL returns a fresh database URL of kind "sqlite" or "postgres".
// Packages that use postgres call pgtest.Main from TestMain.
func URL(t testing.TB, kind string) string {
	if kind == "postgres" {
		return pgtest.Migrated(t, func(ctx context.Context, url string) error {
			s, err := storage.Open(ctx, url, nil)
			if err != nil {
				return err
			}
			defer s.Close()
			return s.Migrate(ctx)
		})
	}
	return "sqlite://" + filepath.Join(t.TempDir(), "hb.db")
}

// Kinds are the store kinds every store-backed test runs against.
var Kinds = []string{"sqlite", "postgres"}

// Each runs fn once per store kind, each with a fresh migrated store; the
// kinds run in parallel (fn must not touch process-wide state).
func Each(t *testing.T, fn func(t *testing.T, s schema.Store)) {
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s, err := storage.Open(context.Background(), URL(t, kind), Box(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			fn(t, s)
		})
	}
}

// SQLite returns a fresh, migrated embedded store, closed when the test
// ends: for tests that need one store and no PostgreSQL.
func SQLite(t *testing.T) schema.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), URL(t, "sqlite"), Box(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}
