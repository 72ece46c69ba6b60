package sqlite

import (
	"context"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

// CreateOperator stores a console operator.
func (s *Store) CreateOperator(ctx context.Context, o *schema.Operator) error {
	o.ID, o.CreatedAt = schema.NewID(), now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO console_operators (id, email, password_hash, pii, created_at) VALUES (?, ?, ?, ?, ?)`,
		o.ID, o.Email, o.PasswordHash, o.PII, ts(o.CreatedAt))
	return interpret(err)
}

// OperatorByEmail finds an operator.
func (s *Store) OperatorByEmail(ctx context.Context, email string) (schema.Operator, error) {
	var o schema.Operator
	err := s.db.QueryRowContext(ctx, `SELECT id, email, password_hash, pii, created_at FROM console_operators WHERE email = ?`, email).
		Scan(&o.ID, &o.Email, &o.PasswordHash, &o.PII, timeCol{&o.CreatedAt})
	return o, interpret(err)
}

// SetOperatorPassword replaces an operator's password hash.
func (s *Store) SetOperatorPassword(ctx context.Context, email, hash string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE console_operators SET password_hash = ? WHERE email = ?`, hash, email)
	if err != nil {
		return interpret(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return schema.ErrNotFound
	}
	return nil
}

// CreateMagicLink stores a link.
func (s *Store) CreateMagicLink(ctx context.Context, l *schema.MagicLink) error {
	l.ID, l.Created = schema.NewID(), now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO console_links (id, tenant_id, hash, email, pii, created_by, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, l.ID, l.TenantID, l.Hash, l.Email, l.PII, l.Creator, ts(l.Created), ts(l.Expires))
	return interpret(err)
}

const linkColumns = `id, tenant_id, hash, email, pii, created_by, created_at, expires_at, used_at, revoked_at`

func scanLink(r scanner) (schema.MagicLink, error) {
	var l schema.MagicLink
	err := r.Scan(&l.ID, &l.TenantID, &l.Hash, &l.Email, &l.PII, &l.Creator, timeCol{&l.Created}, timeCol{&l.Expires},
		nullTimeCol{&l.UsedAt}, nullTimeCol{&l.RevokedAt})
	return l, err
}

// UseMagicLink spends a usable link.
func (s *Store) UseMagicLink(ctx context.Context, hash []byte, t time.Time) (schema.MagicLink, error) {
	l, err := scanLink(s.db.QueryRowContext(ctx, `UPDATE console_links SET used_at = ?2
WHERE hash = ?1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?2 RETURNING `+linkColumns, hash, ts(t)))
	return l, interpret(err)
}

// MagicLinks lists a tenant's links, newest first.
func (s *Store) MagicLinks(ctx context.Context, tenantID string) ([]schema.MagicLink, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+linkColumns+` FROM console_links WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT 100`, tenantID)
	return collectRows(rows, err, scanLink)
}

// RevokeMagicLink revokes a link and ends its sessions.
func (s *Store) RevokeMagicLink(ctx context.Context, tenantID, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return interpret(err)
	}
	defer tx.Rollback() //nolint:errcheck
	res, err := tx.ExecContext(ctx, `UPDATE console_links SET revoked_at = coalesce(revoked_at, ?) WHERE tenant_id = ? AND id = ?`, ts(now()), tenantID, id)
	if err != nil {
		return interpret(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return schema.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE link_id = ?`, id); err != nil {
		return interpret(err)
	}
	return interpret(tx.Commit())
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, cs *schema.ConsoleSession) error {
	cs.CreatedAt = now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO console_sessions (hash, operator_id, link_id, tenant_id, actor, pii, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, cs.Hash, cs.OperatorID, cs.LinkID, cs.TenantID, cs.Actor, cs.PII, ts(cs.CreatedAt), ts(cs.ExpiresAt))
	return interpret(err)
}

// Session finds an unexpired session.
func (s *Store) Session(ctx context.Context, hash []byte, t time.Time) (schema.ConsoleSession, error) {
	var cs schema.ConsoleSession
	err := s.db.QueryRowContext(ctx, `SELECT hash, operator_id, link_id, tenant_id, actor, pii, created_at, expires_at
FROM console_sessions WHERE hash = ? AND expires_at > ?`, hash, ts(t)).
		Scan(&cs.Hash, &cs.OperatorID, &cs.LinkID, &cs.TenantID, &cs.Actor, &cs.PII, timeCol{&cs.CreatedAt}, timeCol{&cs.ExpiresAt})
	return cs, interpret(err)
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE hash = ?`, hash)
	return interpret(err)
}
