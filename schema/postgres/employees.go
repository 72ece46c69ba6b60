package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

const selectEmployee = `SELECT id, tenant_id, external_id, coalesce(connection_id::text, ''), missing_from_snapshot, employment_status,
employment_type, department, location, hire_date, termination_date, data, record, ssn_sealed, created_at, updated_at FROM employees`

// scanEmployee reads a selectEmployee row: the record (or, written before
// migration 010, the JSON) with the columns over it.
func (s *Store) scanEmployee(row pgx.CollectableRow) (schema.Employee, error) {
	var id, tenant, ext, conn, status, typ, dept, loc, hire, term string
	var data *string
	var missing bool
	var record, ssn []byte
	var created, updated time.Time
	if err := row.Scan(&id, &tenant, &ext, &conn, &missing, &status, &typ, &dept, &loc, &hire, &term, &data, &record, &ssn, &created, &updated); err != nil {
		return schema.Employee{}, err
	}
	var js []byte
	if data != nil {
		js = []byte(*data)
	}
	e, err := codec.DecodeEmployee(s.box, js, record, ssn)
	e.ID, e.TenantID, e.ExternalID, e.ConnectionID = id, tenant, ext, conn
	e.EmploymentStatus, e.EmploymentType, e.Department, e.Location, e.HireDate, e.TerminationDate = status, typ, dept, loc, hire, term
	e.MissingFromSnapshot, e.CreatedAt, e.UpdatedAt = missing, created, updated
	return e, err
}

// Employees returns one page of a tenant's employees in id (or
// updated_at, id) order.
func (s *Store) Employees(ctx context.Context, tenantID string, q schema.EmployeeQuery) ([]schema.Employee, error) {
	if !codec.ValidID(tenantID) {
		return nil, nil
	}
	after, order := "($2::uuid IS NULL OR id > $2)", "id"
	args := []any{tenantID, idParam(q.AfterID, maxUUID), q.EmploymentStatus, tsPtr(q.UpdatedSince), q.Limit,
		q.EmploymentType, q.Department, q.Location, q.ExternalID, idParam(q.ConnectionID, nilUUID), q.HiredAfter, q.TerminatedAfter}
	if q.ByUpdated {
		after, order = "($2::uuid IS NULL OR (updated_at, id) > ($13, $2))", "updated_at, id"
		args = append(args, q.AfterUpdated)
	}
	rows, _ := s.pool.Query(ctx, selectEmployee+` WHERE tenant_id = $1 AND `+after+`
AND ($3 = '' OR employment_status = $3) AND ($4::timestamptz IS NULL OR updated_at >= $4)
AND ($6 = '' OR employment_type = $6) AND ($7 = '' OR department = $7) AND ($8 = '' OR location = $8)
AND ($9 = '' OR external_id = $9) AND ($10::uuid IS NULL OR connection_id = $10)
AND ($11 = '' OR (hire_date <> '' AND hire_date > $11)) AND ($12 = '' OR (termination_date <> '' AND termination_date > $12))
ORDER BY `+order+` LIMIT $5`, args...)
	// A page is filled in place: growing it employee by employee copied
	// each one about twice, a fifth of serving a page.
	es, err := pgx.AppendRows(make([]schema.Employee, 0, min(max(q.Limit, 0), maxPage)), rows, s.scanEmployee)
	return es, interpret(err)
}

// Employee returns one of a tenant's employees by id.
func (s *Store) Employee(ctx context.Context, tenantID, id string) (schema.Employee, error) {
	if !codec.ValidID(tenantID) || !codec.ValidID(id) {
		return schema.Employee{}, schema.ErrNotFound // no row has such a key
	}
	rows, _ := s.pool.Query(ctx, selectEmployee+` WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	e, err := pgx.CollectExactlyOneRow(rows, s.scanEmployee)
	return e, interpret(err)
}

// idParam is the uuid parameter for an id from a request: NULL for none,
// notAnID for a string that is not a UUID. notAnID is maxUUID for a
// cursor (an empty page follows) and nilUUID, which no row has, for a
// filter. The keys of employees, dependents and enrollments are uuid
// (migration 011), and passing on a string that is not one would fail
// the query.
func idParam(id, notAnID string) any {
	if id == "" {
		return nil
	}
	if !codec.ValidID(id) {
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
