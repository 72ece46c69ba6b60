package parsers

import (
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
)

// TestDerivedFields: fields computed from other columns by an expression:
// a "LAST, FIRST MI" name split in two, a status from whether a
// termination date is present, money with a decimal comma; an expression
// that fails on a row is a positioned E_EXPR error on that row.
func TestDerivedFields(t *testing.T) {
	l, err := ParseLayout([]byte(`
name: legacy
entity: employee
mode: full
format: csv
fields:
  external_id: {columns: [Emp]}
  last_name: {expr: 'trim(split(col["Employee Name"], ",")[0])', required: true}
  first_name: {expr: 'split(trim(split(col["Employee Name"], ",")[1]), " ")[0]', required: true}
  employment_status:
    expr: 'col["Term Date"] != "" ? "T" : "A"'
    type: enum
    codes: {A: active, T: terminated}
  termination_date: {columns: [Term Date], type: date, formats: ["02.01.2006"]}
  annual_salary: {expr: 'replace(replace(col["Gehalt"], ".", ""), ",", ".")', type: money}
`))
	if err != nil {
		t.Fatal(err)
	}
	file := "Emp;Employee Name;Term Date;Gehalt\nE1;Lovelace, Ada K;;85.000,00\nE2;García, José;31.10.2026;52.000,50\nE3;NoComma;;1\n"
	l.CSV.Delimiter = ";"
	rows, err := readAll(t, strings.NewReader(file), l)
	if err != nil {
		t.Fatal(err)
	}
	e1, e2 := rows[0].Record.(*schema.Employee), rows[1].Record.(*schema.Employee)
	if !rows[0].Valid() || e1.LastName != "Lovelace" || e1.FirstName != "Ada" || e1.EmploymentStatus != "active" || e1.AnnualSalary.Amount != "85000.00" {
		t.Fatalf("E1 = %+v %+v", e1, rows[0].Errors)
	}
	if !rows[1].Valid() || e2.FirstName != "José" || e2.EmploymentStatus != "terminated" || e2.TerminationDate != "2026-10-31" || e2.AnnualSalary.Amount != "52000.50" {
		t.Fatalf("E2 = %+v %+v", e2, rows[1].Errors)
	}
	if len(rows[2].Errors) == 0 || rows[2].Errors[0].Code != schema.ECodeExpr || rows[2].Errors[0].Field != "first_name" || rows[2].Errors[0].Line != 4 {
		t.Fatalf("E3 errors = %+v, want E_EXPR on first_name at line 4", rows[2].Errors)
	}
	if _, err := ParseLayout([]byte("name: x\nentity: employee\nmode: full\nformat: csv\nfields:\n  first_name: {expr: 'split(('}\n")); err == nil ||
		!strings.Contains(err.Error(), ".expr") {
		t.Fatalf("a broken expression = %v, want a layout error naming expr", err)
	}
}
