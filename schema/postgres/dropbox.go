package postgres

import (
	"context"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

// CreateDropboxAccount stores a drop box login.
func (s *Store) CreateDropboxAccount(ctx context.Context, a *schema.DropboxAccount) error {
	a.ID, a.CreatedAt = codec.NewID(), now()
	_, err := s.pool.Exec(ctx, `INSERT INTO dropbox_accounts (id, tenant_id, connection_id, username, password_hash, authorized_keys, can_list, max_bytes, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, a.ID, a.TenantID, a.ConnectionID, a.Username, a.PasswordHash, a.AuthorizedKeys, a.CanList, a.MaxBytes, a.CreatedAt)
	return interpret(err)
}

// DropboxAccount finds a login by user name.
func (s *Store) DropboxAccount(ctx context.Context, username string) (schema.DropboxAccount, error) {
	var a schema.DropboxAccount
	err := s.pool.QueryRow(ctx, `SELECT id, tenant_id, connection_id, username, password_hash, authorized_keys, can_list, max_bytes, created_at
FROM dropbox_accounts WHERE username = $1`, username).Scan(&a.ID, &a.TenantID, &a.ConnectionID, &a.Username, &a.PasswordHash, &a.AuthorizedKeys, &a.CanList, &a.MaxBytes, &a.CreatedAt)
	return a, interpret(err)
}
