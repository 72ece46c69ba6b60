package postgres

import (
	"context"
	"strconv"
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
	if q.AfterID != "" && !schema.ValidID(q.AfterID) || q.ConnectionID != "" && !schema.ValidID(q.ConnectionID) {
		return nil, nil // no employee has such an id: an empty page
	}
	sql, args := employeePage(tenantID, q)
	rows, _ := s.pool.Query(ctx, sql, args...)
	es, err := pgx.AppendRows(make([]schema.Employee, 0, min(max(q.Limit, 0), maxPage)), rows, s.scanEmployee)
	return es, interpret(err)
}

// employeePage is the query of a page of employees and its arguments.
func employeePage(tenantID string, q schema.EmployeeQuery) (string, []any) {
	args := []any{tenantID, q.Limit}
	where, order := storeutil.EmployeeFilter(q, func(v any, typ string) string {
		args = append(args, v)
		if typ == "" {
			return "$" + strconv.Itoa(len(args))
		}
		return "$" + strconv.Itoa(len(args)) + "::" + typ
	})
	return selectEmployee + ` WHERE tenant_id = $1 AND ` + where + ` ORDER BY ` + order + ` LIMIT $2`, args
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
