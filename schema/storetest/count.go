package storetest

import (
	"context"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Tally counts a tenant's employees and its events by type, paging
// through all of them: what fault tests compare with what a file holds.
func Tally(t testing.TB, s schema.Store, tenantID string) (people int, events map[string]int) {
	t.Helper()
	ctx := context.Background()
	q := schema.EmployeeQuery{Limit: 5000}
	for {
		es, err := s.Employees(ctx, tenantID, q)
		if err != nil {
			t.Fatal(err)
		}
		people += len(es)
		if len(es) < q.Limit {
			break
		}
		q.AfterID = es[len(es)-1].ID
	}
	events = map[string]int{}
	for seq := int64(0); ; {
		evs, err := s.Events(ctx, tenantID, seq, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return people, events
		}
		for _, e := range evs {
			events[e.Type]++
		}
		seq = evs[len(evs)-1].Seq
	}
}
