package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a long command has read its file, with rows (the
// lines passed) per second: a bar on a terminal (schollz/progressbar), a
// plain line every few seconds otherwise (logs, CI), on w (stderr: the
// command's output on stdout stays clean for --json).
type progress struct {
	r     io.Reader
	label string
	size  int64
	w     io.Writer
	bar   *progressbar.ProgressBar // nil when not a terminal
	every time.Duration

	mu    sync.Mutex
	read  int64
	rows  int64
	start time.Time
	last  time.Time
}

// newProgress wraps r (of size bytes, 0 when unknown). On a terminal w
// shows a bar; elsewhere a line each every.
func newProgress(r io.Reader, size int64, label string, w io.Writer, terminal bool, every time.Duration) *progress {
	p := &progress{r: r, label: label, size: size, w: w, every: every, start: time.Now()}
	p.last = p.start
	if terminal {
		p.bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(label),
			progressbar.OptionShowBytes(true), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
	}
	return p
}

// stderrProgress is newProgress on the process's stderr, a bar when it is
// a terminal.
func stderrProgress(r io.Reader, size int64, label string) *progress {
	return newProgress(r, size, label, os.Stderr, term.IsTerminal(int(os.Stderr.Fd())), 5*time.Second)
}

func (p *progress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.mu.Lock()
	p.read += int64(n)
	p.rows += int64(bytes.Count(b[:n], []byte{'\n'}))
	now := time.Now()
	due := now.Sub(p.last) >= p.every
	if due {
		p.last = now
	}
	read, rows := p.read, p.rows
	p.mu.Unlock()
	switch {
	case p.bar != nil:
		p.bar.Describe(fmt.Sprintf("%s %d rows (%.0f rows/s)", p.label, rows, float64(rows)/now.Sub(p.start).Seconds()))
		p.bar.Add64(int64(n)) //nolint:errcheck // a display
	case due:
		p.line(read, rows, now)
	}
	return n, err
}

func (p *progress) line(read, rows int64, now time.Time) {
	secs := now.Sub(p.start).Seconds()
	pct := ""
	if p.size > 0 {
		pct = fmt.Sprintf("%.0f%%, ", 100*float64(read)/float64(p.size))
	}
	fmt.Fprintf(p.w, "%s: %s%d rows, %.1f MB read, %.0f rows/s\n", p.label, pct, rows, float64(read)/1e6, float64(rows)/secs)
}

// done ends the display: the bar completes, a plain display says the
// totals.
func (p *progress) done() {
	p.mu.Lock()
	read, rows := p.read, p.rows
	p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish() //nolint:errcheck
		return
	}
	if time.Since(p.start) >= p.every {
		p.line(read, rows, time.Now())
	}
}
