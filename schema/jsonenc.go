package schema

import (
	"sort"
	"unicode/utf8"
)

// appendContentJSON appends the employee's content as JSON, byte for byte
// what encoding/json makes of contentJSON (same field order, omitempty
// rules, sorted custom field keys and string escaping), without
// reflection: every new or changed row of every file is encoded, and
// reflection was a sixth of the ingest's CPU. FuzzContentJSON holds the
// two encoders equal.
func appendContentJSON(b []byte, e *Employee) []byte {
	b = append(b, '{')
	b = appendKey(b, "external_id", true)
	b = appendJSONString(b, e.ExternalID)
	b = appendKey(b, "first_name", false)
	b = appendJSONString(b, e.FirstName)
	b = appendOpt(b, "middle_name", e.MiddleName)
	b = appendKey(b, "last_name", false)
	b = appendJSONString(b, e.LastName)
	b = appendOpt(b, "preferred_name", e.PreferredName)
	b = appendOpt(b, "date_of_birth", e.DateOfBirth)
	b = appendOpt(b, "gender", e.Gender)
	b = appendOpt(b, "work_email", e.WorkEmail)
	b = appendOpt(b, "personal_email", e.PersonalEmail)
	b = appendOpt(b, "phone", e.Phone)
	if a := e.HomeAddress; a != nil {
		b = appendKey(b, "home_address", false)
		b = append(b, '{')
		n := len(b)
		for _, f := range [...][2]string{{"line1", a.Line1}, {"line2", a.Line2}, {"city", a.City}, {"state", a.State},
			{"postal_code", a.PostalCode}, {"country", a.Country}} {
			if f[1] != "" {
				b = appendKey(b, f[0], len(b) == n)
				b = appendJSONString(b, f[1])
			}
		}
		b = append(b, '}')
	}
	b = appendKey(b, "employment_status", false)
	b = appendJSONString(b, e.EmploymentStatus)
	b = appendOpt(b, "employment_type", e.EmploymentType)
	b = appendOpt(b, "hire_date", e.HireDate)
	b = appendOpt(b, "termination_date", e.TerminationDate)
	b = appendOpt(b, "termination_reason", e.TerminationReason)
	b = appendOpt(b, "job_title", e.JobTitle)
	b = appendOpt(b, "department", e.Department)
	b = appendOpt(b, "location", e.Location)
	b = appendOpt(b, "manager_external_id", e.ManagerExternalID)
	b = appendOpt(b, "pay_frequency", e.PayFrequency)
	if m := e.AnnualSalary; m != nil {
		b = appendKey(b, "annual_salary", false)
		b = append(b, `{"amount":`...)
		b = appendJSONString(b, m.Amount)
		b = append(b, `,"currency":`...)
		b = appendJSONString(b, m.Currency)
		b = append(b, '}')
	}
	b = appendOpt(b, "hourly_rate", e.HourlyRate)
	b = appendOpt(b, "scheduled_hours", e.ScheduledHours)
	b = appendOpt(b, "benefit_class", e.BenefitClass)
	if len(e.CustomFields) > 0 {
		b = appendKey(b, "custom_fields", false)
		keys := make([]string, 0, len(e.CustomFields))
		for k := range e.CustomFields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, e.CustomFields[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendKey(b []byte, k string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func appendOpt(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(appendKey(b, k, false), v)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string the way encoding/json
// writes it: HTML-sensitive characters, U+2028 and U+2029 escaped,
// invalid UTF-8 replaced by U+FFFD.
func AppendJSONString(b []byte, s string) []byte { return appendJSONString(b, s) }

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
