package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
)

const selectDependent = `SELECT d.tenant_id::text, d.id::text, d.employee_id::text, e.external_id, d.external_id, d.first_name, d.middle_name,
d.last_name, coalesce(d.date_of_birth::text, ''), d.gender, d.relationship, d.ssn_sealed, d.is_student, d.is_disabled, d.custom_fields,
d.content_hash, d.created_at, d.updated_at
FROM dependents d JOIN employees e ON e.tenant_id = d.tenant_id AND e.id = d.employee_id`

func (s *Store) scanDependent(row pgx.CollectableRow) (schema.Dependent, error) {
	var d schema.Dependent
	var ssn, custom []byte
	var hash int64
	err := row.Scan(&d.TenantID, &d.ID, &d.EmployeeID, &d.EmployeeExternalID, &d.ExternalID, &d.FirstName, &d.MiddleName, &d.LastName,
		&d.DateOfBirth, &d.Gender, &d.Relationship, &ssn, &d.IsStudent, &d.IsDisabled, &custom, &hash, &d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return d, err
	}
	d.Hash = uint64(hash)
	if err := storeutil.ParseCustom(custom, &d.CustomFields); err != nil {
		return d, err
	}
	d.SSN, err = storeutil.Open(s.box, ssn)
	return d, err
}

// Dependents returns an employee's dependents.
func (in *ingest) Dependents(ctx context.Context, employeeID string) ([]schema.Dependent, error) {
	if err := in.flush(ctx); err != nil {
		return nil, err
	}
	rows, _ := in.tx.Query(ctx, selectDependent+` WHERE d.tenant_id = $1 AND d.employee_id = $2 ORDER BY d.id`, in.file.TenantID, employeeID)
	ds, err := pgx.CollectRows(rows, in.s.scanDependent)
	return ds, interpret(err)
}

// SaveDependent inserts or updates a dependent.
func (in *ingest) SaveDependent(ctx context.Context, d *schema.Dependent, isNew bool) error {
	if err := in.flush(ctx); err != nil {
		return err
	}
	ssn, err := storeutil.Seal(in.s.box, d.SSN)
	if err != nil {
		return err
	}
	custom, err := storeutil.CustomJSON(d.CustomFields)
	if err != nil {
		return err
	}
	q := `UPDATE dependents SET employee_id = $3, first_name = $4, middle_name = $5, last_name = $6, date_of_birth = nullif($7, '')::date, gender = $8,
relationship = $9, ssn_sealed = $10, is_student = $11, is_disabled = $12, custom_fields = nullif($13, '')::jsonb, content_hash = $14, updated_at = $15
WHERE tenant_id = $1 AND id = $2`
	if isNew {
		q = `INSERT INTO dependents (tenant_id, id, employee_id, first_name, middle_name, last_name, date_of_birth, gender, relationship, ssn_sealed,
is_student, is_disabled, custom_fields, content_hash, created_at, updated_at, external_id)
VALUES ($1, $2, $3, $4, $5, $6, nullif($7, '')::date, $8, $9, $10, $11, $12, nullif($13, '')::jsonb, $14, $15, $15, $16)`
	}
	args := []any{in.file.TenantID, d.ID, d.EmployeeID, d.FirstName, d.MiddleName, d.LastName, d.DateOfBirth, d.Gender, d.Relationship, ssn,
		d.IsStudent, d.IsDisabled, custom, int64(d.Hash), in.now}
	if isNew {
		args = append(args, d.ExternalID)
	}
	if _, err := in.tx.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("dependent %s/%s: %w", d.EmployeeExternalID, d.ExternalID, interpret(err))
	}
	return nil
}

// DeleteDependent removes a dependent.
func (in *ingest) DeleteDependent(ctx context.Context, id string) error {
	if err := in.flush(ctx); err != nil {
		return err
	}
	_, err := in.tx.Exec(ctx, `DELETE FROM dependents WHERE tenant_id = $1 AND id = $2`, in.file.TenantID, id)
	return interpret(err)
}

const selectPlan = `SELECT tenant_id::text, id::text, plan_code, name, type, carrier, group_number, coalesce(plan_year_start::text, ''),
coalesce(plan_year_end::text, ''), custom_fields, content_hash, created_at, updated_at FROM benefit_plans`

func scanPlan(row pgx.CollectableRow) (schema.BenefitPlan, error) {
	var p schema.BenefitPlan
	var custom []byte
	var hash int64
	err := row.Scan(&p.TenantID, &p.ID, &p.PlanCode, &p.Name, &p.Type, &p.Carrier, &p.GroupNumber, &p.PlanYearStart, &p.PlanYearEnd,
		&custom, &hash, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, err
	}
	p.Hash = uint64(hash)
	return p, storeutil.ParseCustom(custom, &p.CustomFields)
}

// Plan returns the tenant's plan with that code.
func (in *ingest) Plan(ctx context.Context, code string) (schema.BenefitPlan, error) {
	if err := in.flush(ctx); err != nil {
		return schema.BenefitPlan{}, err
	}
	rows, _ := in.tx.Query(ctx, selectPlan+` WHERE tenant_id = $1 AND plan_code = $2`, in.file.TenantID, code)
	p, err := pgx.CollectExactlyOneRow(rows, scanPlan)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("%s: %w", code, schema.ErrNoPlan)
	}
	return p, interpret(err)
}

// SavePlan inserts or updates a plan.
func (in *ingest) SavePlan(ctx context.Context, p *schema.BenefitPlan, isNew bool) error {
	if err := in.flush(ctx); err != nil {
		return err
	}
	custom, err := storeutil.CustomJSON(p.CustomFields)
	if err != nil {
		return err
	}
	q := `UPDATE benefit_plans SET plan_code = $3, name = $4, type = $5, carrier = $6, group_number = $7, plan_year_start = nullif($8, '')::date,
plan_year_end = nullif($9, '')::date, custom_fields = nullif($10, '')::jsonb, content_hash = $11, updated_at = $12 WHERE tenant_id = $1 AND id = $2`
	if isNew {
		q = `INSERT INTO benefit_plans (tenant_id, id, plan_code, name, type, carrier, group_number, plan_year_start, plan_year_end, custom_fields,
content_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, '')::date, nullif($9, '')::date, nullif($10, '')::jsonb, $11, $12, $12)`
	}
	_, err = in.tx.Exec(ctx, q, in.file.TenantID, p.ID, p.PlanCode, p.Name, p.Type, p.Carrier, p.GroupNumber, p.PlanYearStart, p.PlanYearEnd,
		custom, int64(p.Hash), in.now)
	if err != nil {
		return fmt.Errorf("plan %s: %w", p.PlanCode, interpret(err))
	}
	return nil
}

const selectEnrollment = `SELECT n.tenant_id::text, n.id::text, n.employee_id::text, e.external_id, n.plan_id::text, p.plan_code,
n.coverage_tier, n.status, n.effective_date::text, coalesce(n.end_date::text, ''), coalesce(n.employee_contribution::text, ''),
coalesce(n.employer_contribution::text, ''), n.covered_dependent_ids, n.custom_fields, n.content_hash, n.created_at, n.updated_at
FROM enrollments n JOIN employees e ON e.tenant_id = n.tenant_id AND e.id = n.employee_id
JOIN benefit_plans p ON p.tenant_id = n.tenant_id AND p.id = n.plan_id`

func scanEnrollment(row pgx.CollectableRow) (schema.Enrollment, error) {
	var n schema.Enrollment
	var custom []byte
	var hash int64
	err := row.Scan(&n.TenantID, &n.ID, &n.EmployeeID, &n.EmployeeExternalID, &n.PlanID, &n.PlanCode, &n.CoverageTier, &n.Status,
		&n.EffectiveDate, &n.EndDate, &n.EmployeeContribution, &n.EmployerContribution, &n.CoveredDependentIDs, &custom, &hash,
		&n.CreatedAt, &n.UpdatedAt)
	if err != nil {
		return n, err
	}
	if len(n.CoveredDependentIDs) == 0 {
		n.CoveredDependentIDs = nil
	}
	n.Hash = uint64(hash)
	return n, storeutil.ParseCustom(custom, &n.CustomFields)
}

// Enrollments returns an employee's enrollments.
func (in *ingest) Enrollments(ctx context.Context, employeeID string) ([]schema.Enrollment, error) {
	if err := in.flush(ctx); err != nil {
		return nil, err
	}
	rows, _ := in.tx.Query(ctx, selectEnrollment+` WHERE n.tenant_id = $1 AND n.employee_id = $2 ORDER BY n.id`, in.file.TenantID, employeeID)
	ns, err := pgx.CollectRows(rows, scanEnrollment)
	return ns, interpret(err)
}

// SaveEnrollment inserts or updates an enrollment.
func (in *ingest) SaveEnrollment(ctx context.Context, n *schema.Enrollment, isNew bool) error {
	if err := in.flush(ctx); err != nil {
		return err
	}
	custom, err := storeutil.CustomJSON(n.CustomFields)
	if err != nil {
		return err
	}
	covered := n.CoveredDependentIDs
	if covered == nil {
		covered = []string{}
	}
	if isNew {
		_, err = in.tx.Exec(ctx, `INSERT INTO enrollments (tenant_id, id, employee_id, plan_id, coverage_tier, status, effective_date, end_date,
employee_contribution, employer_contribution, covered_dependent_ids, custom_fields, content_hash, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::date, nullif($8, '')::date, nullif($9, '')::numeric, nullif($10, '')::numeric, $11, nullif($12, '')::jsonb, $13, $14, $14)`,
			in.file.TenantID, n.ID, n.EmployeeID, n.PlanID, n.CoverageTier, n.Status, n.EffectiveDate, n.EndDate,
			n.EmployeeContribution, n.EmployerContribution, covered, custom, int64(n.Hash), in.now)
	} else {
		_, err = in.tx.Exec(ctx, `UPDATE enrollments SET coverage_tier = $3, status = $4, end_date = nullif($5, '')::date,
employee_contribution = nullif($6, '')::numeric, employer_contribution = nullif($7, '')::numeric, covered_dependent_ids = $8,
custom_fields = nullif($9, '')::jsonb, content_hash = $10, updated_at = $11 WHERE tenant_id = $1 AND id = $2`,
			in.file.TenantID, n.ID, n.CoverageTier, n.Status, n.EndDate, n.EmployeeContribution, n.EmployerContribution, covered, custom, int64(n.Hash), in.now)
	}
	if err != nil {
		return fmt.Errorf("enrollment %s/%s: %w", n.EmployeeExternalID, n.PlanCode, interpret(err))
	}
	return nil
}

// Dependents pages a tenant's dependents.
func (s *Store) Dependents(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.Dependent, error) {
	if !schema.ValidID(tenantID) {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, selectDependent+` WHERE d.tenant_id = $1 AND ($2::uuid IS NULL OR d.id > $2) AND ($4::uuid IS NULL OR d.employee_id = $4)
ORDER BY d.id LIMIT $3`, tenantID, idParam(q.Cursor, maxUUID), q.Limit, idParam(q.EmployeeID, nilUUID))
	ds, err := pgx.CollectRows(rows, s.scanDependent)
	return ds, interpret(err)
}

// BenefitPlans pages a tenant's plans.
func (s *Store) BenefitPlans(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.BenefitPlan, error) {
	if !schema.ValidID(tenantID) {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, selectPlan+` WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY benefit_plans.id LIMIT $3`,
		tenantID, idParam(q.Cursor, maxUUID), q.Limit)
	ps, err := pgx.CollectRows(rows, scanPlan)
	return ps, interpret(err)
}

// Enrollments pages a tenant's enrollments.
func (s *Store) Enrollments(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.Enrollment, error) {
	if !schema.ValidID(tenantID) {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, selectEnrollment+` WHERE n.tenant_id = $1 AND ($2::uuid IS NULL OR n.id > $2) AND ($4::uuid IS NULL OR n.employee_id = $4)
ORDER BY n.id LIMIT $3`, tenantID, idParam(q.Cursor, maxUUID), q.Limit, idParam(q.EmployeeID, nilUUID))
	ns, err := pgx.CollectRows(rows, scanEnrollment)
	return ns, interpret(err)
}
