package sqlite

import (
	"cmp"
	"context"
	"path/filepath"
	"strings"

	"github.com/hrisbridge/hrisbridge/schema"
)

// The audit log lives in a database file of its own beside the main one.
// SQLite has one writer per file, and an ingest applies a whole file in
// one write transaction (so that a bad file never half-applies); with the
// audit log in the same file, every PII read (which must be audited
// before it is answered) waited for the ingest and failed after the busy
// timeout. A separate file has its own lock, and is synced on every
// commit (synchronous FULL): an audited read is never lost.

const auditSchema = `CREATE TABLE IF NOT EXISTS audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id text NOT NULL,
    key_id    text NOT NULL DEFAULT '',
    actor     text NOT NULL DEFAULT '',
    action    text NOT NULL,
    resource  text NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_tenant ON audit_log (tenant_id, at DESC);`

// AuditPath is the audit log's file for the database at path:
// hrisbridge.db keeps it in hrisbridge-audit.db.
func AuditPath(path string) string { return siblingPath(path, "audit") }

// siblingPath names a database file beside path: hrisbridge.db,
// "jobs" -> hrisbridge-jobs.db.
func siblingPath(path, part string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + part + ext
}

// Audit appends to the audit log.
func (s *Store) Audit(ctx context.Context, e schema.AuditEntry) error {
	if e.At.IsZero() {
		e.At = now()
	}
	_, err := s.audit.ExecContext(ctx, `INSERT INTO audit_log (tenant_id, key_id, actor, action, resource, at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.TenantID, e.KeyID, e.Actor, e.Action, e.Resource, ts(e.At))
	return interpret(err)
}

// AuditLog lists audit entries newest first, filtered by q.
func (s *Store) AuditLog(ctx context.Context, tenantID string, q schema.AuditQuery) ([]schema.AuditEntry, error) {
	rows, err := s.audit.QueryContext(ctx, `SELECT id, tenant_id, key_id, actor, action, resource, at FROM audit_log
WHERE (?1 = '' OR tenant_id = ?1) AND (?2 = 0 OR id < ?2)
AND (?3 = '' OR action = ?3 OR (substr(?3, -1) = '.' AND substr(action, 1, length(?3)) = ?3))
AND (?4 = '' OR key_id = ?4 OR actor = ?4)
AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at < ?6)
ORDER BY id DESC LIMIT ?7`, tenantID, q.Before, q.Action, q.Actor, ts(q.Since), ts(q.Until), cmp.Or(q.Limit, 100))
	return collectRows(rows, err, scanAudit)
}

func scanAudit(r scanner) (schema.AuditEntry, error) {
	var e schema.AuditEntry
	err := r.Scan(&e.ID, &e.TenantID, &e.KeyID, &e.Actor, &e.Action, &e.Resource, timeCol{&e.At})
	return e, err
}
