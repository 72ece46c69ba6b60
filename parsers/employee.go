package parsers

import "github.com/hrisbridge/hrisbridge/schema"

// setter writes one normalized value into a record.
type setter func(rec any, v string)

// setters lists, per entity, every normalized field a layout may map.
var setters = map[string]map[string]setter{
	"employee": {
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

// newRecord returns an empty record of entity.
func newRecord(entity string) any {
	return &schema.Employee{}
}

// recordID returns the id a person would search for.
func recordID(rec any) string {
	return rec.(*schema.Employee).ExternalID
}

// finish drops empty optional parts so absent and empty compare equal.
func finish(rec any) {
	e := rec.(*schema.Employee)
	if e.HomeAddress.IsZero() {
		e.HomeAddress = nil
	}
	if e.AnnualSalary != nil && e.AnnualSalary.Amount == "" {
		e.AnnualSalary = nil
	}
}

// validate runs the entity's own validation.
func validate(rec any) error {
	return rec.(*schema.Employee).Validate()
}
