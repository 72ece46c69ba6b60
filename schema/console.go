package schema

import (
	"context"
	"time"
)

// Operator is a console account of the people who run hrisbridge: they
// see every tenant. Accounts are created on the CLI.
type Operator struct {
	ID    string
	Email string
	// PasswordHash is an argon2id hash in PHC form ($argon2id$v=19$...).
	PasswordHash string
	// PII lets the operator reveal SSNs (each reveal is audited).
	PII       bool
	CreatedAt time.Time
}

// MagicLink signs an employer's HR admin in to one tenant's console. Only
// a hash of the link's token is stored; a link works once, until it
// expires or is revoked.
type MagicLink struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenant_id"`
	Hash     []byte    `json:"-"`
	Email    string    `json:"email"`
	PII      bool      `json:"pii"`
	Creator  string    `json:"created_by"`
	Created  time.Time `json:"created_at"`
	Expires  time.Time `json:"expires_at"`
	// UsedAt and RevokedAt end the link.
	UsedAt    *time.Time `json:"used_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// ConsoleSession is a signed-in console user: an operator, or an HR admin
// of one tenant through a magic link. Only a hash of the cookie's token
// is stored.
type ConsoleSession struct {
	Hash       []byte
	OperatorID string
	LinkID     string
	// TenantID is the one tenant an HR admin's session may see; empty for
	// operators.
	TenantID string
	// Actor names the person in the audit log: operator:<email> or
	// link:<email>.
	Actor     string
	PII       bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ConsoleStore keeps console accounts, magic links and sessions.
type ConsoleStore interface {
	// CreateOperator stores an operator (ErrDuplicate for a taken e-mail).
	CreateOperator(ctx context.Context, o *Operator) error
	OperatorByEmail(ctx context.Context, email string) (Operator, error)
	// SetOperatorPassword replaces an operator's password hash.
	SetOperatorPassword(ctx context.Context, email, hash string) error

	CreateMagicLink(ctx context.Context, l *MagicLink) error
	// UseMagicLink marks the link with that token hash used at t and
	// returns it, if it is unused, unrevoked and unexpired at t; otherwise
	// ErrNotFound. Two concurrent uses see one success.
	UseMagicLink(ctx context.Context, hash []byte, t time.Time) (MagicLink, error)
	// MagicLinks lists a tenant's links, newest first.
	MagicLinks(ctx context.Context, tenantID string) ([]MagicLink, error)
	// RevokeMagicLink revokes a link and ends the sessions it opened.
	RevokeMagicLink(ctx context.Context, tenantID, id string) error

	CreateSession(ctx context.Context, s *ConsoleSession) error
	// Session returns the session with that token hash unless it expired
	// before t (ErrNotFound).
	Session(ctx context.Context, hash []byte, t time.Time) (ConsoleSession, error)
	DeleteSession(ctx context.Context, hash []byte) error
}
