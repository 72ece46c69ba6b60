package schema

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DateLayout is the one date format of normalized records.
const DateLayout = "2006-01-02"

// validator collects field errors of one record.
type validator struct{ errs []FieldError }

func (v *validator) add(field, code, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) required(field, value string) {
	if strings.TrimSpace(value) == "" {
		v.add(field, ECodeRequired, "required field '%s' is empty", field)
	}
}

func (v *validator) enum(field, value string, set []string) {
	if value != "" && !contains(set, value) {
		v.add(field, ECodeEnum, "%s %s is not one of %s", field, QuoteValue(field, value), strings.Join(set, ", "))
	}
}

// date checks an ISO date and returns it as a civil date, or the zero
// one when empty or bad.
func (v *validator) date(field, value string) civil {
	if value == "" {
		return civil{}
	}
	d, ok := parseISODate(value)
	if !ok {
		v.add(field, ECodeDate, "%s %s is not a valid date (YYYY-MM-DD)", field, QuoteValue(field, value))
		return civil{}
	}
	if d.y < 1900 || d.y > 2200 {
		v.add(field, ECodeDate, "%s %s is outside the plausible range 1900-2200", field, QuoteValue(field, value))
		return civil{}
	}
	return d
}

func (v *validator) before(earlyField string, early civil, lateField string, late civil) {
	if !early.zero() && !late.zero() && late.before(early) {
		v.add(lateField, ECodeDateOrder, "%s %s is before %s %s", lateField, shown(lateField, late), earlyField, shown(earlyField, early))
	}
}

// startYear lets birthDate skip the clock for the dates that cannot be in
// the future (nearly all of them).
var startYear = time.Now().Year()

func (v *validator) birthDate(field, value string) {
	d := v.date(field, value)
	if !d.zero() && d.y >= startYear {
		y, m, day := time.Now().UTC().Date() // dates are UTC calendar days, as time.Time compared them
		if (civil{y, int(m), day}).before(d) {
			v.add(field, ECodeDateOrder, "%s %s is in the future", field, shown(field, d))
		}
	}
}

// civil is a calendar date. Validation only compares dates, and checking
// one this way, without time.Time, was a tenth of validating an employee.
type civil struct{ y, m, d int }

func (c civil) zero() bool { return c == civil{} }

func (c civil) before(o civil) bool {
	return c.y < o.y || c.y == o.y && (c.m < o.m || c.m == o.m && c.d < o.d)
}

func (c civil) String() string { return fmt.Sprintf("%04d-%02d-%02d", c.y, c.m, c.d) }

// shown is a valid date as an error message shows it: itself, or nothing
// of it for a sensitive field (a birth date).
func shown(field string, d civil) string {
	if SensitiveField(field) {
		return "(not shown)"
	}
	return d.String()
}

func (v *validator) ssn(field, value string) {
	if value != "" && !ValidSSN(value) {
		v.add(field, ECodeSSN, "%s is not a valid SSN (nine digits, not 000/666/9xx-xx-xxxx)", field)
	}
}

func (v *validator) email(field, value string) {
	if value != "" && !ValidEmail(value) {
		v.add(field, ECodeEmail, "%s %s is not an email address", field, QuoteValue(field, value))
	}
}

// ValidEmail is a plain address check: one @, a local part, a dotted
// domain, and no spaces, commas, angle brackets or quotes (display names
// and comments are not addresses).
func ValidEmail(s string) bool {
	at, dot := -1, -1 // the @ and the domain's last dot
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '@':
			if at >= 0 {
				return false
			}
			at = i
		case '.':
			if at >= 0 {
				if dot == i-1 {
					return false // ".." in the domain
				}
				dot = i
			}
		case ' ', '\t', ',', ';', '<', '>', '(', ')', '"', '[', ']', '\\':
			return false
		}
	}
	return at > 0 && len(s)-at-1 >= 3 && dot > at+1 && dot < len(s)-1
}

// parseISODate parses YYYY-MM-DD strictly (no rollover) without allocating.
func parseISODate(s string) (civil, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return civil{}, false
	}
	num := func(a, b int) int {
		n := 0
		for i := a; i < b; i++ {
			if s[i] < '0' || s[i] > '9' {
				return -1
			}
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	y, m, d := num(0, 4), num(5, 7), num(8, 10)
	if y < 0 || m < 1 || m > 12 || d < 1 || d > DaysIn(y, m) {
		return civil{}, false
	}
	return civil{y, m, d}, true
}

// DaysIn is the number of days of month m (1-12) of year y, Gregorian.
func DaysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func (v *validator) decimal(field, value string) {
	if value != "" && !ValidDecimal(value) {
		v.add(field, ECodeDecimal, "%s %s is not a decimal number", field, QuoteValue(field, value))
	}
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return &ValidationError{Errors: v.errs}
}

// Validate checks required fields, enum values, date sanity and SSN shape.
// It returns nil or a *ValidationError listing every problem.
func (e *Employee) Validate() error {
	var v validator
	v.required("external_id", e.ExternalID)
	v.required("first_name", e.FirstName)
	v.required("last_name", e.LastName)
	v.required("employment_status", e.EmploymentStatus)
	v.enum("employment_status", e.EmploymentStatus, EmploymentStatuses)
	v.enum("employment_type", e.EmploymentType, EmploymentTypes)
	v.enum("gender", e.Gender, Genders)
	v.enum("pay_frequency", e.PayFrequency, PayFrequencies)
	v.birthDate("date_of_birth", e.DateOfBirth)
	hire := v.date("hire_date", e.HireDate)
	term := v.date("termination_date", e.TerminationDate)
	v.before("hire_date", hire, "termination_date", term)
	if e.EmploymentStatus == StatusTerminated && e.TerminationDate == "" {
		v.add("termination_date", ECodeRequired, "required field 'termination_date' is empty for a terminated employee")
	}
	v.ssn("ssn", e.SSN)
	v.email("work_email", e.WorkEmail)
	v.email("personal_email", e.PersonalEmail)
	if e.AnnualSalary != nil {
		v.decimal("annual_salary", e.AnnualSalary.Amount)
	}
	v.decimal("hourly_rate", e.HourlyRate)
	v.decimal("scheduled_hours", e.ScheduledHours)
	return v.err()
}

// Validate checks a dependent record.
func (d *Dependent) Validate() error {
	var v validator
	v.required("employee_external_id", d.EmployeeExternalID+d.EmployeeID)
	v.required("external_id", d.ExternalID)
	v.required("first_name", d.FirstName)
	v.required("last_name", d.LastName)
	v.required("relationship", d.Relationship)
	v.enum("relationship", d.Relationship, Relationships)
	v.enum("gender", d.Gender, Genders)
	v.birthDate("date_of_birth", d.DateOfBirth)
	v.ssn("ssn", d.SSN)
	return v.err()
}

// Validate checks a benefit plan record.
func (p *BenefitPlan) Validate() error {
	var v validator
	v.required("plan_code", p.PlanCode)
	v.required("name", p.Name)
	v.required("type", p.Type)
	v.enum("type", p.Type, PlanTypes)
	start := v.date("plan_year_start", p.PlanYearStart)
	end := v.date("plan_year_end", p.PlanYearEnd)
	v.before("plan_year_start", start, "plan_year_end", end)
	return v.err()
}

// Validate checks an enrollment record.
func (n *Enrollment) Validate() error {
	var v validator
	v.required("employee_external_id", n.EmployeeExternalID+n.EmployeeID)
	v.required("plan_code", n.PlanCode+n.PlanID)
	v.required("coverage_tier", n.CoverageTier)
	v.enum("coverage_tier", n.CoverageTier, CoverageTiers)
	v.required("status", n.Status)
	v.enum("status", n.Status, EnrollmentStatuses)
	v.required("effective_date", n.EffectiveDate)
	eff := v.date("effective_date", n.EffectiveDate)
	end := v.date("end_date", n.EndDate)
	v.before("effective_date", eff, "end_date", end)
	if n.Status == "terminated" && n.EndDate == "" {
		v.add("end_date", ECodeRequired, "required field 'end_date' is empty for a terminated enrollment")
	}
	v.decimal("employee_contribution", n.EmployeeContribution)
	v.decimal("employer_contribution", n.EmployerContribution)
	return v.err()
}

// NormalizeSSN strips dashes and spaces; it returns the input unchanged when
// what remains is not nine digits, so validation reports it.
func NormalizeSSN(s string) string {
	switch {
	case len(s) == 9 && allDigits(s):
		return s
	case len(s) == 11 && s[3] == '-' && s[6] == '-' && allDigits(s[:3]) && allDigits(s[4:6]) && allDigits(s[7:]):
		return s[:3] + s[4:6] + s[7:] // the usual 123-45-6789, one allocation
	}
	d := strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(d) == 9 && allDigits(d) {
		return d
	}
	return strings.TrimSpace(s)
}

// ValidSSN reports whether s is nine digits with a possible area, group and
// serial (SSA rules: area not 000, 666 or 9xx; group not 00; serial not 0000).
func ValidSSN(s string) bool {
	if len(s) != 9 || !allDigits(s) {
		return false
	}
	area, group, serial := s[:3], s[3:5], s[5:]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// sensitiveFields are the normalized fields whose values are PII: error
// messages name them and the kind of problem, never their value.
var sensitiveFields = map[string]bool{"ssn": true, "date_of_birth": true, "personal_email": true, "phone": true,
	"hourly_rate": true, "annual_salary": true, "home_address": true}

// SensitiveField reports whether a field (or a part of one, such as
// home_address.line1) holds PII.
func SensitiveField(field string) bool {
	top, _, _ := strings.Cut(field, ".")
	return sensitiveFields[top]
}

// QuoteValue is how an error message shows a field's value: quoted when
// the field is not sensitive and the value does not look like an SSN,
// otherwise a placeholder that says how long it is, so the message still
// helps without repeating PII into error lists, reports and logs.
func QuoteValue(field, value string) string {
	if SensitiveField(field) || LooksLikeSSN(value) {
		return fmt.Sprintf("(%d characters, not shown)", len(value))
	}
	return strconv.Quote(value)
}

// LooksLikeSSN reports whether s is shaped like an SSN or ITIN: nine
// digits, alone or as 123-45-6789. Such values are never quoted in errors
// nor kept in clear outside the sealed column.
func LooksLikeSSN(s string) bool {
	n := NormalizeSSN(s)
	return len(n) == 9 && allDigits(n)
}

// MaskSSN returns ***-**-NNNN, the form shown to keys without pii:read.
func MaskSSN(s string) string {
	if s == "" {
		return ""
	}
	if len(s) < 4 {
		return "***-**-****"
	}
	return "***-**-" + s[len(s)-4:]
}

// ValidDecimal reports whether s is a plain decimal: optional sign, digits,
// optional fraction.
func ValidDecimal(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return false
	}
	if hasDot && frac == "" {
		return false
	}
	return allDigits(whole) && allDigits(frac)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
