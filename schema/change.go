package schema

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"maps"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// NewID returns a new time-ordered UUIDv7 (RFC 9562) string: ids sort by
// creation, so they serve as stable pagination keys.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidID reports whether s is a UUID in its canonical 36-character form,
// the form of every id hrisbridge makes.
func ValidID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }

// HashPurpose is the purpose the content-hash key is derived for from the
// master key (secret.Box.Derive).
const HashPurpose = "content-hash/v1"

// HashKey keys content hashes. A record's content includes its SSN,
// which is sealed at rest; an unkeyed hash stored beside the rest of the
// record would let anyone with the table search the SSN out of it (a
// billion candidates, or ten thousand with the masked last four). A
// stored hash is the first 64 bits of the SHA-256 of the content,
// encrypted with AES-256 under a key derived from the master key
// (hash-then-PRF): equal content gives equal hashes, and without the key
// no candidate can be checked. Hashes are uint64 in memory and a 64-bit
// integer column in both stores.
type HashKey struct {
	block cipher.Block
}

// NewHashKey returns the hash key for a key of any length (derived from
// the master key, HashPurpose).
func NewHashKey(key []byte) *HashKey {
	k := sha256.Sum256(key) // any length in, an AES-256 key out
	block, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err) // a 32-byte key: cannot fail
	}
	return &HashKey{block: block}
}

// Seal64 encrypts a 64-bit digest under the key: a keyed, one-to-one
// function of it that reveals nothing of it without the key.
func (h *HashKey) Seal64(d uint64) uint64 {
	var in, out [aes.BlockSize]byte
	binary.BigEndian.PutUint64(in[:], d)
	h.block.Encrypt(out[:], in[:])
	return binary.BigEndian.Uint64(out[:])
}

// sum seals the first 64 bits of b's SHA-256; never 0 (0 means "no hash").
func (h *HashKey) sum(b []byte) uint64 {
	s := sha256.Sum256(b)
	return h.Seal64(binary.BigEndian.Uint64(s[:])) | 1
}

// ContentHash is the employee's keyed content hash (identity, hashes,
// timestamps and flags left out): equal hashes mean an update would
// change nothing. Fields are appended in a fixed order, each
// length-prefixed, into buf (returned grown, for reuse): change detection
// hashes every row of every file, and most rows did not change, so this
// skips reflection and JSON. The "e1" tag versions the encoding.
func (e *Employee) ContentHash(key *HashKey, buf []byte) (uint64, []byte) {
	buf = append(buf[:0], "e1"...)
	for _, s := range [...]string{e.ExternalID, e.FirstName, e.MiddleName, e.LastName, e.PreferredName, e.DateOfBirth, e.Gender, e.SSN,
		e.WorkEmail, e.PersonalEmail, e.Phone, e.EmploymentStatus, e.EmploymentType, e.HireDate, e.TerminationDate, e.TerminationReason,
		e.JobTitle, e.Department, e.Location, e.ManagerExternalID, e.PayFrequency, e.HourlyRate, e.ScheduledHours, e.BenefitClass} {
		buf = appendField(buf, s)
	}
	if a := e.HomeAddress; !a.IsZero() {
		buf = append(buf, 1)
		for _, s := range [...]string{a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country} {
			buf = appendField(buf, s)
		}
	} else {
		buf = append(buf, 0)
	}
	if m := e.AnnualSalary; m != nil && *m != (Money{}) {
		buf = appendField(appendField(append(buf, 1), m.Amount), m.Currency)
	} else {
		buf = append(buf, 0)
	}
	buf = binary.AppendUvarint(buf, uint64(len(e.CustomFields)))
	for _, k := range sortedKeys(e.CustomFields) {
		buf = appendField(appendField(buf, k), e.CustomFields[k])
	}
	return key.sum(buf), buf
}

func appendField(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// identity shadows the identity, hash and timestamp fields of an embedded
// record so that they marshal to nothing: what is left is its content.
type identity struct {
	ID                 string     `json:"id,omitempty"`
	TenantID           string     `json:"tenant_id,omitempty"`
	EmployeeID         string     `json:"employee_id,omitempty"`
	PlanID             string     `json:"plan_id,omitempty"`
	EmployeeExternalID string     `json:"employee_external_id,omitempty"`
	PlanCode           string     `json:"plan_code,omitempty"`
	CreatedAt          *time.Time `json:"created_at,omitempty"`
	UpdatedAt          *time.Time `json:"updated_at,omitempty"`
}

// contentHash hashes a record's content as JSON (the SSN included:
// json:"ssn" is a field like the others) under key. Dependents, plans
// and enrollments come in files far smaller than a census.
func contentHash(key *HashKey, v any) uint64 {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain fields only: cannot fail
	}
	return key.sum(b)
}

// ContentHash is the dependent's keyed content hash. The employee it
// belongs to is part of its key, not of its content.
func (d *Dependent) ContentHash(key *HashKey) uint64 {
	return contentHash(key, struct {
		*Dependent
		identity
	}{Dependent: d})
}

// ContentHash is the plan's keyed content hash.
func (p *BenefitPlan) ContentHash(key *HashKey) uint64 {
	return contentHash(key, struct {
		*BenefitPlan
		identity
		PlanCode string `json:"plan_code"` // the plan's own key, kept
	}{BenefitPlan: p, PlanCode: p.PlanCode})
}

// ContentHash is the enrollment's keyed content hash.
func (n *Enrollment) ContentHash(key *HashKey) uint64 {
	return contentHash(key, struct {
		*Enrollment
		identity
	}{Enrollment: n})
}

// content is an employee stripped of identity, hashes, timestamps and
// flags: what a source says about the person.
func (e *Employee) content() Employee {
	c := *e
	c.ID, c.TenantID, c.ConnectionID = "", "", ""
	c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{}
	c.MissingFromSnapshot = false
	c.Hash, c.SourceHash = 0, 0
	// Stores read an empty address, salary or set of custom fields back
	// as none.
	if c.HomeAddress.IsZero() {
		c.HomeAddress = nil
	}
	if c.AnnualSalary != nil && *c.AnnualSalary == (Money{}) {
		c.AnnualSalary = nil
	}
	if len(c.CustomFields) == 0 {
		c.CustomFields = nil
	}
	return c
}

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
		if name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Clone returns a copy of e that shares no map or pointer with it.
func (e *Employee) Clone() *Employee {
	c := *e
	if e.HomeAddress != nil {
		a := *e.HomeAddress
		c.HomeAddress = &a
	}
	if e.AnnualSalary != nil {
		m := *e.AnnualSalary
		c.AnnualSalary = &m
	}
	c.CustomFields = maps.Clone(e.CustomFields)
	return &c
}
