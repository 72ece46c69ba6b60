package codec

import (
	"encoding/binary"
	"errors"

	"github.com/hrisbridge/hrisbridge/schema"
)

// An employee's record as the PostgreSQL store keeps it (employees.record,
// migration 010): the content that has no column of its own, in a fixed
// field order, each string uvarint-length-prefixed, after a version tag.
// It is about a third of the same content as JSON, and the bytes a first
// load writes set its speed. The SSN is sealed in its own column; the
// fields below that are columns (external id, employment status and type,
// department, location, hire and termination dates) are not repeated.
//
//	"r1"
//	16 strings (recordStrings order)
//	home address, annual salary and custom fields (schema.AppendNested):
//	  address: 0, or 1 and 6 strings (line1, line2, city, state, postal code, country)
//	  salary: 0, or 1 and 2 strings (amount, currency)
//	  custom fields: uvarint count, then key and value strings in key order
const recordVersion = "r1"

// recordStrings are the employee's plain string fields kept in the
// record, in their order there. A field added to schema.Employee is added
// here (or to the columns), and TestRecordCoversEmployee fails until it is.
func recordStrings(e *schema.Employee) [16]*string {
	return [...]*string{&e.FirstName, &e.MiddleName, &e.LastName, &e.PreferredName, &e.DateOfBirth, &e.Gender,
		&e.WorkEmail, &e.PersonalEmail, &e.Phone, &e.TerminationReason, &e.JobTitle, &e.ManagerExternalID,
		&e.PayFrequency, &e.HourlyRate, &e.ScheduledHours, &e.BenefitClass}
}

// AppendRecord appends e's record to b.
func AppendRecord(b []byte, e *schema.Employee) []byte {
	b = append(b, recordVersion...)
	for _, s := range recordStrings(e) {
		b = schema.AppendField(b, *s)
	}
	return schema.AppendNested(b, e)
}

var errRecord = errors.New("decode employee: stored record is damaged or of an unknown version")

// DecodeRecord sets the record's fields of e from b.
func DecodeRecord(b []byte, e *schema.Employee) error {
	if len(b) < len(recordVersion) || string(b[:len(recordVersion)]) != recordVersion {
		return errRecord
	}
	d := NewDecoder(b[len(recordVersion):])
	for _, s := range recordStrings(e) {
		*s = d.String()
	}
	if d.Flag() {
		a := &schema.Address{}
		for _, s := range [...]*string{&a.Line1, &a.Line2, &a.City, &a.State, &a.PostalCode, &a.Country} {
			*s = d.String()
		}
		e.HomeAddress = a
	}
	if d.Flag() {
		e.AnnualSalary = &schema.Money{Amount: d.String(), Currency: d.String()}
	}
	if n := d.Uvarint(); n > 0 && n <= uint64(len(d.s)) {
		// Keys are in strictly ascending order, as AppendRecord writes
		// them: one record per employee, and no key twice.
		e.CustomFields = make(map[string]string, n)
		prev := ""
		for i := uint64(0); i < n && !d.bad; i++ {
			k := d.String()
			if i > 0 && k <= prev {
				d.bad = true
			}
			e.CustomFields[k], prev = d.String(), k
		}
	} else if n > 0 {
		d.bad = true
	}
	if d.bad || len(d.s) > 0 {
		return errRecord
	}
	return nil
}

// Decoder reads what schema.AppendField (and single flag bytes and
// uvarints) wrote: a stored record, a block of hires. A short or
// malformed input sets Bad, and every read after that returns zero
// values; only the shortest form of a uvarint is accepted, so an input
// that decodes encodes back to the same bytes. The input is copied once,
// into one string, and every string read is a piece of it: a page of
// employees from the API was mostly one allocation per field before.
type Decoder struct {
	s   string
	bad bool
}

// NewDecoder reads b.
func NewDecoder(b []byte) *Decoder { return &Decoder{s: string(b)} }

// Bad reports whether a read failed.
func (d *Decoder) Bad() bool { return d.bad }

// Rest is what is left unread.
func (d *Decoder) Rest() []byte { return []byte(d.s) }

// Uvarint reads a uvarint.
func (d *Decoder) Uvarint() uint64 {
	if d.bad {
		return 0
	}
	var v uint64
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if i+1 != uvarintLen(v) || i == binary.MaxVarintLen64-1 && c > 1 { // only the shortest form is ours
				break
			}
			d.s = d.s[i+1:]
			return v
		}
	}
	d.bad = true
	return 0
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// String reads a length-prefixed string.
func (d *Decoder) String() string {
	n := d.Uvarint()
	if d.bad || n > uint64(len(d.s)) {
		d.bad = true
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

// Flag reads a 0 or 1 byte.
func (d *Decoder) Flag() bool {
	if d.bad || len(d.s) == 0 {
		d.bad = true
		return false
	}
	f := d.s[0]
	d.s = d.s[1:]
	if f > 1 {
		d.bad = true
	}
	return f == 1
}
