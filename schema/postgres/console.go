package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
)

// CreateOperator stores a console operator.
func (s *Store) CreateOperator(ctx context.Context, o *schema.Operator) error {
	o.ID, o.CreatedAt = schema.NewID(), now()
	_, err := s.pool.Exec(ctx, `INSERT INTO console_operators (id, email, password_hash, pii, created_at) VALUES ($1, $2, $3, $4, $5)`,
		o.ID, o.Email, o.PasswordHash, o.PII, o.CreatedAt)
	return interpret(err)
}

// OperatorByEmail finds an operator.
func (s *Store) OperatorByEmail(ctx context.Context, email string) (schema.Operator, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, email, password_hash, pii, created_at FROM console_operators WHERE email = $1`, email)
	o, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[schema.Operator])
	return o, interpret(err)
}

// SetOperatorPassword replaces an operator's password hash.
func (s *Store) SetOperatorPassword(ctx context.Context, email, hash string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE console_operators SET password_hash = $2 WHERE email = $1`, email, hash)
	if err == nil && tag.RowsAffected() == 0 {
		return schema.ErrNotFound
	}
	return interpret(err)
}

// CreateMagicLink stores a link.
func (s *Store) CreateMagicLink(ctx context.Context, l *schema.MagicLink) error {
	l.ID, l.Created = schema.NewID(), now()
	_, err := s.pool.Exec(ctx, `INSERT INTO console_links (id, tenant_id, hash, email, pii, created_by, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, l.ID, l.TenantID, l.Hash, l.Email, l.PII, l.Creator, l.Created, l.Expires)
	return interpret(err)
}

const linkColumns = `id, tenant_id, hash, email, pii, created_by, created_at, expires_at, used_at, revoked_at`

// UseMagicLink spends a usable link.
func (s *Store) UseMagicLink(ctx context.Context, hash []byte, t time.Time) (schema.MagicLink, error) {
	rows, _ := s.pool.Query(ctx, `UPDATE console_links SET used_at = $2
WHERE hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 RETURNING `+linkColumns, hash, t)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[schema.MagicLink])
	return l, interpret(err)
}

// MagicLinks lists a tenant's links, newest first.
func (s *Store) MagicLinks(ctx context.Context, tenantID string) ([]schema.MagicLink, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+linkColumns+` FROM console_links WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100`, tenantID)
	ls, err := pgx.CollectRows(rows, pgx.RowToStructByPos[schema.MagicLink])
	return ls, interpret(err)
}

// RevokeMagicLink revokes a link and ends its sessions.
func (s *Store) RevokeMagicLink(ctx context.Context, tenantID, id string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE console_links SET revoked_at = coalesce(revoked_at, $3) WHERE tenant_id = $1 AND id = $2`, tenantID, id, now())
		if err != nil {
			return interpret(err)
		}
		if tag.RowsAffected() == 0 {
			return schema.ErrNotFound
		}
		_, err = tx.Exec(ctx, `DELETE FROM console_sessions WHERE link_id = $1`, id)
		return interpret(err)
	})
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, cs *schema.ConsoleSession) error {
	cs.CreatedAt = now()
	_, err := s.pool.Exec(ctx, `INSERT INTO console_sessions (hash, operator_id, link_id, tenant_id, actor, pii, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, cs.Hash, cs.OperatorID, cs.LinkID, cs.TenantID, cs.Actor, cs.PII, cs.CreatedAt, cs.ExpiresAt)
	return interpret(err)
}

// Session finds an unexpired session.
func (s *Store) Session(ctx context.Context, hash []byte, t time.Time) (schema.ConsoleSession, error) {
	rows, _ := s.pool.Query(ctx, `SELECT hash, operator_id, link_id, tenant_id, actor, pii, created_at, expires_at
FROM console_sessions WHERE hash = $1 AND expires_at > $2`, hash, t)
	cs, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[schema.ConsoleSession])
	return cs, interpret(err)
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE hash = $1`, hash)
	return interpret(err)
}
