package storeutil

import (
	"strings"

	"github.com/hrisbridge/hrisbridge/schema"
)

// EmployeeFilter writes the conditions (after "tenant_id = ... AND") and
// the order of a page of employees with only the filters q sets, so that
// the planner sees a plain query it can serve from the primary key; a
// query with every filter written as "(param IS NULL OR column = param)"
// planned as a scan of the tenant and a sort once its plan was cached.
// arg adds a value and returns its placeholder; typ is the SQL type the
// value has ("uuid", "date", "timestamptz", or "" for text).
func EmployeeFilter(q schema.EmployeeQuery, arg func(v any, typ string) string) (where, order string) {
	var w []string
	eq := func(col string, v any, typ string) {
		w = append(w, col+" = "+arg(v, typ))
	}
	// Qualified: PostgreSQL's select list has id::text AS id, and an
	// order by that text could not use the primary key.
	order = "employees.id"
	switch {
	case q.ByUpdated && q.AfterID != "":
		w = append(w, "(updated_at, id) > ("+arg(q.AfterUpdated, "timestamptz")+", "+arg(q.AfterID, "uuid")+")")
	case q.AfterID != "":
		w = append(w, "id > "+arg(q.AfterID, "uuid"))
	}
	if q.ByUpdated {
		order = "employees.updated_at, employees.id"
	}
	for _, f := range []struct {
		col, v string
	}{{"employment_status", q.EmploymentStatus}, {"employment_type", q.EmploymentType}, {"department", q.Department},
		{"location", q.Location}, {"external_id", q.ExternalID}} {
		if f.v != "" {
			eq(f.col, f.v, "")
		}
	}
	if q.ConnectionID != "" {
		eq("connection_id", q.ConnectionID, "uuid")
	}
	if !q.UpdatedSince.IsZero() {
		w = append(w, "updated_at >= "+arg(q.UpdatedSince, "timestamptz"))
	}
	if q.HiredAfter != "" {
		w = append(w, "hire_date > "+arg(q.HiredAfter, "date"))
	}
	if q.TerminatedAfter != "" {
		w = append(w, "termination_date > "+arg(q.TerminatedAfter, "date"))
	}
	if len(w) == 0 {
		return "TRUE", order
	}
	return strings.Join(w, " AND "), order
}
