package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
)

// CreateTenant stores t, filling its id and creation time.
func (s *Store) CreateTenant(ctx context.Context, t *schema.Tenant) error {
	t.ID, t.CreatedAt = schema.NewID(), now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES (?, ?, ?, ?)`, t.ID, t.Slug, t.Name, ts(t.CreatedAt))
	return interpret(err)
}

const selectTenant = `SELECT id, slug, name, created_at FROM tenants`

func scanTenant(row scanner) (schema.Tenant, error) {
	var t schema.Tenant
	err := row.Scan(&t.ID, &t.Slug, &t.Name, timeCol{&t.CreatedAt})
	return t, err
}

// TenantBySlug finds a tenant by slug.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (schema.Tenant, error) {
	t, err := scanTenant(s.db.QueryRowContext(ctx, selectTenant+` WHERE slug = ?`, slug))
	return t, interpret(err)
}

// Tenants lists all tenants by slug.
func (s *Store) Tenants(ctx context.Context) ([]schema.Tenant, error) {
	rows, err := s.db.QueryContext(ctx, selectTenant+` ORDER BY slug`)
	return collectRows(rows, err, scanTenant)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// collectRows reads every row of a query with scan.
func collectRows[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, interpret(rows.Err())
}

// CreateAPIKey stores a hashed key.
func (s *Store) CreateAPIKey(ctx context.Context, k *schema.APIKey) error {
	k.ID, k.CreatedAt = schema.NewID(), now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, nullString(k.TenantID), k.Name, k.Prefix, k.Hash, storeutil.Scopes(k.Scopes), ts(k.CreatedAt), tsPtr(k.ExpiresAt))
	return interpret(err)
}

const apiKeyColumns = `id, coalesce(tenant_id, ''), name, prefix, hash, scopes, created_at, revoked_at, last_used_at, expires_at`

func scanAPIKey(r scanner) (schema.APIKey, error) {
	var k schema.APIKey
	var scopes string
	err := r.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.Hash, &scopes,
		timeCol{&k.CreatedAt}, nullTimeCol{&k.RevokedAt}, nullTimeCol{&k.LastUsedAt}, nullTimeCol{&k.ExpiresAt})
	k.Scopes = storeutil.ParseScopes(scopes)
	return k, err
}

// APIKeyByPrefix finds a key by its public prefix.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (schema.APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = ?`, prefix))
	return k, interpret(err)
}

// APIKeys lists keys newest first, without their hashes.
func (s *Store) APIKeys(ctx context.Context, tenantID string) ([]schema.APIKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE ?1 = '' OR tenant_id = ?1 ORDER BY created_at DESC, id DESC`, tenantID)
	keys, err := collectRows(rows, err, scanAPIKey)
	for i := range keys {
		keys[i].Hash = nil
	}
	return keys, err
}

// RevokeAPIKey revokes an unrevoked key by id or prefix.
func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, idOrPrefix string) (schema.APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = ?3 WHERE (id = ?2 OR prefix = ?2) AND (?1 = '' OR tenant_id = ?1)
AND revoked_at IS NULL RETURNING `+apiKeyColumns, tenantID, idOrPrefix, ts(now())))
	k.Hash = nil
	return k, interpret(err)
}

// TouchAPIKey records a key's last use.
func (s *Store) TouchAPIKey(ctx context.Context, id string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, ts(t), id)
	return interpret(err)
}
