package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
	e, err = codec.DecodeEmployee(s.box, []byte(data), nil, ssn)
	e.ID, e.TenantID, e.ExternalID, e.ConnectionID = id, tenant, ext, conn
	e.MissingFromSnapshot, e.CreatedAt, e.UpdatedAt = missing, created, updated
	return e, err
}

// Employees returns one page of a tenant's employees in id (or
// updated_at, id) order.
func (s *Store) Employees(ctx context.Context, tenantID string, q schema.EmployeeQuery) ([]schema.Employee, error) {
	if q.AfterID != "" && !codec.ValidID(q.AfterID) {
		return nil, nil // a cursor that is not an id ends the list, as on PostgreSQL
	}
	after, order := "id > ?2", "id"
	args := []any{tenantID, q.AfterID, q.EmploymentStatus, ts(q.UpdatedSince), q.Limit,
		q.EmploymentType, q.Department, q.Location, q.ExternalID, q.ConnectionID, q.HiredAfter, q.TerminatedAfter}
	if q.ByUpdated {
		after, order = "(?2 = '' OR (updated_at, id) > (?13, ?2))", "updated_at, id"
		args = append(args, ts(q.AfterUpdated))
	}
	rows, err := s.db.QueryContext(ctx, selectEmployee+` WHERE tenant_id = ?1 AND `+after+`
AND (?3 = '' OR employment_status = ?3) AND (?4 IS NULL OR updated_at >= ?4)
AND (?6 = '' OR employment_type = ?6) AND (?7 = '' OR department = ?7) AND (?8 = '' OR location = ?8)
AND (?9 = '' OR external_id = ?9) AND (?10 = '' OR connection_id = ?10)
AND (?11 = '' OR (hire_date <> '' AND hire_date > ?11)) AND (?12 = '' OR (termination_date <> '' AND termination_date > ?12))
ORDER BY `+order+` LIMIT ?5`, args...)
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

// ingest is one file's apply transaction. SQLite runs in-process, so
// writes go straight to the (write-locked) transaction.
type ingest struct {
	s       *Store
	tx      *sql.Tx
	file    *schema.File
	now     any
	nEvents int
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
	return &ingest{s: s, tx: tx, file: f, now: ts(now())}, nil
}

// Index streams the tenant's employees.
func (in *ingest) Index(ctx context.Context, fn func(schema.IndexEntry) error) error {
	rows, err := in.tx.QueryContext(ctx, `SELECT external_id, substr(content_hash, 1, 16), coalesce(connection_id, ''), missing_from_snapshot, source_hash FROM employees WHERE tenant_id = ?`, in.file.TenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var e schema.IndexEntry
	for rows.Next() {
		if err := rows.Scan(&e.ExternalID, &e.ContentHash, &e.ConnectionID, &e.Missing, &e.SourceHash); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

const insertEvent = `INSERT INTO events (id, tenant_id, type, subject, data, file_id, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?)`

func (in *ingest) event(ctx context.Context, typ, subject string, data []byte) error {
	in.nEvents++
	_, err := in.tx.ExecContext(ctx, insertEvent, codec.NewID(), in.file.TenantID, typ, subject, string(data), in.file.ID, in.now)
	return err
}

// Events is the number of events written so far.
func (in *ingest) Events() int { return in.nEvents }

const insertEmployee = `INSERT INTO employees (id, tenant_id, external_id, connection_id, employment_status, employment_type,
department, location, hire_date, termination_date, missing_from_snapshot, content_hash, data, ssn_sealed, created_at, updated_at, source_hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`

// Insert adds a new employee and its hire event.
func (in *ingest) Insert(ctx context.Context, e *schema.Employee, enc schema.Encoded) error {
	p, err := codec.NewPending(in.s.box, e, enc, schema.AppendContentJSON(make([]byte, 0, 640), e))
	if err != nil {
		return err
	}
	p.ID = codec.NewID()
	_, err = in.tx.ExecContext(ctx, insertEmployee, p.ID, in.file.TenantID, p.ExternalID, nullString(p.ConnectionID), p.Status, p.Type,
		p.Department, p.Location, p.HireDate, p.TerminationDate, p.Hash, string(p.Data), p.SSNSealed, in.now, in.now, p.Source)
	if err != nil {
		return fmt.Errorf("insert employee %s: %w", p.ExternalID, interpret(err))
	}
	return in.event(ctx, "employee.hired", p.ID, codec.EventData(p.ID, p.ExternalID, p.ConnectionID, p.Status, nil))
}

const updateEmployee = `UPDATE employees SET connection_id = ?, employment_status = ?, employment_type = ?, department = ?,
location = ?, hire_date = ?, termination_date = ?, missing_from_snapshot = 0, content_hash = ?, data = ?,
ssn_sealed = ?, updated_at = ?, source_hash = ? WHERE tenant_id = ? AND external_id = ?`

// SetSource records an unchanged employee's source hash.
func (in *ingest) SetSource(ctx context.Context, externalID, source string) error {
	_, err := in.tx.ExecContext(ctx, `UPDATE employees SET source_hash = ? WHERE tenant_id = ? AND external_id = ?`, source, in.file.TenantID, externalID)
	return interpret(err)
}

// Update replaces a changed employee and writes its change events.
func (in *ingest) Update(ctx context.Context, e *schema.Employee, enc schema.Encoded) error {
	p, err := codec.NewPending(in.s.box, e, enc, schema.AppendContentJSON(make([]byte, 0, 640), e))
	if err != nil {
		return err
	}
	old, err := in.s.scanEmployee(in.tx.QueryRowContext(ctx, selectEmployee+` WHERE tenant_id = ? AND external_id = ?`, in.file.TenantID, p.ExternalID))
	if err != nil {
		return fmt.Errorf("load employee %s: %w", p.ExternalID, interpret(err))
	}
	_, err = in.tx.ExecContext(ctx, updateEmployee, nullString(p.ConnectionID), p.Status, p.Type, p.Department, p.Location,
		p.HireDate, p.TerminationDate, p.Hash, string(p.Data), p.SSNSealed, in.now, p.Source, in.file.TenantID, p.ExternalID)
	if err != nil {
		return fmt.Errorf("update employee %s: %w", p.ExternalID, interpret(err))
	}
	for _, ev := range codec.UpdateEvents(&old, old.ID, &p) {
		if err := in.event(ctx, ev.Type, ev.Subject, ev.Data); err != nil {
			return err
		}
	}
	return nil
}

// MarkMissing flags or terminates employees absent from a full snapshot.
func (in *ingest) MarkMissing(ctx context.Context, externalIDs []string, terminate bool, date string) error {
	q := `UPDATE employees SET missing_from_snapshot = 1, updated_at = ?3
WHERE tenant_id = ?1 AND external_id = ?2 AND NOT missing_from_snapshot
RETURNING id, external_id, coalesce(connection_id, ''), employment_status`
	typ := "employee.missing_from_snapshot"
	if terminate {
		q = `UPDATE employees SET missing_from_snapshot = 1, updated_at = ?3, employment_status = 'terminated',
termination_date = ?4, content_hash = '',
data = json_set(data, '$.employment_status', 'terminated', '$.termination_date', ?4)
WHERE tenant_id = ?1 AND external_id = ?2 AND NOT missing_from_snapshot
RETURNING id, external_id, coalesce(connection_id, ''), employment_status`
		typ = "employee.terminated"
	}
	stmt, err := in.tx.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, ext := range externalIDs {
		var id, e, conn, status string
		err := stmt.QueryRowContext(ctx, in.file.TenantID, ext, in.now, date).Scan(&id, &e, &conn, &status)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		if err := in.event(ctx, typ, id, codec.EventData(id, e, conn, status, []string{"missing_from_snapshot"})); err != nil {
			return err
		}
	}
	return nil
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
