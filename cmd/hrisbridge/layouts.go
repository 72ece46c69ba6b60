package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/gocarina/gocsv"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema"
)

func cmdLayouts(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("layouts")
	tenant := fs.String("tenant", "", "tenant slug (show: include its override; set: the override's tenant)")
	connection := fs.String("connection", "", "connection name or id (show: include its override; set: override for it alone)")
	entity := fs.String("entity", "employee", "infer: what the sample holds: employee, dependent, enrollment or benefit_plan")
	outFile := fs.String("o", "", "infer: write the proposed layout here (the report then goes to the output)")
	asJSON := fs.Bool("json", false, "infer: the report as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 2 && pos[0] == "infer":
		return inferLayout(pos[1], *entity, *outFile, *asJSON, out, os.Stderr)
	case len(pos) == 0 || pos[0] == "list":
		for _, name := range parsers.Builtins() {
			l, err := parsers.Builtin(name)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%-22s %-12s %-5s %s\n", l.Name, l.Entity, l.Mode, l.Format)
		}
		return nil
	case pos[0] == "show" && len(pos) == 2 && *tenant == "":
		l, err := parsers.Builtin(pos[1])
		if err != nil {
			return err
		}
		return printLayout(out, l)
	case pos[0] == "show" && len(pos) == 2, pos[0] == "set" && len(pos) == 3 && *tenant != "":
	default:
		return usageError{"usage: hrisbridge layouts [list] | layouts show NAME [--tenant T [--connection C]] | layouts set NAME FILE --tenant T [--connection C] | layouts infer FILE [--entity E] [-o OUT.yaml] [--json]"}
	}
	a, t, err := openTenant(ctx, *config, *tenant)
	if err != nil {
		return err
	}
	defer a.store.Close()
	connID, err := connectionID(ctx, a, t, *connection)
	if err != nil {
		return err
	}
	name := pos[1]
	if pos[0] == "set" {
		body, err := os.ReadFile(pos[2])
		if err != nil {
			return err
		}
		// The override must leave a valid effective layout before it is stored.
		tenantBody, connBody := body, []byte(nil)
		if connID != "" {
			connBody = body
			if tenantBody, err = a.store.Layout(ctx, t.ID, "", name); err != nil && !errors.Is(err, schema.ErrNotFound) {
				return err
			}
		}
		if _, err := parsers.Resolve(name, tenantBody, connBody); err != nil {
			return usageError{fmt.Sprintf("override not stored: %v", err)}
		}
		if err := a.store.PutLayout(ctx, t.ID, connID, name, body); err != nil {
			return err
		}
		a.audit(ctx, t.ID, "layout.set", name+"@"+scopeName(*tenant, *connection))
		fmt.Fprintf(out, "set %s override of layout %s\n", scopeName(*tenant, *connection), name)
		return nil
	}
	l, err := bridge.EffectiveLayout(ctx, a.store, t.ID, connID, name)
	if err != nil {
		return err
	}
	return printLayout(out, l)
}

func scopeName(tenant, connection string) string {
	if connection != "" {
		return "connection " + connection + " of tenant " + tenant
	}
	return "tenant " + tenant
}

func printLayout(out io.Writer, l *parsers.Layout) error {
	b, err := l.YAML()
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

// loadLayout reads --layout: a built-in name or a YAML file.
func loadLayout(s string) (*parsers.Layout, error) {
	if strings.HasSuffix(s, ".yaml") || strings.HasSuffix(s, ".yml") || strings.ContainsRune(s, os.PathSeparator) {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, err
		}
		return parsers.ParseLayout(b)
	}
	return parsers.Builtin(s)
}

// report is what `hrisbridge validate --json` prints per file.
type report = parsers.Report

// errorRow is one line of --errors-csv, written with gocsv.
type errorRow struct {
	File    string `csv:"file"`
	Line    int    `csv:"line"`
	Record  string `csv:"record"`
	Field   string `csv:"field"`
	Code    string `csv:"code"`
	Message string `csv:"message"`
	Fix     string `csv:"fix"`
}

const maxReportedErrors = 100

// cmdValidate is a dry run: it reads files as the daemon would and reports
// what would happen, touching no store. Exit status: 0 all accepted
// cleanly, 1 rows were invalid, 2 a file would be rejected or held, or
// could not be read.
func cmdValidate(ctx context.Context, args []string, out io.Writer) error {
	fs, _ := flags("validate")
	layoutArg := fs.String("layout", "", "built-in layout name or layout YAML file")
	asJSON := fs.Bool("json", false, "one JSON object per file")
	maxInvalid := fs.Float64("max-invalid-ratio", 0.05, "reject above this share of invalid rows")
	errorsCSV := fs.String("errors-csv", "", "also write every row error to this CSV file")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *layoutArg == "" || len(files) == 0 {
		return usageError{"usage: hrisbridge validate --layout NAME|FILE [--json] [--errors-csv OUT.csv] FILE..."}
	}
	var l *parsers.Layout
	if *layoutArg != bridge.X12834 {
		if l, err = loadLayout(*layoutArg); err != nil {
			return exitError{2, err}
		}
	}
	// A dry run should fit beside anything: ask the GC to stay near 64 MiB
	// of heap (it holds the duplicate-id table) unless GOMEMLIMIT says
	// otherwise. Memory is constant in file size; only that table grows,
	// at about 12 bytes per record.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
	}
	var sink chan any
	var sinkDone chan error
	if *errorsCSV != "" {
		f, err := os.Create(*errorsCSV)
		if err != nil {
			return exitError{2, err}
		}
		defer f.Close()
		sink, sinkDone = make(chan any, 256), make(chan error, 1)
		go func() {
			err := gocsv.MarshalChan(sink, gocsv.NewSafeCSVWriter(csv.NewWriter(f)))
			sinkDone <- err
		}()
	}
	worst := 0
	for _, path := range files {
		rep := validateFile(path, l, *maxInvalid, sink)
		switch {
		case rep.Verdict == "reject":
			worst = max(worst, 2)
		case rep.Invalid > 0 || rep.Verdict == "accept_with_errors":
			worst = max(worst, 1)
		}
		if *asJSON {
			b, _ := json.Marshal(rep)
			fmt.Fprintln(out, string(b))
		} else {
			printReport(out, rep)
		}
	}
	if sink != nil {
		close(sink)
		if err := <-sinkDone; err != nil {
			return exitError{2, fmt.Errorf("errors-csv: %w", err)}
		}
	}
	if worst > 0 {
		return exitError{worst, nil}
	}
	return nil
}

func validateFile(path string, l *parsers.Layout, maxInvalid float64, sink chan<- any) report {
	if l == nil { // an 834
		o := parsers.ValidateOptions{MaxInvalid: maxInvalid, MaxErrors: maxReportedErrors}
		if sink != nil {
			o.Each = func(fe schema.FieldError) {
				sink <- errorRow{File: path, Line: fe.Line, Record: fe.RecordID, Field: fe.Field, Code: fe.Code, Message: fe.Message, Fix: fe.Fix()}
			}
		}
		return bridge.Validate834(path, o)
	}
	f, err := os.Open(path)
	if err != nil {
		return report{File: path, Layout: l.Name, Errors: []schema.FieldError{}, Verdict: "reject", Reason: err.Error(),
			FileError: &schema.FieldError{Code: schema.ECodeRead, Message: err.Error()}}
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	prog := stderrProgress(f, size, "validate "+filepath.Base(path))
	defer prog.done()
	o := parsers.ValidateOptions{MaxInvalid: maxInvalid, MaxErrors: maxReportedErrors}
	if sink != nil {
		o.Each = func(fe schema.FieldError) {
			sink <- errorRow{File: path, Line: fe.Line, Record: fe.RecordID, Field: fe.Field, Code: fe.Code, Message: fe.Message, Fix: fe.Fix()}
		}
	}
	return parsers.Validate(prog, path, l, o)
}

func printReport(out io.Writer, r report) {
	fmt.Fprintf(out, "%s: %s (%s: %d rows, %d valid, %d invalid)\n", r.File, r.Verdict, r.Layout, r.Rows, r.Valid, r.Invalid)
	if d := r.Detected; d != nil {
		fmt.Fprintf(out, "  read as %s", d.Encoding)
		if d.Delimiter != "" {
			fmt.Fprintf(out, ", delimiter %q", d.Delimiter)
		}
		fmt.Fprintln(out)
	}
	if r.Reason != "" {
		fmt.Fprintf(out, "  %s\n", r.Reason)
	}
	for _, d := range r.Drift {
		fmt.Fprintf(out, "  drift: %s\n", d)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(out, "  %s\n    Fix: %s\n", e.Error(), e.Fix())
	}
	if r.ErrorsOmitted > 0 {
		fmt.Fprintf(out, "  ... and %d more errors (use --errors-csv FILE for all)\n", r.ErrorsOmitted)
	}
}

// exitError carries an exit status.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// inferLayout proposes a layout from a sample file, reports how it covers
// the file, and validates the sample with it. The YAML goes to -o, or to
// out with the report on errOut.
func inferLayout(path, entity, outFile string, asJSON bool, out, errOut io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return exitError{2, err}
	}
	p, err := parsers.Infer(f, entity, 1000)
	f.Close()
	if err != nil {
		return exitError{2, err}
	}
	y, err := p.Layout.YAML()
	if err != nil {
		return err
	}
	dest := errOut
	if outFile != "" {
		if err := os.WriteFile(outFile, y, 0o644); err != nil {
			return err
		}
		dest = out
	} else {
		out.Write(y) //nolint:errcheck
	}
	rep := validateFile(path, p.Layout, 0.05, nil)
	if asJSON {
		b, _ := json.Marshal(struct {
			*parsers.Proposal
			Validation report `json:"validation"`
		}{p, rep})
		fmt.Fprintln(dest, string(b))
	} else {
		printProposal(dest, p)
		printReport(dest, rep)
	}
	switch {
	case rep.Verdict == "reject":
		return exitError{2, nil}
	case rep.Invalid > 0:
		return exitError{1, nil}
	}
	return nil
}

func printProposal(w io.Writer, p *parsers.Proposal) {
	fmt.Fprintf(w, "read as %s, delimiter %q; %d sample rows\n", p.Detected.Encoding, p.Detected.Delimiter, p.Rows)
	for _, c := range p.Columns {
		switch {
		case c.Field == "":
			fmt.Fprintf(w, "  %-28s -> custom_fields\n", c.Header)
		default:
			fmt.Fprintf(w, "  %-28s -> %s (%s)", c.Header, c.Field, c.Match)
			if c.Format != "" {
				fmt.Fprintf(w, ", dates as %s", c.Format)
			}
			fmt.Fprintln(w)
		}
		if len(c.Unmapped) > 0 {
			fmt.Fprintf(w, "      codes not in the code map: %s (add them to codes)\n", strings.Join(c.Unmapped, ", "))
		}
		for _, n := range c.Notes {
			fmt.Fprintf(w, "      %s\n", n)
		}
	}
	if len(p.MissingRequired) > 0 {
		fmt.Fprintf(w, "required fields without a column: %s (map one in the layout, or the file cannot apply)\n", strings.Join(p.MissingRequired, ", "))
	}
}
