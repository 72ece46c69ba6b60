package bridge

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/hrisbridge/hrisbridge/parsers/x12"
	"github.com/hrisbridge/hrisbridge/schema"
)

// ExportStore is what an 834 export reads.
type ExportStore interface {
	Employees(ctx context.Context, tenantID string, q schema.EmployeeQuery) ([]schema.Employee, error)
	Dependents(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.Dependent, error)
	Enrollments(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.Enrollment, error)
	BenefitPlans(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.BenefitPlan, error)
	Events(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]schema.Event, error)
}

// Export834 writes a tenant's employees (of one connection when
// connectionID is set), their dependents and enrollments as an 834 to w,
// for a platform that feeds a carrier. full writes everyone as an audit
// (BGN08 4, INS03 030); otherwise only the employees the event feed
// changed after seq changesSince, each with the maintenance type of its
// latest change (021 hired, 024 terminated, 025 rehired, 001 changed). It
// returns the number of subscribers written. The export carries SSNs.
func Export834(ctx context.Context, s ExportStore, t schema.Tenant, connectionID string, full bool, changesSince int64, w io.Writer, now time.Time) (int, error) {
	var changed map[string]string // external id -> maintenance type
	if !full {
		var err error
		if changed, err = changesAfter(ctx, s, t.ID, changesSince); err != nil {
			return 0, err
		}
	}
	plans := map[string]schema.BenefitPlan{}
	for cursor := ""; ; {
		ps, err := s.BenefitPlans(ctx, t.ID, schema.ListQuery{Cursor: cursor, Limit: 1000})
		if err != nil {
			return 0, err
		}
		for _, p := range ps {
			plans[p.PlanCode] = p
		}
		if len(ps) < 1000 {
			break
		}
		cursor = ps[len(ps)-1].ID
	}
	xw := x12.NewWriter(w, "HRISBRIDGE", "CARRIER", t.Name, t.Slug, "CARRIER", full, now)
	n := 0
	q := schema.EmployeeQuery{Limit: 1000, ConnectionID: connectionID}
	for {
		es, err := s.Employees(ctx, t.ID, q)
		if err != nil {
			return n, err
		}
		for i := range es {
			e := &es[i]
			maint := "030"
			if !full {
				if maint = changed[e.ExternalID]; maint == "" {
					continue
				}
			}
			if err := exportEmployee(ctx, s, xw, t.ID, e, plans, maint); err != nil {
				return n, err
			}
			n++
		}
		if len(es) < q.Limit {
			break
		}
		q.AfterID = es[len(es)-1].ID
	}
	return n, xw.Close()
}

// changesAfter reads the event feed after seq: which employees changed,
// and how.
func changesAfter(ctx context.Context, s ExportStore, tenantID string, seq int64) (map[string]string, error) {
	out := map[string]string{}
	for {
		evs, err := s.Events(ctx, tenantID, seq, 1000)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			seq = ev.Seq
			var d struct {
				ExternalID         string `json:"external_id"`
				EmployeeExternalID string `json:"employee_external_id"`
			}
			json.Unmarshal(ev.Data, &d) //nolint:errcheck // an event without them changes nobody
			switch ev.Type {
			case schema.EventEmployeeHired:
				out[d.ExternalID] = "021"
			case schema.EventEmployeeTerminated, schema.EventEmployeeMissing:
				out[d.ExternalID] = "024"
			case schema.EventEmployeeRehired:
				out[d.ExternalID] = "025"
			case schema.EventEmployeeUpdated:
				if out[d.ExternalID] == "" {
					out[d.ExternalID] = "001"
				}
			default:
				if strings.HasPrefix(ev.Type, "dependent.") || strings.HasPrefix(ev.Type, "enrollment.") {
					if out[d.EmployeeExternalID] == "" {
						out[d.EmployeeExternalID] = "001"
					}
				}
			}
		}
		if len(evs) < 1000 {
			return out, nil
		}
	}
}

func exportEmployee(ctx context.Context, s ExportStore, xw *x12.Writer, tenantID string, e *schema.Employee, plans map[string]schema.BenefitPlan, maint string) error {
	m := &x12.Member{Subscriber: true, Relationship: "18", Maintenance: maint, SubscriberID: e.ExternalID,
		Last: e.LastName, First: e.FirstName, Middle: e.MiddleName, SSN: strings.ReplaceAll(e.SSN, "-", ""),
		Email: cmp.Or(e.PersonalEmail, e.WorkEmail), Phone: e.Phone, BirthDate: d8(e.DateOfBirth), Gender: x12Gender(e.Gender),
		Dates: map[string]string{"336": d8(e.HireDate), "337": d8(e.TerminationDate)}}
	m.EmploymentStatus = map[string]string{"active": "AC", "leave": "L1", "retired": "RT", "terminated": "TE", "deceased": "TE"}[e.EmploymentStatus]
	if e.EmploymentType == "full_time" && e.EmploymentStatus == "active" {
		m.EmploymentStatus = "FT"
	} else if e.EmploymentType == "part_time" && e.EmploymentStatus == "active" {
		m.EmploymentStatus = "PT"
	}
	if maint == "024" {
		m.Reason = "08"
	}
	if a := e.HomeAddress; a != nil {
		m.Address1, m.Address2, m.City, m.State, m.Zip, m.Country = a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country
	}
	ens, err := s.Enrollments(ctx, tenantID, schema.ListQuery{EmployeeID: e.ID, Limit: 1000})
	if err != nil {
		return err
	}
	for _, n := range ens {
		hd := maint
		if n.Status == "terminated" {
			hd = "024"
		}
		line := map[string]string{"medical": "HLT", "dental": "DEN", "vision": "VIS", "std": "STD", "ltd": "LTD"}[plans[n.PlanCode].Type]
		m.Coverages = append(m.Coverages, x12.Coverage{Maintenance: hd, InsuranceLine: cmp.Or(line, "HLT"), Plan: n.PlanCode,
			Level: map[string]string{"employee": "EMP", "employee_spouse": "ESP", "employee_children": "ECH", "family": "FAM"}[n.CoverageTier],
			Begin: d8(n.EffectiveDate), End: d8(n.EndDate)})
	}
	if err := xw.Member(m); err != nil {
		return err
	}
	deps, err := s.Dependents(ctx, tenantID, schema.ListQuery{EmployeeID: e.ID, Limit: 1000})
	if err != nil {
		return err
	}
	for _, d := range deps {
		rel := map[string]string{"spouse": "01", "domestic_partner": "53", "child": "19", "stepchild": "17", "foster_child": "10", "ward": "15"}[d.Relationship]
		dm := &x12.Member{Relationship: cmp.Or(rel, "G8"), Maintenance: maint, SubscriberID: e.ExternalID, MemberID: d.ExternalID,
			Last: d.LastName, First: d.FirstName, Middle: d.MiddleName, BirthDate: d8(d.DateOfBirth), Gender: x12Gender(d.Gender)}
		if d.IsStudent {
			dm.Student = "F"
		}
		if err := xw.Member(dm); err != nil {
			return err
		}
	}
	return nil
}

// d8 turns YYYY-MM-DD into CCYYMMDD.
func d8(date string) string { return strings.ReplaceAll(date, "-", "") }

func x12Gender(g string) string {
	switch g {
	case "female":
		return "F"
	case "male":
		return "M"
	case "":
		return ""
	}
	return "U"
}
