package postgres

import (
	"cmp"
	"time"

	"context"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
)

const insertTenant = `INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`

// CreateTenant stores t, filling its id and creation time.
func (s *Store) CreateTenant(ctx context.Context, t *schema.Tenant) error {
	t.ID, t.CreatedAt = schema.NewID(), now()
	_, err := s.pool.Exec(ctx, insertTenant, t.ID, t.Slug, t.Name, t.CreatedAt)
	return interpret(err)
}

const selectTenant = `SELECT id, slug, name, created_at FROM tenants`

// TenantBySlug finds a tenant by slug.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (schema.Tenant, error) {
	rows, _ := s.pool.Query(ctx, selectTenant+` WHERE slug = $1`, slug)
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[schema.Tenant])
	return t, interpret(err)
}

// Tenants lists all tenants by slug.
func (s *Store) Tenants(ctx context.Context) ([]schema.Tenant, error) {
	rows, _ := s.pool.Query(ctx, selectTenant+` ORDER BY slug`)
	ts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[schema.Tenant])
	return ts, interpret(err)
}

const insertAPIKey = `INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes, created_at, expires_at)
VALUES ($1, nullif($2, ''), $3, $4, $5, $6, $7, $8)`

// CreateAPIKey stores a hashed key.
func (s *Store) CreateAPIKey(ctx context.Context, k *schema.APIKey) error {
	k.ID, k.CreatedAt = schema.NewID(), now()
	_, err := s.pool.Exec(ctx, insertAPIKey, k.ID, k.TenantID, k.Name, k.Prefix, k.Hash, storeutil.Scopes(k.Scopes), k.CreatedAt, k.ExpiresAt)
	return interpret(err)
}

const apiKeyColumns = `id, coalesce(tenant_id, ''), name, prefix, hash, scopes, created_at, revoked_at, last_used_at, expires_at`

func scanAPIKey(row pgx.CollectableRow) (schema.APIKey, error) {
	var k schema.APIKey
	var scopes string
	err := row.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.Hash, &scopes, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt, &k.ExpiresAt)
	k.Scopes = storeutil.ParseScopes(scopes)
	return k, err
}

// APIKeyByPrefix finds a key by its public prefix.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (schema.APIKey, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = $1`, prefix)
	k, err := pgx.CollectExactlyOneRow(rows, scanAPIKey)
	return k, interpret(err)
}

// APIKeys lists keys newest first, without their hashes.
func (s *Store) APIKeys(ctx context.Context, tenantID string) ([]schema.APIKey, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE $1 = '' OR tenant_id::text = $1 ORDER BY created_at DESC, id DESC`, tenantID)
	keys, err := pgx.CollectRows(rows, scanAPIKey)
	for i := range keys {
		keys[i].Hash = nil
	}
	return keys, interpret(err)
}

// RevokeAPIKey revokes an unrevoked key by id or prefix.
func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, idOrPrefix string) (schema.APIKey, error) {
	rows, _ := s.pool.Query(ctx, `UPDATE api_keys SET revoked_at = $3 WHERE (id::text = $2 OR prefix = $2) AND ($1 = '' OR tenant_id::text = $1)
AND revoked_at IS NULL RETURNING `+apiKeyColumns, tenantID, idOrPrefix, now())
	k, err := pgx.CollectExactlyOneRow(rows, scanAPIKey)
	k.Hash = nil
	return k, interpret(err)
}

// TouchAPIKey records a key's last use.
func (s *Store) TouchAPIKey(ctx context.Context, id string, t time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id::text = $1`, id, t)
	return interpret(err)
}

const insertAudit = `INSERT INTO audit_log (tenant_id, key_id, actor, action, resource, at) VALUES ($1, $2, $3, $4, $5, $6)`

// Audit appends to the audit log.
func (s *Store) Audit(ctx context.Context, e schema.AuditEntry) error {
	if e.At.IsZero() {
		e.At = now()
	}
	_, err := s.pool.Exec(ctx, insertAudit, e.TenantID, e.KeyID, e.Actor, e.Action, e.Resource, e.At)
	return interpret(err)
}

// AuditLog lists audit entries newest first, filtered by q.
func (s *Store) AuditLog(ctx context.Context, tenantID string, q schema.AuditQuery) ([]schema.AuditEntry, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, tenant_id, key_id, actor, action, resource, at FROM audit_log
WHERE ($1 = '' OR tenant_id::text = $1) AND ($2::bigint = 0 OR id < $2)
AND ($3 = '' OR action = $3 OR (right($3, 1) = '.' AND starts_with(action, $3)))
AND ($4 = '' OR key_id::text = $4 OR actor = $4)
AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6)
ORDER BY id DESC LIMIT $7`, tenantID, q.Before, q.Action, q.Actor, optTime(q.Since), optTime(q.Until), cmp.Or(q.Limit, 100))
	es, err := pgx.CollectRows(rows, pgx.RowToStructByPos[schema.AuditEntry])
	return es, interpret(err)
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
