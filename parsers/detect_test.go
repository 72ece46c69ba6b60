package parsers

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/hrisbridge/hrisbridge/schema"
)

func utf16(s string, e unicode.Endianness) string {
	b, _ := unicode.UTF16(e, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	return string(b)
}

func cp1252(s string) string {
	b, _ := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	return string(b)
}

// TestDetection: under encoding and delimiter auto (the built-in CSV
// layouts' default) a file's bytes decide, and a layout that names an
// encoding gets exactly that.
func TestDetection(t *testing.T) {
	const census = "Employee ID,First Name,Last Name,Status\r\nE1,Renée,Müller,A\r\n"
	tests := []struct {
		name, file      string
		encoding        string // the layout's; "" keeps the built-in's auto
		wantEnc, wantDe string
	}{
		{"utf-8", census, "", "utf-8", ","},
		{"utf-8 with a BOM", "\xef\xbb\xbf" + census, "", "utf-8", ","},
		{"utf-16 le", utf16(census, unicode.LittleEndian), "", "utf-16le", ","},
		{"utf-16 be", utf16(census, unicode.BigEndian), "", "utf-16be", ","},
		{"windows-1252", cp1252(census), "", "windows-1252", ","},
		{"semicolons", strings.ReplaceAll(census, ",", ";"), "", "utf-8", ";"},
		{"tabs", strings.ReplaceAll(census, ",", "\t"), "", "utf-8", "\t"},
		{"pipes", strings.ReplaceAll(census, ",", "|"), "", "utf-8", "|"},
		{"a comma inside quotes does not count", "\"Name, Full\";Employee ID;First Name;Last Name;Status\nx;E1;Renée;Müller;A\n", "", "utf-8", ";"},
		{"too short to decide: a header alone", "Employee ID\n", "", "utf-8", ","},
		{"named encoding wins", cp1252(census), "iso-8859-1", "iso-8859-1", ","},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Builtin("census-csv")
			if err != nil {
				t.Fatal(err)
			}
			if tt.encoding != "" {
				l.Encoding = tt.encoding
			}
			r, err := Open(strings.NewReader(tt.file), l)
			if err != nil {
				if tt.name == "too short to decide: a header alone" {
					return // a header without the required fields: the file is refused, detection aside
				}
				t.Fatal(err)
			}
			defer r.Close()
			if d := r.Detected(); d.Encoding != tt.wantEnc || d.Delimiter != tt.wantDe {
				t.Fatalf("detected %+v, want %s %q", d, tt.wantEnc, tt.wantDe)
			}
			row, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			e := row.Record.(*schema.Employee)
			if !row.Valid() || e.FirstName != "Renée" || e.LastName != "Müller" {
				t.Fatalf("row = %+v %+v", e, row.Errors)
			}
		})
	}
}

// TestWindows1252CensusValidatesUnderTheBuiltIn: a Windows-1252 CRLF
// census with US dates, thousands separators and a quoted line break
// reads with no errors under census-csv, no override.
func TestWindows1252CensusValidatesUnderTheBuiltIn(t *testing.T) {
	file := cp1252("Employee ID,First Name,Last Name,DOB,Status,Hire Date,Annual Salary,Address 1,City\r\n" +
		"E1,Zoë,Núñez,12/10/1985,A,01/06/2020,\"85,000.00\",\"12 Rue Élysée\r\nApt 3\",Montréal\r\n" +
		"E2,José,García,1/2/1970,A,3/1/2010,\"$52,000\",1 Main St,Springfield\r\n")
	l, _ := Builtin("census-csv")
	rows, err := readAll(t, strings.NewReader(file), l)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !r.Valid() {
			t.Fatalf("line %d: %+v", r.Line, r.Errors)
		}
	}
	if e := rows[0].Record.(*schema.Employee); e.FirstName != "Zoë" || e.AnnualSalary == nil || e.AnnualSalary.Amount != "85000.00" {
		t.Fatalf("E1 = %+v", e)
	}
}
