package sqlite

import (
	"context"
	"database/sql"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

const selectEmployee = `SELECT id, tenant_id, external_id, coalesce(connection_id, ''), missing_from_snapshot, data, ssn_sealed, created_at, updated_at FROM employees`

func (s *Store) scanEmployee(row scanner) (schema.Employee, error) {
	var id, tenant, ext, conn, data string
	var missing bool
	var ssn []byte
	var e schema.Employee
	var err error
	if err = row.Scan(&id, &tenant, &ext, &conn, &missing, &data, &ssn, timeCol{&e.CreatedAt}, timeCol{&e.UpdatedAt}); err != nil {
		return e, err
	}
	created, updated := e.CreatedAt, e.UpdatedAt
	e, err = codec.DecodeEmployee(s.box, []byte(data), ssn)
	e.ID, e.TenantID, e.ExternalID, e.ConnectionID = id, tenant, ext, conn
	e.MissingFromSnapshot, e.CreatedAt, e.UpdatedAt = missing, created, updated
	return e, err
}

// Employees returns one page of a tenant's employees in id order.
func (s *Store) Employees(ctx context.Context, tenantID string, q schema.EmployeeQuery) ([]schema.Employee, error) {
	rows, err := s.db.QueryContext(ctx, selectEmployee+` WHERE tenant_id = ? AND id > ?
AND (?3 = '' OR employment_status = ?3) AND (?4 IS NULL OR updated_at >= ?4) ORDER BY id LIMIT ?5`,
		tenantID, q.AfterID, q.EmploymentStatus, ts(q.UpdatedSince), q.Limit)
	return collectRows(rows, err, s.scanEmployee)
}

// Employee returns one of a tenant's employees by id.
func (s *Store) Employee(ctx context.Context, tenantID, id string) (schema.Employee, error) {
	e, err := s.scanEmployee(s.db.QueryRowContext(ctx, selectEmployee+` WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return e, interpret(err)
}

// Events returns a tenant's change events after seq, in commit order.
func (s *Store) Events(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]schema.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, seq, tenant_id, type, subject, data, coalesce(file_id, ''), occurred_at
FROM events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`, tenantID, afterSeq, limit)
	return collectRows(rows, err, func(row scanner) (schema.Event, error) {
		var e schema.Event
		var data string
		err := row.Scan(&e.ID, &e.Seq, &e.TenantID, &e.Type, &e.Subject, &data, &e.FileID, timeCol{&e.OccurredAt})
		e.Data = []byte(data)
		return e, err
	})
}

// ingest is one file's apply transaction.
type ingest struct {
	s    *Store
	tx   *sql.Tx
	file *schema.File
}

// BeginIngest opens the apply transaction (taking SQLite's write lock) and
// claims the file's (connection, sha256) slot inside it.
func (s *Store) BeginIngest(ctx context.Context, f *schema.File) (schema.Ingest, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	prepareFile(f)
	f.Status = schema.FileProcessing
	if _, err := tx.ExecContext(ctx, insertFile, fileArgs(f)...); err != nil {
		tx.Rollback() //nolint:errcheck
		return nil, interpret(err)
	}
	return &ingest{s: s, tx: tx, file: f}, nil
}

const upsertEmployee = `INSERT INTO employees (id, tenant_id, external_id, connection_id, employment_status, employment_type,
department, location, hire_date, termination_date, missing_from_snapshot, content_hash, data, ssn_sealed, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?12, ?13, ?14, ?15)
ON CONFLICT (tenant_id, external_id) DO UPDATE SET connection_id = excluded.connection_id,
employment_status = excluded.employment_status, employment_type = excluded.employment_type,
department = excluded.department, location = excluded.location, hire_date = excluded.hire_date,
termination_date = excluded.termination_date, missing_from_snapshot = 0, content_hash = excluded.content_hash,
data = excluded.data, ssn_sealed = excluded.ssn_sealed, updated_at = excluded.updated_at`

const insertEvent = `INSERT INTO events (id, tenant_id, type, subject, data, file_id, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?)`

// PutEmployee creates or updates e and writes its change events.
func (in *ingest) PutEmployee(ctx context.Context, e *schema.Employee) (schema.Change, error) {
	old, err := in.s.scanEmployee(in.tx.QueryRowContext(ctx, selectEmployee+` WHERE tenant_id = ? AND external_id = ?`, e.TenantID, e.ExternalID))
	var prev *schema.Employee
	switch err {
	case nil:
		prev = &old
		if old.ContentHash() == e.ContentHash() && !old.MissingFromSnapshot && old.ConnectionID == e.ConnectionID {
			*e = old
			return schema.Unchanged, nil
		}
		e.ID, e.CreatedAt = old.ID, old.CreatedAt
	case sql.ErrNoRows:
		e.ID, e.CreatedAt = codec.NewID(), now()
	default:
		return 0, err
	}
	e.UpdatedAt = now()
	enc, err := codec.EncodeEmployee(in.s.box, e)
	if err != nil {
		return 0, err
	}
	_, err = in.tx.ExecContext(ctx, upsertEmployee, e.ID, e.TenantID, e.ExternalID, nullString(e.ConnectionID), e.EmploymentStatus, e.EmploymentType,
		e.Department, e.Location, e.HireDate, e.TerminationDate, enc.Hash, string(enc.Data), enc.SSNSealed, ts(e.CreatedAt), ts(e.UpdatedAt))
	if err != nil {
		return 0, interpret(err)
	}
	types, changed := schema.EmployeeEventTypes(prev, e)
	for _, typ := range types {
		if _, err := in.tx.ExecContext(ctx, insertEvent, codec.NewID(), e.TenantID, typ, e.ID, string(codec.EventData(e, changed)), in.file.ID, ts(e.UpdatedAt)); err != nil {
			return 0, err
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
	if _, err := in.tx.ExecContext(ctx, updateFile, fileUpdateArgs(f)...); err != nil {
		in.tx.Rollback() //nolint:errcheck
		return interpret(err)
	}
	return in.tx.Commit()
}

// Rollback discards the transaction.
func (in *ingest) Rollback(context.Context) error { return in.tx.Rollback() }
