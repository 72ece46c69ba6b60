package schema

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzContentJSON holds the hand-written encoder to encoding/json's
// output for the same content.
func FuzzContentJSON(f *testing.F) {
	f.Add("E1", "Ada", "", "Lovelace", "1990-01-02", "", "a<b>&c\"\\\n\t\b\f\x01", "\u2028\u2029\xff", "k", "v", true, true)
	f.Add("", "", "", "", "", "", "", "", "", "", false, false)
	f.Add("Zoë", "名前", "x", "O'Brien", "", "US", "", "", "", "", true, false)
	f.Fuzz(func(t *testing.T, ext, first, middle, last, dob, country, s1, s2, ck, cv string, addr, salary bool) {
		e := &Employee{ID: "id", TenantID: "t", ConnectionID: "c", SSN: "123-45-6789", ExternalID: ext, FirstName: first, MiddleName: middle,
			LastName: last, DateOfBirth: dob, Gender: s1, WorkEmail: s2, EmploymentStatus: s1, Department: s2, Location: middle,
			TerminationReason: s1, BenefitClass: s2, MissingFromSnapshot: true}
		if addr {
			e.HomeAddress = &Address{Line1: s1, City: first, Country: country}
		}
		if salary {
			e.AnnualSalary = &Money{Amount: s2, Currency: country}
		}
		if ck != "" || cv != "" {
			e.CustomFields = map[string]string{ck: cv, ck + "2": s1}
		}
		want, err := json.Marshal(contentJSON{Employee: e})
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendContentJSON(nil, e); !bytes.Equal(got, want) {
			t.Fatalf("content JSON differs\n got %s\nwant %s", got, want)
		}
		full := &Employee{ExternalID: s1, FirstName: s1, MiddleName: s1, LastName: s1, PreferredName: s1, DateOfBirth: s1, Gender: s1,
			WorkEmail: s1, PersonalEmail: s1, Phone: s1, HomeAddress: &Address{s1, s1, s1, s1, s1, s1}, EmploymentStatus: s1, EmploymentType: s1,
			HireDate: s1, TerminationDate: s1, TerminationReason: s1, JobTitle: s1, Department: s1, Location: s1, ManagerExternalID: s1,
			PayFrequency: s1, AnnualSalary: &Money{s1, s1}, HourlyRate: s1, ScheduledHours: s1, BenefitClass: s1, CustomFields: map[string]string{s1: s1}}
		if want, _ := json.Marshal(contentJSON{Employee: full}); !bytes.Equal(AppendContentJSON(nil, full), want) {
			t.Fatalf("content JSON of a full record differs\n got %s\nwant %s", AppendContentJSON(nil, full), want)
		}
		var back Employee
		if err := json.Unmarshal(AppendContentJSON(nil, e), &back); err != nil {
			t.Fatal(err)
		}
	})
}
