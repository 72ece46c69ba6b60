package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

const insertConnection = `INSERT INTO connections (id, tenant_id, name, kind, layout, schedule, config, secret, enabled, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`

// CreateConnection stores c, filling its id and timestamps.
func (s *Store) CreateConnection(ctx context.Context, c *schema.Connection) error {
	c.ID, c.CreatedAt = codec.NewID(), now()
	c.UpdatedAt = c.CreatedAt
	if len(c.Config) == 0 {
		c.Config = []byte("{}")
	}
	_, err := s.pool.Exec(ctx, insertConnection, c.ID, c.TenantID, c.Name, c.Kind, c.Layout, c.Schedule, string(c.Config), c.Secret, c.Enabled, c.CreatedAt)
	return interpret(err)
}

const selectConnection = `SELECT id, tenant_id, name, kind, layout, schedule, config::text, secret, enabled, created_at, updated_at FROM connections`

func scanConnection(row pgx.CollectableRow) (schema.Connection, error) {
	var c schema.Connection
	var cfg string
	err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.Kind, &c.Layout, &c.Schedule, &cfg, &c.Secret, &c.Enabled, &c.CreatedAt, &c.UpdatedAt)
	c.Config = []byte(cfg)
	return c, err
}

// Connection finds a tenant's connection by id or name.
func (s *Store) Connection(ctx context.Context, tenantID, idOrName string) (schema.Connection, error) {
	rows, _ := s.pool.Query(ctx, selectConnection+` WHERE tenant_id = $1 AND (id = $2 OR name = $2)`, tenantID, idOrName)
	c, err := pgx.CollectExactlyOneRow(rows, scanConnection)
	return c, interpret(err)
}

// Connections lists connections of one tenant, or of all when tenantID is "".
func (s *Store) Connections(ctx context.Context, tenantID string) ([]schema.Connection, error) {
	rows, _ := s.pool.Query(ctx, selectConnection+` WHERE $1 = '' OR tenant_id = $1 ORDER BY tenant_id, name`, tenantID)
	cs, err := pgx.CollectRows(rows, scanConnection)
	return cs, interpret(err)
}

// UpdateConnectionConfig replaces a connection's settings.
func (s *Store) UpdateConnectionConfig(ctx context.Context, tenantID, id string, config []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE connections SET config = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2`, tenantID, id, string(config), now())
	if err == nil && tag.RowsAffected() == 0 {
		return schema.ErrNotFound
	}
	return interpret(err)
}
