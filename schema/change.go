package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"time"
)

// content is an employee stripped of identity, timestamps and flags: what
// a source says about the person, and so what change detection compares.
func (e *Employee) content() Employee {
	c := *e
	c.ID, c.TenantID, c.ConnectionID = "", "", ""
	c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{}
	c.MissingFromSnapshot = false
	return c
}

// Encoded is an employee as stores keep it: its content as JSON without
// the SSN (which stores seal separately), and the content hash.
type Encoded struct {
	Data []byte
	Hash string
}

// contentJSON is an employee's content as JSON: the embedded record with
// its identity, timestamps, flags and SSN shadowed by empty fields that
// marshal to nothing.
type contentJSON struct {
	*Employee
	ID                  string     `json:"id,omitempty"`
	TenantID            string     `json:"tenant_id,omitempty"`
	ConnectionID        string     `json:"connection_id,omitempty"`
	SSN                 string     `json:"ssn,omitempty"`
	MissingFromSnapshot bool       `json:"missing_from_snapshot,omitempty"`
	CreatedAt           *time.Time `json:"created_at,omitempty"`
	UpdatedAt           *time.Time `json:"updated_at,omitempty"`
}

// Encode marshals the employee's content once and hashes it with the SSN:
// equal hashes mean an update would change nothing.
func (e *Employee) Encode() Encoded { return encodeContent(contentJSON{Employee: e}, e.SSN) }

// ContentHash is the hex SHA-256 of the employee's normalized content.
func (e *Employee) ContentHash() string { return e.Encode().Hash }

// ChangedFields lists the JSON names of the top-level fields whose values
// differ between old and new, in sorted order.
func ChangedFields(old, new *Employee) []string {
	a, b := old.content(), new.content()
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := 0; i < va.NumField(); i++ {
		if reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			continue
		}
		name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// EmployeeEventTypes returns the change events for an employee going from
// old (nil when new to us) to new, with the fields that changed.
func EmployeeEventTypes(old, new *Employee) (types []string, changed []string) {
	if old == nil {
		return []string{"employee.hired"}, nil
	}
	changed = ChangedFields(old, new)
	if len(changed) == 0 {
		return nil, nil
	}
	wasOut := old.EmploymentStatus == StatusTerminated || old.EmploymentStatus == StatusRetired || old.EmploymentStatus == StatusDeceased
	switch {
	case new.EmploymentStatus == StatusTerminated && old.EmploymentStatus != StatusTerminated:
		types = append(types, "employee.terminated")
	case wasOut && new.EmploymentStatus == StatusActive:
		types = append(types, "employee.rehired")
	}
	return append(types, "employee.updated"), changed
}

// encodeContent marshals a record's content (identity and timestamps are
// shadowed away by the caller's wrapper) and hashes it with its SSN.
func encodeContent(v any, ssn string) Encoded {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain fields: cannot fail
	}
	h := sha256.New()
	h.Write(data)
	h.Write([]byte{0})
	h.Write([]byte(ssn))
	return Encoded{Data: data, Hash: hex.EncodeToString(h.Sum(nil))}
}

// identity shadows the identity and timestamp fields of an embedded record
// so they marshal to nothing.
type identity struct {
	ID         string     `json:"id,omitempty"`
	TenantID   string     `json:"tenant_id,omitempty"`
	EmployeeID string     `json:"employee_id,omitempty"`
	PlanID     string     `json:"plan_id,omitempty"`
	SSN        string     `json:"ssn,omitempty"`
	CreatedAt  *time.Time `json:"created_at,omitempty"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty"`
}

// Encode marshals the dependent's content and hashes it with the SSN.
func (d *Dependent) Encode() Encoded {
	return encodeContent(struct {
		*Dependent
		identity
	}{Dependent: d}, d.SSN)
}

// Encode marshals the plan's content and hashes it.
func (p *BenefitPlan) Encode() Encoded {
	return encodeContent(struct {
		*BenefitPlan
		identity
	}{BenefitPlan: p}, "")
}

// Encode marshals the enrollment's content and hashes it.
func (n *Enrollment) Encode() Encoded {
	return encodeContent(struct {
		*Enrollment
		identity
	}{Enrollment: n}, "")
}
