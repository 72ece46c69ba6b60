package parsers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hrisbridge/hrisbridge/schema"
)

// baseLayouts is the built-in layout a proposal for each entity starts
// from: its column aliases, types, date formats and code maps.
var baseLayouts = map[string]string{"employee": "census-csv", "dependent": "dependents-csv", "enrollment": "enrollments-csv", "benefit_plan": "plans-csv"}

// Proposal is a layout inferred from a sample file, with how it covers the
// file: which column feeds which field and why, what the values showed,
// and what is left for a person.
type Proposal struct {
	Layout   *Layout  `json:"-"`
	Detected Detected `json:"detected"`
	Rows     int      `json:"sample_rows"`
	Columns  []Column `json:"columns"`
	// MissingRequired are required fields no column was found for.
	MissingRequired []string `json:"missing_required,omitempty"`
}

// Column is one header column of the sample and what the proposal does
// with it.
type Column struct {
	Header string `json:"header"`
	// Field is the normalized field it feeds; "" when it goes to
	// custom_fields.
	Field string `json:"field,omitempty"`
	// Match says how the column was found: alias (a spelling the
	// built-in layout knows), name (close to a field's name or alias).
	Match string `json:"match,omitempty"`
	// Format is the date format the values were all read with.
	Format string `json:"format,omitempty"`
	// Unmapped are codes the values hold that the code map lacks: add
	// them to the layout's codes before the first sync.
	Unmapped []string `json:"unmapped_codes,omitempty"`
	// Notes are what the values showed (e.g. "3 of 40 are not SSNs").
	Notes []string `json:"notes,omitempty"`
}

// dateCandidates are the date formats inference tries, in order: the
// built-in layouts' own, then day-first and two-digit years.
var dateCandidates = []string{"2006-01-02", "01/02/2006", "1/2/2006", "20060102", "01-02-2006", "2006/01/02",
	"02/01/2006", "2/1/2006", "02.01.2006", "01/02/06", "1/2/06", "02-Jan-2006", "Jan 2, 2006"}

// Infer proposes a layout for a delimited sample of entity, reading its
// header and up to sampleRows rows.
func Infer(src io.Reader, entity string, sampleRows int) (*Proposal, error) {
	name, ok := baseLayouts[entity]
	if !ok {
		return nil, fmt.Errorf("entity %q is not one of employee, dependent, enrollment, benefit_plan", entity)
	}
	base, err := Builtin(name)
	if err != nil {
		return nil, err
	}
	enc, encName, src := detectEncoding(src)
	in := bufio.NewReaderSize(decode(src, enc), detectSample)
	line, _ := in.Peek(detectSample)
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	comma := detectDelimiter(line)
	cr := csv.NewReader(&lineLimit{r: in, max: DefaultMaxLine})
	cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = comma, -1, true
	header, err := cr.Read()
	if err != nil {
		return nil, &ParseError{Line: 1, Code: schema.ECodeEmpty, Err: fmt.Errorf("reading the header: %w", err)}
	}
	header = trimTrailingEmpty(header)
	var rows [][]string
	for len(rows) < sampleRows {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		rows = append(rows, append([]string(nil), rec...))
	}
	p := &Proposal{Detected: Detected{Encoding: encName, Delimiter: string(comma)}, Rows: len(rows)}
	fields := matchColumns(base, header)
	out := &Layout{Name: entity + "-inferred", Description: "Proposed by hrisbridge layouts infer from a sample file.", Entity: base.Entity,
		Mode: base.Mode, Format: "csv", Encoding: "auto", CSV: CSV{Delimiter: "auto"}, Fields: map[string]*Field{}, Checks: base.Checks}
	for i, h := range header {
		c := Column{Header: h}
		if m, ok := fields[i]; ok {
			c.Field, c.Match = m.field, m.how
			bf := base.Fields[m.field]
			f := *bf
			f.Columns = []string{strings.TrimSpace(h)}
			checkValues(&c, &f, column(rows, i))
			out.Fields[m.field] = &f
		}
		p.Columns = append(p.Columns, c)
	}
	proposeNameSplit(p, out, header, rows)
	for _, name := range base.FieldNames() {
		if f := base.Fields[name]; f.Required && out.Fields[name] == nil && f.Default == "" {
			p.MissingRequired = append(p.MissingRequired, name)
			out.Fields[name] = f // its aliases stay: the verdict names what is missing
		}
	}
	p.Layout = out
	return p, out.Validate()
}

type match struct{ field, how string }

// matchColumns finds each field's column: a spelling the base layout
// knows first, then a name within a small edit of a field's name or one
// of its spellings. A field takes one column, the first.
func matchColumns(base *Layout, header []string) map[int]match {
	out := map[int]match{}
	taken := map[string]bool{}
	for pass := 0; pass < 2; pass++ {
		for i, h := range header {
			key := headerKey(h)
			if _, done := out[i]; done || key == "" {
				continue
			}
			best, bestD := "", 3
			for _, name := range base.FieldNames() {
				if taken[name] {
					continue
				}
				names := append([]string{name}, base.Fields[name].Columns...)
				for _, n := range names {
					nk := headerKey(n)
					switch {
					case pass == 0 && nk == key:
						best, bestD = name, -1
					case pass == 1:
						if d := nameDistance(key, nk); d < bestD {
							best, bestD = name, d
						}
					}
				}
				if bestD < 0 {
					break
				}
			}
			if best != "" {
				how := "alias"
				if pass == 1 {
					how = "name"
				}
				out[i], taken[best] = match{best, how}, true
			}
		}
	}
	return out
}

// nameDistance is how far a header is from a field's name or spelling:
// the edit distance of longer names, and 2 for a known name with a word
// more ("Status Code", "Hire Date Orig"); 99 when they are not alike.
func nameDistance(key, known string) int {
	d := 99
	if len(key) >= 5 && len(known) >= 5 {
		d = EditDistance(key, known)
	}
	if len(known) >= 4 && (strings.HasPrefix(key, known) || strings.HasSuffix(key, known)) {
		d = min(d, 2)
	}
	return d
}

func column(rows [][]string, i int) []string {
	var out []string
	for _, r := range rows {
		if i < len(r) {
			if v := strings.TrimSpace(r[i]); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// checkValues reads a column's sample values with its field: the date
// format all of them fit, the codes the code map lacks, and values that
// do not look like what the field holds.
func checkValues(c *Column, f *Field, vals []string) {
	switch {
	case f.Type == "date" && len(vals) > 0:
		for _, layout := range dateCandidates {
			df := compileDate(layout)
			if !slices.ContainsFunc(vals, func(v string) bool { _, ok := df.parse(v); return !ok }) {
				c.Format, f.Formats = layout, append([]string{layout}, slices.DeleteFunc(slices.Clone(f.Formats), func(s string) bool { return s == layout })...)
				return
			}
		}
		c.Notes = append(c.Notes, "the dates fit none of the known formats: add theirs to formats")
	case len(f.Codes) > 0:
		seen := map[string]bool{}
		for _, v := range vals {
			if _, err := f.code(c.Field, v); err != nil && !seen[v] && !isNormalized(f, v) {
				seen[v] = true
				c.Unmapped = append(c.Unmapped, v)
			}
		}
		sort.Strings(c.Unmapped)
	case f.Type == "money" || f.Type == "decimal" || f.Type == "int":
		bad, comma := 0, 0
		for _, v := range vals {
			if decimalComma.MatchString(v) {
				comma++
			} else if _, fe := f.convertWith(c.Field, v, nil); fe != nil {
				bad++
			}
		}
		if comma > 0 {
			c.Notes = append(c.Notes, fmt.Sprintf("%d of %d values are written with a decimal comma (85.000,00): derive the field with an expression that swaps the separators", comma, len(vals)))
		}
		if bad > 0 {
			c.Notes = append(c.Notes, fmt.Sprintf("%d of %d values are not numbers", bad, len(vals)))
		}
	case c.Field == "ssn" || c.Field == "work_email" || c.Field == "personal_email":
		bad := 0
		for _, v := range vals {
			if c.Field == "ssn" && !schema.LooksLikeSSN(v) || c.Field != "ssn" && !schema.ValidEmail(strings.ToLower(v)) {
				bad++
			}
		}
		if bad > 0 {
			c.Notes = append(c.Notes, fmt.Sprintf("%d of %d values do not look like %s", bad, len(vals), strings.ReplaceAll(c.Field, "_", " ")))
		}
	}
}

// decimalComma matches a number written with a decimal comma (and
// perhaps dots between thousands): 12,50 or 85.000,00.
var decimalComma = regexp.MustCompile(`^[-$€]?\s*\d{1,3}(\.\d{3})*,\d{1,2}$|^[-$€]?\s*\d+,\d{1,2}$`)

// isNormalized reports whether v is already one of the values the code
// map produces (an export that writes "active").
func isNormalized(f *Field, v string) bool {
	for _, out := range f.Codes {
		if strings.EqualFold(out, v) {
			return true
		}
	}
	return false
}

// EditDistance is the Levenshtein distance of two strings (in bytes): how
// close a header or key is to a known one, for suggestions.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// nameColumns are the headers of a whole name in one column.
var nameColumns = []string{"name", "employeename", "fullname", "membername", "employeefullname", "associatename", "workername"}

// proposeNameSplit derives first and last name from a whole-name column
// written "LAST, FIRST MI" (most values holding a comma), when no column
// of their own was found.
func proposeNameSplit(p *Proposal, out *Layout, header []string, rows [][]string) {
	if out.Entity != "employee" && out.Entity != "dependent" || out.Fields["first_name"] != nil || out.Fields["last_name"] != nil {
		return
	}
	for i, h := range header {
		if !slices.Contains(nameColumns, headerKey(h)) {
			continue
		}
		vals := column(rows, i)
		commas := 0
		for _, v := range vals {
			if strings.Contains(v, ",") {
				commas++
			}
		}
		if len(vals) == 0 || commas*5 < len(vals)*4 {
			return
		}
		col := fmt.Sprintf("col[%q]", strings.TrimSpace(h))
		out.Fields["last_name"] = &Field{Expr: "trim(split(" + col + `, ",")[0])`, Required: true}
		out.Fields["first_name"] = &Field{Expr: "split(trim(split(" + col + `, ",")[1]), " ")[0]`, Required: true}
		p.Columns[i].Field, p.Columns[i].Match = "last_name, first_name", "split"
		p.Columns[i].Notes = append(p.Columns[i].Notes, `"LAST, FIRST" names: last_name and first_name are derived by expressions`)
		return
	}
}
