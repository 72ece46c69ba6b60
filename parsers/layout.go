package parsers

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Layout declares one provider's file format and its mapping to one entity.
// docs/layouts.md documents every key with worked examples.
type Layout struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Entity is what each detail row becomes: employee, dependent,
	// enrollment or benefit_plan.
	Entity string `yaml:"entity" json:"entity"`
	// Mode is full (a snapshot: absence means something) or delta.
	Mode string `yaml:"mode" json:"mode"`
	// Format is csv or fixed.
	Format string `yaml:"format" json:"format"`
	// Encoding is utf-8 (default; a BOM is removed), windows-1252 or
	// iso-8859-1.
	Encoding string `yaml:"encoding,omitempty" json:"encoding,omitempty"`
	CSV      CSV    `yaml:"csv,omitempty" json:"csv,omitempty"`
	Fixed    Fixed  `yaml:"fixed,omitempty" json:"fixed,omitempty"`
	// Fields maps normalized field names (employee: external_id,
	// home_address.city, annual_salary, ...) to their source.
	Fields map[string]*Field `yaml:"fields" json:"fields"`
	Checks Checks            `yaml:"checks,omitempty" json:"checks,omitempty"`
}

// CSV holds the delimited-format options.
type CSV struct {
	// Delimiter is one character; default ",". "\t" and "tab" mean TAB.
	Delimiter string `yaml:"delimiter,omitempty" json:"delimiter,omitempty"`
	// Quote is `"` (default) or "none": quotes are then ordinary data.
	Quote string `yaml:"quote,omitempty" json:"quote,omitempty"`
	// NoHeader says the file has no header row; fields then name columns
	// by position.
	NoHeader bool `yaml:"no_header,omitempty" json:"no_header,omitempty"`
	// SkipLines is the number of lines before the header (report titles).
	SkipLines int `yaml:"skip_lines,omitempty" json:"skip_lines,omitempty"`
	// Comment is a character that starts a comment line, e.g. "#".
	Comment string `yaml:"comment,omitempty" json:"comment,omitempty"`
}

// Fixed holds the fixed-width options. Positions are 1-based.
type Fixed struct {
	// TypeStart and TypeLength locate the record type code; 0 means every
	// line is a detail record.
	TypeStart  int `yaml:"type_start,omitempty" json:"type_start,omitempty"`
	TypeLength int `yaml:"type_length,omitempty" json:"type_length,omitempty"`
	// Header, Detail and Trailer are the record type codes.
	Header  string `yaml:"header,omitempty" json:"header,omitempty"`
	Detail  string `yaml:"detail,omitempty" json:"detail,omitempty"`
	Trailer string `yaml:"trailer,omitempty" json:"trailer,omitempty"`
	// Skip lists other record type codes to pass over (e.g. batch records).
	Skip []string `yaml:"skip,omitempty" json:"skip,omitempty"`
	// RecordLength, when set, is the detail record's length; longer lines
	// are errors, shorter ones are read as space-padded.
	RecordLength int `yaml:"record_length,omitempty" json:"record_length,omitempty"`
	// Runes counts positions in characters rather than bytes (UTF-8
	// files whose layout was written in characters).
	Runes bool `yaml:"runes,omitempty" json:"runes,omitempty"`
	// TrailerFields are the trailer record's fields (record_count,
	// control totals), referenced by checks.
	TrailerFields map[string]*Field `yaml:"trailer_fields,omitempty" json:"trailer_fields,omitempty"`
}

// Field maps one normalized field to its source.
type Field struct {
	// Columns are header names that may hold the field, matched case-,
	// space- and punctuation-insensitively; the first present wins.
	Columns []string `yaml:"columns,omitempty" json:"columns,omitempty"`
	// Position is the 1-based column index for files without a header.
	Position int `yaml:"position,omitempty" json:"position,omitempty"`
	// Start and Length locate a fixed-width field (1-based).
	Start  int `yaml:"start,omitempty" json:"start,omitempty"`
	Length int `yaml:"length,omitempty" json:"length,omitempty"`
	// Type is string (default), date, decimal, money, int, bool or enum.
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	// Decimals is the number of implied decimal places of a fixed-width
	// number ("0001234500" with 2 is 12345.00).
	Decimals int `yaml:"decimals,omitempty" json:"decimals,omitempty"`
	// Formats are Go reference-time layouts tried in order for dates.
	Formats []string `yaml:"formats,omitempty" json:"formats,omitempty"`
	// Codes maps source codes to normalized values (matched
	// case-insensitively), e.g. A: active.
	Codes map[string]string `yaml:"codes,omitempty" json:"codes,omitempty"`
	// Default applies when the source value is empty.
	Default  string `yaml:"default,omitempty" json:"default,omitempty"`
	Required bool   `yaml:"required,omitempty" json:"required,omitempty"`
	// Trim is both (default), left, right or none; Pad is the padding
	// character trimmed (default space; "0" for zero-filled ids).
	Trim string `yaml:"trim,omitempty" json:"trim,omitempty"`
	Pad  string `yaml:"pad,omitempty" json:"pad,omitempty"`
	// Case is upper or lower, applied to strings after trimming.
	Case string `yaml:"case,omitempty" json:"case,omitempty"`
	// Expr derives the field from the row's columns instead of reading
	// one (delimited files with a header): an expr-lang expression over
	// col["Header"], e.g. trim(split(col["Employee Name"], ",")[0]).
	Expr string `yaml:"expr,omitempty" json:"expr,omitempty"`
}

// Checks are file-level guards.
type Checks struct {
	// MinRows rejects a file with fewer detail rows.
	MinRows int `yaml:"min_rows,omitempty" json:"min_rows,omitempty"`
	// RequiredColumns must all be present in the header (else reject).
	RequiredColumns []string `yaml:"required_columns,omitempty" json:"required_columns,omitempty"`
	// ExpectedHeader is the agreed header; a file whose header differs
	// reports schema drift (the daemon holds it for approval).
	ExpectedHeader []string `yaml:"expected_header,omitempty" json:"expected_header,omitempty"`
	// TrailerCount names the trailer field that holds the number of
	// detail records (fixed-width). A missing trailer is E_TRUNCATED.
	TrailerCount string `yaml:"trailer_count,omitempty" json:"trailer_count,omitempty"`
	// ControlTotals compare the sum of a detail field with a trailer field.
	ControlTotals []ControlTotal `yaml:"control_totals,omitempty" json:"control_totals,omitempty"`
}

// ControlTotal is one sum check: the sum of Field over detail records must
// equal the trailer's Trailer field.
type ControlTotal struct {
	Field   string `yaml:"field" json:"field"`
	Trailer string `yaml:"trailer" json:"trailer"`
}

// ParseLayout reads a layout from YAML, rejecting unknown keys.
func ParseLayout(b []byte) (*Layout, error) {
	var l Layout
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return &l, nil
}

var fieldTypes = []string{"", "string", "date", "decimal", "money", "int", "bool", "enum"}

// Validate checks the layout, naming the offending key.
func (l *Layout) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("layout %s: %s", l.Name, fmt.Sprintf(format, args...))
	}
	ent, ok := entities[l.Entity]
	switch {
	case l.Name == "":
		return fmt.Errorf("layout: name is required")
	case !ok:
		return bad("entity %q is not one of %s", l.Entity, strings.Join(EntityNames(), ", "))
	case l.Mode != "full" && l.Mode != "delta":
		return bad("mode %q must be full or delta", l.Mode)
	case l.Format != "csv" && l.Format != "fixed":
		return bad("format %q must be csv or fixed", l.Format)
	case len(l.Fields) == 0:
		return bad("fields: at least one field is required")
	case l.CSV.Quote != "" && l.CSV.Quote != `"` && l.CSV.Quote != "none":
		return bad(`csv.quote %q must be " or none`, l.CSV.Quote)
	}
	if _, err := decoderFor(l.Encoding); err != nil {
		return bad("encoding: %v", err)
	}
	if _, err := l.CSV.delimiter(); err != nil {
		return bad("csv.delimiter: %v", err)
	}
	for _, name := range l.FieldNames() {
		if _, ok := ent.fields[name]; !ok {
			return bad("fields.%s: not a field of %s", name, l.Entity)
		}
		if err := l.checkField(name, l.Fields[name], "fields."); err != nil {
			return err
		}
	}
	if l.Format == "fixed" {
		if err := l.checkFixed(); err != nil {
			return err
		}
	}
	for i, ct := range l.Checks.ControlTotals {
		if l.Fields[ct.Field] == nil || l.Fixed.TrailerFields[ct.Trailer] == nil {
			return bad("checks.control_totals[%d]: field %q and trailer %q must both be declared", i, ct.Field, ct.Trailer)
		}
	}
	return nil
}

func (l *Layout) checkField(name string, f *Field, prefix string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("layout %s: %s%s%s", l.Name, prefix, name, fmt.Sprintf(format, args...))
	}
	switch {
	case f == nil:
		return bad(": empty")
	case !oneOf(f.Type, fieldTypes):
		return bad(".type: %q is not one of %s", f.Type, strings.Join(fieldTypes[1:], ", "))
	case f.Expr != "" && (l.Format != "csv" || l.CSV.NoHeader):
		return bad(".expr: derived fields need a delimited file with a header")
	case f.Expr != "":
		if _, err := compileExpr(f.Expr); err != nil {
			return bad(".expr: %v", err)
		}
	case l.Format == "csv" && len(f.Columns) == 0 && f.Position == 0 && f.Default == "":
		return bad(": needs columns, position, expr or default")
	case l.Format == "csv" && l.CSV.NoHeader && len(f.Columns) > 0:
		return bad(": columns need a header row; use position")
	case l.Format == "fixed" && (f.Start < 1 || f.Length < 1) && f.Default == "":
		return bad(": a fixed-width field needs start and length (1-based)")
	case f.Type == "date" && len(f.Formats) == 0:
		return bad(".formats: a date field needs at least one format")
	case f.Type == "enum" && len(f.Codes) == 0:
		return bad(".codes: an enum field needs a code map")
	case f.Trim != "" && !oneOf(f.Trim, []string{"both", "left", "right", "none"}):
		return bad(".trim: %q must be both, left, right or none", f.Trim)
	case len([]rune(f.Pad)) > 1:
		return bad(".pad: %q must be one character", f.Pad)
	case f.Decimals < 0 || f.Decimals > 9:
		return bad(".decimals: %d must be 0 to 9", f.Decimals)
	}
	return nil
}

func (l *Layout) checkFixed() error {
	fx := l.Fixed
	if (fx.TypeStart == 0) != (fx.TypeLength == 0) {
		return fmt.Errorf("layout %s: fixed.type_start and fixed.type_length go together", l.Name)
	}
	if fx.TypeStart > 0 && fx.Detail == "" {
		return fmt.Errorf("layout %s: fixed.detail: the detail record's type code is required with type_start", l.Name)
	}
	if (fx.Header != "" || fx.Trailer != "") && fx.TypeStart == 0 {
		return fmt.Errorf("layout %s: fixed.type_start: header and trailer records need a record type position", l.Name)
	}
	for _, name := range sortedKeys(fx.TrailerFields) {
		if err := l.checkField(name, fx.TrailerFields[name], "fixed.trailer_fields."); err != nil {
			return err
		}
	}
	if c := l.Checks.TrailerCount; c != "" && (fx.Trailer == "" || fx.TrailerFields[c] == nil) {
		return fmt.Errorf("layout %s: checks.trailer_count: %q must be one of fixed.trailer_fields of a declared trailer", l.Name, c)
	}
	return nil
}

// FieldNames returns the layout's field names in sorted order.
func (l *Layout) FieldNames() []string { return sortedKeys(l.Fields) }

func sortedKeys[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

//go:embed layouts/*.yaml
var builtinFS embed.FS

// BuiltinYAML returns the YAML text of a built-in layout.
func BuiltinYAML(name string) ([]byte, error) {
	b, err := builtinFS.ReadFile("layouts/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("%w: no built-in layout %q (see `hrisbridge layouts`)", ErrUnknownLayout, name)
	}
	return b, nil
}

// Builtin returns the built-in layout name.
func Builtin(name string) (*Layout, error) {
	b, err := BuiltinYAML(name)
	if err != nil {
		return nil, err
	}
	return ParseLayout(b)
}

// Builtins lists the built-in layouts' names.
func Builtins() []string {
	entries, _ := fs.ReadDir(builtinFS, "layouts")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return names
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}
