package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
)

const selectEmployee = `SELECT tenant_id, id, external_id, coalesce(connection_id, ''), first_name, middle_name, last_name, preferred_name,
coalesce(date_of_birth, ''), gender, ssn_sealed, work_email, personal_email, phone, address_line1, address_line2, city, state, postal_code,
country, employment_status, employment_type, coalesce(hire_date, ''), coalesce(termination_date, ''), termination_reason, job_title,
department, location, manager_external_id, pay_frequency, coalesce(annual_salary, ''), salary_currency, coalesce(hourly_rate, ''),
coalesce(scheduled_hours, ''), benefit_class, custom_fields, missing_from_snapshot, content_hash, source_hash, created_at, updated_at FROM employees`

// insertEmployee and updateEmployee take the values of
// storeutil.WriteEmployee, then
// created_at and updated_at: an update sets every column but the key
// (tenant_id ?1, external_id ?3), id and created_at from the parameter
// of the column's position.
var (
	insertEmployee = `INSERT INTO employees (` + storeutil.EmployeeColumns + `) VALUES (` + strings.Repeat("?, ", 40) + `?)`
	updateEmployee = func() string {
		var set []string
		for i, c := range strings.Split(storeutil.EmployeeColumns, ",") {
			switch c = strings.TrimSpace(c); c {
			case "tenant_id", "id", "external_id", "created_at":
			default:
				set = append(set, fmt.Sprintf("%s = ?%d", c, i+1))
			}
		}
		return `UPDATE employees SET ` + strings.Join(set, ", ") + ` WHERE tenant_id = ?1 AND external_id = ?3`
	}()
)

// args collects a row's values as statement arguments
// (storeutil.Columns).
type args []any

func (a *args) Text(s string) { *a = append(*a, s) }
func (a *args) Opt(s string)  { *a = append(*a, nullString(s)) }
func (a *args) Bool(b bool)   { *a = append(*a, b) }
func (a *args) Int(n int64)   { *a = append(*a, n) }
func (a *args) Bytes(b []byte) {
	if b == nil {
		*a = append(*a, nil) // NULL
		return
	}
	*a = append(*a, b)
}

func (s *Store) scanEmployee(row scanner) (schema.Employee, error) {
	var r storeutil.EmployeeRow
	if err := row.Scan(r.Dest(func(t *time.Time) any { return timeCol{t} })...); err != nil {
		return schema.Employee{}, err
	}
	return r.Employee(s.box)
}

// Employees returns one page of a tenant's employees in id (or
// updated_at, id) order.
func (s *Store) Employees(ctx context.Context, tenantID string, q schema.EmployeeQuery) ([]schema.Employee, error) {
	if q.AfterID != "" && !schema.ValidID(q.AfterID) {
		return nil, nil // a cursor that is not an id ends the list, as on PostgreSQL
	}
	args := []any{tenantID}
	where, order := storeutil.EmployeeFilter(q, func(v any, _ string) string {
		if t, ok := v.(time.Time); ok {
			v = ts(t)
		}
		args = append(args, v)
		return "?"
	})
	rows, err := s.db.QueryContext(ctx, selectEmployee+` WHERE tenant_id = ? AND `+where+` ORDER BY `+order+` LIMIT ?`, append(args, q.Limit)...)
	return collectRows(rows, err, s.scanEmployee)
}

// Employee returns one of a tenant's employees by id.
func (s *Store) Employee(ctx context.Context, tenantID, id string) (schema.Employee, error) {
	e, err := s.scanEmployee(s.db.QueryRowContext(ctx, selectEmployee+` WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return e, interpret(err)
}

// ingest is one file's apply transaction. SQLite runs in-process, so
// writes go straight to the (write-locked) transaction.
type ingest struct {
	s    *Store
	tx   *sql.Tx
	file *schema.File
	now  any
	gen  int64 // Generation
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
	in := &ingest{s: s, tx: tx, file: f, now: ts(now())}
	if err := tx.QueryRowContext(ctx, `UPDATE tenants SET ingests = ingests + 1 WHERE id = ? RETURNING ingests`, f.TenantID).Scan(&in.gen); err != nil {
		tx.Rollback() //nolint:errcheck
		return nil, interpret(err)
	}
	return in, nil
}

// Generation numbers the tenant's ingests.
func (in *ingest) Generation() int64 { return in.gen }

// Baseline reports whether the connection has no applied file yet.
func (in *ingest) Baseline(ctx context.Context, kind string) (bool, error) {
	var applied bool
	err := in.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE connection_id = ?1 AND id <> ?2
AND status IN ('applied', 'applied_with_errors', 'replayed') AND (?3 = '' OR layout IN (?3, ?3 || '/delta')))`, in.file.ConnectionID, in.file.ID, kind).Scan(&applied)
	return !applied, interpret(err)
}

// EmployeeIndex streams the tenant's employees.
func (in *ingest) EmployeeIndex(ctx context.Context, size func(int), fn func(schema.IndexEntry) error) error {
	var n int
	if err := in.tx.QueryRowContext(ctx, `SELECT count(*) FROM employees WHERE tenant_id = ?`, in.file.TenantID).Scan(&n); err != nil {
		return err
	}
	size(n)
	rows, err := in.tx.QueryContext(ctx, `SELECT external_id, content_hash, source_hash, connection_id IS ?, missing_from_snapshot
FROM employees WHERE tenant_id = ?`, nullString(in.file.ConnectionID), in.file.TenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var e schema.IndexEntry
	var hash, source int64
	for rows.Next() {
		if err := rows.Scan(&e.ExternalID, &hash, &source, &e.SameConnection, &e.Missing); err != nil {
			return err
		}
		e.Hash, e.SourceHash = uint64(hash), uint64(source)
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EmployeesByExternalID loads stored employees.
func (in *ingest) EmployeesByExternalID(ctx context.Context, ids []string) ([]schema.Employee, error) {
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := in.tx.QueryContext(ctx, selectEmployee+` WHERE tenant_id = ? AND external_id IN (SELECT value FROM json_each(?))`, in.file.TenantID, string(list))
	return collectRows(rows, err, in.s.scanEmployee)
}

// InsertEmployees adds new employees.
func (in *ingest) InsertEmployees(ctx context.Context, es []*schema.Employee) error {
	return in.writeEmployees(ctx, insertEmployee, es)
}

// UpdateEmployees replaces changed employees.
func (in *ingest) UpdateEmployees(ctx context.Context, es []*schema.Employee) error {
	return in.writeEmployees(ctx, updateEmployee, es)
}

func (in *ingest) writeEmployees(ctx context.Context, q string, es []*schema.Employee) error {
	if len(es) == 0 {
		return nil
	}
	stmt, err := in.tx.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, e := range es {
		var a args
		if err := storeutil.WriteEmployee(in.s.box, e, &a); err != nil {
			return err
		}
		res, err := stmt.ExecContext(ctx, append(a, in.now, in.now)...)
		if err == nil {
			if n, _ := res.RowsAffected(); n != 1 {
				err = schema.ErrNotFound
			}
		}
		if err != nil {
			return fmt.Errorf("write employee %s: %w", e.ExternalID, interpret(err))
		}
	}
	return nil
}

// SetSourceHashes records raw-record hashes of unchanged employees.
func (in *ingest) SetSourceHashes(ctx context.Context, ids []string, sources []uint64) error {
	for i := range ids {
		if _, err := in.tx.ExecContext(ctx, `UPDATE employees SET source_hash = ? WHERE tenant_id = ? AND external_id = ?`,
			int64(sources[i]), in.file.TenantID, ids[i]); err != nil {
			return interpret(err)
		}
	}
	return nil
}

// EmployeeID resolves an employee's external id.
func (in *ingest) EmployeeID(ctx context.Context, ext string) (string, error) {
	var id string
	err := in.tx.QueryRowContext(ctx, `SELECT id FROM employees WHERE tenant_id = ? AND external_id = ?`, in.file.TenantID, ext).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s: %w", ext, schema.ErrNoEmployee)
	}
	return id, err
}

// AppendEvents numbers events after the tenant's last and inserts them.
func (in *ingest) AppendEvents(ctx context.Context, es []schema.Event) error {
	for i := range es {
		e := &es[i]
		e.TenantID, e.FileID = in.file.TenantID, in.file.ID
		if err := appendEvent(ctx, in.tx, e, in.now); err != nil {
			return err
		}
	}
	return nil
}

// appendEvent numbers e after its tenant's last event and inserts it
// (SQLite's one writer at a time keeps the numbering gap-free).
func appendEvent(ctx context.Context, tx *sql.Tx, e *schema.Event, at any) error {
	if e.ID == "" {
		e.ID = schema.NewID()
	}
	var occurred string
	err := tx.QueryRowContext(ctx, `INSERT INTO events (tenant_id, seq, id, type, subject, data, file_id, occurred_at)
VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM events WHERE tenant_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7) RETURNING seq, occurred_at`,
		e.TenantID, e.ID, e.Type, e.Subject, string(e.Data), nullString(e.FileID), at).Scan(&e.Seq, &occurred)
	if err != nil {
		return interpret(err)
	}
	return timeCol{&e.OccurredAt}.Scan(occurred)
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
