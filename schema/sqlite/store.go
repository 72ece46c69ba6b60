// Package sqlite is the embedded default Store over modernc.org/sqlite
// (pure Go, no cgo), with its own embedded forward-only migrations.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is the SQLite implementation of schema.Store.
type Store struct {
	db  *sql.DB
	box schema.Sealer
	// audit is the audit log's own database file (audit.go): a PII read
	// must be recorded even while an ingest holds the main file's write
	// lock for minutes.
	audit *sql.DB
	// jobs holds the job queue's tables (River), in a file of its own
	// for the same reason: job fetching and leader election go on while
	// an ingest writes.
	jobs *sql.DB
}

var _ schema.Store = (*Store)(nil)

// Open opens (creating when needed) the database file at path. Writers take
// the lock at BEGIN (immediate transactions), readers run concurrently in
// WAL mode, and foreign keys are enforced.
func Open(ctx context.Context, path string, box schema.Sealer) (*Store, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	db, err := openFile(ctx, path, "NORMAL")
	if err != nil {
		return nil, err
	}
	audit, err := openFile(ctx, AuditPath(path), "FULL")
	if err != nil {
		db.Close()
		return nil, err
	}
	jobs, err := openFile(ctx, siblingPath(path, "jobs"), "NORMAL")
	if err != nil {
		db.Close()
		audit.Close()
		return nil, err
	}
	if _, err := audit.ExecContext(ctx, auditSchema); err != nil {
		db.Close()
		audit.Close()
		jobs.Close()
		return nil, fmt.Errorf("audit log %s: %w", AuditPath(path), err)
	}
	return &Store{db: db, box: box, audit: audit, jobs: jobs}, nil
}

// openFile opens one database file, created readable by its owner only
// (it holds sealed SSNs and everything else an employer sent).
func openFile(ctx context.Context, path, synchronous string) (*sql.DB, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	f.Close()
	dsn := "file:" + path + "?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(" + synchronous + ")"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// DB exposes the handle for benchmarks and tools that need raw access.
func (s *Store) DB() *sql.DB { return s.db }

// JobsDB is the database file the job queue keeps its tables in
// (hrisbridge-jobs.db beside hrisbridge.db).
func (s *Store) JobsDB() *sql.DB { return s.jobs }

// Close closes the database.
func (s *Store) Close() {
	s.db.Close()
	s.audit.Close()
	s.jobs.Close()
}

// Migrate applies pending migrations, each in its own transaction.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := storeutil.Migrations(migrationFS, "migrations")
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, m.Version, m.Name, ts(now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// Ready reports whether the database answers and is fully migrated.
func (s *Store) Ready(ctx context.Context) error {
	ms, err := storeutil.Migrations(migrationFS, "migrations")
	if err != nil {
		return err
	}
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return storeutil.ErrStale
		}
		return err
	}
	if v < storeutil.Latest(ms) {
		return storeutil.ErrStale
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback() //nolint:errcheck
		return err
	}
	return tx.Commit()
}

// interpret maps driver errors to schema sentinels.
func interpret(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return schema.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return fmt.Errorf("%w: %s", schema.ErrDuplicate, se.Error())
	}
	return err
}

func now() time.Time { return time.Now().UTC() }

// timeFormat is fixed-width so stored timestamps sort as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// ts formats a time for storage; the zero time is stored as NULL.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeFormat)
}

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// timeCol scans a stored timestamp.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("timestamp column holds %T", v)
	}
	t, err := time.Parse(timeFormat, s)
	*c.t = t
	return err
}

// nullTimeCol scans a nullable stored timestamp.
type nullTimeCol struct{ t **time.Time }

func (c nullTimeCol) Scan(v any) error {
	if v == nil {
		*c.t = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(v); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

var _ driver.Valuer = (*nullString)(nil)

// nullString stores "" as NULL.
type nullString string

func (s nullString) Value() (driver.Value, error) {
	if s == "" {
		return nil, nil
	}
	return string(s), nil
}
