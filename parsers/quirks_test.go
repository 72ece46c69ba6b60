package parsers

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
)

// layoutFrom merges an override into census-csv.
func layoutFrom(t *testing.T, override string) *Layout {
	t.Helper()
	base, _ := BuiltinYAML("census-csv")
	l, err := Merge(base, []byte(override))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestCSVQuirks feeds the export quirks of real HRIS systems through the
// census layout (with the override each needs) and checks the employees
// that come out.
func TestCSVQuirks(t *testing.T) {
	const hdr = "Employee ID,First Name,Last Name,Status,Department"
	tests := []struct {
		name, override, src string
		want                []string // external_id:first_name:department per valid row
	}{
		{"CRLF", "", hdr + "\r\nE1,Ada,L,A,Eng\r\nE2,Bob,S,A,Ops\r\n", []string{"E1:Ada:Eng", "E2:Bob:Ops"}},
		{"no final newline", "", hdr + "\nE1,Ada,L,A,Eng", []string{"E1:Ada:Eng"}},
		{"UTF-8 BOM", "", "\ufeff" + hdr + "\nE1,Ada,L,A,Eng\n", []string{"E1:Ada:Eng"}},
		{"quoted delimiter, quote and newline", "", hdr + "\nE1,\"Ada \"\"Countess\"\"\",L,A,\"Research,\nDevelopment\"\n",
			[]string{"E1:Ada \"Countess\":Research,\nDevelopment"}},
		{"trailing delimiter", "", hdr + ",\nE1,Ada,L,A,Eng,\n", []string{"E1:Ada:Eng"}},
		{"semicolon", "csv: {delimiter: ';'}", strings.ReplaceAll(hdr, ",", ";") + "\nE1;Ada;L;A;Eng\n", []string{"E1:Ada:Eng"}},
		{"tab", "csv: {delimiter: tab}", strings.ReplaceAll(hdr, ",", "\t") + "\nE1\tAda\tL\tA\tEng\n", []string{"E1:Ada:Eng"}},
		{"pipe without quoting", "csv: {delimiter: '|', quote: none}", strings.ReplaceAll(hdr, ",", "|") + "\nE1|Ada \"The\" Countess|L|A|Eng\n",
			[]string{"E1:Ada \"The\" Countess:Eng"}},
		{"report title lines", "csv: {skip_lines: 2}", "Census Report\nRun 2026-11-01\n" + hdr + "\nE1,Ada,L,A,Eng\n", []string{"E1:Ada:Eng"}},
		{"comment lines", "csv: {comment: '#'}", "# exported by PayrollPro\n" + hdr + "\n# page 1\nE1,Ada,L,A,Eng\n", []string{"E1:Ada:Eng"}},
		{"blank lines", "", hdr + "\n\nE1,Ada,L,A,Eng\n\n", []string{"E1:Ada:Eng"}},
		{"windows-1252", "encoding: windows-1252", hdr + "\nE1,Ren\xe9e \x93Ren\x94,L,A,R\x96D\n", []string{"E1:Renée “Ren”:R–D"}},
		{"iso-8859-1", "encoding: iso-8859-1", hdr + "\nE1,M\xfcller,L,A,Eng\n", []string{"E1:Müller:Eng"}},
		{"no header, by position", `name: positional
entity: employee
mode: delta
format: csv
csv: {no_header: true}
fields:
  external_id: {position: 1, required: true}
  first_name: {position: 2}
  last_name: {position: 3}
  employment_status: {position: 4, type: enum, codes: {A: active}}
  department: {position: 5}
`, "E1,Ada,L,A,Eng\n", []string{"E1:Ada:Eng"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := census(t)
			if strings.HasPrefix(tt.override, "name:") {
				var err error
				if l, err = ParseLayout([]byte(tt.override)); err != nil {
					t.Fatal(err)
				}
			} else if tt.override != "" {
				l = layoutFrom(t, tt.override)
			}
			rows, err := readAll(t, strings.NewReader(tt.src), l)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				if !r.Valid() {
					t.Fatalf("line %d: %+v", r.Line, r.Errors)
				}
				e := r.Record.(*schema.Employee)
				got = append(got, e.ExternalID+":"+e.FirstName+":"+e.Department)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestInvalidUTF8IsAnEncodingError(t *testing.T) {
	const file = "Employee ID,First Name,Last Name,Status\nE1,Ren\xe9e,L,A\nE2,Ok,\xc3,A\nE3,Ren\u00e9e,L,A\n"
	// With a skipper installed the record is checked once as a whole and
	// only a failing record field by field: both ways must name the field.
	// A layout that names UTF-8 gets exactly that (auto would read this
	// file as Windows-1252).
	l := census(t)
	l.Encoding = "utf-8"
	for _, skip := range []bool{false, true} {
		rd, err := Open(strings.NewReader(file), l)
		if err != nil {
			t.Fatal(err)
		}
		if skip && !rd.SkipWith(skipper(func(string, uint64) bool { return false }), testKey) {
			t.Fatal("census-csv cannot skip")
		}
		var got []string
		eachRow(t, rd, func(row *Row) {
			var codes []string
			for _, e := range row.Errors {
				codes = append(codes, e.Code+":"+e.Field)
			}
			got = append(got, row.RecordID+"="+strings.Join(codes, ","))
		})
		want := "E1=E_ENCODING:first_name|E2=E_ENCODING:last_name|E3="
		if strings.Join(got, "|") != want {
			t.Fatalf("skipper %v: rows = %q; want %q", skip, strings.Join(got, "|"), want)
		}
	}
}

func TestUnmappedColumnsKept(t *testing.T) {
	rows, _ := readAll(t, strings.NewReader("EE ID,First Name,Last Name,Status,Tobacco User,Shift,  \nE1,A,B,A,Y,,\n"), census(t))
	e := rows[0].Record.(*schema.Employee)
	if len(e.CustomFields) != 1 || e.CustomFields["Tobacco User"] != "Y" {
		t.Fatalf("custom_fields = %v, want Tobacco User only (empty values and blank headers carry nothing)", e.CustomFields)
	}
}

func TestExpectedHeaderDrift(t *testing.T) {
	l := layoutFrom(t, "checks: {expected_header: [Employee ID, First Name, Last Name, Status]}")
	r, err := Open(strings.NewReader("Employee ID,First Name,Last Name,Status\nE1,A,B,A\n"), l)
	if err != nil || len(r.Drift()) != 0 {
		t.Fatalf("matching header: drift %v, err %v", r.Drift(), err)
	}
	r, err = Open(strings.NewReader("EMPLOYEE_ID,First Name,Surname,Status,Shift\nE1,A,B,A,1\n"), l)
	if err != nil {
		t.Fatal(err)
	}
	want := `expected column "Last Name" is missing|column "Surname" is new|column "Shift" is new`
	if got := strings.Join(r.Drift(), "|"); got != want {
		t.Fatalf("drift = %q, want %q", got, want)
	}
	if row, err := r.Next(); err != nil || !row.Valid() {
		t.Fatalf("a drifted file still reads: %+v %v", row, err)
	}
}

func TestRequiredColumnsAndMinRows(t *testing.T) {
	l := layoutFrom(t, "checks: {min_rows: 3, required_columns: [SSN]}")
	_, err := Open(strings.NewReader("Employee ID,First Name,Last Name,Status\n"), l)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Code != schema.ECodeHeader || !strings.Contains(pe.Error(), "SSN") {
		t.Fatalf("missing required column: %v", err)
	}
	r, _ := Open(strings.NewReader("Employee ID,First Name,Last Name,Status,SSN\nE1,A,B,A,\n"), l)
	r.Next()
	if _, err := r.Next(); !errors.As(err, &pe) || pe.Code != schema.ECodeMinRows {
		t.Fatalf("one row of three: %v", err)
	}
}

func TestOverrideHierarchy(t *testing.T) {
	base, _ := BuiltinYAML("census-csv")
	tenant := []byte("fields:\n  employment_status:\n    codes: {X: leave}\n")
	conn := []byte("fields:\n  external_id:\n    columns: [Badge]\n  department: null\n")
	l, err := Merge(base, tenant, conn)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Fields["employment_status"].Codes; got["X"] != "leave" || got["A"] != "active" {
		t.Errorf("tenant code added by deep merge? codes = %v", got)
	}
	if got := l.Fields["external_id"].Columns; len(got) != 1 || got[0] != "Badge" || !l.Fields["external_id"].Required {
		t.Errorf("connection remap: %+v", l.Fields["external_id"])
	}
	if l.Fields["department"] != nil {
		t.Error("null did not remove a field")
	}
	rows, err := readAll(t, strings.NewReader("Badge,First Name,Last Name,Status,Department\nB7,A,B,X,Eng\n"), l)
	if err != nil || !rows[0].Valid() {
		t.Fatalf("rows = %+v, %v", rows, err)
	}
	e := rows[0].Record.(*schema.Employee)
	if e.ExternalID != "B7" || e.EmploymentStatus != "leave" || e.CustomFields["Department"] != "Eng" {
		t.Fatalf("merged layout read %+v", e)
	}
	if _, err := Merge(base, []byte("fields: {nonsense_field: {columns: [x]}}")); err == nil {
		t.Error("an override with an unknown field was accepted")
	}
}

func TestLayoutValidateNamesTheKey(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"name: x\nentity: employee\nmode: full\nformat: xml\nfields: {first_name: {columns: [a]}}", "format"},
		{"name: x\nentity: payroll\nmode: full\nformat: csv\nfields: {first_name: {columns: [a]}}", "entity"},
		{"name: x\nentity: employee\nmode: sometimes\nformat: csv\nfields: {first_name: {columns: [a]}}", "mode"},
		{"name: x\nentity: employee\nmode: full\nformat: csv\nfields: {hire_date: {columns: [a], type: date}}", "fields.hire_date.formats"},
		{"name: x\nentity: employee\nmode: full\nformat: csv\nfields: {gender: {columns: [a], type: enum}}", "fields.gender.codes"},
		{"name: x\nentity: employee\nmode: full\nformat: csv\nfields: {gender: {columns: [a], type: color}}", "fields.gender.type"},
		{"name: x\nentity: employee\nmode: full\nformat: fixed\nfields: {first_name: {columns: [a]}}", "fields.first_name"},
		{"name: x\nentity: employee\nmode: full\nformat: csv\nencoding: ebcdic\nfields: {first_name: {columns: [a]}}", "encoding"},
		{"name: x\nentity: employee\nmode: full\nformat: csv\ncolour: red\nfields: {first_name: {columns: [a]}}", "colour"},
		{"name: x\nentity: employee\nmode: full\nformat: fixed\nfixed: {trailer: T}\nfields: {first_name: {start: 1, length: 2}}", "fixed.type_start"},
	}
	for _, tt := range tests {
		_, err := ParseLayout([]byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseLayout(...%s...) = %v, want an error naming %s", tt.want, err, tt.want)
		}
	}
	for _, name := range Builtins() {
		if _, err := Builtin(name); err != nil {
			t.Errorf("built-in %s: %v", name, err)
		}
	}
}

// TestReusingReadsTheSame: the reusing reader hands out one record whose
// map, address and salary are emptied and filled again row by row; each
// row must read exactly as the plain reader's own record for it, with
// nothing left over from the row before.
func TestReusingReadsTheSame(t *testing.T) {
	const file = "Employee ID,First Name,Last Name,Status,Address 1,City,Annual Salary,Tobacco User\n" +
		"E1,A,B,A,1 Main St,Springfield,\"52,000\",Y\n" +
		"E2,C,D,A,,,,\n" +
		"E3,E,F,T,,Shelbyville,,N\n" +
		"E4,G,H,A,2 Elm St,,61000,\n" +
		"E5,I,J,A,,,,\n"
	snapshot := func(open func(io.Reader, *Layout) (Reader, error)) []string {
		rd, err := open(strings.NewReader(file), census(t))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		eachRow(t, rd, func(row *Row) {
			b, _ := json.Marshal(row.Record)
			out = append(out, string(b))
		})
		return out
	}
	plain, reusing := snapshot(Open), snapshot(OpenReusing)
	if strings.Join(plain, "\n") != strings.Join(reusing, "\n") {
		t.Fatalf("reusing reader:\n%s\nplain reader:\n%s", strings.Join(reusing, "\n"), strings.Join(plain, "\n"))
	}
	for i, want := range []struct{ address, salary bool }{{true, true}, {false, false}, {true, false}, {true, true}, {false, false}} {
		if got := strings.Contains(reusing[i], `"home_address":{`); got != want.address {
			t.Errorf("row %d has an address %v, want %v: %s", i+1, got, want.address, reusing[i])
		}
		if got := strings.Contains(reusing[i], `"annual_salary":{`); got != want.salary {
			t.Errorf("row %d has a salary %v, want %v: %s", i+1, got, want.salary, reusing[i])
		}
	}
}
