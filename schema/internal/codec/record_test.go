package codec

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
)

// columns are the employee fields the PostgreSQL store keeps in columns,
// not in the record.
var columns = map[string]bool{"ExternalID": true, "EmploymentStatus": true, "EmploymentType": true, "Department": true,
	"Location": true, "HireDate": true, "TerminationDate": true}

// identity are the fields that are not content (their own columns too).
var identity = map[string]bool{"ID": true, "TenantID": true, "ConnectionID": true, "SSN": true,
	"MissingFromSnapshot": true, "CreatedAt": true, "UpdatedAt": true}

// full is an employee with every content field set to a distinct value.
func full() schema.Employee {
	var e schema.Employee
	v := reflect.ValueOf(&e).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.String {
			f.SetString(fmt.Sprintf("v%d-é\x00\"", i))
		}
	}
	e.HomeAddress = &schema.Address{Line1: "1 Main", Line2: "Apt 2", City: "Springfield", State: "IL", PostalCode: "62701", Country: "US"}
	e.AnnualSalary = &schema.Money{Amount: "85000.00", Currency: "USD"}
	e.CustomFields = map[string]string{"b": "2", "a": "1", "": ""}
	return e
}

// TestRecordCoversEmployee fails when a field is added to schema.Employee
// without a place in the record or a column.
func TestRecordCoversEmployee(t *testing.T) {
	e := full()
	var got schema.Employee
	if err := DecodeRecord(AppendRecord(nil, &e), &got); err != nil {
		t.Fatal(err)
	}
	want, gv := reflect.ValueOf(e), reflect.ValueOf(got)
	for i := 0; i < want.NumField(); i++ {
		name := want.Type().Field(i).Name
		if columns[name] || identity[name] {
			if !gv.Field(i).IsZero() {
				t.Errorf("%s is in the record; it has a column", name)
			}
			continue
		}
		if !reflect.DeepEqual(want.Field(i).Interface(), gv.Field(i).Interface()) {
			t.Errorf("%s: %v after the record, want %v (a new field needs a place in record.go)", name, gv.Field(i).Interface(), want.Field(i).Interface())
		}
	}
}

func TestRecordSmallerThanJSON(t *testing.T) {
	e := full()
	e.SSN = ""
	r, js := AppendRecord(nil, &e), schema.AppendContentJSON(nil, &e)
	if len(r)*2 > len(js) {
		t.Fatalf("record %d bytes, JSON %d: want less than half", len(r), len(js))
	}
}

func TestPendingEmployeeFromRecord(t *testing.T) {
	e := full()
	e.ID, e.TenantID, e.ConnectionID, e.SSN = "", "", "conn", "123456789"
	p, err := NewPending(nopSealer{}, &e, schema.Encoded{Hash: "h"}, AppendRecord(nil, &e))
	if err != nil {
		t.Fatal(err)
	}
	got := p.Employee()
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("Pending.Employee() = %+v\nwant %+v", got, e)
	}
	// A pending JSON write (the SQLite store) decodes the same.
	p.Data = schema.AppendContentJSON(nil, &e)
	if got := p.Employee(); !reflect.DeepEqual(got, e) {
		t.Fatalf("Pending.Employee() of JSON = %+v\nwant %+v", got, e)
	}
}

func TestDecodeRecordRejectsDamage(t *testing.T) {
	e := full()
	r := AppendRecord(nil, &e)
	for _, bad := range [][]byte{nil, []byte("r2"), r[:len(r)-1], append(append([]byte{}, r...), 0), []byte("r1\x05ab")} {
		var got schema.Employee
		if err := DecodeRecord(bad, &got); err == nil {
			t.Errorf("DecodeRecord(%q) = nil error", bad)
		}
	}
}

type nopSealer struct{}

func (nopSealer) Seal(p []byte) ([]byte, error) { return append([]byte("sealed:"), p...), nil }
func (nopSealer) Open(p []byte) ([]byte, error) { return p[len("sealed:"):], nil }

// FuzzRecord: any employee survives the record, and any bytes decode to
// an error or an employee that encodes back to the same bytes.
func FuzzRecord(f *testing.F) {
	e := full()
	f.Add(AppendRecord(nil, &e), "a", "b", "k", "v", true)
	f.Add([]byte("r1"), "", "", "", "", false)
	f.Fuzz(func(t *testing.T, b []byte, first, city, key, value string, addr bool) {
		var got schema.Employee
		if DecodeRecord(b, &got) == nil {
			if again := AppendRecord(nil, &got); string(again) != string(b) {
				t.Fatalf("decoded %q, encodes back to %q", b, again)
			}
		}
		in := schema.Employee{FirstName: first, CustomFields: map[string]string{key: value}}
		if addr {
			in.HomeAddress = &schema.Address{City: city}
		}
		var out schema.Employee
		if err := DecodeRecord(AppendRecord(nil, &in), &out); err != nil || !reflect.DeepEqual(in, out) {
			js, _ := json.Marshal(out)
			t.Fatalf("round trip of %+v = %s, %v", in, js, err)
		}
	})
}

// FuzzDecoderUvarint holds the decoder's uvarint to encoding/binary's,
// shortest form only.
func FuzzDecoderUvarint(f *testing.F) {
	for _, b := range [][]byte{{0}, {0x80, 0}, {0xff, 1}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2}, {0x80}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(b)
		got := d.Uvarint()
		want, k := binary.Uvarint(b)
		ok := k > 0 && k == len(binary.AppendUvarint(nil, want))
		if d.Bad() == ok || ok && (got != want || len(d.Rest()) != len(b)-k) {
			t.Fatalf("Uvarint(%x) = %d, bad %v, rest %d; encoding/binary %d, %d", b, got, d.Bad(), len(d.Rest()), want, k)
		}
	})
}
