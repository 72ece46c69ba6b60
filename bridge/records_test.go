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
		if got := counts(send("plans-csv", "Plan Code,Plan Name,Plan Type\nMED,PPO,Medical\nDEN,Dental,DEN\n")); got != "applied c2 u0 s0 m0 e1" {
			t.Fatalf("plans: %s", got)
		}
		deps := "Employee ID,Dependent ID,First Name,Last Name,Relationship\nE1,01,Charles,L,SP\nE1,02,Byron,L,CH\nE9,01,Nobody,X,CH\n"
		res := send("dependents-csv", deps)
		if got := counts(res); got != "applied_with_errors c2 u0 s0 m0 e1" {
			t.Fatalf("dependents: %s", got)
		}
		errs, _ := s.RecordErrors(ctx, f.conn.TenantID, res.File.ID)
		if len(errs) != 1 || errs[0].Code != schema.ECodeUnknownEmployee || errs[0].Line != 4 {
			t.Fatalf("record errors = %+v", errs)
		}
		enr := "Employee ID,Plan Code,Coverage Tier,Effective Date\nE1,MED,FAM,01/01/2027\nE1,DEN,ES,01/01/2027\nE2,MED,EE,01/01/2027\n"
		if got := counts(send("enrollments-csv", enr)); got != "applied c3 u0 s0 m0 e1" {
			t.Fatalf("enrollments: %s", got)
		}
		// Each connection's first file is its baseline: one event, not one per record.
		if got := f.newEvents(); fmt.Sprint(got) != "[sync.baseline: sync.baseline: sync.baseline:]" {
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

// TestHashesUnderAnotherKeyAreNotChanges: records whose stored hashes were
// taken under another key (a rotated master key, or the unkeyed hashes
// migration 013 erased) are rewritten once under the current key, without
// announcing a change: no employee or dependent events.
func TestHashesUnderAnotherKeyAreNotChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		f := newIngest(t, s, "census-csv", Policy{})
		deps := schema.Connection{TenantID: f.conn.TenantID, Name: "deps", Kind: schema.ConnDropbox, Layout: "dependents-csv", Enabled: true}
		if err := s.CreateConnection(ctx, &deps); err != nil {
			t.Fatal(err)
		}
		withSSN := "Employee ID,First Name,Last Name,Status,SSN\nE1,Ada,L,A,510-55-1000\nE2,Bo,M,A,510-55-1001\n"
		depFile := "Employee ID,Dependent ID,First Name,Last Name,Relationship,SSN\nE1,01,Charles,L,SP,510-55-1002\n"
		f.ingest(withSSN)
		if _, err := f.bridge.IngestReader(ctx, deps, "deps.csv", stringsReader(depFile)); err != nil {
			t.Fatal(err)
		}
		f.newEvents()
		other, err := New(Config{Store: s, HashKey: []byte("another key entirely"), SpoolDir: t.TempDir(), Logger: f.bridge.cfg.Logger, Box: f.bridge.cfg.Box})
		if err != nil {
			t.Fatal(err)
		}
		res, err := other.IngestReader(ctx, f.conn, "census.csv", stringsReader(withSSN+"\n\n\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := counts(res); got != "applied c0 u2 s0 m0 e0" {
			t.Fatalf("census under another key: %s", got)
		}
		dres, err := other.IngestReader(ctx, deps, "deps.csv", stringsReader(depFile+"\n\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := counts(dres); got != "applied c0 u0 s1 m0 e0" {
			t.Fatalf("dependents under another key: %s", got)
		}
		if evs := f.newEvents(); len(evs) != 0 {
			t.Fatalf("rewriting hashes announced changes: %v", evs)
		}
		// And under the new key, the next delivery is recognised as is.
		if got := counts(ingestWith(t, other, f.conn, withSSN+"\n\n\n\n")); got != "applied c0 u0 s2 m0 e0" {
			t.Fatalf("census again: %s", got)
		}
	})
}

func ingestWith(t *testing.T, b *Bridge, conn schema.Connection, body string) Result {
	t.Helper()
	res, err := b.IngestReader(context.Background(), conn, "census.csv", stringsReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return res
}
