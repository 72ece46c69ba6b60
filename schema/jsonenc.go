package schema

import (
	"sort"
	"unicode/utf8"
)

// AppendContentJSON appends the employee's content as JSON, byte for byte
// what encoding/json makes of contentJSON (same field order, omitempty
// rules, sorted custom field keys and string escaping), without
// reflection: every new or changed row of every file is encoded, and
// reflection was a sixth of the ingest's CPU. FuzzContentJSON holds the
// two encoders equal.
func AppendContentJSON(b []byte, e *Employee) []byte {
	b = append(b, '{')
	b = appendFields(b, true, []jsonField{{"external_id", e.ExternalID, true}, {"first_name", e.FirstName, true},
		{"middle_name", e.MiddleName, false}, {"last_name", e.LastName, true}, {"preferred_name", e.PreferredName, false},
		{"date_of_birth", e.DateOfBirth, false}, {"gender", e.Gender, false}, {"work_email", e.WorkEmail, false},
		{"personal_email", e.PersonalEmail, false}, {"phone", e.Phone, false}})
	if a := e.HomeAddress; a != nil {
		b = append(appendKey(b, "home_address", false), '{')
		b = append(appendFields(b, true, []jsonField{{"line1", a.Line1, false}, {"line2", a.Line2, false}, {"city", a.City, false},
			{"state", a.State, false}, {"postal_code", a.PostalCode, false}, {"country", a.Country, false}}), '}')
	}
	b = appendFields(b, false, []jsonField{{"employment_status", e.EmploymentStatus, true}, {"employment_type", e.EmploymentType, false},
		{"hire_date", e.HireDate, false}, {"termination_date", e.TerminationDate, false},
		{"termination_reason", e.TerminationReason, false}, {"job_title", e.JobTitle, false}, {"department", e.Department, false},
		{"location", e.Location, false}, {"manager_external_id", e.ManagerExternalID, false}, {"pay_frequency", e.PayFrequency, false}})
	if m := e.AnnualSalary; m != nil {
		b = append(appendKey(b, "annual_salary", false), '{')
		b = append(appendFields(b, true, []jsonField{{"amount", m.Amount, true}, {"currency", m.Currency, true}}), '}')
	}
	b = appendFields(b, false, []jsonField{{"hourly_rate", e.HourlyRate, false}, {"scheduled_hours", e.ScheduledHours, false},
		{"benefit_class", e.BenefitClass, false}})
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

// jsonField is one string member: written always when required, else
// only when not empty (omitempty).
type jsonField struct {
	key, val string
	required bool
}

// appendFields appends members in order; first says whether none was
// written before them in their object.
func appendFields(b []byte, first bool, fs []jsonField) []byte {
	for _, f := range fs {
		if f.val == "" && !f.required {
			continue
		}
		b = appendJSONString(appendKey(b, f.key, first), f.val)
		first = false
	}
	return b
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
