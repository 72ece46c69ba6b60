package parsers

import (
	"strings"
	"testing"
)

// TestErrorsNeverQuotePII: a row error names the field and the problem;
// it quotes the value only when the field is not sensitive and the value
// does not look like an SSN (swapped columns put SSNs anywhere).
func TestErrorsNeverQuotePII(t *testing.T) {
	const header = "Employee ID,First Name,Last Name,Status,DOB,SSN,Work Email,Hire Date\n"
	tests := []struct {
		name, row, field string
		hidden, shown    string
	}{
		{"an SSN in the birth date column", "E1,A,B,A,510-55-1000,,,\n", "date_of_birth", "510-55-1000", ""},
		{"a bad birth date", "E1,A,B,A,1980-02-30,,,\n", "date_of_birth", "1980-02-30", ""},
		{"a malformed SSN", "E1,A,B,A,,51055100,,\n", "ssn", "51055100", ""},
		{"an SSN in the hire date column", "E1,A,B,A,,,,510551000\n", "hire_date", "510551000", ""},
		{"a bad hire date is shown", "E1,A,B,A,,,,2020-13-45\n", "hire_date", "", `"2020-13-45"`},
		{"a bad status code is shown", "E1,A,B,Q,,,,\n", "employment_status", "", `"Q"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(strings.NewReader(header+tt.row), census(t))
			if err != nil {
				t.Fatal(err)
			}
			row, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			var msg string
			for _, fe := range row.Errors {
				if fe.Field == tt.field {
					msg = fe.Message
				}
			}
			if msg == "" {
				t.Fatalf("no error on %s: %+v", tt.field, row.Errors)
			}
			if tt.hidden != "" && (strings.Contains(msg, tt.hidden) || strings.Contains(msg, tt.hidden[len(tt.hidden)-4:])) {
				t.Fatalf("message quotes the value: %q", msg)
			}
			if tt.shown != "" && !strings.Contains(msg, tt.shown) {
				t.Fatalf("message %q does not show %s", msg, tt.shown)
			}
		})
	}
}
