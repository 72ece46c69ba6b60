package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

// ingest is one file's apply transaction.
type ingest struct {
	s    *Store
	tx   pgx.Tx
	file *schema.File
}

// BeginIngest opens the apply transaction and claims the file's
// (connection, sha256) slot inside it.
func (s *Store) BeginIngest(ctx context.Context, f *schema.File) (schema.Ingest, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	prepareFile(f)
	f.Status = schema.FileProcessing
	if _, err := tx.Exec(ctx, insertFile, fileArgs(f)...); err != nil {
		tx.Rollback(ctx) //nolint:errcheck
		return nil, interpret(err)
	}
	return &ingest{s: s, tx: tx, file: f}, nil
}

const lockEmployee = selectEmployee + ` WHERE tenant_id = $1 AND external_id = $2 FOR UPDATE`

const upsertEmployee = `INSERT INTO employees (id, tenant_id, external_id, connection_id, employment_status, employment_type,
department, location, hire_date, termination_date, missing_from_snapshot, content_hash, data, ssn_sealed, created_at, updated_at)
VALUES ($1, $2, $3, nullif($4, ''), $5, $6, $7, $8, $9, $10, false, $11, $12, $13, $14, $14)
ON CONFLICT (tenant_id, external_id) DO UPDATE SET connection_id = excluded.connection_id,
employment_status = excluded.employment_status, employment_type = excluded.employment_type,
department = excluded.department, location = excluded.location, hire_date = excluded.hire_date,
termination_date = excluded.termination_date, missing_from_snapshot = false, content_hash = excluded.content_hash,
data = excluded.data, ssn_sealed = excluded.ssn_sealed, updated_at = excluded.updated_at`

const insertEvent = `INSERT INTO events (id, tenant_id, type, subject, data, file_id, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`

// PutEmployee creates or updates e and writes its change events.
func (in *ingest) PutEmployee(ctx context.Context, e *schema.Employee) (schema.Change, error) {
	rows, _ := in.tx.Query(ctx, lockEmployee, e.TenantID, e.ExternalID)
	old, err := pgx.CollectExactlyOneRow(rows, in.s.scanEmployee)
	var prev *schema.Employee
	switch err {
	case nil:
		prev = &old
		if old.ContentHash() == e.ContentHash() && !old.MissingFromSnapshot && old.ConnectionID == e.ConnectionID {
			*e = old
			return schema.Unchanged, nil
		}
		e.ID, e.CreatedAt = old.ID, old.CreatedAt
	case pgx.ErrNoRows:
		e.ID, e.CreatedAt = codec.NewID(), now()
	default:
		return 0, fmt.Errorf("load employee %s: %w", e.ExternalID, err)
	}
	e.UpdatedAt = now()
	enc, err := codec.EncodeEmployee(in.s.box, e)
	if err != nil {
		return 0, err
	}
	_, err = in.tx.Exec(ctx, upsertEmployee, e.ID, e.TenantID, e.ExternalID, e.ConnectionID, e.EmploymentStatus, e.EmploymentType,
		e.Department, e.Location, e.HireDate, e.TerminationDate, enc.Hash, string(enc.Data), enc.SSNSealed, e.UpdatedAt)
	if err != nil {
		return 0, fmt.Errorf("upsert employee %s: %w", e.ExternalID, interpret(err))
	}
	types, changed := schema.EmployeeEventTypes(prev, e)
	for _, typ := range types {
		if _, err := in.tx.Exec(ctx, insertEvent, codec.NewID(), e.TenantID, typ, e.ID, string(codec.EventData(e, changed)), in.file.ID, e.UpdatedAt); err != nil {
			return 0, fmt.Errorf("write event: %w", err)
		}
	}
	if prev == nil {
		return schema.Created, nil
	}
	return schema.Updated, nil
}

// PutRecordError keeps one rejected row.
func (in *ingest) PutRecordError(ctx context.Context, re schema.RecordError) error {
	return interpret(putRecordError(ctx, in.tx, in.file, re))
}

// Commit stores the file's outcome and commits everything.
func (in *ingest) Commit(ctx context.Context, f *schema.File) error {
	if _, err := in.tx.Exec(ctx, updateFile, fileUpdateArgs(f)...); err != nil {
		in.tx.Rollback(ctx) //nolint:errcheck
		return interpret(err)
	}
	return in.tx.Commit(ctx)
}

// Rollback discards the transaction.
func (in *ingest) Rollback(ctx context.Context) error { return in.tx.Rollback(ctx) }
