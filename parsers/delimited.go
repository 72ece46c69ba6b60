package parsers

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Delimited streams a CSV (or other delimited) file through a layout,
// reading with encoding/csv: quoted fields may hold delimiters, quotes and
// line breaks; CRLF and LF both end records.
type Delimited struct {
	*mapper
	csv      *csv.Reader
	limit    *lineLimit
	detected Detected
	header   []string
	drift    []string
	skip     Skipper
	rowKey   *schema.HashKey // keys the raw-record hashes, with the skipper
	idCol    int

	// The read-ahead: records are split on their own goroutine, a batch
	// at a time, while the caller maps and stores the previous ones. The
	// raw hash for the skipper is taken on the caller's side: for a
	// re-delivered file, splitting alone keeps the read-ahead busy.
	items   chan []csvItem
	done    chan struct{}
	cur     []csvItem
	pos     int
	ended   bool
	closed  bool
	scratch []byte // the raw hash's
}

// csvItem is one record read ahead, or the error reading it.
type csvItem struct {
	rec  []string
	line int
	err  error
}

// readAheadBatch is how many records go to the caller at a time: with
// four batches queued, one filling and one being read, at most about
// 1,500 records are in memory.
const readAheadBatch = 256

// Header returns the file's header row (nil without one).
func (r *Delimited) Header() []string { return r.header }

// Drift lists how the header differs from checks.expected_header.
func (r *Delimited) Drift() []string { return r.drift }

// Detected is the encoding and delimiter the file was read with.
func (r *Delimited) Detected() Detected { return r.detected }

// Mapped lists, sorted, the fields the header has a column for.
func (r *Delimited) Mapped() []string {
	if r.header == nil {
		return nil
	}
	out := []string{}
	for _, s := range r.slots {
		if s.col >= 0 {
			out = append(out, s.name)
		}
	}
	sort.Strings(out)
	return out
}

func openDelimited(src io.Reader, l *Layout, m *mapper) (*Delimited, error) {
	enc, err := decoderFor(l.Encoding)
	if err != nil {
		return nil, err
	}
	encName := l.Encoding
	if isAuto(l.Encoding) {
		enc, encName, src = detectEncoding(src)
		m.checkU8 = enc == nil
	}
	in := bufio.NewReaderSize(decode(src, enc), detectSample)
	comma, _ := l.CSV.delimiter()
	if l.CSV.Delimiter == "auto" {
		line, _ := in.Peek(detectSample)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		comma = detectDelimiter(line)
	}
	limit := &lineLimit{r: in, max: m.lim.MaxLine}
	cr := csv.NewReader(limit)
	cr.Comma = comma
	if l.CSV.Comment != "" {
		cr.Comment, _ = utf8.DecodeRuneInString(l.CSV.Comment)
	}
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = l.CSV.Quote == "none"
	cr.ReuseRecord = true
	r := &Delimited{mapper: m, csv: cr, limit: limit, detected: Detected{Encoding: cmp.Or(encName, "utf-8"), Delimiter: string(comma)}}
	for i := 0; i < l.CSV.SkipLines; i++ {
		if _, err := cr.Read(); err != nil {
			return nil, r.openError(err, "reading the lines before the header")
		}
		limit.ended(cr.InputOffset())
	}
	if l.CSV.NoHeader {
		for _, name := range l.FieldNames() {
			r.addSlot(name, l.Fields[name].Position-1)
		}
		return r, nil
	}
	header, err := cr.Read()
	if err != nil {
		return nil, r.openError(err, "reading the header")
	}
	limit.ended(cr.InputOffset())
	if len(header) > m.lim.MaxColumns {
		return nil, &ParseError{Line: l.CSV.SkipLines + 1, Code: schema.ECodeTooLarge,
			Err: fmt.Errorf("the header has %d columns, more than the %d-column limit (max_columns)", len(header), m.lim.MaxColumns)}
	}
	r.header = trimTrailingEmpty(append([]string(nil), header...))
	r.drift = drift(r.header, l.Checks.ExpectedHeader)
	return r, r.bindHeader()
}

func (r *Delimited) openError(err error, what string) error {
	if err == io.EOF {
		return &ParseError{Line: 1, Code: schema.ECodeEmpty, Err: fmt.Errorf("file ended while %s", what)}
	}
	return csvError(err)
}

func csvError(err error) error {
	var pe0 *ParseError
	if errors.As(err, &pe0) {
		return pe0
	}
	var long errLineTooLong
	if errors.As(err, &long) {
		return &ParseError{Code: schema.ECodeTooLarge, Err: long}
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Line: pe.StartLine, Code: schema.ECodeCSV, Err: pe.Err}
	}
	return &ParseError{Code: schema.ECodeRead, Err: err}
}

// bindHeader matches each field's columns against the header.
func (r *Delimited) bindHeader() error {
	index := make(map[string]int, len(r.header))
	for i, h := range r.header {
		if _, dup := index[headerKey(h)]; !dup {
			index[headerKey(h)] = i
		}
	}
	line := r.layout.CSV.SkipLines + 1
	used := make(map[int]bool)
	var exprs []string
	for _, name := range r.layout.FieldNames() {
		f := r.layout.Fields[name]
		if f.Expr != "" {
			prog, err := compileExpr(f.Expr)
			if err != nil {
				return &ParseError{Line: line, Code: schema.ECodeExpr, Err: fmt.Errorf("field %s: %w", name, err)}
			}
			r.addSlot(name, -1)
			r.slots[len(r.slots)-1].prog = prog
			r.mapper.header = r.header
			exprs = append(exprs, f.Expr)
			continue
		}
		col := -1
		for _, c := range f.Columns {
			if i, ok := index[headerKey(c)]; ok {
				col = i
				break
			}
		}
		if col < 0 && f.Default == "" {
			if f.Required {
				return &ParseError{Line: line, Code: schema.ECodeHeader,
					Err: fmt.Errorf("required field %s has no column: the header has none of %s", name, strings.Join(f.Columns, ", "))}
			}
			continue // optional and absent from this file
		}
		used[col] = true
		r.addSlot(name, col)
	}
	if exprs != nil {
		r.needCols = referencedColumns(exprs, r.header)
	}
	for _, c := range r.layout.Checks.RequiredColumns {
		if _, ok := index[headerKey(c)]; !ok {
			return &ParseError{Line: line, Code: schema.ECodeHeader, Err: fmt.Errorf("required column %q is missing from the header", c)}
		}
	}
	for i, h := range r.header {
		if !used[i] && strings.TrimSpace(h) != "" {
			r.customCols = append(r.customCols, i)
			r.customKeys = append(r.customKeys, strings.TrimSpace(h))
		}
	}
	return nil
}

// rowError returns a csv error that is about one record only (the reader
// goes on after it), or nil.
func rowError(err error) *csv.ParseError {
	var pe *csv.ParseError
	if errors.As(err, &pe) && !errors.Is(pe.Err, csv.ErrQuote) {
		return pe
	}
	return nil
}

func (r *Delimited) readAhead() {
	defer close(r.items)
	batch := make([]csvItem, 0, readAheadBatch)
	last := r.layout.CSV.SkipLines + 1 // the line of the last record read
	for {
		rec, err := r.csv.Read()
		it := csvItem{rec: rec, err: err}
		if err == nil {
			it.line, _ = r.csv.FieldPos(0)
			last = it.line
			r.limit.ended(r.csv.InputOffset())
		}
		if long := (errLineTooLong{}); errors.As(err, &long) {
			it.err = &ParseError{Line: last + 1, Code: schema.ECodeTooLarge, Err: long}
		}
		if err == nil && len(rec) > r.lim.MaxColumns {
			it.err = &ParseError{Line: it.line, Code: schema.ECodeTooLarge,
				Err: fmt.Errorf("the record has %d columns, more than the %d-column limit (max_columns)", len(rec), r.lim.MaxColumns)}
		}
		batch = append(batch, it)
		end := it.err != nil && rowError(it.err) == nil
		if len(batch) == readAheadBatch || end {
			select {
			case r.items <- batch:
			case <-r.done:
				return
			}
			if end {
				return
			}
			batch = make([]csvItem, 0, readAheadBatch)
		}
	}
}

// Close stops the read-ahead of a file not read to its end.
func (r *Delimited) Close() error {
	if r.done != nil && !r.closed {
		close(r.done)
	}
	r.closed = true
	return nil
}

// Next returns the next detail row, or io.EOF after the last.
func (r *Delimited) Next() (*Row, error) {
	if r.ended || r.closed {
		return nil, io.EOF
	}
	if r.items == nil {
		r.csv.ReuseRecord = false // records outlive the next Read now
		r.items, r.done = make(chan []csvItem, 4), make(chan struct{})
		go r.readAhead()
	}
	for r.pos == len(r.cur) {
		batch, ok := <-r.items
		if !ok {
			r.ended = true
			return nil, io.EOF
		}
		r.cur, r.pos = batch, 0
	}
	it := r.cur[r.pos]
	r.cur[r.pos] = csvItem{} // let the record go once mapped
	r.pos++
	if it.err == io.EOF {
		r.ended = true
		if err := r.finish(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	if it.err != nil {
		if pe := rowError(it.err); pe != nil {
			r.rows++
			return &Row{Line: pe.StartLine, Errors: []schema.FieldError{{Line: pe.StartLine, Code: schema.ECodeCSV, Message: pe.Err.Error()}}}, nil
		}
		r.ended = true
		return nil, csvError(it.err)
	}
	rec, line := it.rec, it.line
	if row := r.oversized(line, rec); row != nil {
		return row, nil
	}
	var sum uint64
	if r.skip != nil {
		sum = rawSum(r.rowKey, rec, &r.scratch)
		if row := r.skipped(line, rec, sum); row != nil {
			return row, nil
		}
		// The fields joined by a separator are valid UTF-8 exactly when
		// each one is: one check instead of one per field.
		r.recordU8 = r.checkU8 && utf8.Valid(r.scratch)
	}
	row := r.row(line, rec)
	row.Source = sum
	if r.header != nil && !columnsMatch(len(r.header), rec) {
		row.Errors = append(row.Errors, schema.FieldError{Line: line, RecordID: row.RecordID, Code: schema.ECodeColumns,
			Message: fmt.Sprintf("row has %d columns, the header has %d", len(rec), len(r.header))})
	}
	return row, nil
}

// oversized returns an invalid row for a record with a value longer than
// the field limit (the value is not kept), or nil.
func (r *Delimited) oversized(line int, rec []string) *Row {
	for i, v := range rec {
		if len(v) <= r.lim.MaxField {
			continue
		}
		r.rows++
		row := &Row{Line: line}
		field := fmt.Sprintf("column %d", i+1)
		if i < len(r.header) {
			field = strings.TrimSpace(r.header[i])
		}
		row.Errors = []schema.FieldError{{Line: line, Field: field, Code: schema.ECodeTooLarge,
			Message: fmt.Sprintf("%s holds %d bytes, more than the %d-byte limit (max_field_bytes)", field, len(v), r.lim.MaxField)}}
		return row
	}
	return nil
}

// columnsMatch reports whether a record has the header's column count,
// tolerating one trailing delimiter (an empty last field).
func columnsMatch(n int, rec []string) bool {
	return len(rec) == n || len(rec) == n+1 && strings.TrimSpace(rec[n]) == ""
}

func trimTrailingEmpty(rec []string) []string {
	for len(rec) > 0 && strings.TrimSpace(rec[len(rec)-1]) == "" {
		rec = rec[:len(rec)-1]
	}
	return rec
}

func (c CSV) delimiter() (rune, error) {
	switch c.Delimiter {
	case "":
		return ',', nil
	case "\\t", "tab", "\t":
		return '\t', nil
	case "auto":
		return ',', nil // the header decides (detectDelimiter)
	}
	r, n := utf8.DecodeRuneInString(c.Delimiter)
	if n != len(c.Delimiter) || r == '"' || r == '\r' || r == '\n' {
		return 0, fmt.Errorf("%q must be one character other than a quote or line break", c.Delimiter)
	}
	return r, nil
}
