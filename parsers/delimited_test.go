package parsers

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
)

var update = flag.Bool("update", false, "rewrite golden files")

// readAll parses src with a layout and returns its rows.
func readAll(t testing.TB, src io.Reader, l *Layout) ([]*Row, error) {
	t.Helper()
	r, err := Open(src, l)
	if err != nil {
		return nil, err
	}
	var rows []*Row
	for {
		row, err := r.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}

// eachRow hands every row of rd to fn, failing the test on an error.
func eachRow(t testing.TB, rd Reader, fn func(*Row)) {
	t.Helper()
	for {
		row, err := rd.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(row)
	}
}

func census(t testing.TB) *Layout {
	t.Helper()
	l, err := Builtin("census-csv")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// goldenSets pairs fixture globs with the layout that reads them.
var goldenSets = []struct{ glob, layout string }{
	{"../testdata/census/*.csv", "census-csv"},
	{"../testdata/dependents/*.csv", "dependents-csv"},
	{"../testdata/enrollments/*.csv", "enrollments-csv"},
	{"../testdata/plans/*.csv", "plans-csv"},
	{"../testdata/fixed/payroll-census*.txt", "payroll-census-fixed"},
	{"../testdata/fixed/newhire*.txt", "newhire-fixed"},
}

// TestGolden parses every fixture and compares the rows with its
// .golden.json (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, set := range goldenSets {
		files, _ := filepath.Glob(set.glob)
		if len(files) == 0 {
			t.Fatalf("no fixtures for %s", set.glob)
		}
		for _, path := range files {
			t.Run(filepath.Base(path), func(t *testing.T) {
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				l, err := Builtin(set.layout)
				if err != nil {
					t.Fatal(err)
				}
				rows, err := readAll(t, f, l)
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				got, _ := json.MarshalIndent(rows, "", "  ")
				golden := strings.TrimSuffix(path, filepath.Ext(path)) + ".golden.json"
				if *update {
					os.WriteFile(golden, append(got, '\n'), 0o644)
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
					t.Errorf("rows differ from %s:\n%s", golden, got)
				}
			})
		}
	}
}

func TestCensusHeaderSpellings(t *testing.T) {
	for _, h := range []string{"Employee ID", "EE ID", "Emp #", "Employee Number", "EMPLOYEE_ID", "emp#"} {
		src := h + ",First Name,Last Name,Status\nE9,A,B,A\n"
		rows, err := readAll(t, strings.NewReader(src), census(t))
		if err != nil || len(rows) != 1 || rows[0].RecordID != "E9" || !rows[0].Valid() {
			t.Errorf("header %q: rows=%+v err=%v; want external_id E9", h, rows, err)
		}
	}
}

func TestCensusDatesAndMoney(t *testing.T) {
	tests := []struct{ dob, salary, wantDOB, wantSalary string }{
		{"1985-12-10", "85000", "1985-12-10", "85000"},
		{"12/10/1985", "$85,000.00", "1985-12-10", "85000.00"},
		{"1/2/1985", "85,000", "1985-01-02", "85000"},
		{"19851210", "(1,000.50)", "1985-12-10", "-1000.50"},
	}
	for _, tt := range tests {
		src := "EE ID,First Name,Last Name,Status,DOB,Salary\nE1,A,B,A," + tt.dob + ",\"" + tt.salary + "\"\n"
		rows, err := readAll(t, strings.NewReader(src), census(t))
		if err != nil || len(rows) != 1 || !rows[0].Valid() {
			t.Fatalf("dob %q salary %q: rows=%+v err=%v", tt.dob, tt.salary, rows, err)
		}
		e := rows[0].Record.(*schema.Employee)
		if e.DateOfBirth != tt.wantDOB || e.AnnualSalary.Amount != tt.wantSalary || e.AnnualSalary.Currency != "USD" {
			t.Errorf("dob %q salary %q = %q %+v, want %q %q", tt.dob, tt.salary, e.DateOfBirth, e.AnnualSalary, tt.wantDOB, tt.wantSalary)
		}
	}
}

func TestCensusRowErrors(t *testing.T) {
	f, _ := os.Open("../testdata/census/errors.csv")
	defer f.Close()
	rows, err := readAll(t, f, census(t))
	if err != nil {
		t.Fatal(err)
	}
	codes := map[int][]string{}
	for _, r := range rows {
		for _, e := range r.Errors {
			if e.Line != r.Line || e.Message == "" {
				t.Errorf("error not positioned: %+v in row at line %d", e, r.Line)
			}
			codes[r.Line] = append(codes[r.Line], e.Field+":"+e.Code)
		}
	}
	want := map[int]string{
		3: "date_of_birth:E_DATE employment_status:E_CODE_UNMAPPED first_name:E_REQUIRED",
		4: "external_id:E_DUPLICATE_ID",
		5: ":E_COLUMN_COUNT",
		6: "termination_date:E_REQUIRED",
		7: "date_of_birth:E_DATE_ORDER",
	}
	for line, w := range want {
		got := codes[line]
		if strings.Join(sorted(got), " ") != w {
			t.Errorf("line %d errors = %v, want %s", line, got, w)
		}
	}
	if len(codes[2]) != 0 {
		t.Errorf("line 2 should be valid, got %v", codes[2])
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestCensusFileErrors(t *testing.T) {
	tests := []struct{ name, src, code string }{
		{"empty", "", schema.ECodeEmpty},
		{"header only", "Employee ID,First Name,Last Name,Status\n", schema.ECodeMinRows},
		{"no id column", "Name,Status\nA,A\n", schema.ECodeHeader},
		{"unclosed quote", "Employee ID,First Name,Last Name,Status\nE1,\"Ada,B,A\n", schema.ECodeCSV},
	}
	for _, tt := range tests {
		_, err := readAll(t, strings.NewReader(tt.src), census(t))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Code != tt.code {
			t.Errorf("%s: err = %v, want ParseError %s", tt.name, err, tt.code)
		}
	}
}

func FuzzCensusCSV(f *testing.F) {
	for _, p := range []string{"../testdata/census/basic.csv", "../testdata/census/errors.csv", "../testdata/census/bom.csv"} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	l, err := Builtin("census-csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Open(strings.NewReader(string(b)), l)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Open error is not a *ParseError: %v", err)
			}
			return
		}
		for i := 0; i < 1e5; i++ {
			row, err := r.Next()
			if err != nil {
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
