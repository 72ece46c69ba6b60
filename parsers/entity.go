package parsers

import (
	"strings"

	"github.com/hrisbridge/hrisbridge/schema"
)

// setter writes one normalized value into a record.
type setter func(rec any, v string)

// entity describes one target of a layout: how to make a record, which
// normalized fields it has, its id and its own validation.
type entity struct {
	new func() any
	// reset empties a record for reuse, keeping its custom-field map.
	reset func(any)
	// key identifies a record within a file, for duplicate detection.
	key func(any) string
	// display is the record id a person searches for.
	display func(any) string
	custom  func(any) *map[string]string
	finish  func(any)
	fields  map[string]setter
}

func (e *entity) validate(rec any) error { return rec.(interface{ Validate() error }).Validate() }

// entities lists every entity a layout may target.
var entities = map[string]*entity{
	"employee":     employeeEntity,
	"dependent":    dependentEntity,
	"enrollment":   enrollmentEntity,
	"benefit_plan": planEntity,
}

// EntityNames lists the valid layout entities.
func EntityNames() []string { return []string{"employee", "dependent", "enrollment", "benefit_plan"} }

func emp(f func(*schema.Employee, string)) setter {
	return func(rec any, v string) { f(rec.(*schema.Employee), v) }
}

func addr(f func(*schema.Address, string)) setter {
	return emp(func(e *schema.Employee, v string) {
		if e.HomeAddress == nil {
			e.HomeAddress = &schema.Address{}
		}
		f(e.HomeAddress, v)
	})
}

func salary(e *schema.Employee) *schema.Money {
	if e.AnnualSalary == nil {
		e.AnnualSalary = &schema.Money{Currency: "USD"}
	}
	return e.AnnualSalary
}

var employeeEntity = &entity{
	new: func() any { return &schema.Employee{} },
	// reset keeps the custom-field map, address and salary of the last
	// row (emptied) for the next: the reader hands out one record at a
	// time, and whoever keeps a row copies it. finish drops the ones the
	// row leaves empty.
	reset: func(r any) {
		x := r.(*schema.Employee)
		cf, a, m := x.CustomFields, x.HomeAddress, x.AnnualSalary
		clear(cf)
		*x = schema.Employee{CustomFields: cf, HomeAddress: a, AnnualSalary: m}
		if a != nil {
			*a = schema.Address{}
		}
		if m != nil {
			*m = schema.Money{Currency: "USD"} // as salary makes it
		}
	},
	key:     func(r any) string { return r.(*schema.Employee).ExternalID },
	display: func(r any) string { return r.(*schema.Employee).ExternalID },
	custom:  func(r any) *map[string]string { return &r.(*schema.Employee).CustomFields },
	finish: func(r any) {
		e := r.(*schema.Employee)
		if e.HomeAddress.IsZero() {
			e.HomeAddress = nil
		}
		if e.AnnualSalary != nil && e.AnnualSalary.Amount == "" {
			e.AnnualSalary = nil
		}
	},
	fields: map[string]setter{
		"external_id":              emp(func(e *schema.Employee, v string) { e.ExternalID = v }),
		"first_name":               emp(func(e *schema.Employee, v string) { e.FirstName = v }),
		"middle_name":              emp(func(e *schema.Employee, v string) { e.MiddleName = v }),
		"last_name":                emp(func(e *schema.Employee, v string) { e.LastName = v }),
		"preferred_name":           emp(func(e *schema.Employee, v string) { e.PreferredName = v }),
		"date_of_birth":            emp(func(e *schema.Employee, v string) { e.DateOfBirth = v }),
		"gender":                   emp(func(e *schema.Employee, v string) { e.Gender = v }),
		"ssn":                      emp(func(e *schema.Employee, v string) { e.SSN = schema.NormalizeSSN(v) }),
		"work_email":               emp(func(e *schema.Employee, v string) { e.WorkEmail = v }),
		"personal_email":           emp(func(e *schema.Employee, v string) { e.PersonalEmail = v }),
		"phone":                    emp(func(e *schema.Employee, v string) { e.Phone = v }),
		"home_address.line1":       addr(func(a *schema.Address, v string) { a.Line1 = v }),
		"home_address.line2":       addr(func(a *schema.Address, v string) { a.Line2 = v }),
		"home_address.city":        addr(func(a *schema.Address, v string) { a.City = v }),
		"home_address.state":       addr(func(a *schema.Address, v string) { a.State = v }),
		"home_address.postal_code": addr(func(a *schema.Address, v string) { a.PostalCode = v }),
		"home_address.country":     addr(func(a *schema.Address, v string) { a.Country = v }),
		"employment_status":        emp(func(e *schema.Employee, v string) { e.EmploymentStatus = v }),
		"employment_type":          emp(func(e *schema.Employee, v string) { e.EmploymentType = v }),
		"hire_date":                emp(func(e *schema.Employee, v string) { e.HireDate = v }),
		"termination_date":         emp(func(e *schema.Employee, v string) { e.TerminationDate = v }),
		"termination_reason":       emp(func(e *schema.Employee, v string) { e.TerminationReason = v }),
		"job_title":                emp(func(e *schema.Employee, v string) { e.JobTitle = v }),
		"department":               emp(func(e *schema.Employee, v string) { e.Department = v }),
		"location":                 emp(func(e *schema.Employee, v string) { e.Location = v }),
		"manager_external_id":      emp(func(e *schema.Employee, v string) { e.ManagerExternalID = v }),
		"pay_frequency":            emp(func(e *schema.Employee, v string) { e.PayFrequency = v }),
		"annual_salary":            emp(func(e *schema.Employee, v string) { salary(e).Amount = v }),
		"annual_salary.currency":   emp(func(e *schema.Employee, v string) { salary(e).Currency = v }),
		"hourly_rate":              emp(func(e *schema.Employee, v string) { e.HourlyRate = v }),
		"scheduled_hours":          emp(func(e *schema.Employee, v string) { e.ScheduledHours = v }),
		"benefit_class":            emp(func(e *schema.Employee, v string) { e.BenefitClass = v }),
	},
}

func dep(f func(*schema.Dependent, string)) setter {
	return func(rec any, v string) { f(rec.(*schema.Dependent), v) }
}

var dependentEntity = &entity{
	new: func() any { return &schema.Dependent{} },
	reset: func(r any) {
		x := r.(*schema.Dependent)
		cf := x.CustomFields
		clear(cf)
		*x = schema.Dependent{CustomFields: cf}
	},
	key: func(r any) string {
		d := r.(*schema.Dependent)
		return d.EmployeeExternalID + "\x00" + d.ExternalID
	},
	display: func(r any) string {
		d := r.(*schema.Dependent)
		return d.EmployeeExternalID + "/" + d.ExternalID
	},
	custom: func(r any) *map[string]string { return &r.(*schema.Dependent).CustomFields },
	finish: func(any) {},
	fields: map[string]setter{
		"employee_external_id": dep(func(d *schema.Dependent, v string) { d.EmployeeExternalID = v }),
		"external_id":          dep(func(d *schema.Dependent, v string) { d.ExternalID = v }),
		"first_name":           dep(func(d *schema.Dependent, v string) { d.FirstName = v }),
		"middle_name":          dep(func(d *schema.Dependent, v string) { d.MiddleName = v }),
		"last_name":            dep(func(d *schema.Dependent, v string) { d.LastName = v }),
		"date_of_birth":        dep(func(d *schema.Dependent, v string) { d.DateOfBirth = v }),
		"gender":               dep(func(d *schema.Dependent, v string) { d.Gender = v }),
		"relationship":         dep(func(d *schema.Dependent, v string) { d.Relationship = v }),
		"ssn":                  dep(func(d *schema.Dependent, v string) { d.SSN = schema.NormalizeSSN(v) }),
		"is_student":           dep(func(d *schema.Dependent, v string) { d.IsStudent = v == "true" }),
		"is_disabled":          dep(func(d *schema.Dependent, v string) { d.IsDisabled = v == "true" }),
	},
}

func enr(f func(*schema.Enrollment, string)) setter {
	return func(rec any, v string) { f(rec.(*schema.Enrollment), v) }
}

var enrollmentEntity = &entity{
	new: func() any { return &schema.Enrollment{} },
	reset: func(r any) {
		x := r.(*schema.Enrollment)
		cf := x.CustomFields
		clear(cf)
		*x = schema.Enrollment{CustomFields: cf}
	},
	key: func(r any) string {
		n := r.(*schema.Enrollment)
		return n.EmployeeExternalID + "\x00" + n.PlanCode + "\x00" + n.EffectiveDate
	},
	display: func(r any) string {
		n := r.(*schema.Enrollment)
		return n.EmployeeExternalID + "/" + n.PlanCode
	},
	custom: func(r any) *map[string]string { return &r.(*schema.Enrollment).CustomFields },
	finish: func(any) {},
	fields: map[string]setter{
		"employee_external_id":  enr(func(n *schema.Enrollment, v string) { n.EmployeeExternalID = v }),
		"plan_code":             enr(func(n *schema.Enrollment, v string) { n.PlanCode = v }),
		"coverage_tier":         enr(func(n *schema.Enrollment, v string) { n.CoverageTier = v }),
		"status":                enr(func(n *schema.Enrollment, v string) { n.Status = v }),
		"effective_date":        enr(func(n *schema.Enrollment, v string) { n.EffectiveDate = v }),
		"end_date":              enr(func(n *schema.Enrollment, v string) { n.EndDate = v }),
		"employee_contribution": enr(func(n *schema.Enrollment, v string) { n.EmployeeContribution = v }),
		"employer_contribution": enr(func(n *schema.Enrollment, v string) { n.EmployerContribution = v }),
		"covered_dependent_ids": enr(func(n *schema.Enrollment, v string) { n.CoveredDependentIDs = splitList(v) }),
	},
}

func plan(f func(*schema.BenefitPlan, string)) setter {
	return func(rec any, v string) { f(rec.(*schema.BenefitPlan), v) }
}

var planEntity = &entity{
	new: func() any { return &schema.BenefitPlan{} },
	reset: func(r any) {
		x := r.(*schema.BenefitPlan)
		cf := x.CustomFields
		clear(cf)
		*x = schema.BenefitPlan{CustomFields: cf}
	},
	key:     func(r any) string { return r.(*schema.BenefitPlan).PlanCode },
	display: func(r any) string { return r.(*schema.BenefitPlan).PlanCode },
	custom:  func(r any) *map[string]string { return &r.(*schema.BenefitPlan).CustomFields },
	finish:  func(any) {},
	fields: map[string]setter{
		"plan_code":       plan(func(p *schema.BenefitPlan, v string) { p.PlanCode = v }),
		"name":            plan(func(p *schema.BenefitPlan, v string) { p.Name = v }),
		"type":            plan(func(p *schema.BenefitPlan, v string) { p.Type = v }),
		"carrier":         plan(func(p *schema.BenefitPlan, v string) { p.Carrier = v }),
		"group_number":    plan(func(p *schema.BenefitPlan, v string) { p.GroupNumber = v }),
		"plan_year_start": plan(func(p *schema.BenefitPlan, v string) { p.PlanYearStart = v }),
		"plan_year_end":   plan(func(p *schema.BenefitPlan, v string) { p.PlanYearEnd = v }),
	},
}

// splitList splits "a;b|c, d" style lists.
func splitList(v string) []string {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' || r == ',' || r == ' ' })
	if len(f) == 0 {
		return nil
	}
	return f
}
