package bridge

import (
	"context"
	"fmt"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestDependentsPlansEnrollments loads a census, plans, dependents and
// enrollments through their built-in layouts, then full re-sends that drop
// a dependent and an election, on both stores.
func TestDependentsPlansEnrollments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		f := newIngest(t, s, "census-csv", Policy{})
		conns := map[string]schema.Connection{}
		for _, l := range []string{"plans-csv", "dependents-csv", "enrollments-csv"} {
			c := schema.Connection{TenantID: f.conn.TenantID, Name: l, Kind: schema.ConnDropbox, Layout: l, Enabled: true,
				Config: []byte(`{"policy": {"max_invalid_ratio": 0.5}}`)}
			if err := s.CreateConnection(ctx, &c); err != nil {
				t.Fatal(err)
			}
			conns[l] = c
		}
		send := func(layout, body string) Result {
			t.Helper()
			res, err := f.bridge.IngestReader(ctx, conns[layout], layout+".csv", stringsReader(body))
			if err != nil {
				t.Fatalf("%s: %v", layout, err)
			}
			return res
		}
		f.ingest(census("E1:A", "E2:A"))
		f.newEvents()
		if got := counts(send("plans-csv", "Plan Code,Plan Name,Plan Type\nMED,PPO,Medical\nDEN,Dental,DEN\n")); got != "applied c2 u0 s0 m0 e0" {
			t.Fatalf("plans: %s", got)
		}
		deps := "Employee ID,Dependent ID,First Name,Last Name,Relationship\nE1,01,Charles,L,SP\nE1,02,Byron,L,CH\nE9,01,Nobody,X,CH\n"
		res := send("dependents-csv", deps)
		if got := counts(res); got != "applied_with_errors c2 u0 s0 m0 e2" {
			t.Fatalf("dependents: %s", got)
		}
		errs, _ := s.RecordErrors(ctx, f.conn.TenantID, res.File.ID)
		if len(errs) != 1 || errs[0].Code != schema.ECodeUnknownEmployee || errs[0].Line != 4 {
			t.Fatalf("record errors = %+v", errs)
		}
		enr := "Employee ID,Plan Code,Coverage Tier,Effective Date\nE1,MED,FAM,01/01/2027\nE1,DEN,ES,01/01/2027\nE2,MED,EE,01/01/2027\n"
		if got := counts(send("enrollments-csv", enr)); got != "applied c3 u0 s0 m0 e3" {
			t.Fatalf("enrollments: %s", got)
		}
		if got := f.newEvents(); fmt.Sprint(got) != "[dependent.added:01 dependent.added:02 enrollment.added: enrollment.added: enrollment.added:]" {
			t.Fatalf("events = %v", got)
		}
		// Byron leaves; E1 drops dental and moves to employee+spouse medical.
		send("dependents-csv", "Employee ID,Dependent ID,First Name,Last Name,Relationship\nE1,01,Charles,L,SP\n")
		if got := counts(send("enrollments-csv", "Employee ID,Plan Code,Coverage Tier,Effective Date\nE1,MED,ES,01/01/2027\nE2,MED,EE,01/01/2027\n")); got != "applied c0 u1 s1 m1 e2" {
			t.Fatalf("enrollment changes: %s", got)
		}
		if got := f.newEvents(); fmt.Sprint(got) != "[dependent.removed:02 enrollment.changed: enrollment.ended:]" {
			t.Fatalf("events = %v", got)
		}
		ds, _ := s.Dependents(ctx, f.conn.TenantID, schema.ListQuery{Limit: 10})
		ns, _ := s.Enrollments(ctx, f.conn.TenantID, schema.ListQuery{Limit: 10})
		ps, _ := s.BenefitPlans(ctx, f.conn.TenantID, schema.ListQuery{Limit: 10})
		if len(ds) != 1 || ds[0].ExternalID != "01" || ds[0].EmployeeExternalID != "E1" || ds[0].Relationship != "spouse" {
			t.Fatalf("dependents = %+v", ds)
		}
		ended := 0
		for _, n := range ns {
			if n.Status == "terminated" && n.EndDate != "" && n.PlanCode == "DEN" {
				ended++
			}
		}
		if len(ns) != 3 || ended != 1 || len(ps) != 2 || ps[0].Type != "medical" && ps[1].Type != "medical" {
			t.Fatalf("enrollments = %+v, plans = %+v", ns, ps)
		}
		if res := send("enrollments-csv", "Employee ID,Plan Code,Coverage Tier,Effective Date\nE1,VIS,EE,01/01/2027\n"); res.File.Status != schema.FileRejected {
			t.Fatalf("an enrollment in an unknown plan = %s (one row of one invalid: rejected)", res.File.Status)
		}
	})
}
