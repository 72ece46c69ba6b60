package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
)

// employeeColumns are the employees columns in the order rows are written
// (COPY) and read (selectEmployee).
const employeeColumns = `tenant_id, id, external_id, connection_id, first_name, middle_name, last_name, preferred_name,
date_of_birth, gender, ssn_sealed, work_email, personal_email, phone, address_line1, address_line2, city, state, postal_code, country,
employment_status, employment_type, hire_date, termination_date, termination_reason, job_title, department, location,
manager_external_id, pay_frequency, annual_salary, salary_currency, hourly_rate, scheduled_hours, benefit_class, custom_fields,
missing_from_snapshot, content_hash, source_hash, created_at, updated_at`

const selectEmployee = `SELECT tenant_id::text, id::text, external_id, coalesce(connection_id::text, ''), first_name, middle_name, last_name,
preferred_name, coalesce(date_of_birth::text, ''), gender, ssn_sealed, work_email, personal_email, phone, address_line1, address_line2,
city, state, postal_code, country, employment_status, employment_type, coalesce(hire_date::text, ''), coalesce(termination_date::text, ''),
termination_reason, job_title, department, location, manager_external_id, pay_frequency, coalesce(annual_salary::text, ''),
salary_currency, coalesce(hourly_rate::text, ''), coalesce(scheduled_hours::text, ''), benefit_class, custom_fields,
missing_from_snapshot, content_hash, source_hash, created_at, updated_at FROM employees`

// writeEmployee appends e as a COPY row of employeeColumns.
func (s *Store) writeEmployee(c *copyRows, e *schema.Employee, now time.Time) error {
	ssn, err := storeutil.Seal(s.box, e.SSN)
	if err != nil {
		return err
	}
	custom, err := customJSON(e.CustomFields)
	if err != nil {
		return err
	}
	var addr schema.Address
	if e.HomeAddress != nil {
		addr = *e.HomeAddress
	}
	var salary schema.Money
	if e.AnnualSalary != nil {
		salary = *e.AnnualSalary
	}
	c.text(e.TenantID)
	c.opt(e.ID) // an update is keyed by external id
	c.text(e.ExternalID)
	c.opt(e.ConnectionID)
	for _, v := range [...]string{e.FirstName, e.MiddleName, e.LastName, e.PreferredName} {
		c.text(v)
	}
	c.opt(e.DateOfBirth)
	c.text(e.Gender)
	c.bytes(ssn)
	for _, v := range [...]string{e.WorkEmail, e.PersonalEmail, e.Phone, addr.Line1, addr.Line2, addr.City, addr.State, addr.PostalCode, addr.Country,
		e.EmploymentStatus, e.EmploymentType} {
		c.text(v)
	}
	c.opt(e.HireDate)
	c.opt(e.TerminationDate)
	for _, v := range [...]string{e.TerminationReason, e.JobTitle, e.Department, e.Location, e.ManagerExternalID, e.PayFrequency} {
		c.text(v)
	}
	c.opt(salary.Amount)
	c.text(salary.Currency)
	c.opt(e.HourlyRate)
	c.opt(e.ScheduledHours)
	c.text(e.BenefitClass)
	c.opt(custom)
	c.bool(e.MissingFromSnapshot)
	c.int(int64(e.Hash))
	c.int(int64(e.SourceHash))
	c.time(now)
	c.time(now)
	c.end()
	return nil
}

// customJSON is the custom_fields column: JSON, "" (NULL) for none.
func customJSON(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// scanEmployee reads a selectEmployee row.
func (s *Store) scanEmployee(row pgx.CollectableRow) (schema.Employee, error) {
	var e schema.Employee
	var a schema.Address
	var m schema.Money
	var ssn, custom []byte
	var hash, source int64
	err := row.Scan(&e.TenantID, &e.ID, &e.ExternalID, &e.ConnectionID, &e.FirstName, &e.MiddleName, &e.LastName, &e.PreferredName,
		&e.DateOfBirth, &e.Gender, &ssn, &e.WorkEmail, &e.PersonalEmail, &e.Phone, &a.Line1, &a.Line2, &a.City, &a.State, &a.PostalCode, &a.Country,
		&e.EmploymentStatus, &e.EmploymentType, &e.HireDate, &e.TerminationDate, &e.TerminationReason, &e.JobTitle, &e.Department, &e.Location,
		&e.ManagerExternalID, &e.PayFrequency, &m.Amount, &m.Currency, &e.HourlyRate, &e.ScheduledHours, &e.BenefitClass, &custom,
		&e.MissingFromSnapshot, &hash, &source, &e.CreatedAt, &e.UpdatedAt)
	if err != nil {
		return e, err
	}
	e.Hash, e.SourceHash = uint64(hash), uint64(source)
	if !a.IsZero() {
		e.HomeAddress = &a
	}
	if m != (schema.Money{}) {
		e.AnnualSalary = &m
	}
	if custom != nil {
		if err := json.Unmarshal(custom, &e.CustomFields); err != nil {
			return e, fmt.Errorf("employee %s: custom fields: %w", e.ExternalID, err)
		}
	}
	e.SSN, err = storeutil.Open(s.box, ssn)
	return e, err
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
