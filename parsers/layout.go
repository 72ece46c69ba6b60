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
type Layout struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Entity is what each detail row becomes: employee, dependent,
	// enrollment or benefit_plan.
	Entity string `yaml:"entity" json:"entity"`
	// Mode is full (a snapshot: absence means something) or delta.
	Mode string `yaml:"mode" json:"mode"`
	// Format is csv or fixed.
	Format   string `yaml:"format" json:"format"`
	Encoding string `yaml:"encoding,omitempty" json:"encoding,omitempty"`
	CSV      CSV    `yaml:"csv,omitempty" json:"csv,omitempty"`
	// Fields maps normalized field names (employee: external_id,
	// home_address.city, annual_salary, ...) to their source.
	Fields map[string]*Field `yaml:"fields" json:"fields"`
	Checks Checks            `yaml:"checks,omitempty" json:"checks,omitempty"`
}

// CSV holds the delimited-format options.
type CSV struct {
	// Delimiter is one character; default ",". "\t" and "tab" mean TAB.
	Delimiter string `yaml:"delimiter,omitempty" json:"delimiter,omitempty"`
	// NoHeader says the file has no header row; fields then name columns
	// by position.
	NoHeader bool `yaml:"no_header,omitempty" json:"no_header,omitempty"`
	// SkipLines is the number of lines before the header (report titles).
	SkipLines int `yaml:"skip_lines,omitempty" json:"skip_lines,omitempty"`
	// Comment is a character that starts a comment line, e.g. "#".
	Comment string `yaml:"comment,omitempty" json:"comment,omitempty"`
	// LazyQuotes accepts a quote inside an unquoted field.
	LazyQuotes bool `yaml:"lazy_quotes,omitempty" json:"lazy_quotes,omitempty"`
}

// Field maps one normalized field to its source.
type Field struct {
	// Columns are header names that may hold the field, matched case-,
	// space- and punctuation-insensitively; the first present wins.
	Columns []string `yaml:"columns,omitempty" json:"columns,omitempty"`
	// Position is the 1-based column index for files without a header.
	Position int `yaml:"position,omitempty" json:"position,omitempty"`
	// Type is string (default), date, decimal, money, int, bool or enum.
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	// Formats are Go reference-time layouts tried in order for dates.
	Formats []string `yaml:"formats,omitempty" json:"formats,omitempty"`
	// Codes maps source codes to normalized values (matched
	// case-insensitively), e.g. A: active.
	Codes map[string]string `yaml:"codes,omitempty" json:"codes,omitempty"`
	// Default applies when the source value is empty.
	Default  string `yaml:"default,omitempty" json:"default,omitempty"`
	Required bool   `yaml:"required,omitempty" json:"required,omitempty"`
	// Case is upper, lower or title, applied to strings after trimming.
	Case string `yaml:"case,omitempty" json:"case,omitempty"`
}

// Checks are file-level guards.
type Checks struct {
	// MinRows rejects a file with fewer detail rows.
	MinRows int `yaml:"min_rows,omitempty" json:"min_rows,omitempty"`
	// RequiredColumns must all be present in the header.
	RequiredColumns []string `yaml:"required_columns,omitempty" json:"required_columns,omitempty"`
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

var (
	entities   = []string{"employee"}
	fieldTypes = []string{"", "string", "date", "decimal", "money", "int", "bool", "enum"}
)

// Validate checks the layout, naming the offending key.
func (l *Layout) Validate() error {
	switch {
	case l.Name == "":
		return fmt.Errorf("layout: name is required")
	case !oneOf(l.Entity, entities):
		return fmt.Errorf("layout %s: entity %q is not one of %s", l.Name, l.Entity, strings.Join(entities, ", "))
	case l.Mode != "full" && l.Mode != "delta":
		return fmt.Errorf("layout %s: mode %q must be full or delta", l.Name, l.Mode)
	case l.Format != "csv":
		return fmt.Errorf("layout %s: format %q is not supported (csv)", l.Name, l.Format)
	case len(l.Fields) == 0:
		return fmt.Errorf("layout %s: fields: at least one field is required", l.Name)
	}
	if _, err := decoderFor(l.Encoding); err != nil {
		return fmt.Errorf("layout %s: encoding: %w", l.Name, err)
	}
	if _, err := l.CSV.delimiter(); err != nil {
		return fmt.Errorf("layout %s: csv.delimiter: %w", l.Name, err)
	}
	for _, name := range l.FieldNames() {
		f := l.Fields[name]
		if _, ok := setters[l.Entity][name]; !ok {
			return fmt.Errorf("layout %s: fields.%s: not a field of %s", l.Name, name, l.Entity)
		}
		if !oneOf(f.Type, fieldTypes) {
			return fmt.Errorf("layout %s: fields.%s.type: %q is not one of %s", l.Name, name, f.Type, strings.Join(fieldTypes[1:], ", "))
		}
		if len(f.Columns) == 0 && f.Position == 0 && f.Default == "" {
			return fmt.Errorf("layout %s: fields.%s: needs columns, position or default", l.Name, name)
		}
		if l.CSV.NoHeader && len(f.Columns) > 0 {
			return fmt.Errorf("layout %s: fields.%s: columns need a header row; use position", l.Name, name)
		}
		if f.Type == "date" && len(f.Formats) == 0 {
			return fmt.Errorf("layout %s: fields.%s.formats: a date field needs at least one format", l.Name, name)
		}
		if f.Type == "enum" && len(f.Codes) == 0 {
			return fmt.Errorf("layout %s: fields.%s.codes: an enum field needs a code map", l.Name, name)
		}
	}
	return nil
}

// FieldNames returns the layout's field names in sorted order.
func (l *Layout) FieldNames() []string {
	names := make([]string, 0, len(l.Fields))
	for n := range l.Fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

//go:embed layouts/*.yaml
var builtinFS embed.FS

// Builtin returns the built-in layout name.
func Builtin(name string) (*Layout, error) {
	b, err := builtinFS.ReadFile("layouts/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("%w: no built-in layout %q (see `hrisbridge layouts`)", ErrUnknownLayout, name)
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
