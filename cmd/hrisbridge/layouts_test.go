package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func exitCode(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestValidateExitStatusAndJSON(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.csv")
	os.WriteFile(clean, []byte("EE ID,First Name,Last Name,Status\nE1,A,B,A\n"), 0o644)
	var rows strings.Builder
	rows.WriteString("EE ID,First Name,Last Name,Status\n")
	for i := range 30 {
		status := "A"
		if i == 7 {
			status = "Q"
		}
		rows.WriteString("E" + string(rune('A'+i)) + ",A,B," + status + "\n")
	}
	someBad := filepath.Join(dir, "some-bad.csv")
	os.WriteFile(someBad, []byte(rows.String()), 0o644)
	tests := []struct {
		files   []string
		code    int
		verdict string
	}{
		{[]string{clean}, 0, "accept"},
		{[]string{someBad}, 1, "accept_with_errors"},
		{[]string{"../../testdata/census/errors.csv"}, 2, "reject"},
		{[]string{filepath.Join(dir, "missing.csv")}, 2, "reject"},
		{[]string{clean, "../../testdata/census/errors.csv"}, 2, ""},
	}
	for _, tt := range tests {
		out, err := runCLI(t, append([]string{"validate", "--json", "--layout", "census-csv"}, tt.files...)...)
		if got := exitCode(err); got != tt.code {
			t.Errorf("validate %v: exit %d, want %d (%v)", tt.files, got, tt.code, err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(tt.files) {
			t.Fatalf("%d JSON lines for %d files: %s", len(lines), len(tt.files), out)
		}
		var rep report
		if err := json.Unmarshal([]byte(lines[0]), &rep); err != nil {
			t.Fatal(err)
		}
		if tt.verdict != "" && rep.Verdict != tt.verdict {
			t.Errorf("validate %v: verdict %q, want %q", tt.files, rep.Verdict, tt.verdict)
		}
		if tt.verdict == "accept_with_errors" && (rep.Rows != 30 || rep.Invalid != 1 || len(rep.Errors) != 1 || rep.Errors[0].Line != 9 || rep.Errors[0].Code != "E_CODE_UNMAPPED") {
			t.Errorf("report = %+v", rep)
		}
	}
}

func TestValidateCapsErrorsAndWritesCSV(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("EE ID,First Name,Last Name,Status\n")
	for i := range 150 {
		b.WriteString("E" + strings.Repeat("x", i+1) + ",,B,A\n")
	}
	in := filepath.Join(dir, "bad.csv")
	os.WriteFile(in, []byte(b.String()), 0o644)
	csvOut := filepath.Join(dir, "errors.csv")
	out, err := runCLI(t, "validate", "--json", "--layout", "census-csv", "--errors-csv", csvOut, in)
	if exitCode(err) != 2 {
		t.Fatalf("exit = %v", err)
	}
	var rep report
	json.Unmarshal([]byte(out), &rep)
	if len(rep.Errors) != 100 || rep.ErrorsOmitted != 50 {
		t.Fatalf("errors %d omitted %d, want 100 and 50", len(rep.Errors), rep.ErrorsOmitted)
	}
	got, _ := os.ReadFile(csvOut)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 151 || lines[0] != "file,line,record,field,code,message,fix" || !strings.Contains(lines[1], ",2,Ex,first_name,E_REQUIRED,") {
		t.Fatalf("errors csv: %d lines, head %q %q", len(lines), lines[0], lines[1])
	}
}

func TestValidateFixedWidthAndLayoutFile(t *testing.T) {
	if _, err := runCLI(t, "validate", "--layout", "payroll-census-fixed", "../../testdata/fixed/payroll-census.txt"); err != nil {
		t.Fatalf("payroll fixture: %v", err)
	}
	dir := t.TempDir()
	layout := filepath.Join(dir, "mine.yaml")
	os.WriteFile(layout, []byte("name: mine\nentity: employee\nmode: delta\nformat: csv\ncsv: {delimiter: '|'}\nfields:\n  external_id: {columns: [id], required: true}\n  first_name: {columns: [fn]}\n  last_name: {columns: [ln]}\n  employment_status: {default: active}\n"), 0o644)
	in := filepath.Join(dir, "in.txt")
	os.WriteFile(in, []byte("id|fn|ln\n1|A|B\n"), 0o644)
	if out, err := runCLI(t, "validate", "--layout", layout, in); err != nil || !strings.Contains(out, "accept") {
		t.Fatalf("layout file: %q %v", out, err)
	}
}

func TestLayoutsShowAndSet(t *testing.T) {
	dir := sqliteEnv(t)
	runCLI(t, "tenants", "create", "acme")
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("x"), 0o600)
	if _, err := runCLI(t, "connections", "create", "--tenant", "acme", "--name", "adp", "--host", "h", "--user", "u", "--host-key", "SHA256:abc", "--password-file", pw); err != nil {
		t.Fatal(err)
	}
	tenantOverride := filepath.Join(dir, "tenant.yaml")
	os.WriteFile(tenantOverride, []byte("fields:\n  employment_status:\n    codes: {Z: leave}\n"), 0o644)
	connOverride := filepath.Join(dir, "conn.yaml")
	os.WriteFile(connOverride, []byte("csv: {delimiter: '|'}\n"), 0o644)
	if _, err := runCLI(t, "layouts", "set", "census-csv", tenantOverride, "--tenant", "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "layouts", "set", "census-csv", connOverride, "--tenant", "acme", "--connection", "adp"); err != nil {
		t.Fatal(err)
	}
	tenantView, _ := runCLI(t, "layouts", "show", "census-csv", "--tenant", "acme")
	connView, _ := runCLI(t, "layouts", "show", "census-csv", "--tenant", "acme", "--connection", "adp")
	builtinView, _ := runCLI(t, "layouts", "show", "census-csv")
	if !strings.Contains(tenantView, "Z: leave") || strings.Contains(tenantView, "delimiter: '|'") || strings.Contains(builtinView, "Z: leave") {
		t.Fatalf("tenant view wrong:\n%s", tenantView)
	}
	if !strings.Contains(connView, "Z: leave") || !strings.Contains(connView, `delimiter: '|'`) {
		t.Fatalf("connection view lacks either override:\n%s", connView)
	}
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("fields:\n  shoe_size: {columns: [Shoe]}\n"), 0o644)
	if _, err := runCLI(t, "layouts", "set", "census-csv", broken, "--tenant", "acme"); err == nil || !strings.Contains(err.Error(), "shoe_size") {
		t.Fatalf("broken override = %v, want refusal naming shoe_size", err)
	}
	if v, _ := runCLI(t, "layouts", "show", "census-csv", "--tenant", "acme"); !strings.Contains(v, "Z: leave") {
		t.Fatal("a refused override replaced the stored one")
	}
}

// TestValidateReportsDetection: validate says what encoding and delimiter
// a file was read with under the built-in layout's auto.
func TestValidateReportsDetection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "census.csv")
	os.WriteFile(path, []byte("Employee ID;First Name;Last Name;Status\r\nE1;Ren\xe9e;L;A\r\n"), 0o644) // Windows-1252, semicolons
	out, err := runCLI(t, "validate", "--layout", "census-csv", "--json", path)
	if err != nil || !strings.Contains(out, `"detected":{"encoding":"windows-1252","delimiter":";"}`) || !strings.Contains(out, `"invalid":0`) {
		t.Fatalf("validate = %v\n%s", err, out)
	}
	out, _ = runCLI(t, "validate", "--layout", "census-csv", path)
	if !strings.Contains(out, `read as windows-1252, delimiter ";"`) {
		t.Fatalf("validate text:\n%s", out)
	}
}

// TestLayoutsInfer: infer writes a proposal that validate takes as it is,
// with a report of what each column became.
func TestLayoutsInfer(t *testing.T) {
	dir := t.TempDir()
	sample, prop := filepath.Join(dir, "sample.csv"), filepath.Join(dir, "prop.yaml")
	os.WriteFile(sample, []byte("Emp No;Employee First Name;Surname;Birthdate;Status Code;Hire Dt\r\n1001;Ren\xe9e;Lee;31/12/1980;A;15/01/2020\r\n"), 0o644)
	out, err := runCLI(t, "layouts", "infer", sample, "-o", prop)
	if err != nil || !strings.Contains(out, "Status Code                  -> employment_status (name)") || !strings.Contains(out, "dates as 02/01/2006") ||
		!strings.Contains(out, "accept") {
		t.Fatalf("infer = %v\n%s", err, out)
	}
	if out, err := runCLI(t, "validate", "--layout", prop, sample); err != nil || !strings.Contains(out, "accept") {
		t.Fatalf("validate with the proposal = %v\n%s", err, out)
	}
	out, err = runCLI(t, "layouts", "infer", sample, "-o", prop, "--json")
	if err != nil || !strings.Contains(out, `"field":"employment_status","match":"name"`) || !strings.Contains(out, `"verdict":"accept"`) {
		t.Fatalf("infer --json = %v\n%s", err, out)
	}
}
