package sqlite

import (
	"context"
	"database/sql"

	"github.com/hrisbridge/hrisbridge/schema"
)

// PutLayout stores a layout override, replacing the one at the same scope.
func (s *Store) PutLayout(ctx context.Context, tenantID, connectionID, name string, body []byte) error {
	return interpret(s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM layouts WHERE tenant_id = ? AND coalesce(connection_id, '') = ? AND name = ?`,
			tenantID, connectionID, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO layouts (id, tenant_id, connection_id, name, body, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			schema.NewID(), tenantID, nullString(connectionID), name, string(body), ts(now()))
		return err
	}))
}

// Layout returns the override at one scope.
func (s *Store) Layout(ctx context.Context, tenantID, connectionID, name string) ([]byte, error) {
	var body string
	err := s.db.QueryRowContext(ctx, `SELECT body FROM layouts WHERE tenant_id = ? AND coalesce(connection_id, '') = ? AND name = ?`,
		tenantID, connectionID, name).Scan(&body)
	return []byte(body), interpret(err)
}
