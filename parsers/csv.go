package parsers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Row is one detail record read from a file: the normalized record, or the
// positioned errors that kept it from being valid (or both: a row with
// errors still carries what could be read, for error reports).
type Row struct {
	Line     int    `json:"line"`
	RecordID string `json:"record,omitempty"`
	// Record is a *schema.Employee (more entities come with their layouts).
	Record any                 `json:"data"`
	Errors []schema.FieldError `json:"errors,omitempty"`
}

// Valid reports whether the row has no errors.
func (r *Row) Valid() bool { return len(r.Errors) == 0 }

// slot is one mapped field: which column feeds it and how to store it.
type slot struct {
	name  string
	field *Field
	col   int // -1 when only a default applies
	set   setter
}

// Reader streams a delimited file through a layout.
type Reader struct {
	layout  *Layout
	csv     *csv.Reader
	header  []string
	slots   []slot
	custom  []int // unmapped columns, kept in custom_fields
	seen    map[string]int
	rows    int
	checkU8 bool
}

// Header returns the file's header row (nil without one).
func (r *Reader) Header() []string { return r.header }

// Rows returns the number of detail rows read so far.
func (r *Reader) Rows() int { return r.rows }

// Open starts reading src with layout l: it decodes the encoding, skips
// leading lines and reads and matches the header. Errors are *ParseError.
func Open(src io.Reader, l *Layout) (*Reader, error) {
	if l.Format != "csv" {
		return nil, fmt.Errorf("%w: %s", ErrUnknownFormat, l.Format)
	}
	enc, err := decoderFor(l.Encoding)
	if err != nil {
		return nil, err
	}
	in := decode(src, enc)
	cr := csv.NewReader(in)
	cr.Comma, _ = l.CSV.delimiter()
	if l.CSV.Comment != "" {
		cr.Comment, _ = utf8.DecodeRuneInString(l.CSV.Comment)
	}
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = l.CSV.LazyQuotes
	cr.ReuseRecord = true
	r := &Reader{layout: l, csv: cr, seen: make(map[string]int), checkU8: enc == nil}
	for i := 0; i < l.CSV.SkipLines; i++ {
		if _, err := cr.Read(); err != nil {
			return nil, r.fileError(err, "reading the lines before the header")
		}
	}
	if l.CSV.NoHeader {
		return r, r.bindPositions()
	}
	header, err := cr.Read()
	if err != nil {
		return nil, r.fileError(err, "reading the header")
	}
	r.header = trimTrailingEmpty(append([]string(nil), header...))
	return r, r.bindHeader()
}

func (r *Reader) fileError(err error, what string) error {
	if err == io.EOF {
		return &ParseError{Line: 1, Code: schema.ECodeEmpty, Err: fmt.Errorf("file ended while %s", what)}
	}
	return csvError(err)
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Line: pe.StartLine, Code: schema.ECodeCSV, Err: pe.Err}
	}
	return &ParseError{Code: schema.ECodeRead, Err: err}
}

// bindHeader matches each field's columns against the header.
func (r *Reader) bindHeader() error {
	index := make(map[string]int, len(r.header))
	for i, h := range r.header {
		if !r.checkU8 || utf8.ValidString(h) {
			if _, dup := index[headerKey(h)]; !dup {
				index[headerKey(h)] = i
			}
		}
	}
	used := make(map[int]bool)
	for _, name := range r.layout.FieldNames() {
		f := r.layout.Fields[name]
		s := slot{name: name, field: f, col: -1, set: setters[r.layout.Entity][name]}
		for _, c := range f.Columns {
			if i, ok := index[headerKey(c)]; ok {
				s.col = i
				break
			}
		}
		if s.col < 0 && f.Default == "" && !f.Required {
			continue // optional and absent from this file
		}
		if s.col < 0 && f.Default == "" {
			return &ParseError{Line: r.headerLine(), Code: schema.ECodeHeader,
				Err: fmt.Errorf("required field %s has no column: the header has none of %s", name, strings.Join(f.Columns, ", "))}
		}
		used[s.col] = true
		r.slots = append(r.slots, s)
	}
	for _, c := range r.layout.Checks.RequiredColumns {
		if _, ok := index[headerKey(c)]; !ok {
			return &ParseError{Line: r.headerLine(), Code: schema.ECodeHeader, Err: fmt.Errorf("required column %q is missing from the header", c)}
		}
	}
	for i, h := range r.header {
		if !used[i] && strings.TrimSpace(h) != "" {
			r.custom = append(r.custom, i)
		}
	}
	return nil
}

func (r *Reader) headerLine() int { return r.layout.CSV.SkipLines + 1 }

// bindPositions maps fields by 1-based column position.
func (r *Reader) bindPositions() error {
	for _, name := range r.layout.FieldNames() {
		f := r.layout.Fields[name]
		r.slots = append(r.slots, slot{name: name, field: f, col: f.Position - 1, set: setters[r.layout.Entity][name]})
	}
	return nil
}

// Next returns the next detail row, or io.EOF after the last. A row's data
// errors are in Row.Errors; a returned error is file-level (*ParseError)
// and ends the file.
func (r *Reader) Next() (*Row, error) {
	rec, err := r.csv.Read()
	if err == io.EOF {
		if r.rows < r.layout.Checks.MinRows {
			return nil, &ParseError{Code: schema.ECodeMinRows, Err: fmt.Errorf("file has %d rows, the layout requires at least %d", r.rows, r.layout.Checks.MinRows)}
		}
		return nil, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && !errors.Is(pe.Err, csv.ErrQuote) {
			r.rows++
			return &Row{Line: pe.StartLine, Errors: []schema.FieldError{{Line: pe.StartLine, Code: schema.ECodeCSV, Message: pe.Err.Error()}}}, nil
		}
		return nil, csvError(err)
	}
	r.rows++
	line, _ := r.csv.FieldPos(0)
	return r.row(line, rec), nil
}

func (r *Reader) row(line int, rec []string) *Row {
	row := &Row{Line: line, Record: newRecord(r.layout.Entity)}
	if r.header != nil && len(rec) != len(r.header) && len(trimTrailingEmpty(rec)) != len(r.header) {
		row.Errors = append(row.Errors, schema.FieldError{Code: schema.ECodeColumns,
			Message: fmt.Sprintf("row has %d columns, the header has %d", len(rec), len(r.header))})
	}
	failed := make(map[string]bool)
	for _, s := range r.slots {
		raw := ""
		if s.col >= 0 && s.col < len(rec) {
			raw = rec[s.col]
		}
		if r.checkU8 && !utf8.ValidString(raw) {
			row.Errors = append(row.Errors, schema.FieldError{Field: s.name, Code: schema.ECodeEncoding,
				Message: s.name + " is not valid UTF-8; set the layout's encoding (e.g. windows-1252)"})
			failed[s.name] = true
			continue
		}
		v, fe := s.field.convert(s.name, raw)
		if fe != nil {
			row.Errors = append(row.Errors, *fe)
			failed[s.name] = true
			continue
		}
		if v != "" {
			s.set(row.Record, v)
		}
	}
	r.customFields(row, rec)
	finish(row.Record)
	row.RecordID = recordID(row.Record)
	if err := validate(row.Record); err != nil {
		var ve *schema.ValidationError
		if errors.As(err, &ve) {
			for _, fe := range ve.Errors {
				if !failed[fe.Field] {
					row.Errors = append(row.Errors, fe)
				}
			}
		}
	}
	if row.RecordID != "" {
		if first, dup := r.seen[row.RecordID]; dup {
			row.Errors = append(row.Errors, schema.FieldError{Field: "external_id", Code: schema.ECodeDuplicate,
				Message: fmt.Sprintf("external_id %s already appeared on line %d", row.RecordID, first)})
		} else {
			r.seen[row.RecordID] = line
		}
	}
	for i := range row.Errors {
		row.Errors[i].Line, row.Errors[i].RecordID = line, row.RecordID
	}
	return row
}

// customFields keeps every unmapped, non-empty column, keyed by its header.
func (r *Reader) customFields(row *Row, rec []string) {
	e, ok := row.Record.(*schema.Employee)
	if !ok {
		return
	}
	for _, i := range r.custom {
		if i < len(rec) && strings.TrimSpace(rec[i]) != "" {
			if e.CustomFields == nil {
				e.CustomFields = make(map[string]string, len(r.custom))
			}
			e.CustomFields[strings.TrimSpace(r.header[i])] = strings.TrimSpace(rec[i])
		}
	}
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
	}
	r, n := utf8.DecodeRuneInString(c.Delimiter)
	if n != len(c.Delimiter) || r == '"' || r == '\r' || r == '\n' {
		return 0, fmt.Errorf("%q must be one character other than a quote or line break", c.Delimiter)
	}
	return r, nil
}
