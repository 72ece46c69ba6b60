package schema

import "time"

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

// IsZero reports whether no part of the address is set.
func (a *Address) IsZero() bool { return a == nil || *a == Address{} }

// Money is a decimal amount as a string (never a float) with an ISO 4217
// currency code.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Employee is the normalized employee record. Dates are ISO YYYY-MM-DD
// strings; an empty string means unknown. SSN holds the clear value in
// memory only: stores keep it encrypted and the API masks it.
type Employee struct {
	ID                string            `json:"id"`
	TenantID          string            `json:"tenant_id"`
	ExternalID        string            `json:"external_id"`
	ConnectionID      string            `json:"connection_id,omitempty"`
	FirstName         string            `json:"first_name"`
	MiddleName        string            `json:"middle_name,omitempty"`
	LastName          string            `json:"last_name"`
	PreferredName     string            `json:"preferred_name,omitempty"`
	DateOfBirth       string            `json:"date_of_birth,omitempty"`
	Gender            string            `json:"gender,omitempty"`
	SSN               string            `json:"ssn,omitempty"`
	WorkEmail         string            `json:"work_email,omitempty"`
	PersonalEmail     string            `json:"personal_email,omitempty"`
	Phone             string            `json:"phone,omitempty"`
	HomeAddress       *Address          `json:"home_address,omitempty"`
	EmploymentStatus  string            `json:"employment_status"`
	EmploymentType    string            `json:"employment_type,omitempty"`
	HireDate          string            `json:"hire_date,omitempty"`
	TerminationDate   string            `json:"termination_date,omitempty"`
	TerminationReason string            `json:"termination_reason,omitempty"`
	JobTitle          string            `json:"job_title,omitempty"`
	Department        string            `json:"department,omitempty"`
	Location          string            `json:"location,omitempty"`
	ManagerExternalID string            `json:"manager_external_id,omitempty"`
	PayFrequency      string            `json:"pay_frequency,omitempty"`
	AnnualSalary      *Money            `json:"annual_salary,omitempty"`
	HourlyRate        string            `json:"hourly_rate,omitempty"`
	ScheduledHours    string            `json:"scheduled_hours,omitempty"`
	BenefitClass      string            `json:"benefit_class,omitempty"`
	CustomFields      map[string]string `json:"custom_fields,omitempty"`
	// MissingFromSnapshot is set when the last full snapshot of the
	// employee's connection did not contain them.
	MissingFromSnapshot bool      `json:"missing_from_snapshot,omitempty"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
	// Hash is the keyed content hash (ContentHash) and SourceHash the
	// keyed hash of the raw record it was last read from (0 when not read
	// from a file) as stored: what change detection compares.
	Hash       uint64 `json:"-"`
	SourceHash uint64 `json:"-"`
}

// Dependent is a person covered through an employee.
type Dependent struct {
	ID         string `json:"id"`
	TenantID   string `json:"tenant_id"`
	EmployeeID string `json:"employee_id"`
	// EmployeeExternalID is the source's id of the employee, which a file
	// links by; the store resolves it to EmployeeID.
	EmployeeExternalID string            `json:"employee_external_id,omitempty"`
	ExternalID         string            `json:"external_id"`
	FirstName          string            `json:"first_name"`
	MiddleName         string            `json:"middle_name,omitempty"`
	LastName           string            `json:"last_name"`
	DateOfBirth        string            `json:"date_of_birth,omitempty"`
	Gender             string            `json:"gender,omitempty"`
	Relationship       string            `json:"relationship"`
	SSN                string            `json:"ssn,omitempty"`
	IsStudent          bool              `json:"is_student"`
	IsDisabled         bool              `json:"is_disabled"`
	CustomFields       map[string]string `json:"custom_fields,omitempty"`
	CreatedAt          time.Time         `json:"created_at"`
	UpdatedAt          time.Time         `json:"updated_at"`
	// Hash is the keyed content hash (ContentHash) as stored.
	Hash uint64 `json:"-"`
}

// BenefitPlan is a plan an employer offers in a plan year.
type BenefitPlan struct {
	ID            string            `json:"id"`
	TenantID      string            `json:"tenant_id"`
	PlanCode      string            `json:"plan_code"`
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	Carrier       string            `json:"carrier,omitempty"`
	GroupNumber   string            `json:"group_number,omitempty"`
	PlanYearStart string            `json:"plan_year_start,omitempty"`
	PlanYearEnd   string            `json:"plan_year_end,omitempty"`
	CustomFields  map[string]string `json:"custom_fields,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	// Hash is the keyed content hash (ContentHash) as stored.
	Hash uint64 `json:"-"`
}

// Enrollment is an employee's election in a plan.
type Enrollment struct {
	ID         string `json:"id"`
	TenantID   string `json:"tenant_id"`
	EmployeeID string `json:"employee_id"`
	PlanID     string `json:"plan_id"`
	// EmployeeExternalID and PlanCode are the source's keys, which a file
	// links by; the store resolves them to EmployeeID and PlanID.
	EmployeeExternalID   string            `json:"employee_external_id,omitempty"`
	PlanCode             string            `json:"plan_code,omitempty"`
	CoverageTier         string            `json:"coverage_tier"`
	Status               string            `json:"status"`
	EffectiveDate        string            `json:"effective_date"`
	EndDate              string            `json:"end_date,omitempty"`
	EmployeeContribution string            `json:"employee_contribution,omitempty"`
	EmployerContribution string            `json:"employer_contribution,omitempty"`
	CoveredDependentIDs  []string          `json:"covered_dependent_ids,omitempty"`
	CustomFields         map[string]string `json:"custom_fields,omitempty"`
	CreatedAt            time.Time         `json:"created_at"`
	UpdatedAt            time.Time         `json:"updated_at"`
	// Hash is the keyed content hash (ContentHash) as stored.
	Hash uint64 `json:"-"`
}
