package sqlite

import (
	"context"
	"strings"

	"github.com/hrisbridge/hrisbridge/schema"
)

// CreateDropboxAccount stores a drop box login.
func (s *Store) CreateDropboxAccount(ctx context.Context, a *schema.DropboxAccount) error {
	a.ID, a.CreatedAt = schema.NewID(), now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO dropbox_accounts (id, tenant_id, connection_id, username, password_hash, authorized_keys, rights, max_bytes, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.TenantID, a.ConnectionID, a.Username, a.PasswordHash, a.AuthorizedKeys, schema.RightsText(a.Rights), a.MaxBytes, ts(a.CreatedAt))
	return interpret(err)
}

const selectDropbox = `SELECT id, tenant_id, connection_id, username, password_hash, authorized_keys, rights, max_bytes, created_at FROM dropbox_accounts`

func scanDropbox(r scanner) (schema.DropboxAccount, error) {
	var a schema.DropboxAccount
	var rights string
	err := r.Scan(&a.ID, &a.TenantID, &a.ConnectionID, &a.Username, &a.PasswordHash, &a.AuthorizedKeys, &rights, &a.MaxBytes, timeCol{&a.CreatedAt})
	a.Rights = strings.Split(rights, ",")
	return a, err
}

// DropboxAccount finds a login by user name.
func (s *Store) DropboxAccount(ctx context.Context, username string) (schema.DropboxAccount, error) {
	a, err := scanDropbox(s.db.QueryRowContext(ctx, selectDropbox+` WHERE username = ?`, username))
	return a, interpret(err)
}

// DropboxAccounts lists a tenant's logins by user name.
func (s *Store) DropboxAccounts(ctx context.Context, tenantID string) ([]schema.DropboxAccount, error) {
	rows, err := s.db.QueryContext(ctx, selectDropbox+` WHERE tenant_id = ? ORDER BY username`, tenantID)
	return collectRows(rows, err, scanDropbox)
}

// UpdateDropboxAccount replaces a login's credentials and limits.
func (s *Store) UpdateDropboxAccount(ctx context.Context, a *schema.DropboxAccount) error {
	ok, err := affected(s.db.ExecContext(ctx, `UPDATE dropbox_accounts SET password_hash = ?, authorized_keys = ?, rights = ?, max_bytes = ?
WHERE tenant_id = ? AND username = ?`, a.PasswordHash, a.AuthorizedKeys, schema.RightsText(a.Rights), a.MaxBytes, a.TenantID, a.Username))
	if err == nil && !ok {
		err = schema.ErrNotFound
	}
	return err
}

// DeleteDropboxAccount removes a login.
func (s *Store) DeleteDropboxAccount(ctx context.Context, tenantID, username string) error {
	ok, err := affected(s.db.ExecContext(ctx, `DELETE FROM dropbox_accounts WHERE tenant_id = ? AND username = ?`, tenantID, username))
	if err == nil && !ok {
		err = schema.ErrNotFound
	}
	return err
}
