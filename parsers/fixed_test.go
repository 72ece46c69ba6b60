package parsers

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
)

func builtin(t testing.TB, name string) *Layout {
	t.Helper()
	l, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestFixedPayrollCensus(t *testing.T) {
	b, _ := os.ReadFile("../testdata/fixed/payroll-census.txt")
	rows, err := readAll(t, bytes.NewReader(b), builtin(t, "payroll-census-fixed"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	for _, r := range rows {
		if !r.Valid() {
			t.Errorf("line %d invalid: %+v", r.Line, r.Errors)
		}
	}
	e := rows[1].Record.(*schema.Employee)
	if e.ExternalID != "1002" || e.LastName != "MéNDEZ" || e.FirstName != "JOSÉ" || e.AnnualSalary.Amount != "52000.50" ||
		e.EmploymentStatus != "terminated" || e.TerminationDate != "2026-10-31" || rows[1].Line != 3 {
		t.Fatalf("detail 2 = %+v (line %d)", e, rows[1].Line)
	}
	if e := rows[2].Record.(*schema.Employee); e.SSN != "" || e.HomeAddress != nil {
		t.Errorf("blank fields read as values: %+v", e)
	}
}

func TestFixedNewHire(t *testing.T) {
	f, _ := os.Open("../testdata/fixed/newhire.txt")
	defer f.Close()
	rows, err := readAll(t, f, builtin(t, "newhire-fixed"))
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows = %d, err = %v", len(rows), err)
	}
	e := rows[1].Record.(*schema.Employee)
	if !rows[1].Valid() || e.ExternalID != "E2002" || e.MiddleName != "JANE" || e.HireDate != "2026-11-09" || e.EmploymentStatus != "active" || e.HomeAddress.PostalCode != "60611" {
		t.Fatalf("W4 2 = %+v, errors %+v", e, rows[1].Errors)
	}
}

// TestFixedFileChecks damages the payroll fixture in each way a transfer
// or a hand edit does and expects the file-level error.
func TestFixedFileChecks(t *testing.T) {
	orig, _ := os.ReadFile("../testdata/fixed/payroll-census.txt")
	lines := strings.Split(strings.TrimRight(string(orig), "\r\n"), "\r\n")
	join := func(ls ...string) string { return strings.Join(ls, "\r\n") + "\r\n" }
	tests := []struct {
		name, src, code string
	}{
		{"truncated: no trailer", join(lines[:3]...), schema.ECodeTruncated},
		{"cut mid-record", join(lines[:3]...) + lines[3][:50], schema.ECodeTruncated},
		{"trailer count", join(lines[0], lines[1], lines[2], lines[4]), schema.ECodeTrailerCount},
		{"control total", join(lines[0], lines[1], lines[2], strings.Replace(lines[3], "07100000", "07100001", 1), lines[4]), schema.ECodeControlTotal},
		{"no header", join(lines[1:]...), schema.ECodeHeader},
		{"record after trailer", join(append(append([]string{}, lines...), lines[1])...), schema.ECodeTrailer},
		{"empty", "", schema.ECodeTruncated},
	}
	for _, tt := range tests {
		_, err := readAll(t, strings.NewReader(tt.src), builtin(t, "payroll-census-fixed"))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Code != tt.code {
			t.Errorf("%s: err = %v, want %s", tt.name, err, tt.code)
		}
	}
}

func TestFixedRowErrors(t *testing.T) {
	orig, _ := os.ReadFile("../testdata/fixed/payroll-census.txt")
	lines := strings.Split(strings.TrimRight(string(orig), "\r\n"), "\r\n")
	bad := []byte(lines[1])
	copy(bad[65:73], "19851340") // month 13
	bad[74] = 'Q'                // unknown status code
	src := strings.Join([]string{lines[0], string(bad), "X" + lines[2][1:], lines[2] + "EXTRA", lines[3], lines[4]}, "\n")
	rows, err := readAll(t, strings.NewReader(src), builtin(t, "payroll-census-fixed"))
	if err != nil {
		// Three details still match the trailer's count and total; the
		// unknown X record is reported as a row of its own.
		t.Fatalf("file-level error %v, want row errors only", err)
	}
	got := map[int][]string{}
	for _, r := range rows {
		for _, e := range r.Errors {
			got[r.Line] = append(got[r.Line], e.Field+":"+e.Code)
		}
	}
	want := map[int]string{2: "date_of_birth:E_DATE employment_status:E_CODE_UNMAPPED", 3: ":E_RECORD_TYPE", 4: ":E_COLUMN_COUNT"}
	for line, w := range want {
		if g := strings.Join(sorted(got[line]), " "); g != w {
			t.Errorf("line %d = %q, want %q", line, g, w)
		}
	}
}

func TestImpliedDecimalsAndPadding(t *testing.T) {
	tests := []struct {
		f        Field
		raw, out string
	}{
		{Field{Type: "money", Decimals: 2}, "00001234500", "12345.00"},
		{Field{Type: "decimal", Decimals: 2}, "0000000005", "0.05"},
		{Field{Type: "money", Decimals: 2}, "0000012345-", "-123.45"},
		{Field{Type: "decimal", Decimals: 3}, "7", "0.007"},
		{Field{Pad: "0"}, "000123", "123"},
		{Field{Pad: "0"}, "000100", "100"},
		{Field{Trim: "none"}, "  x ", "  x "},
		{Field{Trim: "right"}, "  x ", "  x"},
		{Field{Type: "int"}, "0042", "42"},
		{Field{Type: "int"}, "1,200", "1200"},
	}
	for _, tt := range tests {
		got, fe := tt.f.convert("f", tt.raw)
		if fe != nil || got != tt.out {
			t.Errorf("convert(%+v, %q) = %q, %v; want %q", tt.f, tt.raw, got, fe, tt.out)
		}
	}
}

func FuzzFixedWidth(f *testing.F) {
	for _, p := range []string{"../testdata/fixed/payroll-census.txt", "../testdata/fixed/newhire.txt"} {
		b, _ := os.ReadFile(p)
		f.Add(b, p == "../testdata/fixed/newhire.txt")
	}
	payroll, newhire := builtin(f, "payroll-census-fixed"), builtin(f, "newhire-fixed")
	f.Fuzz(func(t *testing.T, b []byte, nh bool) {
		l := payroll
		if nh {
			l = newhire
		}
		r, err := Open(bytes.NewReader(b), l)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		for i := 0; i < 1e5; i++ {
			row, err := r.Next()
			if err != nil {
				var pe *ParseError
				if err.Error() != "EOF" && !errors.As(err, &pe) {
					t.Fatalf("error is not a *ParseError: %v", err)
				}
				return
			}
			if row.Valid() {
				if verr := row.Record.(*schema.Employee).Validate(); verr != nil {
					t.Fatalf("row marked valid fails Validate: %v", verr)
				}
			}
			for _, e := range row.Errors {
				if e.Code == "" || e.Line != row.Line {
					t.Fatalf("unpositioned or uncoded error %+v", e)
				}
			}
		}
	})
}
