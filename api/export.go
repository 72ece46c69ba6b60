package api

import (
	"encoding/csv"
	"encoding/json"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/gocarina/gocsv"

	"github.com/hrisbridge/hrisbridge/schema"
)

// wantsCSV reports whether the client asked for CSV (format=csv or an
// Accept header preferring text/csv).
func wantsCSV(c *gin.Context) bool {
	return c.Query("format") == "csv" || strings.HasPrefix(c.GetHeader("Accept"), "text/csv")
}

// employeeRow is an employee flattened for CSV export.
type employeeRow struct {
	ID                string `csv:"id"`
	ExternalID        string `csv:"external_id"`
	FirstName         string `csv:"first_name"`
	MiddleName        string `csv:"middle_name"`
	LastName          string `csv:"last_name"`
	PreferredName     string `csv:"preferred_name"`
	DateOfBirth       string `csv:"date_of_birth"`
	Gender            string `csv:"gender"`
	SSN               string `csv:"ssn"`
	WorkEmail         string `csv:"work_email"`
	PersonalEmail     string `csv:"personal_email"`
	Phone             string `csv:"phone"`
	Line1             string `csv:"home_address_line1"`
	Line2             string `csv:"home_address_line2"`
	City              string `csv:"home_address_city"`
	State             string `csv:"home_address_state"`
	PostalCode        string `csv:"home_address_postal_code"`
	Country           string `csv:"home_address_country"`
	EmploymentStatus  string `csv:"employment_status"`
	EmploymentType    string `csv:"employment_type"`
	HireDate          string `csv:"hire_date"`
	TerminationDate   string `csv:"termination_date"`
	TerminationReason string `csv:"termination_reason"`
	JobTitle          string `csv:"job_title"`
	Department        string `csv:"department"`
	Location          string `csv:"location"`
	ManagerExternalID string `csv:"manager_external_id"`
	PayFrequency      string `csv:"pay_frequency"`
	AnnualSalary      string `csv:"annual_salary"`
	Currency          string `csv:"annual_salary_currency"`
	HourlyRate        string `csv:"hourly_rate"`
	ScheduledHours    string `csv:"scheduled_hours"`
	BenefitClass      string `csv:"benefit_class"`
	Missing           bool   `csv:"missing_from_snapshot"`
	UpdatedAt         string `csv:"updated_at"`
	// CustomFields is the employee's custom fields as one JSON object
	// (keys sorted): the export streams, so its columns are fixed before
	// the rows that carry each file's own extra columns are read.
	CustomFields string `csv:"custom_fields"`
}

func rowOf(e *schema.Employee) employeeRow {
	r := employeeRow{ID: e.ID, ExternalID: e.ExternalID, FirstName: e.FirstName, MiddleName: e.MiddleName, LastName: e.LastName,
		PreferredName: e.PreferredName, DateOfBirth: e.DateOfBirth, Gender: e.Gender, SSN: e.SSN, WorkEmail: e.WorkEmail,
		PersonalEmail: e.PersonalEmail, Phone: e.Phone, EmploymentStatus: e.EmploymentStatus, EmploymentType: e.EmploymentType,
		HireDate: e.HireDate, TerminationDate: e.TerminationDate, TerminationReason: e.TerminationReason, JobTitle: e.JobTitle,
		Department: e.Department, Location: e.Location, ManagerExternalID: e.ManagerExternalID, PayFrequency: e.PayFrequency,
		HourlyRate: e.HourlyRate, ScheduledHours: e.ScheduledHours, BenefitClass: e.BenefitClass, Missing: e.MissingFromSnapshot,
		UpdatedAt: e.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z")}
	if a := e.HomeAddress; a != nil {
		r.Line1, r.Line2, r.City, r.State, r.PostalCode, r.Country = a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country
	}
	if m := e.AnnualSalary; m != nil {
		r.AnnualSalary, r.Currency = m.Amount, m.Currency
	}
	if len(e.CustomFields) > 0 {
		b, _ := json.Marshal(e.CustomFields) // a map of strings: cannot fail
		r.CustomFields = string(b)
	}
	for _, p := range []*string{&r.ExternalID, &r.FirstName, &r.MiddleName, &r.LastName, &r.PreferredName, &r.WorkEmail, &r.PersonalEmail,
		&r.Phone, &r.Line1, &r.Line2, &r.City, &r.State, &r.PostalCode, &r.Country, &r.TerminationReason, &r.JobTitle, &r.Department,
		&r.Location, &r.ManagerExternalID, &r.BenefitClass, &r.CustomFields} {
		*p = neutralize(*p)
	}
	return r
}

// neutralize defuses a cell a spreadsheet would run as a formula (it
// begins with =, +, -, @, tab or carriage return; OWASP's CSV injection
// advice): a single quote in front makes it text. Plain numbers, negative
// ones included, are left as they are.
func neutralize(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || plainNumber(s) {
		return s
	}
	return "'" + s
}

func plainNumber(s string) bool { return schema.ValidDecimal(s) }

// exportEmployees streams every employee matching the filters (from the
// cursor on) as CSV, a page of rows at a time, written with gocsv.
func (s *Server) exportEmployees(c *gin.Context, q schema.EmployeeQuery) {
	ctx := c.Request.Context()
	q.Limit = maxLimit
	first, err := s.cfg.Store.Employees(ctx, tenantID(c), q)
	if err != nil {
		fail(c, err)
		return
	}
	if !s.protect(c, first) {
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="employees.csv"`)
	rows := make(chan any, 256)
	done := make(chan error, 1)
	go func() { done <- gocsv.MarshalChan(rows, gocsv.NewSafeCSVWriter(csv.NewWriter(c.Writer))) }()
	page := first
	for {
		for i := range page {
			rows <- rowOf(&page[i])
		}
		if len(page) < maxLimit {
			break
		}
		q.AfterID, q.AfterUpdated = page[len(page)-1].ID, page[len(page)-1].UpdatedAt
		if page, err = s.cfg.Store.Employees(ctx, tenantID(c), q); err != nil || !s.protect(c, page) {
			c.Error(err) //nolint:errcheck // the CSV body has started: the client sees a short file
			break
		}
	}
	close(rows)
	if err := <-done; err != nil {
		c.Error(err) //nolint:errcheck
	}
}
