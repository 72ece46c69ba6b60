package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	// A new endpoint starts with the events that come after it.
	err = s.pool.QueryRow(ctx, `INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, secret, enabled, created_at, last_seq)
VALUES ($1, $2, $3, $4, $5, true, $6, (SELECT coalesce(max(seq), 0) FROM events WHERE tenant_id = $2)) RETURNING last_seq`,
		w.ID, w.TenantID, w.URL, strings.Join(w.EventTypes, ","), sealed, w.CreatedAt).Scan(&w.LastSeq)
	return interpret(err)
}

// WebhookEndpoints lists endpoints with their secrets opened.
func (s *Store) WebhookEndpoints(ctx context.Context, tenantID string) ([]schema.WebhookEndpoint, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, tenant_id, url, event_types, secret, enabled, last_seq, attempt, next_attempt_at, failing_since,
disabled_reason, created_at FROM webhook_endpoints WHERE $1 = '' OR tenant_id = $1 ORDER BY id`, tenantID)
	ws, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (schema.WebhookEndpoint, error) {
		var w schema.WebhookEndpoint
		var types string
		var sealed []byte
		if err := row.Scan(&w.ID, &w.TenantID, &w.URL, &types, &sealed, &w.Enabled, &w.LastSeq, &w.Attempt, &w.NextAttemptAt,
			&w.FailingSince, &w.DisabledReason, &w.CreatedAt); err != nil {
			return w, err
		}
		w.EventTypes = storeutil.ParseScopes(types)
		secret, err := s.box.Open(sealed)
		w.Secret = string(secret)
		return w, err
	})
	return ws, interpret(err)
}

// DeleteWebhookEndpoint removes an endpoint and its delivery log.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, tenantID, id string) error {
	return interpret(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND tenant_id = $2`, id, tenantID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2`, id, tenantID)
		if err == nil && tag.RowsAffected() == 0 {
			return schema.ErrNotFound
		}
		return err
	}))
}

// ClaimWebhookEndpoint takes an endpoint's delivery lease.
func (s *Store) ClaimWebhookEndpoint(ctx context.Context, id, owner string, until time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_endpoints SET lease_owner = $2, lease_until = $3
WHERE id = $1 AND (lease_owner = $2 OR lease_until IS NULL OR lease_until < now())`, id, owner, until)
	return err == nil && tag.RowsAffected() == 1, interpret(err)
}

// SaveWebhookState stores delivery state.
func (s *Store) SaveWebhookState(ctx context.Context, w *schema.WebhookEndpoint) error {
	_, err := s.pool.Exec(ctx, `UPDATE webhook_endpoints SET enabled = $2, last_seq = $3, attempt = $4, next_attempt_at = $5,
failing_since = $6, disabled_reason = $7 WHERE id = $1`, w.ID, w.Enabled, w.LastSeq, w.Attempt, w.NextAttemptAt, w.FailingSince, w.DisabledReason)
	return interpret(err)
}

// RecordDelivery logs one attempt.
func (s *Store) RecordDelivery(ctx context.Context, d *schema.WebhookDelivery) error {
	d.ID, d.CreatedAt = schema.NewID(), now()
	_, err := s.pool.Exec(ctx, `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_seq, event_id, attempt, status, response_status, error, duration_ms, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, d.ID, d.TenantID, d.EndpointID, d.EventSeq, d.EventID, d.Attempt, d.Status, d.ResponseStatus, d.Error, d.DurationMS, d.CreatedAt)
	return interpret(err)
}

// WebhookDeliveries lists a tenant's delivery attempts, newest first.
func (s *Store) WebhookDeliveries(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.WebhookDelivery, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, tenant_id, endpoint_id, event_seq, event_id, attempt, status, coalesce(response_status, 0), error, duration_ms, created_at
FROM webhook_deliveries WHERE tenant_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3`, tenantID, q.Cursor, q.Limit)
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByPos[schema.WebhookDelivery])
	return ds, interpret(err)
}
