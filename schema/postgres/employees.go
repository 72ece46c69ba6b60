package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
)

const selectEmployee = `SELECT tenant_id::text, id::text, external_id, coalesce(connection_id::text, ''), first_name, middle_name, last_name,
preferred_name, coalesce(date_of_birth::text, ''), gender, ssn_sealed, work_email, personal_email, phone, address_line1, address_line2,
city, state, postal_code, country, employment_status, employment_type, coalesce(hire_date::text, ''), coalesce(termination_date::text, ''),
termination_reason, job_title, department, location, manager_external_id, pay_frequency, coalesce(annual_salary::text, ''),
salary_currency, coalesce(hourly_rate::text, ''), coalesce(scheduled_hours::text, ''), benefit_class, custom_fields,
missing_from_snapshot, content_hash, source_hash, created_at, updated_at FROM employees`

// writeEmployee appends e as a COPY row of storeutil.EmployeeColumns.
func (s *Store) writeEmployee(c *copyRows, e *schema.Employee, now time.Time) error {
	if err := storeutil.WriteEmployee(s.box, e, c); err != nil {
		return err
	}
	c.time(now)
	c.time(now)
	c.end()
	return nil
}

// scanEmployee reads a selectEmployee row.
func (s *Store) scanEmployee(row pgx.CollectableRow) (schema.Employee, error) {
	var r storeutil.EmployeeRow
	if err := row.Scan(r.Dest(func(t *time.Time) any { return t })...); err != nil {
		return schema.Employee{}, err
	}
	return r.Employee(s.box)
}

// Employees returns one page of a tenant's employees in id (or
// updated_at, id) order.
func (s *Store) Employees(ctx context.Context, tenantID string, q schema.EmployeeQuery) ([]schema.Employee, error) {
	if !schema.ValidID(tenantID) {
		return nil, nil
	}
	after, order := "($2::uuid IS NULL OR id > $2)", "id"
	args := []any{tenantID, idParam(q.AfterID, maxUUID), q.EmploymentStatus, tsPtr(q.UpdatedSince), q.Limit,
		q.EmploymentType, q.Department, q.Location, q.ExternalID, idParam(q.ConnectionID, nilUUID), nullable(q.HiredAfter), nullable(q.TerminatedAfter)}
	if q.ByUpdated {
		after, order = "($2::uuid IS NULL OR (updated_at, id) > ($13, $2))", "updated_at, id"
		args = append(args, q.AfterUpdated)
	}
	rows, _ := s.pool.Query(ctx, selectEmployee+` WHERE tenant_id = $1 AND `+after+`
AND ($3 = '' OR employment_status = $3) AND ($4::timestamptz IS NULL OR updated_at >= $4)
AND ($6 = '' OR employment_type = $6) AND ($7 = '' OR department = $7) AND ($8 = '' OR location = $8)
AND ($9 = '' OR external_id = $9) AND ($10::uuid IS NULL OR connection_id = $10)
AND ($11::date IS NULL OR hire_date > $11) AND ($12::date IS NULL OR termination_date > $12)
ORDER BY `+order+` LIMIT $5`, args...)
	es, err := pgx.AppendRows(make([]schema.Employee, 0, min(max(q.Limit, 0), maxPage)), rows, s.scanEmployee)
	return es, interpret(err)
}

// Employee returns one of a tenant's employees by id.
func (s *Store) Employee(ctx context.Context, tenantID, id string) (schema.Employee, error) {
	if !schema.ValidID(tenantID) || !schema.ValidID(id) {
		return schema.Employee{}, schema.ErrNotFound // no row has such a key
	}
	rows, _ := s.pool.Query(ctx, selectEmployee+` WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	e, err := pgx.CollectExactlyOneRow(rows, s.scanEmployee)
	return e, interpret(err)
}

// idParam is the uuid parameter for an id from a request: NULL for none,
// notAnID for a string that is not a UUID (maxUUID for a cursor: an
// empty page follows; nilUUID, which no row has, for a filter), since
// passing on a string that is not a UUID would fail the query.
func idParam(id, notAnID string) any {
	if id == "" {
		return nil
	}
	if !schema.ValidID(id) {
		return notAnID
	}
	return id
}

// maxPage bounds the room made for a page before its rows are read.
const maxPage = 1000

const (
	nilUUID = "00000000-0000-0000-0000-000000000000"
	maxUUID = "ffffffff-ffff-ffff-ffff-ffffffffffff"
)
