package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
)

const (
	eventColumns = "tenant_id, seq, id, type, subject, data, file_id, occurred_at"
	selectEvent  = `SELECT tenant_id, seq, id, type, subject, data::text, coalesce(file_id, ''), occurred_at FROM events`
	// lastSeq is the seq of a tenant's last event ($1), 0 for none.
	lastSeq = `SELECT coalesce(max(seq), 0) FROM events WHERE tenant_id = $1`
)

func writeEvent(c *copyRows, e *schema.Event) {
	c.Text(e.TenantID)
	c.Int(e.Seq)
	c.Text(e.ID)
	c.Text(e.Type)
	c.Text(e.Subject)
	c.Text(string(e.Data))
	c.Opt(e.FileID)
	c.time(e.OccurredAt)
	c.end()
}

func scanEvent(row pgx.CollectableRow) (schema.Event, error) {
	var e schema.Event
	var data string
	err := row.Scan(&e.TenantID, &e.Seq, &e.ID, &e.Type, &e.Subject, &data, &e.FileID, &e.OccurredAt)
	e.Data = []byte(data)
	return e, err
}

// Events returns a tenant's change events after seq, in seq order.
func (s *Store) Events(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]schema.Event, error) {
	rows, _ := s.pool.Query(ctx, selectEvent+` WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, tenantID, afterSeq, limit)
	es, err := pgx.CollectRows(rows, scanEvent)
	return es, interpret(err)
}

// EventByID finds one of a tenant's events.
func (s *Store) EventByID(ctx context.Context, tenantID, id string) (schema.Event, error) {
	rows, _ := s.pool.Query(ctx, selectEvent+` WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	e, err := pgx.CollectExactlyOneRow(rows, scanEvent)
	return e, interpret(err)
}

// FirstEventSince finds the first event at or after t.
func (s *Store) FirstEventSince(ctx context.Context, tenantID string, t time.Time) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM events WHERE tenant_id = $1 AND occurred_at >= $2 ORDER BY seq LIMIT 1`, tenantID, t).Scan(&seq)
	return seq, interpret(err)
}

// AppendEvent writes one event outside an ingest.
func (s *Store) AppendEvent(ctx context.Context, e *schema.Event) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return appendEvent(ctx, tx, e) })
}

// appendEvent numbers e after its tenant's last event, under the
// tenant's lock (held until tx ends), and inserts it.
func appendEvent(ctx context.Context, tx pgx.Tx, e *schema.Event) error {
	e.ID, e.OccurredAt = schema.NewID(), now()
	if _, err := tx.Exec(ctx, tenantLock, e.TenantID); err != nil {
		return err
	}
	err := tx.QueryRow(ctx, `INSERT INTO events (tenant_id, seq, id, type, subject, data, file_id, occurred_at)
VALUES ($1, (`+lastSeq+`) + 1, $2, $3, $4, $5, nullif($6, ''), $7) RETURNING seq`,
		e.TenantID, e.ID, e.Type, e.Subject, string(e.Data), e.FileID, e.OccurredAt).Scan(&e.Seq)
	return interpret(err)
}
