package postgres

import (
	"context"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/jackc/pgx/v5"
)

// PutLayout stores a layout override, replacing the one at the same scope.
func (s *Store) PutLayout(ctx context.Context, tenantID, connectionID, name string, body []byte) error {
	return interpret(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM layouts WHERE tenant_id = $1 AND coalesce(connection_id, '') = $2 AND name = $3`,
			tenantID, connectionID, name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO layouts (id, tenant_id, connection_id, name, body, updated_at) VALUES ($1, $2, nullif($3, ''), $4, $5, $6)`,
			schema.NewID(), tenantID, connectionID, name, string(body), now())
		return err
	}))
}

// Layout returns the override at one scope.
func (s *Store) Layout(ctx context.Context, tenantID, connectionID, name string) ([]byte, error) {
	var body string
	err := s.pool.QueryRow(ctx, `SELECT body FROM layouts WHERE tenant_id = $1 AND coalesce(connection_id, '') = $2 AND name = $3`,
		tenantID, connectionID, name).Scan(&body)
	return []byte(body), interpret(err)
}
