package schema

import (
	"crypto/sha256"
	"encoding/binary"
	"reflect"
	"testing"
)

// TestContentHashCoversEveryField: changing any content field of an
// employee (nested ones and custom fields included) changes its content
// hash, and identity, timestamps and flags do not. A field added to
// Employee without being added to ContentHashInto fails here.
func TestContentHashCoversEveryField(t *testing.T) {
	base := func() *Employee {
		return &Employee{ExternalID: "E1", FirstName: "Ada", LastName: "Lovelace", EmploymentStatus: "active",
			HomeAddress: &Address{Line1: "1 Main", City: "Springfield", Country: "US"}, AnnualSalary: &Money{Amount: "1.00", Currency: "USD"},
			CustomFields: map[string]string{"union": "local 12"}}
	}
	ref := hashOf(base(), testKey)
	if hashOf(base(), testKey) != ref {
		t.Fatal("hash is not deterministic")
	}
	ignored := map[string]bool{"Hash": true, "SourceHash": true, "ID": true, "TenantID": true, "ConnectionID": true, "MissingFromSnapshot": true, "CreatedAt": true, "UpdatedAt": true}
	typ := reflect.TypeOf(Employee{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		e := base()
		v := reflect.ValueOf(e).Elem().Field(i)
		switch f.Type.Kind() {
		case reflect.String:
			v.SetString(v.String() + "x")
		case reflect.Map:
			e.CustomFields["union"] = "local 13"
		case reflect.Pointer:
			// Every field of the pointed-to struct counts too.
			for j := range f.Type.Elem().NumField() {
				e := base()
				sv := reflect.ValueOf(e).Elem().Field(i).Elem().Field(j)
				sv.SetString(sv.String() + "x")
				if hashOf(e, testKey) == ref {
					t.Errorf("changing %s.%s does not change the hash", f.Name, f.Type.Elem().Field(j).Name)
				}
			}
			v.SetZero()
		case reflect.Bool:
			v.SetBool(!v.Bool())
		case reflect.Uint64:
			v.SetUint(v.Uint() + 1)
		case reflect.Struct: // timestamps
			continue
		default:
			t.Fatalf("field %s of kind %s: teach this test and ContentHashInto about it", f.Name, f.Type.Kind())
		}
		if changed := hashOf(e, testKey) != ref; changed == ignored[f.Name] {
			t.Errorf("field %s: hash changed = %v, want %v", f.Name, changed, !ignored[f.Name])
		}
	}
	// Length prefixes keep adjacent fields apart.
	a, b := base(), base()
	a.FirstName, a.MiddleName = "Ann", "a"
	b.FirstName, b.MiddleName = "Anna", ""
	if hashOf(a, testKey) == hashOf(b, testKey) {
		t.Error("moving a character between adjacent fields keeps the hash")
	}
	// Map order does not matter.
	m1, m2 := base(), base()
	m1.CustomFields = map[string]string{"a": "1", "b": "2", "c": "3"}
	m2.CustomFields = map[string]string{"c": "3", "b": "2", "a": "1"}
	if hashOf(m1, testKey) != hashOf(m2, testKey) {
		t.Error("custom field order changes the hash")
	}
}

func BenchmarkContentHash(b *testing.B) {
	e := &Employee{ExternalID: "E000123", FirstName: "Ada", LastName: "Lovelace", DateOfBirth: "1985-12-10", SSN: "123456789",
		WorkEmail: "ada@example.com", EmploymentStatus: "active", EmploymentType: "full_time", HireDate: "2020-01-06", JobTitle: "Engineer",
		Department: "R&D", Location: "NYC", PayFrequency: "biweekly", HomeAddress: &Address{Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "US"},
		AnnualSalary: &Money{Amount: "85000.00", Currency: "USD"}}
	key := NewHashKey(testKey)
	var buf []byte
	for b.Loop() {
		_, buf = e.ContentHash(key, buf)
	}
}

var testKey = []byte("schema tests' content-hash key.")

// hashOf is e's content hash under key.
func hashOf(e *Employee, key []byte) uint64 {
	h, _ := e.ContentHash(NewHashKey(key), nil)
	return h
}

// TestContentHashIsKeyed: the hashes stored beside records whose SSN is
// sealed are keyed, so they cannot be searched for the SSN without the
// key: the same record hashes differently under another key, and not as
// the plain SHA-256 of its content.
func TestContentHashIsKeyed(t *testing.T) {
	e := &Employee{ExternalID: "E1", FirstName: "Ada", LastName: "Lovelace", SSN: "510551000"}
	a, b := hashOf(e, testKey), hashOf(e, []byte("another key"))
	if a == b {
		t.Fatal("the employee content hash does not depend on the key")
	}
	_, input := e.ContentHash(NewHashKey(testKey), nil)
	plain := sha256.Sum256(input)
	if a == binary.BigEndian.Uint64(plain[:])|1 {
		t.Fatal("the employee content hash is the unkeyed SHA-256 of its content")
	}
	d := &Dependent{ExternalID: "D1", FirstName: "Bo", SSN: "510551001"}
	if d.ContentHash(NewHashKey(testKey)) == d.ContentHash(NewHashKey([]byte("another key"))) {
		t.Fatal("the dependent content hash does not depend on the key")
	}
}
