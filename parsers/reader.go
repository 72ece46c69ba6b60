package parsers

import (
	"fmt"
	"io"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Row is one detail record read from a file: the normalized record, or the
// positioned errors that kept it from being valid (a row with errors still
// carries what could be read, for error reports).
type Row struct {
	Line     int    `json:"line"`
	RecordID string `json:"record,omitempty"`
	// Record is a *schema.Employee, *schema.Dependent, *schema.Enrollment
	// or *schema.BenefitPlan, per the layout's entity.
	Record any                 `json:"data"`
	Errors []schema.FieldError `json:"errors,omitempty"`
	// Skipped: the reader's Skipper recognised the row; Record is empty.
	Skipped bool `json:"-"`
	// Source is the row's raw hash when a Skipper is installed.
	Source uint64 `json:"-"`
}

// Valid reports whether the row has no errors.
func (r *Row) Valid() bool { return len(r.Errors) == 0 }

// Reader streams the detail rows of one file.
type Reader interface {
	// Next returns the next detail row, or io.EOF after the last. A row's
	// data errors are in Row.Errors; a returned error is file-level
	// (*ParseError) and ends the file: trailer counts and control totals
	// are checked before io.EOF is returned.
	Next() (*Row, error)
	// Header is the file's header row (CSV with a header), else nil.
	Header() []string
	// Drift lists how the header differs from checks.expected_header.
	Drift() []string
	// Mapped lists, sorted, the layout fields the header has a column
	// for (nil for positional formats, which have no header).
	Mapped() []string
	// Detected is the encoding (and, for delimited files, delimiter) the
	// file is read with: the layout's, or what the file showed when the
	// layout says auto.
	Detected() Detected
	// Rows is the number of detail rows read so far.
	Rows() int
	// SkipWith installs a Skipper, with the secret key raw-record hashes
	// are taken under, and reports whether the reader supports one.
	SkipWith(s Skipper, key []byte) bool
	// Close releases what reading ahead holds, for a file not read to its
	// end (Next returns io.EOF after it).
	Close() error
}

// Open starts reading src with layout l. Errors are *ParseError, or
// ErrUnknownFormat. Every Row it returns is new.
func Open(src io.Reader, l *Layout) (Reader, error) { return Limits{}.Open(src, l) }

// OpenReusing is Open for one-pass consumers: the Row (and its record and
// errors) that Next returns is valid only until the next call, as with
// encoding/csv's ReuseRecord. It saves an allocation of the whole record
// per row.
func OpenReusing(src io.Reader, l *Layout) (Reader, error) { return Limits{}.OpenReusing(src, l) }

func open(src io.Reader, l *Layout, reuse bool, lim Limits) (Reader, error) {
	switch l.Format {
	case "csv":
		return openDelimited(src, l, newMapper(l, reuse, lim))
	case "fixed":
		return openFixed(src, l, newMapper(l, reuse, lim))
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownFormat, l.Format)
}

// Detected is how a file is read.
type Detected struct {
	Encoding  string `json:"encoding"`
	Delimiter string `json:"delimiter,omitempty"`
}

// slot is one mapped field: which value of a record feeds it.
type slot struct {
	name  string
	field *Field
	col   int // -1 when only a default applies
	set   setter
	total *big.Rat // running sum when a control total needs it
	dates []dateFormat
	prog  *vm.Program // a derived field's expression (derive.go)
}

// mapper turns raw values into records, shared by every format.
type mapper struct {
	layout     *Layout
	ent        *entity
	slots      []slot
	customCols []int
	customKeys []string
	seen       *idSet
	// recognised reports a key the skipper took earlier in the file (a
	// later row with it is a duplicate too).
	recognised func(key string) bool
	rows       int
	checkU8    bool
	// recordU8 says the caller found the whole record valid UTF-8, so
	// row need not check field by field; row clears it.
	recordU8 bool
	failed   []bool // per slot, reused
	// reuse hands out the same Row and record on every call (see
	// OpenReusing); cur is that row.
	reuse bool
	cur   *Row
	lim   Limits
	// header, needCols and rowCols serve derived fields (columns):
	// needCols, when set, are the columns the expressions name.
	header   []string
	needCols map[int]bool
	rowCols  map[string]string
	vm       vm.VM
}

func newMapper(l *Layout, reuse bool, lim Limits) *mapper {
	enc, _ := decoderFor(l.Encoding)
	return &mapper{layout: l, ent: entities[l.Entity], seen: newIDSet(), checkU8: enc == nil, reuse: reuse, lim: lim}
}

func (m *mapper) addSlot(name string, col int) {
	f := m.layout.Fields[name]
	s := slot{name: name, field: f, col: col, set: m.ent.fields[name], dates: compileDates(f.Formats)}
	for _, ct := range m.layout.Checks.ControlTotals {
		if ct.Field == name {
			s.total = new(big.Rat)
		}
	}
	m.slots = append(m.slots, s)
	m.failed = append(m.failed, false)
}

// columns is a row as a derived field's expression sees it: each header
// column's value, trimmed. It is built only for layouts with derived
// fields, once per row.
func (m *mapper) columns(rec []string) map[string]string {
	if m.rowCols == nil {
		m.rowCols = make(map[string]string, len(m.header))
	}
	clear(m.rowCols)
	for i, h := range m.header {
		if i < len(rec) && (m.needCols == nil || m.needCols[i]) {
			m.rowCols[strings.TrimSpace(h)] = strings.TrimSpace(rec[i])
		}
	}
	return m.rowCols
}

// Rows returns the number of detail rows read so far.
func (m *mapper) Rows() int { return m.rows }

// row maps one record's raw values (indexed by slot.col) into a Row.
func (m *mapper) row(line int, rec []string) *Row {
	m.rows++
	row := m.newRow(line)
	checkU8 := m.checkU8 && !m.recordU8
	m.recordU8 = false
	for i := range m.slots {
		s := &m.slots[i]
		m.failed[i] = false
		raw := ""
		if s.col >= 0 && s.col < len(rec) {
			raw = rec[s.col]
		}
		if s.prog != nil {
			var err error
			if raw, err = derive(&m.vm, s.prog, m.columns(rec)); err != nil {
				row.Errors = append(row.Errors, schema.FieldError{Field: s.name, Code: schema.ECodeExpr,
					Message: s.name + ": the layout's expression failed on this row: " + err.Error()})
				m.failed[i] = true
				continue
			}
		}
		if checkU8 && !utf8.ValidString(raw) {
			row.Errors = append(row.Errors, schema.FieldError{Field: s.name, Code: schema.ECodeEncoding,
				Message: s.name + " is not valid UTF-8; set the layout's encoding (e.g. windows-1252)"})
			m.failed[i] = true
			continue
		}
		v, fe := s.field.convertWith(s.name, raw, s.dates)
		if fe != nil {
			row.Errors = append(row.Errors, *fe)
			m.failed[i] = true
			continue
		}
		if v != "" {
			s.set(row.Record, v)
			if s.total != nil {
				addDecimal(s.total, v)
			}
		}
	}
	m.custom(row, rec)
	m.ent.finish(row.Record)
	row.RecordID = m.ent.display(row.Record)
	m.validate(row)
	if key := m.ent.key(row.Record); strings.Trim(key, "\x00") != "" && ((m.recognised != nil && m.recognised(key)) || m.seen.add(key)) {
		row.Errors = append(row.Errors, schema.FieldError{Field: "external_id", Code: schema.ECodeDuplicate,
			Message: fmt.Sprintf("record %s appears more than once in the file", row.RecordID)})
	}
	for i := range row.Errors {
		row.Errors[i].Line, row.Errors[i].RecordID = line, row.RecordID
	}
	return row
}

// newRow returns an empty row: a new one, or the reused one reset.
func (m *mapper) newRow(line int) *Row {
	if !m.reuse {
		return &Row{Line: line, Record: m.ent.new()}
	}
	if m.cur == nil {
		m.cur = &Row{Record: m.ent.new()}
	}
	m.ent.reset(m.cur.Record)
	m.cur.Line, m.cur.RecordID, m.cur.Errors, m.cur.Skipped, m.cur.Source = line, "", m.cur.Errors[:0], false, 0
	return m.cur
}

// validate adds the entity's own validation errors for fields that did not
// already fail conversion.
func (m *mapper) validate(row *Row) {
	err := m.ent.validate(row.Record)
	ve, ok := err.(*schema.ValidationError)
	if !ok {
		return
	}
outer:
	for _, fe := range ve.Errors {
		for i := range m.slots {
			if m.failed[i] && m.slots[i].name == fe.Field {
				continue outer
			}
		}
		row.Errors = append(row.Errors, fe)
	}
}

// custom keeps every unmapped, non-empty column under its header name. A
// value shaped like an SSN (nine digits, with or without dashes) is kept
// masked: a renamed SSN column must not put the number in clear where
// sealed fields are not, and the file's bytes still hold it for a replay
// under a corrected layout.
func (m *mapper) custom(row *Row, rec []string) {
	var cf *map[string]string
	for i, col := range m.customCols {
		if col >= len(rec) {
			continue
		}
		v := strings.TrimSpace(rec[col])
		if v == "" {
			continue
		}
		if cf == nil {
			if cf = m.ent.custom(row.Record); *cf == nil {
				*cf = make(map[string]string, len(m.customCols))
			}
		}
		if schema.LooksLikeSSN(v) {
			v = schema.MaskSSN(schema.NormalizeSSN(v))
		}
		(*cf)[m.customKeys[i]] = v
	}
}

// finish runs the end-of-file checks.
func (m *mapper) finish() error {
	if m.rows < m.layout.Checks.MinRows {
		return &ParseError{Code: schema.ECodeMinRows, Err: fmt.Errorf("file has %d rows, the layout requires at least %d", m.rows, m.layout.Checks.MinRows)}
	}
	return nil
}

// addDecimal adds a normalized decimal string to sum.
func addDecimal(sum *big.Rat, v string) {
	var r big.Rat
	if _, ok := r.SetString(v); ok {
		sum.Add(sum, &r)
	}
}

// drift compares a header with the expected one, folding names as header
// matching does.
func drift(header, expected []string) []string {
	if len(expected) == 0 {
		return nil
	}
	have := make(map[string]bool, len(header))
	for _, h := range header {
		have[headerKey(h)] = true
	}
	want := make(map[string]bool, len(expected))
	var out []string
	for _, e := range expected {
		want[headerKey(e)] = true
		if !have[headerKey(e)] {
			out = append(out, fmt.Sprintf("expected column %q is missing", e))
		}
	}
	for _, h := range header {
		if !want[headerKey(h)] && strings.TrimSpace(h) != "" {
			out = append(out, fmt.Sprintf("column %q is new", h))
		}
	}
	return out
}
