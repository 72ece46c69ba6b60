package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
)

// CreateWebhookEndpoint stores an endpoint with its secret sealed.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, w *schema.WebhookEndpoint) error {
	sealed, err := s.box.Seal([]byte(w.Secret))
	if err != nil {
		return err
	}
	w.ID, w.CreatedAt, w.Enabled = schema.NewID(), now(), true
	err = s.db.QueryRowContext(ctx, `INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, secret, enabled, created_at, last_seq)
VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, (SELECT coalesce(max(seq), 0) FROM events WHERE tenant_id = ?2)) RETURNING last_seq`,
		w.ID, w.TenantID, w.URL, strings.Join(w.EventTypes, ","), sealed, ts(w.CreatedAt)).Scan(&w.LastSeq)
	return interpret(err)
}

// WebhookEndpoints lists endpoints with their secrets opened.
func (s *Store) WebhookEndpoints(ctx context.Context, tenantID string) ([]schema.WebhookEndpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, tenant_id, url, event_types, secret, enabled, last_seq, attempt, next_attempt_at, failing_since,
disabled_reason, created_at FROM webhook_endpoints WHERE ?1 = '' OR tenant_id = ?1 ORDER BY id`, tenantID)
	return collectRows(rows, err, func(r scanner) (schema.WebhookEndpoint, error) {
		var w schema.WebhookEndpoint
		var types string
		var sealed []byte
		if err := r.Scan(&w.ID, &w.TenantID, &w.URL, &types, &sealed, &w.Enabled, &w.LastSeq, &w.Attempt, nullTimeCol{&w.NextAttemptAt},
			nullTimeCol{&w.FailingSince}, &w.DisabledReason, timeCol{&w.CreatedAt}); err != nil {
			return w, err
		}
		w.EventTypes = storeutil.ParseScopes(types)
		secret, err := s.box.Open(sealed)
		w.Secret = string(secret)
		return w, err
	})
}

// DeleteWebhookEndpoint removes an endpoint and its delivery log.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, tenantID, id string) error {
	return interpret(s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE endpoint_id = ? AND tenant_id = ?`, id, tenantID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ? AND tenant_id = ?`, id, tenantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return schema.ErrNotFound
		}
		return nil
	}))
}

// ClaimWebhookEndpoint takes an endpoint's delivery lease.
func (s *Store) ClaimWebhookEndpoint(ctx context.Context, id, owner string, until time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE webhook_endpoints SET lease_owner = ?2, lease_until = ?3
WHERE id = ?1 AND (lease_owner = ?2 OR lease_until IS NULL OR lease_until < ?4)`, id, owner, ts(until), ts(now()))
	if err != nil {
		return false, interpret(err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SaveWebhookState stores delivery state.
func (s *Store) SaveWebhookState(ctx context.Context, w *schema.WebhookEndpoint) error {
	_, err := s.db.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = ?, last_seq = ?, attempt = ?, next_attempt_at = ?,
failing_since = ?, disabled_reason = ? WHERE id = ?`, w.Enabled, w.LastSeq, w.Attempt, tsPtr(w.NextAttemptAt), tsPtr(w.FailingSince), w.DisabledReason, w.ID)
	return interpret(err)
}

// RecordDelivery logs one attempt.
func (s *Store) RecordDelivery(ctx context.Context, d *schema.WebhookDelivery) error {
	d.ID, d.CreatedAt = schema.NewID(), now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_seq, event_id, attempt, status, response_status, error, duration_ms, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.TenantID, d.EndpointID, d.EventSeq, d.EventID, d.Attempt, d.Status, d.ResponseStatus, d.Error, d.DurationMS, ts(d.CreatedAt))
	return interpret(err)
}

// WebhookDeliveries lists a tenant's delivery attempts, newest first.
func (s *Store) WebhookDeliveries(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.WebhookDelivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, tenant_id, endpoint_id, event_seq, event_id, attempt, status, coalesce(response_status, 0), error, duration_ms, created_at
FROM webhook_deliveries WHERE tenant_id = ?1 AND (?2 = '' OR id < ?2) ORDER BY id DESC LIMIT ?3`, tenantID, q.Cursor, q.Limit)
	return collectRows(rows, err, func(r scanner) (schema.WebhookDelivery, error) {
		var d schema.WebhookDelivery
		err := r.Scan(&d.ID, &d.TenantID, &d.EndpointID, &d.EventSeq, &d.EventID, &d.Attempt, &d.Status, &d.ResponseStatus, &d.Error, &d.DurationMS, timeCol{&d.CreatedAt})
		return d, err
	})
}

// EventByID finds one event.
func (s *Store) EventByID(ctx context.Context, tenantID, id string) (schema.Event, error) {
	var e schema.Event
	var data string
	err := s.db.QueryRowContext(ctx, `SELECT id, seq, tenant_id, type, subject, data, coalesce(file_id, ''), occurred_at FROM events WHERE tenant_id = ? AND id = ?`,
		tenantID, id).Scan(&e.ID, &e.Seq, &e.TenantID, &e.Type, &e.Subject, &data, &e.FileID, timeCol{&e.OccurredAt})
	e.Data = []byte(data)
	return e, interpret(err)
}

// FirstEventSince finds the first event at or after t.
func (s *Store) FirstEventSince(ctx context.Context, tenantID string, t time.Time) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM events WHERE tenant_id = ? AND occurred_at >= ? ORDER BY seq LIMIT 1`, tenantID, ts(t)).Scan(&seq)
	return seq, interpret(err)
}

// AppendEvent writes one event outside an ingest.
func (s *Store) AppendEvent(ctx context.Context, e *schema.Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return appendEvent(ctx, tx, e, ts(now())) })
}

const selectEvent = `SELECT tenant_id, seq, id, type, subject, data, coalesce(file_id, ''), occurred_at FROM events`

func scanEvent(row scanner) (schema.Event, error) {
	var e schema.Event
	var data string
	err := row.Scan(&e.TenantID, &e.Seq, &e.ID, &e.Type, &e.Subject, &data, &e.FileID, timeCol{&e.OccurredAt})
	e.Data = []byte(data)
	return e, err
}

// Events returns a tenant's change events after seq, in seq order.
func (s *Store) Events(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]schema.Event, error) {
	rows, err := s.db.QueryContext(ctx, selectEvent+` WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`, tenantID, afterSeq, limit)
	return collectRows(rows, err, scanEvent)
}
