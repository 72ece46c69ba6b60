package parsers

import (
	"cmp"
	"fmt"
	"io"
)

// Limits bound what one file can make a reader hold: a hostile or broken
// file (one endless line, a quote never closed, a header of 100,000
// columns) is stopped with an E_TOO_LARGE error instead of growing the
// process without bound. The zero value takes the defaults, which fit
// real census, enrollment and payroll exports with a wide margin.
type Limits struct {
	// MaxLine is the most bytes one record may take (a CSV record's
	// quoted line breaks included); default 1 MiB. A longer one ends the
	// file with a file-level E_TOO_LARGE.
	MaxLine int
	// MaxField is the most bytes one value may take; default 64 KiB. A
	// longer one makes its row invalid (E_TOO_LARGE).
	MaxField int
	// MaxColumns is the most columns a header or record may have; default
	// 4,096. More ends the file with E_TOO_LARGE.
	MaxColumns int
}

// Default limits.
const (
	DefaultMaxLine    = 1 << 20
	DefaultMaxField   = 64 << 10
	DefaultMaxColumns = 4096
)

// WithDefaults fills the zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	l.MaxLine = cmp.Or(l.MaxLine, DefaultMaxLine)
	l.MaxField = cmp.Or(l.MaxField, DefaultMaxField)
	l.MaxColumns = cmp.Or(l.MaxColumns, DefaultMaxColumns)
	return l
}

// Open is parsers.Open under these limits.
func (l Limits) Open(src io.Reader, layout *Layout) (Reader, error) {
	return open(src, layout, false, l.WithDefaults())
}

// OpenReusing is parsers.OpenReusing under these limits.
func (l Limits) OpenReusing(src io.Reader, layout *Layout) (Reader, error) {
	return open(src, layout, true, l.WithDefaults())
}

// errLineTooLong is what a lineLimit returns once a record outgrows the
// limit; the reader turns it into a positioned E_TOO_LARGE ParseError.
type errLineTooLong struct{ max int }

func (e errLineTooLong) Error() string {
	return fmt.Sprintf("a record is longer than the %d-byte limit (max_line_bytes): not a census export, or a quote is never closed", e.max)
}

// lineLimit passes a stream through to encoding/csv and fails it once
// more than max bytes (plus what csv buffers ahead) pass without the
// consumer marking a record's end: csv.Reader keeps a whole record in
// memory, however long, and has no bound of its own.
type lineLimit struct {
	r    io.Reader
	max  int
	n    int64 // bytes passed on
	mark int64 // the consumer's offset of the last record's end
}

// csvSlack is how far csv.Reader's own buffer may read past the record it
// returns.
const csvSlack = 64 << 10

func (l *lineLimit) Read(p []byte) (int, error) {
	if l.n-l.mark > int64(l.max)+csvSlack {
		return 0, errLineTooLong{l.max}
	}
	if len(p) > csvSlack {
		p = p[:csvSlack]
	}
	k, err := l.r.Read(p)
	l.n += int64(k)
	return k, err
}

// ended records that the consumer has read up to offset (the end of a
// record).
func (l *lineLimit) ended(offset int64) { l.mark = offset }
