package parsers

import (
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
)

// TestInfer proposes layouts for census shapes the built-in spellings
// do not all know, checks what each column became, and that the sample
// then reads without errors.
func TestInfer(t *testing.T) {
	tests := []struct {
		name, file string
		want       map[string]string // header -> field ("" custom)
		formats    map[string]string // header -> date format
		unmapped   map[string]string // header -> codes the map lacks
		notes      map[string]string // header -> a note it must have
		missing    string
	}{
		{
			name: "payroll report, Windows-1252, semicolons, day-first dates",
			file: cp1252("Emp No;Employee First Name;Surname;Birthdate;Status Code;Hire Dt;Soc Sec Num;Union\r\n" +
				"1001;Renée;Lee;31/12/1980;A;15/01/2020;510-55-1000;L42\r\n1002;Bob;Smith;01/02/1975;T;03/03/2019;510-55-1001;\r\n"),
			want:    map[string]string{"Emp No": "external_id", "Employee First Name": "first_name", "Surname": "last_name", "Birthdate": "date_of_birth", "Status Code": "employment_status", "Hire Dt": "hire_date", "Soc Sec Num": "ssn", "Union": ""},
			formats: map[string]string{"Birthdate": "02/01/2006", "Hire Dt": "02/01/2006"},
		},
		{
			name: "HRIS export, tabs, ISO dates, a status code the map lacks",
			file: "Worker ID\tLegal First Name\tLegal Last Name\tWorker Status\tDate of Hire\tGender\n" +
				"W1\tAda\tL\tActive\t2020-01-06\tF\nW2\tBo\tM\tSuspended\t2021-02-03\tM\n",
			want:     map[string]string{"Worker ID": "external_id", "Legal First Name": "first_name", "Legal Last Name": "last_name", "Worker Status": "employment_status", "Date of Hire": "hire_date", "Gender": "gender"},
			formats:  map[string]string{"Date of Hire": "2006-01-02"},
			unmapped: map[string]string{"Worker Status": "Suspended"},
		},
		{
			name: "money with separators reads; a decimal comma is noted",
			file: "Employee ID,First Name,Last Name,Status,Annual Salary,Hourly Rate\nE1,A,B,A,\"$85,000.00\",\"12,50\"\n",
			want: map[string]string{"Employee ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Status": "employment_status",
				"Annual Salary": "annual_salary", "Hourly Rate": "hourly_rate"},
			notes: map[string]string{"Hourly Rate": "1 of 1 values are written with a decimal comma"},
		},
		{
			name:    "no column for a required field",
			file:    "Employee ID,First Name,Last Name\nE1,A,B\n",
			want:    map[string]string{"Employee ID": "external_id", "First Name": "first_name", "Last Name": "last_name"},
			missing: "employment_status",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Infer(strings.NewReader(tt.file), "employee", 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range p.Columns {
				want, ok := tt.want[c.Header]
				if !ok {
					t.Errorf("column %q not expected", c.Header)
					continue
				}
				if c.Field != want {
					t.Errorf("column %q -> %q, want %q", c.Header, c.Field, want)
				}
				if f := tt.formats[c.Header]; c.Format != f {
					t.Errorf("column %q dates as %q, want %q", c.Header, c.Format, f)
				}
				if u := tt.unmapped[c.Header]; strings.Join(c.Unmapped, ",") != u {
					t.Errorf("column %q unmapped codes %v, want %q", c.Header, c.Unmapped, u)
				}
				if n := tt.notes[c.Header]; !strings.Contains(strings.Join(c.Notes, "; "), n) || n == "" && len(c.Notes) > 0 {
					t.Errorf("column %q notes %v, want %q", c.Header, c.Notes, n)
				}
			}
			if got := strings.Join(p.MissingRequired, ","); got != tt.missing {
				t.Fatalf("missing required = %q, want %q", got, tt.missing)
			}
			if tt.missing != "" {
				return
			}
			// The proposal is a layout that reads the sample: YAML round trip included.
			y, err := p.Layout.YAML()
			if err != nil {
				t.Fatal(err)
			}
			l, err := ParseLayout(y)
			if err != nil {
				t.Fatalf("the proposal does not parse: %v\n%s", err, y)
			}
			rows, err := readAll(t, strings.NewReader(tt.file), l)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				for _, e := range r.Errors {
					if e.Code == "E_DATE" || e.Code == "E_ENCODING" || e.Code == "E_HEADER" {
						t.Errorf("line %d: %s", r.Line, e.Message)
					}
				}
			}
		})
	}
}

// TestInferSplitsWholeNames: a "LAST, FIRST MI" name column becomes two
// derived fields, and the sample reads with them.
func TestInferSplitsWholeNames(t *testing.T) {
	file := "Employee ID,Employee Name,Status\nE1,\"Lovelace, Ada K\",A\nE2,\"García, José\",A\n"
	p, err := Infer(strings.NewReader(file), "employee", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.MissingRequired) != 0 || p.Columns[1].Match != "split" || p.Layout.Fields["first_name"].Expr == "" {
		t.Fatalf("proposal = %+v, missing %v", p.Columns, p.MissingRequired)
	}
	rep := Validate(strings.NewReader(file), "f.csv", p.Layout, ValidateOptions{})
	if rep.Verdict != "accept" {
		t.Fatalf("validate = %+v", rep)
	}
	rows, _ := readAll(t, strings.NewReader(file), p.Layout)
	if e := rows[1].Record.(*schema.Employee); e.FirstName != "José" || e.LastName != "García" {
		t.Fatalf("E2 = %s %s", e.FirstName, e.LastName)
	}
}
