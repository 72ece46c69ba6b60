package storage

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres"
	"github.com/hrisbridge/hrisbridge/schema/sqlite"
)

// JobQueue is a River client (scheduler.Queue).
type JobQueue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// NewJobQueue migrates River's tables into the store's own database and
// returns a River client on it for rc: on PostgreSQL through the store's
// pool, on SQLite through its job connection, polling (SQLite has no
// LISTEN).
func NewJobQueue(ctx context.Context, s schema.Store, rc *river.Config) (JobQueue, error) {
	switch st := s.(type) {
	case *postgres.Store:
		drv := riverpgxv5.New(st.Pool())
		if err := migrateLocked(ctx, st.Pool(), drv); err != nil {
			return nil, err
		}
		return river.NewClient(drv, rc)
	case *sqlite.Store:
		drv := riversqlite.New(st.JobsDB())
		if err := migrateRiver(ctx, drv); err != nil {
			return nil, err
		}
		rc.PollOnly = true
		return river.NewClient(drv, rc)
	}
	return nil, fmt.Errorf("no job queue for store %T", s)
}

func migrateRiver[TTx any](ctx context.Context, drv riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// riverMigrateLock serialises River migrations of replicas starting
// together (hrisbridge's own migrations hold a lock of their own).
const riverMigrateLock = 0x68726972 // "hrir"

func migrateLocked(ctx context.Context, pool *pgxpool.Pool, drv *riverpgxv5.Driver) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, riverMigrateLock); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, riverMigrateLock) //nolint:errcheck
	return migrateRiver(ctx, drv)
}
