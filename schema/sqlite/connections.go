package sqlite

import (
	"context"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

// CreateConnection stores c, filling its id and timestamps.
func (s *Store) CreateConnection(ctx context.Context, c *schema.Connection) error {
	c.ID, c.CreatedAt = codec.NewID(), now()
	c.UpdatedAt = c.CreatedAt
	if len(c.Config) == 0 {
		c.Config = []byte("{}")
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO connections (id, tenant_id, name, kind, layout, schedule, config, secret, enabled, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.TenantID, c.Name, c.Kind, c.Layout, c.Schedule, string(c.Config), c.Secret, c.Enabled, ts(c.CreatedAt), ts(c.UpdatedAt))
	return interpret(err)
}

const selectConnection = `SELECT id, tenant_id, name, kind, layout, schedule, config, secret, enabled, created_at, updated_at FROM connections`

func scanConnection(row scanner) (schema.Connection, error) {
	var c schema.Connection
	var cfg string
	err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.Kind, &c.Layout, &c.Schedule, &cfg, &c.Secret, &c.Enabled, timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt})
	c.Config = []byte(cfg)
	return c, err
}

// Connection finds a tenant's connection by id or name.
func (s *Store) Connection(ctx context.Context, tenantID, idOrName string) (schema.Connection, error) {
	c, err := scanConnection(s.db.QueryRowContext(ctx, selectConnection+` WHERE tenant_id = ? AND (id = ?2 OR name = ?2)`, tenantID, idOrName))
	return c, interpret(err)
}

// Connections lists connections of one tenant, or of all when tenantID is "".
func (s *Store) Connections(ctx context.Context, tenantID string) ([]schema.Connection, error) {
	rows, err := s.db.QueryContext(ctx, selectConnection+` WHERE ?1 = '' OR tenant_id = ?1 ORDER BY tenant_id, name`, tenantID)
	return collectRows(rows, err, scanConnection)
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
