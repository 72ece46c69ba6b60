package parsers

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// skipFunc is a Skipper that asks fn and remembers what it took.
type skipFunc struct {
	fn    func(id string, sum uint64) bool
	taken map[string]bool
}

func skipper(fn func(id string, sum uint64) bool) *skipFunc {
	return &skipFunc{fn: fn, taken: map[string]bool{}}
}

func (s *skipFunc) Skip(id string, sum uint64) bool {
	if s.taken[id] || !s.fn(id, sum) {
		return false
	}
	s.taken[id] = true
	return true
}

func (s *skipFunc) Seen(id string) bool { return s.taken[id] }

func TestSkipWith(t *testing.T) {
	const file = "Employee ID,First Name,Last Name,Status\nE1,Ada,Lovelace,A\n E2 ,Bob,Smith,A\nE3,Cy,Young,A\n"
	read := func(l *Layout, body string, skip func(string, uint64) bool) []*Row {
		t.Helper()
		rd, err := Open(strings.NewReader(body), l)
		if err != nil {
			t.Fatal(err)
		}
		if !rd.SkipWith(skipper(skip), testKey) {
			t.Fatal("census-csv cannot skip")
		}
		var rows []*Row
		eachRow(t, rd, func(row *Row) { rows = append(rows, row) })
		return rows
	}
	l := builtin(t, "census-csv")
	var ids []string
	rows := read(l, file, func(id string, sum uint64) bool { ids = append(ids, id); return id == "E2" })
	if strings.Join(ids, ",") != "E1,E2,E3" {
		t.Fatalf("skipper saw %v; want the trimmed raw ids", ids)
	}
	if rows[1].RecordID != "E2" || !rows[1].Skipped || rows[1].Line != 3 || rows[1].Source == 0 {
		t.Fatalf("skipped row = %+v", rows[1])
	}
	if rows[0].Skipped || rows[0].Record == nil || rows[0].Source == 0 || rows[0].Source == rows[2].Source {
		t.Fatalf("read rows = %+v, %+v", rows[0], rows[2])
	}
	sums := func(l *Layout, body string) []uint64 {
		var out []uint64
		for _, r := range read(l, body, func(string, uint64) bool { return false }) {
			out = append(out, r.Source)
		}
		return out
	}
	a := sums(l, file)
	if b := sums(l, file); a[0] != b[0] || a[2] != b[2] {
		t.Fatal("raw sums are not stable")
	}
	if b := sums(l, strings.Replace(file, "Lovelace", "Lovelace-King", 1)); b[0] == a[0] || b[2] != a[2] {
		t.Fatal("a changed field does not change (only) its row's sum")
	}
	other := builtin(t, "census-csv")
	other.Fields["department"].Default = "Unassigned"
	if b := sums(other, file); b[0] == a[0] {
		t.Fatal("a layout change does not change the sums")
	}
	fixed := builtin(t, "payroll-census-fixed")
	rd, _ := Open(strings.NewReader(""), fixed)
	if rd != nil && rd.SkipWith(skipper(func(string, uint64) bool { return true }), testKey) {
		t.Fatal("fixed-width reader claims to skip")
	}
}

// FuzzSkipCSV: whatever the bytes, a reader whose skipper recognises
// every other id returns the same rows, lines and counts as a plain
// reader, skipped rows carrying their id and no errors.
func FuzzSkipCSV(f *testing.F) {
	for _, p := range []string{"../testdata/census/basic.csv", "../testdata/census/errors.csv", "../testdata/census/bom.csv"} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	l, err := Builtin("census-csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		plain, err := Open(strings.NewReader(string(b)), l)
		if err != nil {
			return
		}
		skipping, err := Open(strings.NewReader(string(b)), l)
		if err != nil {
			t.Fatalf("second Open failed: %v", err)
		}
		n := 0
		skipping.SkipWith(skipper(func(id string, sum uint64) bool { n++; return n%2 == 0 }), testKey)
		for i := 0; i < 1e5; i++ {
			a, errA := plain.Next()
			s, errS := skipping.Next()
			if (errA == nil) != (errS == nil) {
				t.Fatalf("row %d: plain error %v, skipping error %v", i, errA, errS)
			}
			if errA != nil {
				if plain.Rows() != skipping.Rows() {
					t.Fatalf("rows %d vs %d", plain.Rows(), skipping.Rows())
				}
				return
			}
			if a.Line != s.Line {
				t.Fatalf("row %d: line %d vs %d", i, a.Line, s.Line)
			}
			if s.Skipped && (len(s.Errors) != 0 || s.RecordID == "" || s.Source == 0) {
				t.Fatalf("skipped row %+v", s)
			}
			if !s.Skipped && (a.Valid() != s.Valid() || a.RecordID != s.RecordID) {
				t.Fatalf("row %d differs: %+v vs %+v", i, a, s)
			}
		}
	})
}

// TestReadAheadClose: a file left unread after Close lets its read-ahead
// goroutine go, and Next then reports the end.
func TestReadAheadClose(t *testing.T) {
	var b strings.Builder
	b.WriteString("Employee ID,First Name,Last Name,Status\n")
	for i := 0; i < 20_000; i++ {
		fmt.Fprintf(&b, "E%d,Ada,Lovelace,A\n", i)
	}
	before := runtime.NumGoroutine()
	rd, err := Open(strings.NewReader(b.String()), builtin(t, "census-csv"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	if runtime.NumGoroutine() <= before {
		t.Fatal("no read-ahead goroutine")
	}
	rd.Close()
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("Next after Close = %v, want io.EOF", err)
	}
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 2000 {
			t.Fatalf("read-ahead goroutine still running after Close (%d > %d)", runtime.NumGoroutine(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var testKey = []byte("parsers tests' raw-record key...")
