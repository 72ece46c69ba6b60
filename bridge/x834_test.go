package bridge

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

func fixture834(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/x12-834/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestX12834ThroughThePipeline: a change file adds a subscriber with a
// spouse, a child and two coverages; a full (audit) file adds another; a
// termination ends one; a file with one broken transaction set applies
// the other; a broken interchange applies nothing. Plans, employees,
// dependents and enrollments are stored as from any file, on both stores.
func TestX12834ThroughThePipeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		f := newIngest(t, s, X12834, Policy{})
		res := f.ingestRaw(fixture834(t, "change-tilde.edi"))
		if res.File.Status != schema.FileApplied || !strings.Contains(res.File.ReadAs, "X12 834") {
			errs, _ := s.RecordErrors(ctx, f.conn.TenantID, res.File.ID)
			t.Fatalf("change file: %+v %+v", res.File, errs)
		}
		e := f.employee("E1001")
		if e.FirstName != "ADA" || e.LastName != "LOVELACE" || e.DateOfBirth != "1985-06-10" || e.HireDate != "2023-03-15" ||
			e.EmploymentType != "full_time" || e.Department != "ENGINEERING" || e.CustomFields["reporting.PAY GROUP"] != "SALARIED" ||
			e.HomeAddress == nil || e.HomeAddress.City != "SPRINGFIELD" {
			t.Fatalf("E1001 = %+v", e)
		}
		deps, _ := s.Dependents(ctx, f.conn.TenantID, schema.ListQuery{Limit: 10})
		rels := map[string]bool{}
		for _, d := range deps {
			rels[d.Relationship] = true
		}
		if len(deps) != 2 || !rels["spouse"] || !rels["child"] {
			t.Fatalf("dependents = %+v", deps)
		}
		plans, _ := s.BenefitPlans(ctx, f.conn.TenantID, schema.ListQuery{Limit: 10})
		ens, _ := s.Enrollments(ctx, f.conn.TenantID, schema.ListQuery{Limit: 10})
		if len(plans) != 2 || len(ens) != 2 || ens[0].CoverageTier != "family" {
			t.Fatalf("plans %+v, enrollments %+v", plans, ens)
		}

		res = f.ingestRaw(fixture834(t, "audit-newline.edi"))
		if res.File.Status != schema.FileApplied || f.employee("E1002").LastName != "HOPPER" {
			t.Fatalf("audit file: %+v", res.File)
		}
		res = f.ingestRaw(fixture834(t, "term-crlf.edi"))
		if e := f.employee("E1002"); res.File.Status != schema.FileApplied || e.EmploymentStatus != "terminated" || e.TerminationDate != "2026-10-31" {
			errs, _ := s.RecordErrors(ctx, f.conn.TenantID, res.File.ID)
			t.Fatalf("termination: %+v, E1002 %s %s %+v", res.File, e.EmploymentStatus, e.TerminationDate, errs)
		}

		res = f.ingestRaw(fixture834(t, "broken-se.edi"))
		if res.File.Status != schema.FileAppliedWithErrors || f.employee("E1003").LastName != "TURING" {
			t.Fatalf("one broken set of two: %+v", res.File)
		}
		errs, _ := s.RecordErrors(ctx, f.conn.TenantID, res.File.ID)
		if len(errs) != 1 || errs[0].Line != 31 || errs[0].Code != "E_X12_ENVELOPE" || !strings.Contains(errs[0].Message, "SE01") {
			t.Fatalf("record errors = %+v", errs)
		}

		res = f.ingestRaw(fixture834(t, "broken-iea.edi"))
		if res.File.Status != schema.FileRejected || !strings.Contains(res.File.Detail, "IEA02") {
			t.Fatalf("broken interchange: %+v", res.File)
		}
	})
}
