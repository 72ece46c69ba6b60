package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// slowReader hands out its text a line at a time, with a pause.
type slowReader struct {
	lines []string
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.lines) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.pause)
	n := copy(p, s.lines[0])
	s.lines = s.lines[1:]
	return n, nil
}

// TestProgressPlainLines: without a terminal, progress is a plain line
// now and then with the share read, rows and rows/s, and the totals at
// the end; the bytes pass through untouched.
func TestProgressPlainLines(t *testing.T) {
	var lines []string
	for range 20 {
		lines = append(lines, "E1,Ann,Lee,A\n")
	}
	var out bytes.Buffer
	p := newProgress(&slowReader{lines: lines, pause: 5 * time.Millisecond}, int64(20*len(lines[0])), "ingest census.csv", &out, false, 20*time.Millisecond)
	got, err := io.ReadAll(p)
	p.done()
	if err != nil || string(got) != strings.Join(lines, "") {
		t.Fatalf("read %q, %v", got, err)
	}
	text := out.String()
	if !strings.Contains(text, "ingest census.csv: ") || !strings.Contains(text, " rows/s") || !strings.Contains(text, "100%, 20 rows") {
		t.Fatalf("progress lines:\n%s", text)
	}
}

// TestProgressBar: on a terminal it draws a bar with the rows and rate.
func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	body := strings.Repeat("E1,Ann,Lee,A\n", 1000)
	p := newProgress(strings.NewReader(body), int64(len(body)), "validate c.csv", &out, true, time.Hour)
	if got, _ := io.ReadAll(p); string(got) != body {
		t.Fatal("bytes changed")
	}
	p.done()
	if text := out.String(); !strings.Contains(text, "validate c.csv") || !strings.Contains(text, "1000 rows") || !strings.Contains(text, "100%") {
		t.Fatalf("bar:\n%q", text)
	}
}
