package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
)

// CreateConnection stores c, filling its id and timestamps.
func (s *Store) CreateConnection(ctx context.Context, c *schema.Connection) error {
	c.ID, c.CreatedAt = schema.NewID(), now()
	c.UpdatedAt = c.CreatedAt
	storeutil.ConnectionDefaults(c)
	_, err := s.db.ExecContext(ctx, `INSERT INTO connections (id, tenant_id, name, kind, layout, schedule, config, secret, enabled, created_at, updated_at, time_zone, catch_up)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.TenantID, c.Name, c.Kind, c.Layout, c.Schedule, string(c.Config), c.Secret, c.Enabled, ts(c.CreatedAt), ts(c.UpdatedAt),
		c.TimeZone, c.CatchUp)
	return interpret(err)
}

const selectConnection = `SELECT id, tenant_id, name, kind, layout, schedule, config, secret, enabled, created_at, updated_at,
time_zone, catch_up, last_tick_at, health, health_code, health_reason, health_since FROM connections`

func scanConnection(row scanner) (schema.Connection, error) {
	var c schema.Connection
	var cfg string
	err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.Kind, &c.Layout, &c.Schedule, &cfg, &c.Secret, &c.Enabled, timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt},
		&c.TimeZone, &c.CatchUp, nullTimeCol{&c.LastTickAt}, &c.Health.State, &c.Health.Code, &c.Health.Reason, nullTimeCol{&c.Health.Since})
	c.Config = []byte(cfg)
	c.Health = c.Health.Resolved()
	return c, err
}

// Connection finds a tenant's connection by id or name.
func (s *Store) Connection(ctx context.Context, tenantID, idOrName string) (schema.Connection, error) {
	c, err := scanConnection(s.db.QueryRowContext(ctx, selectConnection+` WHERE tenant_id = ?1 AND (id = ?2 OR name = ?2) AND deleted_at IS NULL`, tenantID, idOrName))
	return c, interpret(err)
}

// Connections lists connections of one tenant, or of all when tenantID is "".
func (s *Store) Connections(ctx context.Context, tenantID string) ([]schema.Connection, error) {
	rows, err := s.db.QueryContext(ctx, selectConnection+` WHERE (?1 = '' OR tenant_id = ?1) AND deleted_at IS NULL ORDER BY tenant_id, name`, tenantID)
	return collectRows(rows, err, scanConnection)
}

// UpdateConnection replaces a connection's layout, config, secret and
// enabled flag.
func (s *Store) UpdateConnection(ctx context.Context, c *schema.Connection) error {
	c.UpdatedAt = now()
	ok, err := affected(s.db.ExecContext(ctx, `UPDATE connections SET layout = ?, config = ?, secret = ?, enabled = ?, updated_at = ?
WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`, c.Layout, string(c.Config), c.Secret, c.Enabled, ts(c.UpdatedAt), c.TenantID, c.ID))
	if err == nil && !ok {
		err = schema.ErrNotFound
	}
	return err
}

// DeleteConnection removes a connection, keeping its history.
func (s *Store) DeleteConnection(ctx context.Context, tenantID, id string) error {
	return interpret(s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE connections SET deleted_at = ?3, enabled = 0, schedule = '', name = name || '~deleted~' || id, updated_at = ?3
WHERE tenant_id = ?1 AND id = ?2 AND deleted_at IS NULL`, tenantID, id, ts(now()))
		if ok, err := affected(res, err); err != nil || !ok {
			return cmpErr(err, schema.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM dropbox_accounts WHERE connection_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM enrollment_windows WHERE connection_id = ?`, id)
		return err
	}))
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// UpdateConnectionConfig replaces a connection's settings.
func (s *Store) UpdateConnectionConfig(ctx context.Context, tenantID, id string, config []byte) error {
	res, err := s.db.ExecContext(ctx, `UPDATE connections SET config = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`, string(config), ts(now()), tenantID, id)
	if err != nil {
		return interpret(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return schema.ErrNotFound
	}
	return nil
}

func affected(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, interpret(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UpdateConnectionSchedule sets the schedule and restarts its tick clock.
func (s *Store) UpdateConnectionSchedule(ctx context.Context, tenantID, id, schedule, timeZone, catchUp string) error {
	ok, err := affected(s.db.ExecContext(ctx, `UPDATE connections SET schedule = ?, time_zone = ?, catch_up = ?, last_tick_at = NULL, updated_at = ?
WHERE tenant_id = ? AND id = ?`, schedule, timeZone, catchUp, ts(now()), tenantID, id))
	if err == nil && !ok {
		return schema.ErrNotFound
	}
	return err
}

// AdvanceTick moves last_tick_at with compare-and-set.
func (s *Store) AdvanceTick(ctx context.Context, id string, from *time.Time, to time.Time) (bool, error) {
	return affected(s.db.ExecContext(ctx, `UPDATE connections SET last_tick_at = ? WHERE id = ? AND last_tick_at IS ?`, ts(to), id, tsPtr(from)))
}

// ClaimConnection takes the sync lease.
func (s *Store) ClaimConnection(ctx context.Context, id, owner string, until time.Time) (bool, error) {
	return affected(s.db.ExecContext(ctx, `UPDATE connections SET sync_owner = ?2, sync_lease_until = ?3
WHERE id = ?1 AND (sync_owner = ?2 OR sync_lease_until IS NULL OR sync_lease_until < ?4)`, id, owner, ts(until), ts(now())))
}

// ReleaseConnection gives the sync lease back.
func (s *Store) ReleaseConnection(ctx context.Context, id, owner string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE connections SET sync_owner = '', sync_lease_until = NULL WHERE id = ? AND sync_owner = ?`, id, owner)
	return interpret(err)
}

// SetConnectionHealth stores health and its event together.
func (s *Store) SetConnectionHealth(ctx context.Context, id string, h schema.Health, e *schema.Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE connections SET health = ?, health_code = ?, health_reason = ?, health_since = ? WHERE id = ?`,
			h.State, h.Code, h.Reason, tsPtr(h.Since), id); err != nil {
			return err
		}
		if e == nil {
			return nil
		}
		return appendEvent(ctx, tx, e, ts(now()))
	})
}

// CreateWindow stores an enrollment window.
func (s *Store) CreateWindow(ctx context.Context, w *schema.Window) error {
	w.ID, w.CreatedAt = schema.NewID(), now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO enrollment_windows (id, tenant_id, connection_id, name, starts_on, ends_on, schedule, final_pull, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, w.ID, w.TenantID, nullString(w.ConnectionID), w.Name, w.StartsOn, w.EndsOn, w.Schedule, w.FinalPull, ts(w.CreatedAt))
	return interpret(err)
}

// Windows lists windows by start date.
func (s *Store) Windows(ctx context.Context, tenantID string) ([]schema.Window, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, tenant_id, coalesce(connection_id, ''), name, starts_on, ends_on, schedule, final_pull, created_at
FROM enrollment_windows WHERE ?1 = '' OR tenant_id = ?1 ORDER BY starts_on, id`, tenantID)
	return collectRows(rows, err, func(r scanner) (schema.Window, error) {
		var w schema.Window
		err := r.Scan(&w.ID, &w.TenantID, &w.ConnectionID, &w.Name, &w.StartsOn, &w.EndsOn, &w.Schedule, &w.FinalPull, timeCol{&w.CreatedAt})
		return w, err
	})
}

// DeleteWindow removes a window.
func (s *Store) DeleteWindow(ctx context.Context, tenantID, id string) error {
	ok, err := affected(s.db.ExecContext(ctx, `DELETE FROM enrollment_windows WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err == nil && !ok {
		return schema.ErrNotFound
	}
	return err
}
