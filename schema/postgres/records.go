package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

// employeeID resolves an employee's external id inside the transaction.
func (in *ingest) employeeID(ctx context.Context, ext string) (string, error) {
	var id string
	err := in.tx.QueryRow(ctx, `SELECT id FROM employees WHERE tenant_id = $1 AND external_id = $2`, in.file.TenantID, ext).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%s: %w", ext, schema.ErrNoEmployee)
	}
	return id, err
}

// PutDependent creates or updates a dependent and writes its event.
func (in *ingest) PutDependent(ctx context.Context, d *schema.Dependent, enc schema.Encoded) (schema.Change, error) {
	if err := in.flush(ctx); err != nil {
		return 0, err
	}
	empID, err := in.employeeID(ctx, d.EmployeeExternalID)
	if err != nil {
		return 0, err
	}
	sealed, err := codec.SealSSN(in.s.box, d.SSN)
	if err != nil {
		return 0, err
	}
	var id, hash string
	var data, oldSealed []byte
	err = in.tx.QueryRow(ctx, `SELECT id, content_hash, data::text, ssn_sealed FROM dependents WHERE tenant_id = $1 AND employee_id = $2 AND external_id = $3 FOR UPDATE`,
		in.file.TenantID, empID, d.ExternalID).Scan(&id, &hash, &data, &oldSealed)
	change, typ := schema.Changed, "dependent.updated"
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		id, change, typ = codec.NewID(), schema.New, "dependent.added"
		_, err = in.tx.Exec(ctx, `INSERT INTO dependents (id, tenant_id, employee_id, external_id, relationship, content_hash, data, ssn_sealed, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`, id, in.file.TenantID, empID, d.ExternalID, d.Relationship, enc.Hash, string(enc.Data), sealed, in.now)
	case err != nil:
	case hash == enc.Hash:
		return schema.Unchanged, nil
	case codec.SameContent(in.s.box, data, oldSealed, enc, d.SSN):
		_, err = in.tx.Exec(ctx, `UPDATE dependents SET content_hash = $2 WHERE id = $1`, id, enc.Hash)
		return schema.Unchanged, interpret(err)
	default:
		_, err = in.tx.Exec(ctx, `UPDATE dependents SET relationship = $2, content_hash = $3, data = $4, ssn_sealed = $5, updated_at = $6 WHERE id = $1`,
			id, d.Relationship, enc.Hash, string(enc.Data), sealed, in.now)
	}
	if err != nil {
		return 0, fmt.Errorf("dependent %s/%s: %w", d.EmployeeExternalID, d.ExternalID, interpret(err))
	}
	in.event(typ, id, codec.DependentEventData(id, empID, d))
	return change, nil
}

// RemoveDependents deletes an employee's dependents that a full file no
// longer lists.
func (in *ingest) RemoveDependents(ctx context.Context, employeeExternalID string, keep []string) (int, error) {
	if err := in.flush(ctx); err != nil {
		return 0, err
	}
	empID, err := in.employeeID(ctx, employeeExternalID)
	if err != nil {
		return 0, err
	}
	if keep == nil {
		keep = []string{} // NULL would keep everything
	}
	rows, err := in.tx.Query(ctx, `DELETE FROM dependents WHERE tenant_id = $1 AND employee_id = $2 AND NOT (external_id = ANY($3))
RETURNING id, external_id, relationship`, in.file.TenantID, empID, keep)
	if err != nil {
		return 0, err
	}
	var d schema.Dependent
	var id string
	n, err := pgx.ForEachRow(rows, []any{&id, &d.ExternalID, &d.Relationship}, func() error {
		d.EmployeeExternalID = employeeExternalID
		in.event("dependent.removed", id, codec.DependentEventData(id, empID, &d))
		return nil
	})
	return int(n.RowsAffected()), err
}

// PutPlan creates or updates a benefit plan.
func (in *ingest) PutPlan(ctx context.Context, p *schema.BenefitPlan, enc schema.Encoded) (schema.Change, error) {
	if err := in.flush(ctx); err != nil {
		return 0, err
	}
	var id, hash string
	err := in.tx.QueryRow(ctx, `SELECT id, content_hash FROM benefit_plans WHERE tenant_id = $1 AND plan_code = $2 FOR UPDATE`, in.file.TenantID, p.PlanCode).Scan(&id, &hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		_, err = in.tx.Exec(ctx, `INSERT INTO benefit_plans (id, tenant_id, plan_code, type, content_hash, data, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, codec.NewID(), in.file.TenantID, p.PlanCode, p.Type, enc.Hash, string(enc.Data), in.now)
		return schema.New, interpret(err)
	case err != nil:
		return 0, err
	case hash == enc.Hash:
		return schema.Unchanged, nil
	}
	_, err = in.tx.Exec(ctx, `UPDATE benefit_plans SET type = $2, content_hash = $3, data = $4, updated_at = $5 WHERE id = $1`, id, p.Type, enc.Hash, string(enc.Data), in.now)
	return schema.Changed, interpret(err)
}

// PutEnrollment creates or updates an enrollment and writes its event.
func (in *ingest) PutEnrollment(ctx context.Context, n *schema.Enrollment, enc schema.Encoded) (schema.Change, error) {
	if err := in.flush(ctx); err != nil {
		return 0, err
	}
	empID, err := in.employeeID(ctx, n.EmployeeExternalID)
	if err != nil {
		return 0, err
	}
	var planID string
	err = in.tx.QueryRow(ctx, `SELECT id FROM benefit_plans WHERE tenant_id = $1 AND plan_code = $2`, in.file.TenantID, n.PlanCode).Scan(&planID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%s: %w", n.PlanCode, schema.ErrNoPlan)
	} else if err != nil {
		return 0, err
	}
	var id, hash, data string
	err = in.tx.QueryRow(ctx, `SELECT id, content_hash, data::text FROM enrollments WHERE tenant_id = $1 AND employee_id = $2 AND plan_id = $3 AND effective_date = $4 FOR UPDATE`,
		in.file.TenantID, empID, planID, n.EffectiveDate).Scan(&id, &hash, &data)
	var old *schema.Enrollment
	change := schema.Changed
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		id, change = codec.NewID(), schema.New
		_, err = in.tx.Exec(ctx, `INSERT INTO enrollments (id, tenant_id, employee_id, plan_id, status, effective_date, end_date, content_hash, data, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`, id, in.file.TenantID, empID, planID, n.Status, n.EffectiveDate, n.EndDate, enc.Hash, string(enc.Data), in.now)
	case err != nil:
	case hash == enc.Hash:
		return schema.Unchanged, nil
	default:
		old = &schema.Enrollment{}
		json.Unmarshal([]byte(data), old) //nolint:errcheck // we wrote it
		_, err = in.tx.Exec(ctx, `UPDATE enrollments SET status = $2, end_date = $3, content_hash = $4, data = $5, updated_at = $6 WHERE id = $1`,
			id, n.Status, n.EndDate, enc.Hash, string(enc.Data), in.now)
	}
	if err != nil {
		return 0, fmt.Errorf("enrollment %s/%s: %w", n.EmployeeExternalID, n.PlanCode, interpret(err))
	}
	in.event(codec.EnrollmentEventType(old, n), id, codec.EnrollmentEventData(id, empID, planID, n))
	return change, nil
}

// EndEnrollments ends an employee's active enrollments that a full file no
// longer lists.
func (in *ingest) EndEnrollments(ctx context.Context, employeeExternalID string, keep []string, date string) (int, error) {
	if err := in.flush(ctx); err != nil {
		return 0, err
	}
	empID, err := in.employeeID(ctx, employeeExternalID)
	if err != nil {
		return 0, err
	}
	rows, _ := in.tx.Query(ctx, `SELECT id, plan_id, data::text FROM enrollments WHERE tenant_id = $1 AND employee_id = $2 AND status <> 'terminated' FOR UPDATE`,
		in.file.TenantID, empID)
	type ended struct {
		id, planID string
		n          schema.Enrollment
	}
	var ends []ended
	var id, planID, data string
	_, err = pgx.ForEachRow(rows, []any{&id, &planID, &data}, func() error {
		var n schema.Enrollment
		json.Unmarshal([]byte(data), &n) //nolint:errcheck
		if !slices.Contains(keep, n.PlanCode+"|"+n.EffectiveDate) {
			ends = append(ends, ended{id, planID, n})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, e := range ends {
		e.n.Status, e.n.EndDate = "terminated", date
		enc := e.n.Encode()
		if _, err := in.tx.Exec(ctx, `UPDATE enrollments SET status = 'terminated', end_date = $2, content_hash = $3, data = $4, updated_at = $5 WHERE id = $1`,
			e.id, date, enc.Hash, string(enc.Data), in.now); err != nil {
			return 0, err
		}
		in.event("enrollment.ended", e.id, codec.EnrollmentEventData(e.id, empID, e.planID, &e.n))
	}
	return len(ends), nil
}

// Dependents pages a tenant's dependents.
func (s *Store) Dependents(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.Dependent, error) {
	if !codec.ValidID(tenantID) {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT d.id, d.tenant_id, d.employee_id, e.external_id, d.data::text, d.ssn_sealed, d.created_at, d.updated_at
FROM dependents d JOIN employees e ON e.tenant_id = d.tenant_id AND e.id = d.employee_id WHERE d.tenant_id = $1 AND d.id > $2 AND ($4::uuid IS NULL OR d.employee_id = $4)
ORDER BY d.id LIMIT $3`, tenantID, q.Cursor, q.Limit, idParam(q.EmployeeID, nilUUID))
	ds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (schema.Dependent, error) {
		var id, tenant, emp, empExt, data string
		var ssn []byte
		var created, updated time.Time
		if err := row.Scan(&id, &tenant, &emp, &empExt, &data, &ssn, &created, &updated); err != nil {
			return schema.Dependent{}, err
		}
		d, err := codec.DecodeDependent(s.box, []byte(data), ssn)
		d.ID, d.TenantID, d.EmployeeID, d.EmployeeExternalID, d.CreatedAt, d.UpdatedAt = id, tenant, emp, empExt, created, updated
		return d, err
	})
	return ds, interpret(err)
}

// BenefitPlans pages a tenant's plans.
func (s *Store) BenefitPlans(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.BenefitPlan, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, tenant_id, data::text, created_at, updated_at FROM benefit_plans WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`, tenantID, q.Cursor, q.Limit)
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (schema.BenefitPlan, error) {
		var p schema.BenefitPlan
		var id, tenant, data string
		var created, updated time.Time
		if err := row.Scan(&id, &tenant, &data, &created, &updated); err != nil {
			return p, err
		}
		err := json.Unmarshal([]byte(data), &p)
		p.ID, p.TenantID, p.CreatedAt, p.UpdatedAt = id, tenant, created, updated
		return p, err
	})
	return ps, interpret(err)
}

// Enrollments pages a tenant's enrollments.
func (s *Store) Enrollments(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.Enrollment, error) {
	if !codec.ValidID(tenantID) {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT id, tenant_id, employee_id, plan_id, data::text, created_at, updated_at FROM enrollments
WHERE tenant_id = $1 AND id > $2 AND ($4::uuid IS NULL OR employee_id = $4) ORDER BY id LIMIT $3`, tenantID, q.Cursor, q.Limit, idParam(q.EmployeeID, nilUUID))
	ns, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (schema.Enrollment, error) {
		var n schema.Enrollment
		var id, tenant, emp, plan, data string
		var created, updated time.Time
		if err := row.Scan(&id, &tenant, &emp, &plan, &data, &created, &updated); err != nil {
			return n, err
		}
		err := json.Unmarshal([]byte(data), &n)
		n.ID, n.TenantID, n.EmployeeID, n.PlanID, n.CreatedAt, n.UpdatedAt = id, tenant, emp, plan, created, updated
		return n, err
	})
	return ns, interpret(err)
}
