package schema

import "encoding/json"

// Event types. Per-record events start with a connection's second applied
// file: its first (its baseline) writes one sync.baseline event instead,
// and consumers list the API after it.
const (
	EventSyncBaseline       = "sync.baseline"
	EventEmployeeHired      = "employee.hired"
	EventEmployeeUpdated    = "employee.updated"
	EventEmployeeTerminated = "employee.terminated"
	EventEmployeeRehired    = "employee.rehired"
	EventEmployeeMissing    = "employee.missing_from_snapshot"
	EventDependentAdded     = "dependent.added"
	EventDependentUpdated   = "dependent.updated"
	EventDependentRemoved   = "dependent.removed"
	EventEnrollmentAdded    = "enrollment.added"
	EventEnrollmentChanged  = "enrollment.changed"
	EventEnrollmentEnded    = "enrollment.ended"
)

// EmployeeEventType names the event for an employee going from old (nil
// when new to the tenant) to new, or "" when nothing a consumer sees
// changed. changed lists the fields that did, including
// missing_from_snapshot and connection_id.
func EmployeeEventType(old, new *Employee) (typ string, changed []string) {
	if old == nil {
		return EventEmployeeHired, nil
	}
	changed = ChangedFields(old, new)
	if old.MissingFromSnapshot != new.MissingFromSnapshot {
		changed = append(changed, "missing_from_snapshot")
	}
	if old.ConnectionID != new.ConnectionID {
		changed = append(changed, "connection_id")
	}
	if len(changed) == 0 {
		return "", nil
	}
	wasOut := old.EmploymentStatus == StatusTerminated || old.EmploymentStatus == StatusRetired || old.EmploymentStatus == StatusDeceased
	switch {
	case new.EmploymentStatus == StatusTerminated && old.EmploymentStatus != StatusTerminated:
		return EventEmployeeTerminated, changed
	case wasOut && new.EmploymentStatus == StatusActive:
		return EventEmployeeRehired, changed
	case new.MissingFromSnapshot && !old.MissingFromSnapshot:
		return EventEmployeeMissing, changed
	}
	return EventEmployeeUpdated, changed
}

// EmployeeEvent is the event for e: thin on purpose, PII stays behind the
// audited API.
func EmployeeEvent(typ string, e *Employee, changed []string) Event {
	return newEvent(typ, e.ID, struct {
		EmployeeID       string   `json:"employee_id"`
		ExternalID       string   `json:"external_id"`
		ConnectionID     string   `json:"connection_id,omitempty"`
		EmploymentStatus string   `json:"employment_status"`
		ChangedFields    []string `json:"changed_fields,omitempty"`
	}{e.ID, e.ExternalID, e.ConnectionID, e.EmploymentStatus, changed})
}

// DependentEvent is the event for a dependent.
func DependentEvent(typ string, d *Dependent) Event {
	return newEvent(typ, d.ID, struct {
		DependentID        string `json:"dependent_id"`
		EmployeeID         string `json:"employee_id"`
		EmployeeExternalID string `json:"employee_external_id"`
		ExternalID         string `json:"external_id"`
		Relationship       string `json:"relationship"`
	}{d.ID, d.EmployeeID, d.EmployeeExternalID, d.ExternalID, d.Relationship})
}

// EnrollmentEventType names the event for old (nil when new) becoming n.
func EnrollmentEventType(old, n *Enrollment) string {
	switch {
	case old == nil:
		return EventEnrollmentAdded
	case n.Status == "terminated" && old.Status != "terminated", n.EndDate != "" && old.EndDate == "":
		return EventEnrollmentEnded
	}
	return EventEnrollmentChanged
}

// EnrollmentEvent is the event for an enrollment.
func EnrollmentEvent(typ string, n *Enrollment) Event {
	return newEvent(typ, n.ID, struct {
		EnrollmentID       string `json:"enrollment_id"`
		EmployeeID         string `json:"employee_id"`
		EmployeeExternalID string `json:"employee_external_id"`
		PlanID             string `json:"plan_id"`
		PlanCode           string `json:"plan_code"`
		Status             string `json:"status"`
		CoverageTier       string `json:"coverage_tier"`
		EffectiveDate      string `json:"effective_date"`
		EndDate            string `json:"end_date,omitempty"`
	}{n.ID, n.EmployeeID, n.EmployeeExternalID, n.PlanID, n.PlanCode, n.Status, n.CoverageTier, n.EffectiveDate, n.EndDate})
}

// Baseline is the payload of sync.baseline: the first file applied on a
// connection, and what it stored.
type Baseline struct {
	FileID       string `json:"file_id"`
	ConnectionID string `json:"connection_id"`
	Entity       string `json:"entity"`
	Rows         int    `json:"rows"`
	Created      int    `json:"created"`
	Updated      int    `json:"updated"`
	Unchanged    int    `json:"unchanged"`
	Invalid      int    `json:"invalid"`
}

// BaselineEvent is the one event a connection's first applied file writes.
func BaselineEvent(b Baseline) Event { return newEvent(EventSyncBaseline, b.FileID, b) }

func newEvent(typ, subject string, payload any) Event {
	data, err := json.Marshal(payload)
	if err != nil {
		panic(err) // plain fields only: cannot fail
	}
	return Event{ID: NewID(), Type: typ, Subject: subject, Data: data}
}
