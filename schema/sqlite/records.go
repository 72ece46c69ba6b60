package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

// employeeID resolves an employee's external id inside the transaction.
func (in *ingest) employeeID(ctx context.Context, ext string) (string, error) {
	var id string
	err := in.tx.QueryRowContext(ctx, `SELECT id FROM employees WHERE tenant_id = ? AND external_id = ?`, in.file.TenantID, ext).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s: %w", ext, schema.ErrNoEmployee)
	}
	return id, err
}

// PutDependent creates or updates a dependent and writes its event.
func (in *ingest) PutDependent(ctx context.Context, d *schema.Dependent, enc schema.Encoded) (schema.Change, error) {
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
	err = in.tx.QueryRowContext(ctx, `SELECT id, content_hash, data, ssn_sealed FROM dependents WHERE tenant_id = ? AND employee_id = ? AND external_id = ?`,
		in.file.TenantID, empID, d.ExternalID).Scan(&id, &hash, &data, &oldSealed)
	change, typ := schema.Changed, "dependent.updated"
	switch {
	case errors.Is(err, sql.ErrNoRows):
		id, change, typ = codec.NewID(), schema.New, "dependent.added"
		_, err = in.tx.ExecContext(ctx, `INSERT INTO dependents (id, tenant_id, employee_id, external_id, relationship, content_hash, data, ssn_sealed, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, in.file.TenantID, empID, d.ExternalID, d.Relationship, enc.Hash, string(enc.Data), sealed, in.now, in.now)
	case err != nil:
	case hash == enc.Hash:
		return schema.Unchanged, nil
	case codec.SameContent(in.s.box, data, oldSealed, enc, d.SSN):
		_, err = in.tx.ExecContext(ctx, `UPDATE dependents SET content_hash = ? WHERE id = ?`, enc.Hash, id)
		return schema.Unchanged, interpret(err)
	default:
		_, err = in.tx.ExecContext(ctx, `UPDATE dependents SET relationship = ?, content_hash = ?, data = ?, ssn_sealed = ?, updated_at = ? WHERE id = ?`,
			d.Relationship, enc.Hash, string(enc.Data), sealed, in.now, id)
	}
	if err != nil {
		return 0, fmt.Errorf("dependent %s/%s: %w", d.EmployeeExternalID, d.ExternalID, interpret(err))
	}
	return change, in.event(ctx, typ, id, codec.DependentEventData(id, empID, d))
}

// jsonList renders ids for json_each.
func jsonList(ids []string) string {
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

// RemoveDependents deletes an employee's dependents that a full file no
// longer lists.
func (in *ingest) RemoveDependents(ctx context.Context, employeeExternalID string, keep []string) (int, error) {
	empID, err := in.employeeID(ctx, employeeExternalID)
	if err != nil {
		return 0, err
	}
	rows, err := in.tx.QueryContext(ctx, `DELETE FROM dependents WHERE tenant_id = ? AND employee_id = ? AND external_id NOT IN (SELECT value FROM json_each(?))
RETURNING id, external_id, relationship`, in.file.TenantID, empID, jsonList(keep))
	if err != nil {
		return 0, err
	}
	type removed struct {
		id string
		d  schema.Dependent
	}
	var gone []removed
	for rows.Next() {
		r := removed{d: schema.Dependent{EmployeeExternalID: employeeExternalID}}
		if err := rows.Scan(&r.id, &r.d.ExternalID, &r.d.Relationship); err != nil {
			rows.Close()
			return 0, err
		}
		gone = append(gone, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, r := range gone {
		if err := in.event(ctx, "dependent.removed", r.id, codec.DependentEventData(r.id, empID, &r.d)); err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}

// PutPlan creates or updates a benefit plan.
func (in *ingest) PutPlan(ctx context.Context, p *schema.BenefitPlan, enc schema.Encoded) (schema.Change, error) {
	var id, hash string
	err := in.tx.QueryRowContext(ctx, `SELECT id, content_hash FROM benefit_plans WHERE tenant_id = ? AND plan_code = ?`, in.file.TenantID, p.PlanCode).Scan(&id, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = in.tx.ExecContext(ctx, `INSERT INTO benefit_plans (id, tenant_id, plan_code, type, content_hash, data, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, codec.NewID(), in.file.TenantID, p.PlanCode, p.Type, enc.Hash, string(enc.Data), in.now, in.now)
		return schema.New, interpret(err)
	case err != nil:
		return 0, err
	case hash == enc.Hash:
		return schema.Unchanged, nil
	}
	_, err = in.tx.ExecContext(ctx, `UPDATE benefit_plans SET type = ?, content_hash = ?, data = ?, updated_at = ? WHERE id = ?`, p.Type, enc.Hash, string(enc.Data), in.now, id)
	return schema.Changed, interpret(err)
}

// PutEnrollment creates or updates an enrollment and writes its event.
func (in *ingest) PutEnrollment(ctx context.Context, n *schema.Enrollment, enc schema.Encoded) (schema.Change, error) {
	empID, err := in.employeeID(ctx, n.EmployeeExternalID)
	if err != nil {
		return 0, err
	}
	var planID string
	err = in.tx.QueryRowContext(ctx, `SELECT id FROM benefit_plans WHERE tenant_id = ? AND plan_code = ?`, in.file.TenantID, n.PlanCode).Scan(&planID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%s: %w", n.PlanCode, schema.ErrNoPlan)
	} else if err != nil {
		return 0, err
	}
	var id, hash, data string
	err = in.tx.QueryRowContext(ctx, `SELECT id, content_hash, data FROM enrollments WHERE tenant_id = ? AND employee_id = ? AND plan_id = ? AND effective_date = ?`,
		in.file.TenantID, empID, planID, n.EffectiveDate).Scan(&id, &hash, &data)
	var old *schema.Enrollment
	change := schema.Changed
	switch {
	case errors.Is(err, sql.ErrNoRows):
		id, change = codec.NewID(), schema.New
		_, err = in.tx.ExecContext(ctx, `INSERT INTO enrollments (id, tenant_id, employee_id, plan_id, status, effective_date, end_date, content_hash, data, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, in.file.TenantID, empID, planID, n.Status, n.EffectiveDate, n.EndDate, enc.Hash, string(enc.Data), in.now, in.now)
	case err != nil:
	case hash == enc.Hash:
		return schema.Unchanged, nil
	default:
		old = &schema.Enrollment{}
		json.Unmarshal([]byte(data), old) //nolint:errcheck // we wrote it
		_, err = in.tx.ExecContext(ctx, `UPDATE enrollments SET status = ?, end_date = ?, content_hash = ?, data = ?, updated_at = ? WHERE id = ?`,
			n.Status, n.EndDate, enc.Hash, string(enc.Data), in.now, id)
	}
	if err != nil {
		return 0, fmt.Errorf("enrollment %s/%s: %w", n.EmployeeExternalID, n.PlanCode, interpret(err))
	}
	return change, in.event(ctx, codec.EnrollmentEventType(old, n), id, codec.EnrollmentEventData(id, empID, planID, n))
}

// EndEnrollments ends an employee's active enrollments that a full file no
// longer lists.
func (in *ingest) EndEnrollments(ctx context.Context, employeeExternalID string, keep []string, date string) (int, error) {
	empID, err := in.employeeID(ctx, employeeExternalID)
	if err != nil {
		return 0, err
	}
	rows, err := in.tx.QueryContext(ctx, `SELECT id, plan_id, data FROM enrollments WHERE tenant_id = ? AND employee_id = ? AND status <> 'terminated'`, in.file.TenantID, empID)
	type ended struct {
		id, planID string
		n          schema.Enrollment
	}
	ends, err := collectRows(rows, err, func(r scanner) (ended, error) {
		var e ended
		var data string
		err := r.Scan(&e.id, &e.planID, &data)
		json.Unmarshal([]byte(data), &e.n) //nolint:errcheck
		return e, err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ends {
		if slices.Contains(keep, e.n.PlanCode+"|"+e.n.EffectiveDate) {
			continue
		}
		e.n.Status, e.n.EndDate = "terminated", date
		enc := e.n.Encode()
		if _, err := in.tx.ExecContext(ctx, `UPDATE enrollments SET status = 'terminated', end_date = ?, content_hash = ?, data = ?, updated_at = ? WHERE id = ?`,
			date, enc.Hash, string(enc.Data), in.now, e.id); err != nil {
			return 0, err
		}
		if err := in.event(ctx, "enrollment.ended", e.id, codec.EnrollmentEventData(e.id, empID, e.planID, &e.n)); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// Dependents pages a tenant's dependents.
func (s *Store) Dependents(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.Dependent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT d.id, d.tenant_id, d.employee_id, e.external_id, d.data, d.ssn_sealed, d.created_at, d.updated_at
FROM dependents d JOIN employees e ON e.id = d.employee_id WHERE d.tenant_id = ?1 AND d.id > ?2 AND (?4 = '' OR d.employee_id = ?4)
ORDER BY d.id LIMIT ?3`, tenantID, q.Cursor, q.Limit, q.EmployeeID)
	return collectRows(rows, err, func(r scanner) (schema.Dependent, error) {
		var id, tenant, emp, empExt, data string
		var ssn []byte
		var d schema.Dependent
		if err := r.Scan(&id, &tenant, &emp, &empExt, &data, &ssn, timeCol{&d.CreatedAt}, timeCol{&d.UpdatedAt}); err != nil {
			return d, err
		}
		created, updated := d.CreatedAt, d.UpdatedAt
		d, err := codec.DecodeDependent(s.box, []byte(data), ssn)
		d.ID, d.TenantID, d.EmployeeID, d.EmployeeExternalID, d.CreatedAt, d.UpdatedAt = id, tenant, emp, empExt, created, updated
		return d, err
	})
}

// BenefitPlans pages a tenant's plans.
func (s *Store) BenefitPlans(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.BenefitPlan, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, tenant_id, data, created_at, updated_at FROM benefit_plans WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tenantID, q.Cursor, q.Limit)
	return collectRows(rows, err, func(r scanner) (schema.BenefitPlan, error) {
		var p, ts schema.BenefitPlan
		var id, tenant, data string
		if err := r.Scan(&id, &tenant, &data, timeCol{&ts.CreatedAt}, timeCol{&ts.UpdatedAt}); err != nil {
			return p, err
		}
		err := json.Unmarshal([]byte(data), &p)
		p.ID, p.TenantID, p.CreatedAt, p.UpdatedAt = id, tenant, ts.CreatedAt, ts.UpdatedAt
		return p, err
	})
}

// Enrollments pages a tenant's enrollments.
func (s *Store) Enrollments(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.Enrollment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, tenant_id, employee_id, plan_id, data, created_at, updated_at FROM enrollments
WHERE tenant_id = ?1 AND id > ?2 AND (?4 = '' OR employee_id = ?4) ORDER BY id LIMIT ?3`, tenantID, q.Cursor, q.Limit, q.EmployeeID)
	return collectRows(rows, err, func(r scanner) (schema.Enrollment, error) {
		var n, ts schema.Enrollment
		var id, tenant, emp, plan, data string
		if err := r.Scan(&id, &tenant, &emp, &plan, &data, timeCol{&ts.CreatedAt}, timeCol{&ts.UpdatedAt}); err != nil {
			return n, err
		}
		err := json.Unmarshal([]byte(data), &n)
		n.ID, n.TenantID, n.EmployeeID, n.PlanID, n.CreatedAt, n.UpdatedAt = id, tenant, emp, plan, ts.CreatedAt, ts.UpdatedAt
		return n, err
	})
}
