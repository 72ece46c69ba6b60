package schema

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
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

// Encoded is a record's content as stores keep it, without the SSN
// (which stores seal separately), and its content hash. For an employee,
// Data is nil: each store encodes the employee itself (the PostgreSQL
// store in a compact record, the SQLite store as AppendContentJSON).
type Encoded struct {
	Data []byte
	Hash string
	// Source is the hash of the raw record (and layout) the employee was
	// read from, when it came from a file ("" otherwise).
	Source string
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

// HashPurpose is the purpose the content-hash key is derived for from the
// master key (secret.Box.Derive).
const HashPurpose = "content-hash/v1"

// HashKey keys the content hashes of employees. Their content includes
// the SSN, which is sealed at rest; an unkeyed hash stored beside the
// plaintext rest of the record would let anyone with the table search the
// SSN out of it (a billion candidates, or ten thousand with the masked
// last four). The stored hash is the first 64 bits of the SHA-256 of the
// content, encrypted with AES-256 under a key derived from the master key
// (hash-then-PRF): equal content gives equal hashes, and without the key
// no candidate can be checked. One AES block costs a few nanoseconds per
// row, where an HMAC's second pass cost a tenth of a first load's time.
type HashKey struct {
	key   []byte
	block cipher.Block
}

// NewHashKey returns the hash key for a 32-byte key (derived from the
// master key, HashPurpose).
func NewHashKey(key []byte) *HashKey {
	k := sha256.Sum256(key) // any length in, an AES-256 key out
	block, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err) // a 32-byte key: cannot fail
	}
	return &HashKey{key: key, block: block}
}

// Seal64 encrypts a 64-bit digest under the key: a keyed, one-to-one
// function of it that reveals nothing of it without the key.
func (h *HashKey) Seal64(d uint64) uint64 {
	var in, out [aes.BlockSize]byte
	binary.BigEndian.PutUint64(in[:], d)
	h.block.Encrypt(out[:], in[:])
	return binary.BigEndian.Uint64(out[:])
}

// Encode is the employee's content hash under key, for a store's Insert
// or Update.
func (e *Employee) Encode(key []byte) Encoded {
	return Encoded{Hash: e.ContentHash(key)}
}

// ContentHash is the employee's keyed content hash (see HashKey), as 16
// hex digits: equal hashes mean an update would change nothing.
func (e *Employee) ContentHash(key []byte) string {
	h, _ := e.ContentHashInto(NewHashKey(key), nil)
	return h
}

// HashBytes is how much of an employee's content hash is kept (as hex):
// change detection compares these 64 bits.
const HashBytes = 8

// ContentHashInto is ContentHash with a reused key and scratch buffer
// (returned grown), so that hashing a file's rows allocates only the hex
// string. Fields are written in a fixed order, each length-prefixed,
// without reflection or JSON: change detection hashes every row of every
// file, and most rows did not change. The "e1" tag versions the encoding.
func (e *Employee) ContentHashInto(key *HashKey, buf []byte) (string, []byte) {
	buf = append(buf[:0], "e1"...)
	for _, s := range [...]string{e.ExternalID, e.FirstName, e.MiddleName, e.LastName, e.PreferredName, e.DateOfBirth, e.Gender, e.SSN,
		e.WorkEmail, e.PersonalEmail, e.Phone, e.EmploymentStatus, e.EmploymentType, e.HireDate, e.TerminationDate, e.TerminationReason,
		e.JobTitle, e.Department, e.Location, e.ManagerExternalID, e.PayFrequency, e.HourlyRate, e.ScheduledHours, e.BenefitClass} {
		buf = AppendField(buf, s)
	}
	buf = AppendNested(buf, e)
	sum := sha256.Sum256(buf)
	var b [HashBytes]byte
	binary.BigEndian.PutUint64(b[:], key.Seal64(binary.BigEndian.Uint64(sum[:])))
	var h [2 * HashBytes]byte
	hex.Encode(h[:], b[:])
	return string(h[:]), buf
}

// AppendNested appends the employee's home address, annual salary and
// custom fields, each string length-prefixed, in a fixed order: an
// absent address or salary is a 0 byte, a present one 1 and its parts;
// custom fields are a count, then keys and values in key order. It ends
// both the content hash's input and the PostgreSQL store's record.
func AppendNested(buf []byte, e *Employee) []byte {
	if a := e.HomeAddress; a != nil {
		buf = append(buf, 1)
		for _, s := range [...]string{a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country} {
			buf = AppendField(buf, s)
		}
	} else {
		buf = append(buf, 0)
	}
	if m := e.AnnualSalary; m != nil {
		buf = AppendField(AppendField(append(buf, 1), m.Amount), m.Currency)
	} else {
		buf = append(buf, 0)
	}
	buf = binary.AppendUvarint(buf, uint64(len(e.CustomFields)))
	if len(e.CustomFields) > 0 {
		keys := make([]string, 0, len(e.CustomFields))
		for k := range e.CustomFields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			buf = AppendField(AppendField(buf, k), e.CustomFields[k])
		}
	}
	return buf
}

// AppendField appends s with its length as a uvarint before it: the unit
// of the content hash's input, and of the PostgreSQL store's record and
// blocks of hires (read back with codec.Decoder).
func AppendField(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
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
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// EmployeeEventTypes returns the change event for an employee going from
// old (nil when new to us) to new (none when nothing changed), with the
// fields that changed.
func EmployeeEventTypes(old, new *Employee) (types []string, changed []string) {
	if old == nil {
		return []string{"employee.hired"}, nil
	}
	changed = ChangedFields(old, new)
	if len(changed) == 0 {
		return nil, nil
	}
	// One change, one event: the most specific, with every changed field.
	wasOut := old.EmploymentStatus == StatusTerminated || old.EmploymentStatus == StatusRetired || old.EmploymentStatus == StatusDeceased
	switch {
	case new.EmploymentStatus == StatusTerminated && old.EmploymentStatus != StatusTerminated:
		return []string{"employee.terminated"}, changed
	case wasOut && new.EmploymentStatus == StatusActive:
		return []string{"employee.rehired"}, changed
	}
	return []string{"employee.updated"}, changed
}

// encodeContent marshals a record's content (identity and timestamps are
// shadowed away by the caller's wrapper) and hashes it with its SSN: an
// HMAC-SHA256 under key when the record has one (dependents, whose files
// are small), plainly when it has no sealed field (key nil).
func encodeContent(v any, ssn string, key []byte) Encoded {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain fields: cannot fail
	}
	h := sha256.New()
	if key != nil {
		h = hmac.New(sha256.New, key)
	}
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

// Encode marshals the dependent's content and hashes it with the SSN
// under key (the content-hash key, see NewContentMAC).
func (d *Dependent) Encode(key []byte) Encoded {
	return encodeContent(struct {
		*Dependent
		identity
	}{Dependent: d}, d.SSN, key)
}

// Encode marshals the plan's content and hashes it.
func (p *BenefitPlan) Encode() Encoded {
	return encodeContent(struct {
		*BenefitPlan
		identity
	}{BenefitPlan: p}, "", nil)
}

// Encode marshals the enrollment's content and hashes it.
func (n *Enrollment) Encode() Encoded {
	return encodeContent(struct {
		*Enrollment
		identity
	}{Enrollment: n}, "", nil)
}
