package x12

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// collect is a Handler that keeps what it is given, as a receiver would:
// a rejected set's members are dropped.
type collect struct {
	Sets []set `json:"transaction_sets"`
	cur  *set
}

type set struct {
	Header   *Header  `json:"header"`
	Rejected string   `json:"rejected,omitempty"`
	Members  []Member `json:"members"`
}

func (c *collect) Begin(h *Header) error {
	c.Sets = append(c.Sets, set{Header: h})
	c.cur = &c.Sets[len(c.Sets)-1]
	return nil
}

func (c *collect) Member(h *Header, m *Member) error {
	c.cur.Members = append(c.cur.Members, *m)
	return nil
}

func (c *collect) End(h *Header, err *Error) error {
	if c.cur == nil || c.cur.Header != h {
		c.Sets = append(c.Sets, set{Header: h})
		c.cur = &c.Sets[len(c.Sets)-1]
	}
	if err != nil {
		c.cur.Rejected, c.cur.Members = err.Error(), nil
	}
	c.cur = nil
	return nil
}

func read(t testing.TB, data []byte) (*collect, Stats, error) {
	c := &collect{}
	r, err := NewReader(bytes.NewReader(data), 0)
	if err != nil {
		return c, Stats{}, err
	}
	st, err := Read834(r, c)
	return c, st, err
}

// TestGolden reads every fixture of testdata/x12-834 (each terminator
// style, a full file, a change file, a termination, dependents, several
// coverages, reporting categories, broken envelopes) and compares what
// was read with its golden file (go test ./parsers/x12 -update).
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/x12-834/*.edi")
	if len(files) < 6 {
		t.Fatalf("%d fixtures", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, st, err := read(t, data)
			out := map[string]any{"stats": st, "transaction_sets": c.Sets}
			if err != nil {
				out["error"] = err.Error()
			}
			got, _ := json.MarshalIndent(out, "", "  ")
			golden := strings.TrimSuffix(path, ".edi") + ".golden.json"
			if *update {
				os.WriteFile(golden, append(got, '\n'), 0o644) //nolint:errcheck
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./parsers/x12 -update)", err)
			}
			if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
				t.Fatalf("%s differs from its golden file:\n%s", filepath.Base(path), got)
			}
		})
	}
}

func TestWhatTheFixturesShow(t *testing.T) {
	data, _ := os.ReadFile("../../testdata/x12-834/change-tilde.edi")
	c, st, err := read(t, data)
	if err != nil || len(c.Sets) != 1 || len(c.Sets[0].Members) != 3 || st.Coverages != 4 {
		t.Fatalf("change file: %v %+v", err, st)
	}
	sub := c.Sets[0].Members[0]
	if !sub.Subscriber || sub.SSN != "123456789" || sub.Coverages[1].InsuranceLine != "DEN" || sub.Reporting["PAY GROUP"] != "SALARIED" ||
		sub.Dates["336"] != "20230315" || sub.Email != "ada@example.com" || c.Sets[0].Header.Action != "2" {
		t.Fatalf("subscriber = %+v", sub)
	}
	// One of two sets has a wrong SE count: only it is rejected.
	data, _ = os.ReadFile("../../testdata/x12-834/broken-se.edi")
	c, _, err = read(t, data)
	if err != nil || len(c.Sets) != 2 || c.Sets[0].Rejected == "" || len(c.Sets[1].Members) != 1 || !strings.Contains(c.Sets[0].Rejected, "SE01") {
		t.Fatalf("broken SE: %v %+v", err, c.Sets)
	}
	// A wrong IEA control number rejects the interchange.
	data, _ = os.ReadFile("../../testdata/x12-834/broken-iea.edi")
	if _, _, err = read(t, data); err == nil || !strings.Contains(err.Error(), "IEA02") {
		t.Fatalf("broken IEA: %v", err)
	}
	var xe *Error
	if !errors.As(err, &xe) || xe.Code != CodeEnvelope {
		t.Fatalf("broken IEA error: %#v", err)
	}
}

func TestTerminatorsAndDelimiters(t *testing.T) {
	base, _ := os.ReadFile("../../testdata/x12-834/term-crlf.edi")
	for name, data := range map[string][]byte{
		"crlf after ~":                base,
		"one line":                    bytes.ReplaceAll(base, []byte("\r\n"), nil),
		"newline as the terminator":   bytes.ReplaceAll(bytes.ReplaceAll(base, []byte("~\r\n"), []byte("\n")), []byte(":\n"), []byte(":\n")),
		"pipe elements, ' terminator": bytes.ReplaceAll(bytes.ReplaceAll(bytes.ReplaceAll(base, []byte("*"), []byte("|")), []byte("~"), []byte("'")), []byte("\r\n"), nil),
		"no final terminator":         bytes.TrimSuffix(bytes.ReplaceAll(base, []byte("\r\n"), nil), []byte("~")),
	} {
		c, st, err := read(t, data)
		if err != nil || len(c.Sets) != 1 || len(c.Sets[0].Members) != 1 || c.Sets[0].Members[0].Dates["357"] != "20261031" || st.Ignored != 1 {
			t.Errorf("%s: %v %+v %+v", name, err, st, c.Sets)
		}
	}
	if _, err := NewReader(strings.NewReader("ISA*00*short~"), 0); err == nil {
		t.Error("a short ISA was read")
	}
	bad := bytes.Replace(base, []byte("*00*          *ZZ"), []byte("*00*         *ZZ*"), 1)
	if _, err := NewReader(bytes.NewReader(bad), 0); err == nil || !strings.Contains(err.Error(), "fixed widths") {
		t.Errorf("a misaligned ISA: %v", err)
	}
}

// FuzzRead834: whatever the bytes, reading returns members or an error
// with a position and code; it never panics.
func FuzzRead834(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/x12-834/*.edi")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, err := read(t, data)
		var xe *Error
		if err != nil && !errors.As(err, &xe) {
			t.Fatalf("an error without a code: %T %v", err, err)
		}
	})
}

func TestCodesAreInTheCatalog(t *testing.T) {
	for _, c := range []string{CodeSyntax, CodeEnvelope, CodeSegment, CodeValue} {
		if e, ok := schema.Catalog[c]; !ok || e.Fix == "" {
			t.Errorf("%s is not in the error catalog", c)
		}
	}
}

// TestAck999: each set's outcome, and the group's, in a 999 that the
// tokenizer reads back with its envelopes intact.
func TestAck999(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		fixture string
		want    []string
	}{
		{"change-tilde.edi", []string{"AK2*834*0001*005010X220A1", "IK5*A", "AK9*A*1*1*1"}},
		{"broken-se.edi", []string{"AK2*834*0001*005010X220A1", "IK5*R*5", "AK2*834*0002*005010X220A1", "IK5*A", "AK9*P*2*2*1"}},
		{"missing-ref.edi", []string{"IK3*INS*5*2000*3", "IK5*R*5", "AK9*R*1*1*0"}},
	} {
		data, _ := os.ReadFile("../../testdata/x12-834/" + c.fixture)
		ack, err := Ack999(bytes.NewReader(data), now)
		if err != nil {
			t.Fatalf("%s: %v", c.fixture, err)
		}
		for _, w := range c.want {
			if !bytes.Contains(ack, []byte(w+"~")) {
				t.Errorf("%s: the 999 lacks %s:\n%s", c.fixture, w, ack)
			}
		}
		// A valid interchange itself: its ST/SE and envelopes check out.
		r, err := NewReader(bytes.NewReader(ack), 0)
		if err != nil {
			t.Fatalf("%s: the 999 does not read: %v\n%s", c.fixture, err, ack)
		}
		segs := 0
		for {
			s, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			segs++
			if s.ID == "SE" && s.E(1) != strconv.Itoa(segs-2) {
				t.Errorf("%s: SE01 %s, the set has %d segments", c.fixture, s.E(1), segs-2)
			}
		}
	}
}
