package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

// Hires are stored a block at a time (migration 009): one events row of
// type employee.hired holds up to hireBlock of them, and every read
// expands it into one event per hire. The sequence advances by hireBlock
// per row, so the i-th hire of a row is seq+i; its id is the row's id with
// the last three hex digits set to i.
//
// A block's hires column is "h1", the uvarint-prefixed connection id, then
// per hire the uvarint-prefixed employee id, external id and status.
const (
	hireBlock   = 4096
	hireVersion = "h1"
	// idSuffix is how many trailing hex digits of a block's id number its
	// hires (16^3 = hireBlock).
	idSuffix = 3
)

// hireBlockID is a new id for a block of hires: a fresh id ending in 000.
func hireBlockID() string {
	id := codec.NewID()
	return id[:len(id)-idSuffix] + "000"
}

// hireID is the id of the i-th hire of the block with id blockID.
func hireID(blockID string, i int) string {
	if i == 0 {
		return blockID
	}
	return fmt.Sprintf("%s%03x", blockID[:len(blockID)-idSuffix], i)
}

// hireIndex splits an event id into the id its block would have and the
// hire's index in that block (ok is false for an id that cannot be one).
func hireIndex(id string) (blockID string, i int, ok bool) {
	if len(id) < idSuffix {
		return "", 0, false
	}
	n, err := strconv.ParseUint(id[len(id)-idSuffix:], 16, 16)
	if err != nil {
		return "", 0, false
	}
	return id[:len(id)-idSuffix] + "000", int(n), true
}

// appendHire adds one hire to a block being built (b holds at least the
// header, which appendHireHeader writes).
func appendHire(b []byte, employeeID, externalID, status string) []byte {
	b = schema.AppendField(b, employeeID)
	b = schema.AppendField(b, externalID)
	return schema.AppendField(b, status)
}

func appendHireHeader(b []byte, connectionID string) []byte {
	return schema.AppendField(append(b, hireVersion...), connectionID)
}

// hireBlockRow is a stored block of hires, as read back.
type hireBlockRow struct {
	id, tenantID, fileID string
	seq                  int64
	n                    int
	occurredAt           time.Time
	hires                []byte
}

var errBadHires = errors.New("stored block of hires does not decode")

// each calls fn with the i-th hire's event for every hire of the block
// from the first on, in order, until fn returns false (the hires before
// first are only stepped over: a feed page starting inside a block makes
// no events it drops).
func (r *hireBlockRow) each(first int, fn func(i int, e schema.Event) bool) error {
	if len(r.hires) < len(hireVersion) || string(r.hires[:len(hireVersion)]) != hireVersion {
		return errBadHires
	}
	d := codec.NewDecoder(r.hires[len(hireVersion):])
	conn := d.String()
	for i := 0; i < r.n && !d.Bad(); i++ {
		id, ext, status := d.String(), d.String(), d.String()
		if d.Bad() {
			break
		}
		if i < first {
			continue
		}
		e := schema.Event{ID: hireID(r.id, i), Seq: r.seq + int64(i), TenantID: r.tenantID, Type: "employee.hired",
			Subject: id, Data: codec.EventData(id, ext, conn, status, nil), FileID: r.fileID, OccurredAt: r.occurredAt}
		if !fn(i, e) {
			return nil
		}
	}
	if d.Bad() {
		return errBadHires
	}
	return nil
}

const selectEvents = `SELECT id, seq, tenant_id, type, subject, data, coalesce(file_id, ''), occurred_at, n, hires FROM events`

// scanEvent reads one event row: the event, or the block of hires it
// holds (hires not nil).
func scanEvent(rows pgx.Rows) (schema.Event, hireBlockRow, error) {
	var e schema.Event
	var data string
	var r hireBlockRow
	if err := rows.Scan(&e.ID, &e.Seq, &e.TenantID, &e.Type, &e.Subject, &data, &e.FileID, &e.OccurredAt, &r.n, &r.hires); err != nil {
		return e, r, err
	}
	e.Data = []byte(data)
	r.id, r.tenantID, r.fileID, r.seq, r.occurredAt = e.ID, e.TenantID, e.FileID, e.Seq, e.OccurredAt
	return e, r, nil
}

// Events returns a tenant's change events after seq, in commit order. The
// block of hires afterSeq falls in, if any, may hold hires after it: the
// last row at or before afterSeq is read too (both halves walk the
// primary key), and its events up to afterSeq are dropped.
func (s *Store) Events(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]schema.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT * FROM (
(`+selectEvents+` WHERE tenant_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1)
UNION ALL
(`+selectEvents+` WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3)) AS e ORDER BY seq`,
		tenantID, afterSeq, limit)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	var out []schema.Event
	for len(out) < limit && rows.Next() {
		e, r, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		if r.hires == nil {
			if e.Seq > afterSeq {
				out = append(out, e)
			}
			continue
		}
		err = r.each(int(max(afterSeq-r.seq+1, 0)), func(_ int, e schema.Event) bool {
			out = append(out, e)
			return len(out) < limit
		})
		if err != nil {
			return nil, err
		}
	}
	return out, interpret(rows.Err())
}

// EventByID finds one event: the row with that id, or the hire it names
// in a block of hires.
func (s *Store) EventByID(ctx context.Context, tenantID, id string) (schema.Event, error) {
	ids := []string{id}
	blockID, i, isHire := hireIndex(id)
	if isHire && blockID != id {
		ids = append(ids, blockID)
	}
	rows, err := s.pool.Query(ctx, selectEvents+` WHERE tenant_id = $1 AND id = ANY($2)`, tenantID, ids)
	if err != nil {
		return schema.Event{}, interpret(err)
	}
	defer rows.Close()
	var found *schema.Event
	for rows.Next() {
		e, r, err := scanEvent(rows)
		if err != nil {
			return e, err
		}
		switch {
		case r.hires == nil && e.ID == id:
			found = &e
		case r.hires != nil && isHire && e.ID == blockID && i < r.n:
			err = r.each(i, func(_ int, e schema.Event) bool {
				found = &e
				return false
			})
			if err != nil {
				return e, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return schema.Event{}, interpret(err)
	}
	if found == nil {
		return schema.Event{}, schema.ErrNotFound
	}
	return *found, nil
}

// lastEventSeq is the SQL for the seq of a tenant's last event ($2).
const lastEventSeq = `(SELECT coalesce((SELECT seq + n - 1 FROM events WHERE tenant_id = $2 ORDER BY seq DESC LIMIT 1), 0))`
