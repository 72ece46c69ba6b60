package postgres

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

func TestHireIDs(t *testing.T) {
	block := hireBlockID()
	if block[len(block)-3:] != "000" {
		t.Fatalf("block id %s does not end in 000", block)
	}
	seen := map[string]bool{}
	for i := 0; i < hireBlock; i++ {
		id := hireID(block, i)
		if len(id) != len(block) || seen[id] {
			t.Fatalf("hire %d: id %q (block %q) not unique or not the block's length", i, id, block)
		}
		seen[id] = true
		b, j, ok := hireIndex(id)
		if !ok || b != block || j != i {
			t.Fatalf("hireIndex(%s) = %s, %d, %v; want %s, %d", id, b, j, ok, block, i)
		}
	}
	for _, id := range []string{"", "ab", "0190-zz", "xyz"} {
		if _, _, ok := hireIndex(id); ok {
			t.Fatalf("hireIndex(%q) ok", id)
		}
	}
}

func TestHireBlockRoundTrip(t *testing.T) {
	b := appendHireHeader(nil, "conn-1")
	for i := 0; i < 3; i++ {
		b = appendHire(b, fmt.Sprintf("emp-%d", i), fmt.Sprintf("E%d", i), "active")
	}
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	r := hireBlockRow{id: "0190aaaa-0000-7000-8000-000000000000", tenantID: "t1", fileID: "f1", seq: 8193, n: 3, occurredAt: at, hires: b}
	var got []schema.Event
	if err := r.each(0, func(i int, e schema.Event) bool { got = append(got, e); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d events, want 3", len(got))
	}
	for i, e := range got {
		want := schema.Event{ID: fmt.Sprintf("0190aaaa-0000-7000-8000-000000000%03x", i), Seq: 8193 + int64(i), TenantID: "t1", Type: "employee.hired",
			Subject: fmt.Sprintf("emp-%d", i), FileID: "f1", OccurredAt: at}
		data := map[string]string{}
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatal(err)
		}
		e.Data = nil
		if fmt.Sprint(e) != fmt.Sprint(want) || data["employee_id"] != want.Subject || data["external_id"] != fmt.Sprintf("E%d", i) ||
			data["connection_id"] != "conn-1" || data["employment_status"] != "active" {
			t.Fatalf("event %d = %+v %v, want %+v", i, e, data, want)
		}
	}
	// From the middle: only the hires from there on.
	var tail []schema.Event
	if err := r.each(2, func(i int, e schema.Event) bool { tail = append(tail, e); return true }); err != nil || len(tail) != 1 || tail[0].ID != got[2].ID {
		t.Fatalf("each(2) = %d events (%v), want the third hire only", len(tail), err)
	}
	// A block that claims more hires than it holds is an error, not a
	// short or made-up feed.
	r.n = 4
	if err := r.each(0, func(int, schema.Event) bool { return true }); err == nil {
		t.Fatal("each of a short block: no error")
	}
}

// FuzzHireBlock: a stored block that does not decode is an error, never a
// panic or an event made of bytes outside the block.
func FuzzHireBlock(f *testing.F) {
	f.Add(appendHire(appendHireHeader(nil, "c"), "e", "E1", "active"), 1)
	f.Add([]byte("h1\xff\xff\xff\xff\x0f"), 2)
	f.Add([]byte("h2"), 0)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > hireBlock {
			return
		}
		r := hireBlockRow{id: "0190aaaa-0000-7000-8000-000000000000", n: n, hires: b}
		count := 0
		err := r.each(0, func(i int, e schema.Event) bool {
			if i != count || !json.Valid(e.Data) {
				t.Fatalf("hire %d (after %d): data %q", i, count, e.Data)
			}
			count++
			return true
		})
		if err == nil && count != n {
			t.Fatalf("decoded %d of %d hires without an error", count, n)
		}
	})
}
