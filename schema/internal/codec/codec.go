// Package codec turns normalized records into the columns both stores keep
// and back, so the PostgreSQL and SQLite stores share one encoding: the
// record as JSON (without its SSN), the SSN sealed, and a content hash.
package codec

import (
	crand "crypto/rand"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/hrisbridge/hrisbridge/schema"
)

// NewID returns a time-ordered UUIDv7 string (RFC 9562), so ids sort by
// creation and serve as stable pagination keys. Ids made in the same
// millisecond by this process count up in the 12 bits after the version
// (RFC 9562 section 6.2, method 1), so they also sort in the order they
// were made, and a store's index takes them at its right edge. The 62
// random bits come from a ChaCha8 generator seeded from crypto/rand: a
// first load makes a million ids, and reading the system's randomness
// for each one was 5% of it.
func NewID() string {
	id, _ := NewKey()
	return id
}

// NewKey is NewID also returning the id's 16 bytes, for a uuid column.
func NewKey() (string, [16]byte) {
	var u [16]byte
	idGen.Lock()
	ms := time.Now().UnixMilli()
	if ms <= idGen.ms {
		ms = idGen.ms
		if idGen.seq++; idGen.seq > 0xfff {
			ms, idGen.seq = ms+1, 0 // 4096 in one millisecond: borrow the next
		}
	} else {
		idGen.seq = 0
	}
	idGen.ms = ms
	seq, r := idGen.seq, idGen.rng.Uint64()
	idGen.Unlock()
	binary.BigEndian.PutUint64(u[:8], uint64(ms)<<16|0x7000|uint64(seq))
	binary.BigEndian.PutUint64(u[8:], r&^(3<<62)|2<<62) // variant 10
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	hex.Encode(b[9:13], u[4:6])
	hex.Encode(b[14:18], u[6:8])
	hex.Encode(b[19:23], u[8:10])
	hex.Encode(b[24:], u[10:])
	b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
	return string(b[:]), u
}

// ParseUUID reads a UUID in its canonical 36-character form (any hex
// case), the form every id hrisbridge makes has. ok is false for anything
// else.
func ParseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
		}
		hi, lo := unhex[s[i]], unhex[s[i+1]]
		if hi|lo > 15 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
	}
	return u, true
}

// ValidID reports whether s can be the id of a row the PostgreSQL store
// keys by uuid.
func ValidID(s string) bool {
	_, ok := ParseUUID(s)
	return ok
}

// HexValue is the value of the hex digit c, or 255 when c is not one.
func HexValue(c byte) byte { return unhex[c] }

// unhex maps a hex digit to its value and every other byte to 255.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 255
	}
	for i := byte(0); i < 10; i++ {
		t['0'+i] = i
	}
	for i := byte(0); i < 6; i++ {
		t['a'+i], t['A'+i] = 10+i, 10+i
	}
	return t
}()

var idGen = struct {
	sync.Mutex
	rng *rand.ChaCha8
	ms  int64
	seq uint64
}{rng: newIDRand()}

func newIDRand() *rand.ChaCha8 {
	var seed [32]byte
	crand.Read(seed[:]) //nolint:errcheck // crypto/rand.Read never fails (Go 1.24+)
	return rand.NewChaCha8(seed)
}

// SealSSN seals an employee's SSN for the ssn_sealed column (nil when
// there is none).
func SealSSN(box schema.Sealer, ssn string) ([]byte, error) {
	if ssn == "" {
		return nil, nil
	}
	sealed, err := box.Seal([]byte(ssn))
	if err != nil {
		return nil, fmt.Errorf("seal ssn: %w", err)
	}
	return sealed, nil
}

// SameContent reports whether a stored record (its content as JSON and
// its sealed SSN) holds what enc and ssn describe, compared as values: a
// record whose stored hash was taken under another key (or before hashes
// were keyed) is then recognised as unchanged instead of announced as
// changed.
func SameContent(box schema.Sealer, storedData, storedSealed []byte, enc schema.Encoded, ssn string) bool {
	var a, b any
	if json.Unmarshal(storedData, &a) != nil || json.Unmarshal(enc.Data, &b) != nil || !reflect.DeepEqual(a, b) {
		return false
	}
	if len(storedSealed) == 0 {
		return ssn == ""
	}
	plain, err := box.Open(storedSealed)
	return err == nil && string(plain) == ssn
}

// DecodeEmployee reads a stored employee back from its record (record.go)
// or, when record is nil, its content as JSON. Identity, timestamps and
// the fields a store keeps in columns come from those columns, which the
// caller sets afterwards. JSON is on every SQLite API read, so it uses
// goccy/go-json (already in the module graph through gin), a drop-in
// decoder several times faster than encoding/json.
func DecodeEmployee(box schema.Sealer, data, record, ssnSealed []byte) (schema.Employee, error) {
	var e schema.Employee
	if record != nil {
		if err := DecodeRecord(record, &e); err != nil {
			return e, err
		}
	} else if err := gojson.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("decode employee: %w", err)
	}
	if len(ssnSealed) > 0 {
		ssn, err := box.Open(ssnSealed)
		if err != nil {
			return e, err
		}
		e.SSN = string(ssn)
	}
	return e, nil
}

// Scopes joins scopes for the api_keys.scopes column.
func Scopes(s []string) string { return strings.Join(s, ",") }

// ParseScopes splits the api_keys.scopes column.
func ParseScopes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Migration is one numbered forward-only SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads NNN_name.sql files from dir of fsys in version order.
func Migrations(fsys embed.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.sql", e.Name())
		}
		b, err := fsys.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Latest returns the highest migration version.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// ErrStale is returned by Ready when the schema is behind the binary.
var ErrStale = fmt.Errorf("database schema is not current: run `hrisbridge migrate`")

// EventData is the JSON payload of an employee change event. It is thin on
// purpose: PII stays behind the audited API. Written by hand (one per new
// employee of a first load): the same bytes encoding/json would make.
func EventData(id, externalID, connectionID, status string, changed []string) []byte {
	return AppendEventData(make([]byte, 0, 160), id, externalID, connectionID, status, changed)
}

// AppendEventData appends EventData's payload to b.
func AppendEventData(b []byte, id, externalID, connectionID, status string, changed []string) []byte {
	b = schema.AppendJSONString(append(b, `{"employee_id":`...), id)
	b = schema.AppendJSONString(append(b, `,"external_id":`...), externalID)
	if connectionID != "" {
		b = schema.AppendJSONString(append(b, `,"connection_id":`...), connectionID)
	}
	b = schema.AppendJSONString(append(b, `,"employment_status":`...), status)
	if len(changed) > 0 {
		b = append(b, `,"changed_fields":[`...)
		for i, f := range changed {
			if i > 0 {
				b = append(b, ',')
			}
			b = schema.AppendJSONString(b, f)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// Pending is an employee write waiting in an ingest's buffer: the columns
// to store, copied out of the caller's record.
type Pending struct {
	ID, ExternalID, ConnectionID       string
	Status, Type, Department, Location string
	HireDate, TerminationDate          string
	Hash, Source                       string
	// Data is the rest of the content as the store keeps it: a record
	// (AppendRecord) or JSON (schema.AppendContentJSON).
	Data, SSNSealed []byte
	SSN             string // clear, for change events; never stored as is
}

// NewPending copies e's columns, with data as the store encoded the rest,
// and seals its SSN.
func NewPending(box schema.Sealer, e *schema.Employee, enc schema.Encoded, data []byte) (Pending, error) {
	sealed, err := SealSSN(box, e.SSN)
	return Pending{ExternalID: e.ExternalID, ConnectionID: e.ConnectionID, Status: e.EmploymentStatus, Type: e.EmploymentType,
		Department: e.Department, Location: e.Location, HireDate: e.HireDate, TerminationDate: e.TerminationDate,
		Hash: enc.Hash, Source: enc.Source, Data: data, SSNSealed: sealed, SSN: e.SSN}, err
}

// Employee decodes the pending record back (for change events).
func (p *Pending) Employee() schema.Employee {
	var e schema.Employee
	if DecodeRecord(p.Data, &e) != nil {
		json.Unmarshal(p.Data, &e) //nolint:errcheck // we marshalled it
	}
	e.ExternalID, e.ConnectionID, e.SSN = p.ExternalID, p.ConnectionID, p.SSN
	e.EmploymentStatus, e.EmploymentType, e.Department, e.Location = p.Status, p.Type, p.Department, p.Location
	e.HireDate, e.TerminationDate = p.HireDate, p.TerminationDate
	return e
}

// ChangeEvent is one event to write.
type ChangeEvent struct {
	Type    string
	Subject string
	Data    []byte
}

// UpdateEvents returns the events for old becoming p.
func UpdateEvents(old *schema.Employee, id string, p *Pending) []ChangeEvent {
	new := p.Employee()
	types, changed := schema.EmployeeEventTypes(old, &new)
	if len(types) == 0 && (old.MissingFromSnapshot || old.ConnectionID != p.ConnectionID) {
		types = []string{"employee.updated"}
		if old.MissingFromSnapshot {
			changed = append(changed, "missing_from_snapshot")
		}
		if old.ConnectionID != p.ConnectionID {
			changed = append(changed, "connection_id")
		}
	}
	out := make([]ChangeEvent, len(types))
	for i, t := range types {
		out[i] = ChangeEvent{Type: t, Subject: id, Data: EventData(id, p.ExternalID, p.ConnectionID, p.Status, changed)}
	}
	return out
}

// DependentEventData is the payload of dependent.* events.
func DependentEventData(id, employeeID string, d *schema.Dependent) []byte {
	b, _ := json.Marshal(struct {
		DependentID        string `json:"dependent_id"`
		EmployeeID         string `json:"employee_id"`
		EmployeeExternalID string `json:"employee_external_id"`
		ExternalID         string `json:"external_id"`
		Relationship       string `json:"relationship"`
	}{id, employeeID, d.EmployeeExternalID, d.ExternalID, d.Relationship})
	return b
}

// EnrollmentEventData is the payload of enrollment.* events.
func EnrollmentEventData(id, employeeID, planID string, n *schema.Enrollment) []byte {
	b, _ := json.Marshal(struct {
		EnrollmentID       string `json:"enrollment_id"`
		EmployeeID         string `json:"employee_id"`
		EmployeeExternalID string `json:"employee_external_id"`
		PlanID             string `json:"plan_id"`
		PlanCode           string `json:"plan_code"`
		Status             string `json:"status"`
		CoverageTier       string `json:"coverage_tier"`
		EffectiveDate      string `json:"effective_date"`
		EndDate            string `json:"end_date,omitempty"`
	}{id, employeeID, n.EmployeeExternalID, planID, n.PlanCode, n.Status, n.CoverageTier, n.EffectiveDate, n.EndDate})
	return b
}

// EnrollmentEventType names the event for old (nil when new) becoming n.
func EnrollmentEventType(old, n *schema.Enrollment) string {
	switch {
	case old == nil:
		return "enrollment.added"
	case n.Status == "terminated" && old.Status != "terminated", n.EndDate != "" && old.EndDate == "":
		return "enrollment.ended"
	}
	return "enrollment.changed"
}

// DecodeDependent reads a stored dependent back.
func DecodeDependent(box schema.Sealer, data, ssnSealed []byte) (schema.Dependent, error) {
	var d schema.Dependent
	if err := json.Unmarshal(data, &d); err != nil {
		return d, fmt.Errorf("decode dependent: %w", err)
	}
	if len(ssnSealed) > 0 {
		ssn, err := box.Open(ssnSealed)
		if err != nil {
			return d, err
		}
		d.SSN = string(ssn)
	}
	return d, nil
}

// ConnectionDefaults fills what a new connection leaves empty.
func ConnectionDefaults(c *schema.Connection) {
	if len(c.Config) == 0 {
		c.Config = []byte("{}")
	}
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	if c.CatchUp == "" {
		c.CatchUp = schema.CatchUpOnce
	}
}
