package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
)

// CreateDropboxAccount stores a drop box login.
func (s *Store) CreateDropboxAccount(ctx context.Context, a *schema.DropboxAccount) error {
	a.ID, a.CreatedAt = schema.NewID(), now()
	_, err := s.pool.Exec(ctx, `INSERT INTO dropbox_accounts (id, tenant_id, connection_id, username, password_hash, authorized_keys, rights, max_bytes, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, a.ID, a.TenantID, a.ConnectionID, a.Username, a.PasswordHash, a.AuthorizedKeys, schema.RightsText(a.Rights), a.MaxBytes, a.CreatedAt)
	return interpret(err)
}

const selectDropbox = `SELECT id, tenant_id, connection_id, username, password_hash, authorized_keys, rights, max_bytes, created_at FROM dropbox_accounts`

func scanDropbox(r pgx.CollectableRow) (schema.DropboxAccount, error) {
	var a schema.DropboxAccount
	var rights string
	err := r.Scan(&a.ID, &a.TenantID, &a.ConnectionID, &a.Username, &a.PasswordHash, &a.AuthorizedKeys, &rights, &a.MaxBytes, &a.CreatedAt)
	a.Rights = strings.Split(rights, ",")
	return a, err
}

// DropboxAccount finds a login by user name.
func (s *Store) DropboxAccount(ctx context.Context, username string) (schema.DropboxAccount, error) {
	rows, _ := s.pool.Query(ctx, selectDropbox+` WHERE username = $1`, username)
	a, err := pgx.CollectExactlyOneRow(rows, scanDropbox)
	return a, interpret(err)
}

// DropboxAccounts lists a tenant's logins by user name.
func (s *Store) DropboxAccounts(ctx context.Context, tenantID string) ([]schema.DropboxAccount, error) {
	rows, _ := s.pool.Query(ctx, selectDropbox+` WHERE tenant_id::text = $1 ORDER BY username`, tenantID)
	as, err := pgx.CollectRows(rows, scanDropbox)
	return as, interpret(err)
}

// UpdateDropboxAccount replaces a login's credentials and limits.
func (s *Store) UpdateDropboxAccount(ctx context.Context, a *schema.DropboxAccount) error {
	tag, err := s.pool.Exec(ctx, `UPDATE dropbox_accounts SET password_hash = $3, authorized_keys = $4, rights = $5, max_bytes = $6
WHERE tenant_id::text = $1 AND username = $2`, a.TenantID, a.Username, a.PasswordHash, a.AuthorizedKeys, schema.RightsText(a.Rights), a.MaxBytes)
	if err == nil && tag.RowsAffected() == 0 {
		return schema.ErrNotFound
	}
	return interpret(err)
}

// DeleteDropboxAccount removes a login.
func (s *Store) DeleteDropboxAccount(ctx context.Context, tenantID, username string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM dropbox_accounts WHERE tenant_id::text = $1 AND username = $2`, tenantID, username)
	if err == nil && tag.RowsAffected() == 0 {
		return schema.ErrNotFound
	}
	return interpret(err)
}
