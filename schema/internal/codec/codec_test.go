package codec

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzEventData holds the hand-written event payload to encoding/json's.
func FuzzEventData(f *testing.F) {
	f.Add("01a2", "E<1>&\"", "", "active", "a", "b\u2028")
	f.Add("", "", "c", "", "", "")
	f.Fuzz(func(t *testing.T, id, ext, conn, status, c1, c2 string) {
		var changed []string
		if c1 != "" {
			changed = []string{c1, c2}
		}
		want, err := json.Marshal(struct {
			EmployeeID    string   `json:"employee_id"`
			ExternalID    string   `json:"external_id"`
			ConnectionID  string   `json:"connection_id,omitempty"`
			Status        string   `json:"employment_status"`
			ChangedFields []string `json:"changed_fields,omitempty"`
		}{id, ext, conn, status, changed})
		if err != nil {
			t.Fatal(err)
		}
		if got := EventData(id, ext, conn, status, changed); !bytes.Equal(got, want) {
			t.Fatalf("event data differs\n got %s\nwant %s", got, want)
		}
	})
}
