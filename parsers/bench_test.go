package parsers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/parsers/synth"
)

const benchRows = 100_000

var censusBytes = func() func() []byte {
	var b []byte
	return func() []byte {
		if b == nil {
			var buf bytes.Buffer
			synth.Census(&buf, benchRows, 1, nil)
			b = buf.Bytes()
		}
		return b
	}
}()

// fixedBytes is the payroll fixed-width census of the same people.
var fixedBytes = func() func() []byte {
	var b []byte
	return func() []byte {
		if b == nil {
			var buf bytes.Buffer
			synth.PayrollFixed(&buf, benchRows, 1)
			b = buf.Bytes()
		}
		return b
	}
}()

// benchRatio times the layout path and its baseline on the same bytes in
// each iteration and reports both speeds and their ratio.
func benchRatio(b *testing.B, data []byte, baseline, layout func(io.Reader) int) {
	b.SetBytes(int64(len(data)))
	var tb, tl time.Duration
	var rows int
	for b.Loop() {
		start := time.Now()
		if n := baseline(bytes.NewReader(data)); n < benchRows {
			b.Fatalf("baseline read %d rows", n)
		}
		tb += time.Since(start)
		start = time.Now()
		if rows = layout(bytes.NewReader(data)); rows != benchRows {
			b.Fatalf("layout read %d rows, want %d", rows, benchRows)
		}
		tl += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(rows)*n/tl.Seconds(), "rows/s")
	b.ReportMetric(float64(rows)*n/tb.Seconds(), "baseline_rows/s")
	b.ReportMetric(float64(len(data))*n/tl.Seconds()/1e6, "MB/s")
	b.ReportMetric(tb.Seconds()/tl.Seconds(), "ratio")
}

func readRows(b *testing.B, l *Layout) func(io.Reader) int {
	return func(r io.Reader) int {
		rd, err := OpenReusing(r, l)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			row, err := rd.Next()
			if err == io.EOF {
				return n
			}
			if err != nil {
				b.Fatal(err)
			}
			if !row.Valid() {
				b.Fatalf("line %d: %v", row.Line, row.Errors)
			}
			n++
		}
	}
}

// BenchmarkCensusCSV is the whole layout-driven path (decode, map, convert,
// validate, duplicate check) against a bare encoding/csv read of the same
// 100k-row, 22-column census. ratio = layout speed / baseline speed.
func BenchmarkCensusCSV(b *testing.B) {
	data := censusBytes()
	baseline := func(r io.Reader) int {
		cr := csv.NewReader(r)
		cr.ReuseRecord = true
		n := -1 // header
		for {
			if _, err := cr.Read(); err != nil {
				return n
			}
			n++
		}
	}
	benchRatio(b, data, baseline, readRows(b, census(b)))
}

// BenchmarkPayrollFixed is the fixed-width path against a raw line scan.
func BenchmarkPayrollFixed(b *testing.B) {
	data := fixedBytes()
	baseline := func(r io.Reader) int {
		sc := bufio.NewScanner(r)
		n := -2 // header and trailer
		for sc.Scan() {
			n++
		}
		return n
	}
	benchRatio(b, data, baseline, readRows(b, builtin(b, "payroll-census-fixed")))
}
