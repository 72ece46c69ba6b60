package parsers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInferCorpus: for the census exports in testdata/exports (the shapes
// of ADP Workforce Now, Paychex Flex, Paylocity, UKG Pro, BambooHR, Gusto
// and a broker's census template, with synthetic people), layouts infer
// maps every required field of all but the broker template (which has no
// employee id: a person must choose one), and the sample validates with
// the proposal.
func TestInferCorpus(t *testing.T) {
	csvs, _ := filepath.Glob("../testdata/exports/*.csv")
	txts, _ := filepath.Glob("../testdata/exports/*.txt")
	files := append(csvs, txts...)
	if len(files) != 7 {
		t.Fatalf("%d corpus files, want 7", len(files))
	}
	complete := 0
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Infer(strings.NewReader(string(b)), "employee", 1000)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(filepath.Base(path), "broker") {
				if strings.Join(p.MissingRequired, ",") != "external_id" {
					t.Fatalf("broker template: missing %v, want external_id", p.MissingRequired)
				}
				return
			}
			if len(p.MissingRequired) > 0 {
				t.Fatalf("required fields without a column: %v\ncolumns: %+v", p.MissingRequired, p.Columns)
			}
			for _, c := range p.Columns {
				if len(c.Unmapped) > 0 {
					t.Errorf("%s: codes the map lacks: %v", c.Header, c.Unmapped)
				}
			}
			rep := Validate(strings.NewReader(string(b)), path, p.Layout, ValidateOptions{})
			if rep.Verdict != "accept" {
				t.Fatalf("validate with the proposal = %s (%s) %+v", rep.Verdict, rep.Reason, rep.Errors)
			}
			complete++
		})
	}
	if complete < 6 {
		t.Fatalf("%d of 7 exports mapped completely, want at least 6", complete)
	}
}
