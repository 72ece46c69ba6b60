package bridge

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

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

// TestExport834RoundTrips: what an 834 stored, exported as an 834 (full,
// then the changes after a seq), reads back through the reader and
// ingests into another tenant as the same people, dependents and
// coverages.
func TestExport834RoundTrips(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		a := newIngestFor(t, s, "acme", X12834, Policy{})
		a.ingestRaw(fixture834(t, "change-tilde.edi"))
		a.ingestRaw(fixture834(t, "audit-newline.edi"))
		tn, _ := s.TenantBySlug(ctx, "acme")
		var out strings.Builder
		n, err := Export834(ctx, s, tn, "", true, 0, &out, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
		if err != nil || n != 2 || !strings.Contains(out.String(), "BGN*00*") || !strings.Contains(out.String(), "INS*Y*18*030") {
			t.Fatalf("export: %v %d\n%s", err, n, out.String())
		}
		b := newIngestFor(t, s, "globex", X12834, Policy{})
		res := b.ingestRaw(out.String())
		if res.File.Status != schema.FileApplied {
			errs, _ := s.RecordErrors(ctx, b.conn.TenantID, res.File.ID)
			t.Fatalf("the export does not ingest: %+v %+v", res.File, errs)
		}
		for _, id := range []string{"E1001", "E1002"} {
			x, y := a.employee(id), b.employee(id)
			if x.FirstName != y.FirstName || x.LastName != y.LastName || x.DateOfBirth != y.DateOfBirth || x.HireDate != y.HireDate ||
				x.SSN != y.SSN || x.Gender != y.Gender || x.EmploymentStatus != y.EmploymentStatus {
				t.Fatalf("%s round-tripped as %+v, was %+v", id, y, x)
			}
		}
		deps, _ := s.Dependents(ctx, b.conn.TenantID, schema.ListQuery{Limit: 10})
		ens, _ := s.Enrollments(ctx, b.conn.TenantID, schema.ListQuery{Limit: 10})
		if len(deps) != 2 || len(ens) == 0 {
			t.Fatalf("round trip: %d dependents, %d enrollments", len(deps), len(ens))
		}

		// Changes only: after the acme feed's last seq, terminate E1002.
		evs, _ := s.Events(ctx, tn.ID, 0, 1000)
		last := evs[len(evs)-1].Seq
		a.ingestRaw(fixture834(t, "term-crlf.edi"))
		out.Reset()
		n, err = Export834(ctx, s, tn, "", false, last, &out, time.Now())
		if err != nil || n != 1 || !strings.Contains(out.String(), "INS*Y*18*024*08") || !strings.Contains(out.String(), "REF*0F*E1002") || !strings.Contains(out.String(), "BGN*00*") {
			t.Fatalf("changes export: %v %d\n%s", err, n, out.String())
		}
	})
}
