package parsers

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
)

// endless yields n bytes of one byte, after a prefix: a line that never
// ends, generated rather than held.
type endless struct {
	prefix string
	b      byte
	n      int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.prefix != "" {
		k := copy(p, e.prefix)
		e.prefix = e.prefix[k:]
		return k, nil
	}
	if e.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	for i := range p {
		p[i] = e.b
	}
	e.n -= int64(len(p))
	return len(p), nil
}

// drain reads every row and returns the file-level error (nil at EOF)
// and the rows' error codes.
func drain(t *testing.T, r Reader, err error) ([]string, error) {
	t.Helper()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var codes []string
	for {
		row, err := r.Next()
		if err == io.EOF {
			return codes, nil
		}
		if err != nil {
			return codes, err
		}
		for _, fe := range row.Errors {
			codes = append(codes, fe.Code)
		}
	}
}

func TestLimitsStopHostileInput(t *testing.T) {
	const header = "Employee ID,First Name,Last Name,Status\n"
	lim := Limits{MaxLine: 4096, MaxField: 100, MaxColumns: 50}
	tests := []struct {
		name     string
		src      func() io.Reader
		layout   string
		wantFile string   // file-level code, "" none
		wantRows []string // row codes
	}{
		{"one endless line", func() io.Reader { return &endless{prefix: header + "E1,", b: 'x', n: 64 << 20} }, "census-csv", schema.ECodeTooLarge, nil},
		{"a quote never closed", func() io.Reader {
			return &endless{prefix: header + `E1,"Ann`, b: '\n', n: 64 << 20}
		}, "census-csv", schema.ECodeTooLarge, nil},
		{"a header of many columns", func() io.Reader {
			return strings.NewReader(header[:len(header)-1] + strings.Repeat(",c", 60) + "\nE1,A,B,A\n")
		}, "census-csv", schema.ECodeTooLarge, nil},
		{"a record of many columns", func() io.Reader {
			return strings.NewReader(header + "E1,A,B,A" + strings.Repeat(",", 60) + "\n")
		}, "census-csv", schema.ECodeTooLarge, nil},
		{"a long value", func() io.Reader {
			return strings.NewReader(header + "E1," + strings.Repeat("a", 200) + ",B,A\nE2,Bo,C,A\n")
		}, "census-csv", "", []string{schema.ECodeTooLarge}},
		{"a fixed-width endless line", func() io.Reader { return &endless{b: ' ', n: 64 << 20} }, "payroll-census-fixed", schema.ECodeTooLarge, nil},
		{"within the limits", func() io.Reader { return strings.NewReader(header + "E1,Ann,Lee,A\n") }, "census-csv", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Builtin(tt.layout)
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r, err := lim.Open(tt.src(), l)
			codes, ferr := drain(t, r, err)
			runtime.ReadMemStats(&after)
			var pe *ParseError
			switch {
			case tt.wantFile == "" && ferr != nil:
				t.Fatalf("file error %v, want none", ferr)
			case tt.wantFile != "" && (!errors.As(ferr, &pe) || pe.Code != tt.wantFile):
				t.Fatalf("file error %v, want %s", ferr, tt.wantFile)
			}
			if strings.Join(codes, ",") != strings.Join(tt.wantRows, ",") {
				t.Fatalf("row codes %v, want %v", codes, tt.wantRows)
			}
			// 64 MB went past; what was allocated is the limit's worth.
			if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
				t.Fatalf("allocated %d MB reading it; the limit did not bound the reader", got>>20)
			}
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	got := Limits{}.WithDefaults()
	if got.MaxLine != 1<<20 || got.MaxField != 64<<10 || got.MaxColumns != 4096 {
		t.Fatalf("defaults = %+v", got)
	}
	if got := (Limits{MaxLine: 10}).WithDefaults(); got.MaxLine != 10 || got.MaxField != 64<<10 {
		t.Fatalf("a set limit was replaced: %+v", got)
	}
}
