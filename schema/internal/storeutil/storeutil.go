// Package storeutil holds what the PostgreSQL and SQLite stores share
// beside their SQL: reading migrations, sealing SSNs, the scopes column
// and connection defaults.
package storeutil

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Seal seals an SSN for its column (nil when there is none).
func Seal(box schema.Sealer, ssn string) ([]byte, error) {
	if ssn == "" {
		return nil, nil
	}
	sealed, err := box.Seal([]byte(ssn))
	if err != nil {
		return nil, fmt.Errorf("seal ssn: %w", err)
	}
	return sealed, nil
}

// Open opens a sealed SSN column ("" for none).
func Open(box schema.Sealer, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	ssn, err := box.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("open ssn: %w", err)
	}
	return string(ssn), nil
}

// Scopes joins scopes for the api_keys.scopes column.
func Scopes(s []string) string { return strings.Join(s, ",") }

// ParseScopes splits the api_keys.scopes column.
func ParseScopes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// ConnectionDefaults fills what a new connection leaves empty.
func ConnectionDefaults(c *schema.Connection) {
	if len(c.Config) == 0 {
		c.Config = []byte("{}")
	}
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	if c.CatchUp == "" {
		c.CatchUp = schema.CatchUpOnce
	}
}

// Migration is one numbered forward-only SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads NNN_name.sql files from dir of fsys in version order.
func Migrations(fsys embed.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.sql", e.Name())
		}
		b, err := fsys.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Latest returns the highest migration version.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// ErrStale is returned by Ready when the schema is behind the binary.
var ErrStale = fmt.Errorf("database schema is not current: run `hrisbridge migrate`")

// EmployeeColumns are the employees columns both stores write, in the
// order of WriteEmployee and then created_at, updated_at.
const EmployeeColumns = `tenant_id, id, external_id, connection_id, first_name, middle_name, last_name, preferred_name,
date_of_birth, gender, ssn_sealed, work_email, personal_email, phone, address_line1, address_line2, city, state, postal_code, country,
employment_status, employment_type, hire_date, termination_date, termination_reason, job_title, department, location,
manager_external_id, pay_frequency, annual_salary, salary_currency, hourly_rate, scheduled_hours, benefit_class, custom_fields,
missing_from_snapshot, content_hash, source_hash, created_at, updated_at`

// Columns receives a row's values, column by column, by type: each store
// writes them its own way (PostgreSQL's COPY text, SQLite's arguments).
type Columns interface {
	Text(s string)
	// Opt is a date or number: NULL when s is empty.
	Opt(s string)
	// Bytes is NULL for nil.
	Bytes(b []byte)
	Bool(b bool)
	Int(n int64)
}

// WriteEmployee writes e's values for EmployeeColumns, but the
// timestamps, to c: an absent id or connection is NULL (Opt) and so are
// no SSN and no custom fields.
func WriteEmployee(box schema.Sealer, e *schema.Employee, c Columns) error {
	ssn, err := Seal(box, e.SSN)
	if err != nil {
		return err
	}
	custom, err := CustomJSON(e.CustomFields)
	if err != nil {
		return err
	}
	var a schema.Address
	if e.HomeAddress != nil {
		a = *e.HomeAddress
	}
	var m schema.Money
	if e.AnnualSalary != nil {
		m = *e.AnnualSalary
	}
	c.Text(e.TenantID)
	c.Opt(e.ID)
	c.Text(e.ExternalID)
	c.Opt(e.ConnectionID)
	for _, v := range [...]string{e.FirstName, e.MiddleName, e.LastName, e.PreferredName} {
		c.Text(v)
	}
	c.Opt(e.DateOfBirth)
	c.Text(e.Gender)
	c.Bytes(ssn)
	for _, v := range [...]string{e.WorkEmail, e.PersonalEmail, e.Phone, a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country,
		e.EmploymentStatus, e.EmploymentType} {
		c.Text(v)
	}
	c.Opt(e.HireDate)
	c.Opt(e.TerminationDate)
	for _, v := range [...]string{e.TerminationReason, e.JobTitle, e.Department, e.Location, e.ManagerExternalID, e.PayFrequency} {
		c.Text(v)
	}
	c.Opt(m.Amount)
	c.Text(m.Currency)
	c.Opt(e.HourlyRate)
	c.Opt(e.ScheduledHours)
	c.Text(e.BenefitClass)
	c.Opt(custom)
	c.Bool(e.MissingFromSnapshot)
	c.Int(int64(e.Hash))
	c.Int(int64(e.SourceHash))
	return nil
}

// CustomJSON is a custom_fields value: the fields as a JSON object, ""
// for none (stored as NULL).
func CustomJSON(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// ParseCustom reads a custom_fields value (nil for NULL) into m.
func ParseCustom(b []byte, m *map[string]string) error {
	if b == nil {
		return nil
	}
	if err := json.Unmarshal(b, m); err != nil {
		return fmt.Errorf("custom fields: %w", err)
	}
	return nil
}

// EmployeeRow receives a row of a store's employee select: the columns of
// EmployeeColumns in order, empty dates and numbers read as "".
type EmployeeRow struct {
	e            schema.Employee
	addr         schema.Address
	salary       schema.Money
	ssn, custom  []byte
	hash, source int64
}

// Dest returns the scan destinations; ts makes the destination of a
// timestamp (each store reads them its own way).
func (r *EmployeeRow) Dest(ts func(*time.Time) any) []any {
	e, a := &r.e, &r.addr
	return []any{&e.TenantID, &e.ID, &e.ExternalID, &e.ConnectionID, &e.FirstName, &e.MiddleName, &e.LastName, &e.PreferredName,
		&e.DateOfBirth, &e.Gender, &r.ssn, &e.WorkEmail, &e.PersonalEmail, &e.Phone, &a.Line1, &a.Line2, &a.City, &a.State, &a.PostalCode,
		&a.Country, &e.EmploymentStatus, &e.EmploymentType, &e.HireDate, &e.TerminationDate, &e.TerminationReason, &e.JobTitle,
		&e.Department, &e.Location, &e.ManagerExternalID, &e.PayFrequency, &r.salary.Amount, &r.salary.Currency, &e.HourlyRate,
		&e.ScheduledHours, &e.BenefitClass, &r.custom, &e.MissingFromSnapshot, &r.hash, &r.source, ts(&e.CreatedAt), ts(&e.UpdatedAt)}
}

// Employee assembles the scanned employee, with its SSN opened.
func (r *EmployeeRow) Employee(box schema.Sealer) (schema.Employee, error) {
	e := r.e
	e.Hash, e.SourceHash = uint64(r.hash), uint64(r.source)
	if !r.addr.IsZero() {
		a := r.addr
		e.HomeAddress = &a
	}
	if r.salary != (schema.Money{}) {
		m := r.salary
		e.AnnualSalary = &m
	}
	if err := ParseCustom(r.custom, &e.CustomFields); err != nil {
		return e, fmt.Errorf("employee %s: %w", e.ExternalID, err)
	}
	var err error
	e.SSN, err = Open(box, r.ssn)
	return e, err
}
