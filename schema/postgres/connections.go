package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
)

const insertConnection = `INSERT INTO connections (id, tenant_id, name, kind, layout, schedule, config, secret, enabled, created_at, updated_at, time_zone, catch_up)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12)`

// CreateConnection stores c, filling its id and timestamps.
func (s *Store) CreateConnection(ctx context.Context, c *schema.Connection) error {
	c.ID, c.CreatedAt = schema.NewID(), now()
	c.UpdatedAt = c.CreatedAt
	storeutil.ConnectionDefaults(c)
	_, err := s.pool.Exec(ctx, insertConnection, c.ID, c.TenantID, c.Name, c.Kind, c.Layout, c.Schedule, string(c.Config), c.Secret, c.Enabled, c.CreatedAt, c.TimeZone, c.CatchUp)
	return interpret(err)
}

const selectConnection = `SELECT id, tenant_id, name, kind, layout, schedule, config::text, secret, enabled, created_at, updated_at,
time_zone, catch_up, last_tick_at, health, health_code, health_reason, health_since FROM connections`

func scanConnection(row pgx.CollectableRow) (schema.Connection, error) {
	var c schema.Connection
	var cfg string
	err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.Kind, &c.Layout, &c.Schedule, &cfg, &c.Secret, &c.Enabled, &c.CreatedAt, &c.UpdatedAt,
		&c.TimeZone, &c.CatchUp, &c.LastTickAt, &c.Health.State, &c.Health.Code, &c.Health.Reason, &c.Health.Since)
	c.Config = []byte(cfg)
	c.Health = c.Health.Resolved()
	return c, err
}

// Connection finds a tenant's connection by id or name.
func (s *Store) Connection(ctx context.Context, tenantID, idOrName string) (schema.Connection, error) {
	rows, _ := s.pool.Query(ctx, selectConnection+` WHERE tenant_id = $1 AND (id = $2 OR name = $2) AND deleted_at IS NULL`, tenantID, idOrName)
	c, err := pgx.CollectExactlyOneRow(rows, scanConnection)
	return c, interpret(err)
}

// Connections lists connections of one tenant, or of all when tenantID is "".
func (s *Store) Connections(ctx context.Context, tenantID string) ([]schema.Connection, error) {
	rows, _ := s.pool.Query(ctx, selectConnection+` WHERE ($1 = '' OR tenant_id = $1) AND deleted_at IS NULL ORDER BY tenant_id, name`, tenantID)
	cs, err := pgx.CollectRows(rows, scanConnection)
	return cs, interpret(err)
}

// UpdateConnection replaces a connection's layout, config, secret and
// enabled flag.
func (s *Store) UpdateConnection(ctx context.Context, c *schema.Connection) error {
	c.UpdatedAt = now()
	tag, err := s.pool.Exec(ctx, `UPDATE connections SET layout = $3, config = $4, secret = $5, enabled = $6, updated_at = $7
WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`, c.TenantID, c.ID, c.Layout, string(c.Config), c.Secret, c.Enabled, c.UpdatedAt)
	if err == nil && tag.RowsAffected() == 0 {
		return schema.ErrNotFound
	}
	return interpret(err)
}

// DeleteConnection removes a connection, keeping its history.
func (s *Store) DeleteConnection(ctx context.Context, tenantID, id string) error {
	return interpret(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE connections SET deleted_at = $3, enabled = false, schedule = '', name = name || '~deleted~' || id, updated_at = $3
WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`, tenantID, id, now())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return schema.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `DELETE FROM dropbox_accounts WHERE connection_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM enrollment_windows WHERE connection_id = $1`, id)
		return err
	}))
}

// UpdateConnectionConfig replaces a connection's settings.
func (s *Store) UpdateConnectionConfig(ctx context.Context, tenantID, id string, config []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE connections SET config = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2`, tenantID, id, string(config), now())
	if err == nil && tag.RowsAffected() == 0 {
		return schema.ErrNotFound
	}
	return interpret(err)
}

// UpdateConnectionSchedule sets the schedule and restarts its tick clock.
func (s *Store) UpdateConnectionSchedule(ctx context.Context, tenantID, id, schedule, timeZone, catchUp string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE connections SET schedule = $3, time_zone = $4, catch_up = $5, last_tick_at = NULL, updated_at = $6
WHERE tenant_id = $1 AND id = $2`, tenantID, id, schedule, timeZone, catchUp, now())
	if err == nil && tag.RowsAffected() == 0 {
		return schema.ErrNotFound
	}
	return interpret(err)
}

// AdvanceTick moves last_tick_at with compare-and-set.
func (s *Store) AdvanceTick(ctx context.Context, id string, from *time.Time, to time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE connections SET last_tick_at = $3
WHERE id = $1 AND last_tick_at IS NOT DISTINCT FROM $2`, id, from, to)
	return err == nil && tag.RowsAffected() == 1, interpret(err)
}

// ClaimConnection takes the sync lease.
func (s *Store) ClaimConnection(ctx context.Context, id, owner string, until time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE connections SET sync_owner = $2, sync_lease_until = $3
WHERE id = $1 AND (sync_owner = $2 OR sync_lease_until IS NULL OR sync_lease_until < now())`, id, owner, until)
	return err == nil && tag.RowsAffected() == 1, interpret(err)
}

// ReleaseConnection gives the sync lease back.
func (s *Store) ReleaseConnection(ctx context.Context, id, owner string) error {
	_, err := s.pool.Exec(ctx, `UPDATE connections SET sync_owner = '', sync_lease_until = NULL WHERE id = $1 AND sync_owner = $2`, id, owner)
	return interpret(err)
}

// SetConnectionHealth stores health and its event together.
func (s *Store) SetConnectionHealth(ctx context.Context, id string, h schema.Health, e *schema.Event) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE connections SET health = $2, health_code = $3, health_reason = $4, health_since = $5 WHERE id = $1`,
			id, h.State, h.Code, h.Reason, h.Since); err != nil {
			return interpret(err)
		}
		if e == nil {
			return nil
		}
		return appendEvent(ctx, tx, e)
	})
}

// CreateWindow stores an enrollment window.
func (s *Store) CreateWindow(ctx context.Context, w *schema.Window) error {
	w.ID, w.CreatedAt = schema.NewID(), now()
	_, err := s.pool.Exec(ctx, `INSERT INTO enrollment_windows (id, tenant_id, connection_id, name, starts_on, ends_on, schedule, final_pull, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, w.ID, w.TenantID, nullable(w.ConnectionID), w.Name, w.StartsOn, w.EndsOn, w.Schedule, w.FinalPull, w.CreatedAt)
	return interpret(err)
}

// Windows lists windows by start date.
func (s *Store) Windows(ctx context.Context, tenantID string) ([]schema.Window, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, tenant_id, coalesce(connection_id, ''), name, starts_on::text, ends_on::text, schedule, final_pull, created_at
FROM enrollment_windows WHERE $1 = '' OR tenant_id = $1 ORDER BY starts_on, id`, tenantID)
	ws, err := pgx.CollectRows(rows, pgx.RowToStructByPos[schema.Window])
	return ws, interpret(err)
}

// DeleteWindow removes a window.
func (s *Store) DeleteWindow(ctx context.Context, tenantID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM enrollment_windows WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err == nil && tag.RowsAffected() == 0 {
		return schema.ErrNotFound
	}
	return interpret(err)
}
