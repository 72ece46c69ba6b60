package schema

import (
	"errors"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

func valid() Employee {
	return Employee{ExternalID: "E1", FirstName: "Ada", LastName: "Lovelace", EmploymentStatus: StatusActive,
		DateOfBirth: "1985-12-10", HireDate: "2020-01-06", SSN: "123456789", WorkEmail: "ada@example.com"}
}

func codes(err error) string {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return ""
	}
	var out []string
	for _, fe := range ve.Errors {
		out = append(out, fe.Field+":"+fe.Code)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestEmployeeValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Employee)
		want string
	}{
		{"valid", func(*Employee) {}, ""},
		{"required", func(e *Employee) { e.ExternalID, e.FirstName, e.EmploymentStatus = "", " ", "" },
			"employment_status:E_REQUIRED external_id:E_REQUIRED first_name:E_REQUIRED"},
		{"enums", func(e *Employee) {
			e.EmploymentStatus, e.Gender, e.EmploymentType, e.PayFrequency = "fired", "f", "FT", "daily"
		},
			"employment_status:E_ENUM employment_type:E_ENUM gender:E_ENUM pay_frequency:E_ENUM"},
		{"bad dates", func(e *Employee) { e.HireDate, e.DateOfBirth = "2020-02-30", "1850-01-01" }, "date_of_birth:E_DATE hire_date:E_DATE"},
		{"future birth", func(e *Employee) { e.DateOfBirth = "2199-01-01" }, "date_of_birth:E_DATE_ORDER"},
		{"term before hire", func(e *Employee) { e.EmploymentStatus, e.TerminationDate = StatusTerminated, "2019-12-31" }, "termination_date:E_DATE_ORDER"},
		{"terminated without date", func(e *Employee) { e.EmploymentStatus = StatusTerminated }, "termination_date:E_REQUIRED"},
		{"ssn shape", func(e *Employee) { e.SSN = "12345678" }, "ssn:E_SSN"},
		{"ssn area 666", func(e *Employee) { e.SSN = "666123456" }, "ssn:E_SSN"},
		{"ssn area 9xx", func(e *Employee) { e.SSN = "900123456" }, "ssn:E_SSN"},
		{"ssn group 00", func(e *Employee) { e.SSN = "123006789" }, "ssn:E_SSN"},
		{"email", func(e *Employee) { e.WorkEmail = "ada at example" }, "work_email:E_EMAIL"},
		{"money", func(e *Employee) { e.AnnualSalary = &Money{Amount: "85k", Currency: "USD"}; e.HourlyRate = "1." },
			"annual_salary:E_DECIMAL hourly_rate:E_DECIMAL"},
	}
	for _, tt := range tests {
		e := valid()
		tt.edit(&e)
		if got := codes(e.Validate()); got != tt.want {
			t.Errorf("%s: Validate() codes = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestOtherEntitiesValidate(t *testing.T) {
	d := Dependent{EmployeeExternalID: "E1", ExternalID: "D1", FirstName: "A", LastName: "B", Relationship: "cousin", DateOfBirth: "2030-01-01"}
	if got := codes(d.Validate()); got != "date_of_birth:E_DATE_ORDER relationship:E_ENUM" {
		t.Errorf("Dependent.Validate() = %q", got)
	}
	p := BenefitPlan{PlanCode: "MED1", Name: "PPO", Type: "medical", PlanYearStart: "2027-01-01", PlanYearEnd: "2026-12-31"}
	if got := codes(p.Validate()); got != "plan_year_end:E_DATE_ORDER" {
		t.Errorf("BenefitPlan.Validate() = %q", got)
	}
	n := Enrollment{EmployeeID: "e", PlanID: "p", CoverageTier: "everyone", Status: "active", EffectiveDate: "2027-01-01", EmployeeContribution: "12.5"}
	if got := codes(n.Validate()); got != "coverage_tier:E_ENUM" {
		t.Errorf("Enrollment.Validate() = %q", got)
	}
}

func TestFieldErrorMessage(t *testing.T) {
	e := valid()
	e.FirstName = ""
	var ve *ValidationError
	errors.As(e.Validate(), &ve)
	got := ve.At(87, "E1234").Errors[0]
	if msg := got.Error(); msg != "line 87, record E1234: required field 'first_name' is empty (E_REQUIRED)" {
		t.Errorf("message = %q", msg)
	}
	if got.Fix() == "" {
		t.Error("E_REQUIRED has no fix in the catalog")
	}
	for code, entry := range Catalog {
		if entry.Code != code || entry.Title == "" || entry.Fix == "" {
			t.Errorf("catalog entry %s incomplete: %+v", code, entry)
		}
	}
}

func TestSSNHelpers(t *testing.T) {
	for in, want := range map[string]string{
		" 123-45-6789 ": "123456789",
		"123-45-6789":   "123456789", // the fast paths
		"123456789":     "123456789",
		"123 45 6789":   "123456789",
		"123-456-789":   "123456789",
		"12-34":         "12-34", // not an SSN: unchanged
		"123-45-678x":   "123-45-678x",
		"1234-5-6789":   "123456789",
		"":              "",
	} {
		if got := NormalizeSSN(in); got != want {
			t.Errorf("NormalizeSSN(%q) = %q, want %q", in, got, want)
		}
	}
	if got := MaskSSN("123456789"); got != "***-**-6789" {
		t.Errorf("MaskSSN = %q", got)
	}
}

func TestChangeDetection(t *testing.T) {
	a, b := valid(), valid()
	b.ID, b.TenantID = "other-id", "other-tenant" // identity is not content
	if hashOf(&a, testKey) != hashOf(&b, testKey) {
		t.Fatal("identity changed the content hash")
	}
	b.Department = "Finance"
	if hashOf(&a, testKey) == hashOf(&b, testKey) {
		t.Fatal("a content change kept the hash")
	}
	typ, changed := EmployeeEventType(&a, &b)
	if typ != "employee.updated" || strings.Join(changed, ",") != "department" {
		t.Errorf("event = %v %v", typ, changed)
	}
	c := b
	c.EmploymentStatus, c.TerminationDate = StatusTerminated, "2026-10-31"
	if typ, _ := EmployeeEventType(&b, &c); typ != "employee.terminated" {
		t.Errorf("termination events = %v", typ)
	}
	d := c
	d.EmploymentStatus, d.TerminationDate = StatusActive, ""
	if typ, _ := EmployeeEventType(&c, &d); typ != "employee.rehired" {
		t.Errorf("rehire events = %v", typ)
	}
	if typ, _ := EmployeeEventType(nil, &a); typ != "employee.hired" {
		t.Errorf("new employee events = %v", typ)
	}
	if typ, _ := EmployeeEventType(&a, &a); typ != "" {
		t.Errorf("unchanged employee event = %v", typ)
	}
}

// TestEveryCodeIsInTheCatalog reads errors.go for the E_ constants and
// checks each has a catalog entry, so no code reaches a user without a fix.
func TestEveryCodeIsInTheCatalog(t *testing.T) {
	src, err := os.ReadFile("errors.go")
	if err != nil {
		t.Fatal(err)
	}
	codes := regexp.MustCompile(`"(E_[A-Z_]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(codes) < 20 {
		t.Fatalf("found only %d codes", len(codes))
	}
	for _, m := range codes {
		if e, ok := Catalog[m[1]]; !ok || e.Fix == "" {
			t.Errorf("%s has no catalog entry with a fix", m[1])
		}
	}
}

// validEmailPlain is ValidEmail's definition written plainly: one @, a
// local part, a dotted domain of 3+ bytes without "..", and none of the
// bytes of display names and comments.
func validEmailPlain(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(domain) < 3 || strings.ContainsAny(s, " \t,;<>()\"[]\\") || strings.Contains(domain, "@") {
		return false
	}
	dot := strings.LastIndexByte(domain, '.')
	return dot > 0 && dot < len(domain)-1 && !strings.Contains(domain, "..")
}

func TestValidEmail(t *testing.T) {
	for s, want := range map[string]bool{
		"ada@example.com": true, "a.b@c.io": true, "a@b.c": true, "x..y@b.co": true,
		"": false, "ada": false, "@example.com": false, "ada@": false, "ada@com": false, "ada@.com": false,
		"ada@example.": false, "ada@exa..mple.com": false, "a@b@c.com": false, "ada lovelace@example.com": false,
		"Ada <ada@example.com>": false, "ada@example.com,bob@example.com": false, "a@b.c.": false, "a@bc": false,
	} {
		if got := ValidEmail(s); got != want || validEmailPlain(s) != want {
			t.Errorf("ValidEmail(%q) = %v (plain %v), want %v", s, got, validEmailPlain(s), want)
		}
	}
}

func FuzzValidEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", "a@b.c", "a@b..c", "a@@b.c", "x y@z.io", "@.", "a@.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidEmail(s), validEmailPlain(s); got != want {
			t.Fatalf("ValidEmail(%q) = %v, the plain definition says %v", s, got, want)
		}
	})
}

// FuzzParseISODate holds the validator's date parser to time.Parse.
func FuzzParseISODate(f *testing.F) {
	for _, s := range []string{"2020-01-06", "2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "2020-04-31", "2020-13-01", "0000-01-01", "2020-1-06"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseISODate(s)
		want, err := time.Parse(DateLayout, s)
		if ok != (err == nil) || ok && (d.y != want.Year() || d.m != int(want.Month()) || d.d != want.Day() || d.String() != s) {
			t.Fatalf("parseISODate(%q) = %+v, %v; time.Parse %v, %v", s, d, ok, want, err)
		}
	})
}
