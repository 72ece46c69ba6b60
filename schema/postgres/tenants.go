package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

const insertTenant = `INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`

// CreateTenant stores t, filling its id and creation time.
func (s *Store) CreateTenant(ctx context.Context, t *schema.Tenant) error {
	t.ID, t.CreatedAt = codec.NewID(), now()
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

const insertAPIKey = `INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes, created_at)
VALUES ($1, nullif($2, ''), $3, $4, $5, $6, $7)`

// CreateAPIKey stores a hashed key.
func (s *Store) CreateAPIKey(ctx context.Context, k *schema.APIKey) error {
	k.ID, k.CreatedAt = codec.NewID(), now()
	_, err := s.pool.Exec(ctx, insertAPIKey, k.ID, k.TenantID, k.Name, k.Prefix, k.Hash, codec.Scopes(k.Scopes), k.CreatedAt)
	return interpret(err)
}

const selectAPIKey = `SELECT id, coalesce(tenant_id, ''), name, prefix, hash, scopes, created_at, revoked_at, last_used_at
FROM api_keys WHERE prefix = $1`

// APIKeyByPrefix finds a key by its public prefix.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (schema.APIKey, error) {
	var k schema.APIKey
	var scopes string
	err := s.pool.QueryRow(ctx, selectAPIKey, prefix).Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.Hash, &scopes, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt)
	k.Scopes = codec.ParseScopes(scopes)
	return k, interpret(err)
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

// AuditLog lists a tenant's newest audit entries.
func (s *Store) AuditLog(ctx context.Context, tenantID string, limit int) ([]schema.AuditEntry, error) {
	rows, _ := s.pool.Query(ctx, `SELECT tenant_id, key_id, actor, action, resource, at FROM audit_log
WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2`, tenantID, limit)
	es, err := pgx.CollectRows(rows, pgx.RowToStructByPos[schema.AuditEntry])
	return es, interpret(err)
}
