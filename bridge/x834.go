package bridge

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/parsers/x12"
	"github.com/hrisbridge/hrisbridge/schema"
)

// X12834 is the built-in format name of ANSI X12 834 benefit enrollment
// files (005010X220A1), usable wherever a layout name is.
const X12834 = "x12-834"

// CheckLayout reports whether name is a layout (with the tenant's and
// connection's overrides) or a built-in format (x12-834) files may be
// read with.
func CheckLayout(ctx context.Context, s LayoutStore, tenantID, connectionID, name string) error {
	if name == X12834 {
		return nil
	}
	_, err := EffectiveLayout(ctx, s, tenantID, connectionID, name)
	return err
}

// An 834 carries plans, subscribers, dependents and their coverages in one
// file. It is converted, streaming, into one CSV per entity (in columns the
// built-in layouts read), then the four are applied in one transaction:
// all of the file or none of it, as any file. Record errors name the 834
// segment they come from.

// x12Part is one entity's CSV of a converted 834.
type x12Part struct {
	entity, layout string
	f              *os.File
	w              *csv.Writer
	rows           int
	segs           []int32 // segment number of each row (its INS or HD)
	mark           int64   // size at the start of the set being read
	markRows       int
}

func (p *x12Part) write(seg int, row []string) error {
	p.rows++
	p.segs = append(p.segs, int32(seg))
	return p.w.Write(row)
}

// x12Conv is the handler that writes the CSVs.
type x12Conv struct {
	parts     map[string]*x12Part
	order     []string
	cats      []string // reporting category names, found by a first pass
	plans     map[string]bool
	full      bool
	sets      int
	rejected  []schema.RecordError
	fileID    string
	planMarks map[string]bool // plans added by the set being read
}

var x12Columns = map[string][]string{
	"benefit_plan": {"plan_code", "name", "type"},
	"employee": {"external_id", "first_name", "middle_name", "last_name", "ssn", "date_of_birth", "gender", "personal_email", "phone",
		"address_line1", "address_line2", "city", "state", "postal_code", "country", "employment_status", "employment_type", "hire_date",
		"termination_date", "department", "x12_group", "x12_benefit_status"},
	"dependent":  {"employee_external_id", "external_id", "first_name", "middle_name", "last_name", "date_of_birth", "gender", "relationship", "ssn", "is_student"},
	"enrollment": {"employee_external_id", "plan_code", "coverage_tier", "status", "effective_date", "end_date"},
}

var x12Layouts = map[string]string{"benefit_plan": "plans-csv", "employee": "census-csv", "dependent": "dependents-csv", "enrollment": "enrollments-csv"}

func newX12Conv(dir, fileID string, cats []string) (*x12Conv, error) {
	c := &x12Conv{parts: map[string]*x12Part{}, order: []string{"benefit_plan", "employee", "dependent", "enrollment"}, cats: cats,
		plans: map[string]bool{}, full: true, fileID: fileID}
	for _, e := range c.order {
		f, err := os.CreateTemp(dir, "x12-"+e+"-*.csv")
		if err != nil {
			return nil, err
		}
		p := &x12Part{entity: e, layout: x12Layouts[e], f: f, w: csv.NewWriter(f)}
		cols := x12Columns[e]
		if e == "employee" {
			for _, cat := range cats {
				cols = append(cols, "reporting."+cat)
			}
		}
		if err := p.w.Write(cols); err != nil {
			return nil, err
		}
		c.parts[e] = p
	}
	return c, nil
}

func (c *x12Conv) close() {
	for _, p := range c.parts {
		p.f.Close()
		os.Remove(p.f.Name())
	}
}

func (c *x12Conv) Begin(h *x12.Header) error {
	c.sets++
	c.planMarks = map[string]bool{}
	for _, p := range c.parts {
		p.w.Flush()
		if err := p.w.Error(); err != nil {
			return err
		}
		off, err := p.f.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		p.mark, p.markRows = off, p.rows
	}
	return nil
}

func (c *x12Conv) Member(h *x12.Header, m *x12.Member) error {
	if !m.Subscriber {
		return c.parts["dependent"].write(m.Segment, []string{m.SubscriberID, dependentID(m), m.First, m.Middle, m.Last, m.BirthDate, m.Gender,
			relationship(m.Relationship), m.SSN, student(m.Student)})
	}
	status, etype := employment(m)
	row := []string{m.SubscriberID, m.First, m.Middle, m.Last, m.SSN, m.BirthDate, m.Gender, m.Email, m.Phone,
		m.Address1, m.Address2, m.City, m.State, m.Zip, m.Country, status, etype, m.Dates["336"], termination(m, status), m.Refs["DX"], m.GroupID, m.BenefitStatus}
	for _, cat := range c.cats {
		row = append(row, m.Reporting[cat])
	}
	if err := c.parts["employee"].write(m.Segment, row); err != nil {
		return err
	}
	for _, cv := range m.Coverages {
		code := cmp.Or(cv.Plan, cv.InsuranceLine)
		if !c.plans[code] {
			c.plans[code], c.planMarks[code] = true, true
			if err := c.parts["benefit_plan"].write(cv.Segment, []string{code, cmp.Or(cv.Plan, cv.InsuranceLine), planType(cv.InsuranceLine)}); err != nil {
				return err
			}
		}
		st := "A"
		if cv.Maintenance == "024" || cv.End != "" && cv.End <= time.Now().Format("20060102") {
			st = "T"
		}
		if err := c.parts["enrollment"].write(cv.Segment, []string{m.SubscriberID, code, cv.Level, st, cv.Begin, cv.End}); err != nil {
			return err
		}
	}
	return nil
}

func (c *x12Conv) End(h *x12.Header, xerr *x12.Error) error {
	if xerr == nil {
		if !h.Full() {
			c.full = false
		}
		return nil
	}
	// The set is rejected: its rows go, the file's others stay.
	for _, p := range c.parts {
		p.w.Flush()
		if err := p.f.Truncate(p.mark); err != nil {
			return err
		}
		if _, err := p.f.Seek(p.mark, io.SeekStart); err != nil {
			return err
		}
		p.w = csv.NewWriter(p.f)
		p.rows, p.segs = p.markRows, p.segs[:p.markRows]
	}
	for code := range c.planMarks {
		delete(c.plans, code)
	}
	c.rejected = append(c.rejected, schema.RecordError{FileID: c.fileID, Line: xerr.Segment, RecordID: "ST " + h.Control, Code: xerr.Code,
		Message: "transaction set " + h.Control + " rejected: " + strings.TrimSuffix(xerr.Error(), " ("+xerr.Code+")")})
	return nil
}

// dependentID is a dependent's stable id: its member id (NM109) when the
// sender gives one, else the subscriber, first name and birth date.
func dependentID(m *x12.Member) string {
	if m.MemberID != "" {
		return m.MemberID
	}
	return m.SubscriberID + "-" + strings.ToUpper(m.First) + "-" + m.BirthDate
}

// The CSVs carry the codes the built-in layouts' code maps read (census,
// dependents and enrollments layouts know the X12 codes), so that a
// tenant's override of those maps applies to an 834 too.

// relationship passes INS02 codes the dependents layout reads, others as
// other.
func relationship(code string) string {
	switch code {
	case "01", "53", "19", "09", "17", "10", "15", "26", "31":
		return code
	}
	return "O"
}

// planType reads HD03, the insurance line.
func planType(line string) string {
	switch line {
	case "HLT", "HMO", "PPO", "POS", "EPO", "MM", "PDG", "MOD", "AK", "AG":
		return "HLT"
	case "DEN", "DCP":
		return "DEN"
	case "VIS":
		return "VIS"
	case "STD", "LTD":
		return line
	}
	return "Other"
}

func student(s string) string {
	switch s {
	case "F", "P":
		return "true"
	case "N":
		return "false"
	}
	return ""
}

// employment reads INS08 (and a termination, INS03 024 with INS04 08).
func employment(m *x12.Member) (status, etype string) {
	switch m.EmploymentStatus {
	case "FT", "PT":
		status, etype = "A", m.EmploymentStatus
	case "L1":
		status = "L"
	case "RT":
		status = "R"
	case "TE":
		status = "T"
	default: // AC, AO, AU, or none
		status = "A"
	}
	switch {
	case m.Reason == "03":
		status = "D"
	case m.Maintenance == "024" && (m.Reason == "08" || m.Dates["337"] != ""):
		status = "T"
	}
	return status, etype
}

func termination(m *x12.Member, status string) string {
	if status != "T" && status != "D" {
		return ""
	}
	return cmp.Or(m.Dates["337"], m.Dates["357"])
}

// categories is the first pass: the reporting category names (2700) of
// the file, so that each becomes a column of the employees' CSV.
type categories struct{ names map[string]bool }

func (c *categories) Begin(*x12.Header) error { return nil }
func (c *categories) Member(_ *x12.Header, m *x12.Member) error {
	for k := range m.Reporting {
		c.names[k] = true
	}
	return nil
}
func (c *categories) End(*x12.Header, *x12.Error) error { return nil }

// convert834 reads the 834 at path into per-entity CSVs.
func (b *Bridge) convert834(path, fileID string) (*x12Conv, *x12.Reader, error) {
	return convert834(path, fileID, b.cfg.SpoolDir, b.cfg.Limits.MaxLine)
}

// convert834 reads the 834 at path into per-entity CSVs in dir, in two
// streaming passes (the first finds the reporting categories).
func convert834(path, fileID, dir string, maxLine int) (*x12Conv, *x12.Reader, error) {
	open := func() (*os.File, *x12.Reader, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		r, err := x12.NewReader(f, maxLine)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return f, r, nil
	}
	f, r, err := open()
	if err != nil {
		return nil, nil, err
	}
	cats := &categories{names: map[string]bool{}}
	_, err = x12.Read834(r, cats)
	f.Close()
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for n := range cats.names {
		names = append(names, n)
	}
	sort.Strings(names)
	conv, err := newX12Conv(dir, fileID, names)
	if err != nil {
		return nil, nil, err
	}
	f, r, err = open()
	if err != nil {
		conv.close()
		return nil, nil, err
	}
	defer f.Close()
	if _, err := x12.Read834(r, conv); err != nil {
		conv.close()
		return nil, nil, err
	}
	for _, p := range conv.parts {
		p.w.Flush()
		if err := p.w.Error(); err != nil {
			conv.close()
			return nil, nil, err
		}
	}
	return conv, r, nil
}

// segmentIngest names, in the record errors it stores, the 834 segment a
// CSV row came from.
type segmentIngest struct {
	schema.Ingest
	part *x12Part
}

func (s segmentIngest) PutRecordError(ctx context.Context, e schema.RecordError) error {
	return s.Ingest.PutRecordError(ctx, s.part.remap(e))
}

// remap turns a record error's CSV line into the 834 segment of its row.
func (p *x12Part) remap(e schema.RecordError) schema.RecordError {
	if i := e.Line - 2; i >= 0 && i < len(p.segs) {
		e.Line = int(p.segs[i])
		loop := "2000"
		if p.entity == "enrollment" || p.entity == "benefit_plan" {
			loop = "2300"
		}
		e.Message = fmt.Sprintf("segment %d, loop %s: %s", e.Line, loop, e.Message)
	}
	return e
}

// ingest834 applies a spooled 834 (decoded at path): converted, then its
// plans, subscribers, dependents and coverages in one transaction.
func (b *Bridge) ingest834(ctx context.Context, conn schema.Connection, file schema.File, sp spooled, path string, policy Policy, release bool) (Result, error) {
	conv, r, err := b.convert834(path, file.ID)
	if err != nil {
		var xe *x12.Error
		if errors.As(err, &xe) {
			return b.reject(ctx, file, &parsers.ParseError{Line: xe.Segment, Code: xe.Code, Err: xe}, nil)
		}
		return Result{}, err
	}
	defer conv.close()
	if conv.sets > 0 && len(conv.rejected) == conv.sets {
		// Every transaction set was rejected: nothing of the file applies.
		first := conv.rejected[0]
		return b.reject(ctx, file, &parsers.ParseError{Line: first.Line, Code: first.Code, Err: errors.New(first.Message)}, conv.rejected)
	}
	d := r.Delimiters()
	file.ReadAs = fmt.Sprintf("X12 834, %d transaction sets (%d rejected), segment terminator %s", conv.sets, len(conv.rejected), x12Printable(d.Segment))
	mode := "delta"
	if conv.full {
		mode = "full"
	}
	res, _, err := b.transact(ctx, conn, file, sp, func(in schema.Ingest, file *schema.File, idx **index) (Result, []schema.RecordError, error) {
		return b.apply834(ctx, in, conv, mode, policy, file, release, idx)
	})
	return res, err
}

func (b *Bridge) apply834(ctx context.Context, in schema.Ingest, conv *x12Conv, mode string, policy Policy, file *schema.File, release bool, idx **index) (Result, []schema.RecordError, error) {
	var res Result
	var kept []schema.RecordError
	// A rejected transaction set is recorded, not counted against the
	// invalid-row limit: the standard applies the interchange's other sets.
	for _, e := range conv.rejected {
		kept = append(kept, e)
		if err := in.PutRecordError(ctx, e); err != nil {
			return res, kept, err
		}
	}
	defer func() {
		if len(conv.rejected) > 0 && file.Status == schema.FileApplied {
			file.Status = schema.FileAppliedWithErrors
		}
	}()
	baseline, err := in.Baseline(ctx, "")
	if err != nil {
		return res, kept, err
	}
	for _, entity := range conv.order {
		p := conv.parts[entity]
		if p.rows == 0 {
			continue
		}
		layout, err := parsers.Builtin(p.layout)
		if err != nil {
			return res, kept, err
		}
		layout.Mode = mode
		layout.Checks.MinRows = 0
		if _, err := p.f.Seek(0, io.SeekStart); err != nil {
			return res, kept, err
		}
		rd, err := b.cfg.Limits.OpenReusing(p.f, layout)
		if err != nil {
			return res, kept, err
		}
		r, k, err := b.apply(ctx, segmentIngest{in, p}, rd, layout, policy, file, release, baseline, idx)
		rd.Close()
		for _, e := range k {
			kept = append(kept, p.remap(e))
		}
		if err != nil {
			return res, kept, err
		}
		res.Missing += r.Missing
		res.Events += r.Events
		res.Recognised += r.Recognised
	}
	if file.Status == schema.FileProcessing {
		finishFile(file) // no rows at all: applied, empty
	}
	return res, kept, nil
}

func x12Printable(b byte) string {
	s, _ := json.Marshal(string([]byte{b}))
	return string(s)
}

// Ack999 returns the 999 acknowledgment of a received 834: each
// transaction set accepted or rejected with its error, read again from
// the file's kept bytes.
func (b *Bridge) Ack999(ctx context.Context, tenantID, fileID string) ([]byte, error) {
	f, err := b.cfg.Store.File(ctx, tenantID, fileID)
	if err != nil {
		return nil, err
	}
	if f.Layout != X12834 {
		return nil, fmt.Errorf("file %s was read as %s, not as an 834: %w", f.ID, f.Layout, schema.ErrState)
	}
	sp, drop, err := b.kept(ctx, f)
	if err != nil {
		return nil, err
	}
	defer drop()
	conn, err := b.cfg.Store.Connection(ctx, tenantID, f.ConnectionID)
	if err != nil {
		return nil, err
	}
	keys, err := b.pgpKeys(conn)
	if err != nil {
		return nil, err
	}
	path, _, err := b.decode(sp, f.Name, keys)
	if err != nil {
		return nil, err
	}
	if path != sp.Path {
		defer os.Remove(path)
	}
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	ack, err := x12.Ack999(in, time.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", f.ID, err)
	}
	return ack, nil
}

// Validate834 is a dry run of an 834: read, converted and validated as an
// ingest would, nothing stored. Row errors name their 834 segment.
func Validate834(path string, o parsers.ValidateOptions) parsers.Report {
	rep := parsers.Report{File: path, Layout: X12834, Errors: []schema.FieldError{}}
	dir, err := os.MkdirTemp("", "hrisbridge-validate834-")
	if err != nil {
		rep.Verdict, rep.Reason = "reject", err.Error()
		return rep
	}
	defer os.RemoveAll(dir)
	conv, _, err := convert834(path, "", dir, o.Limits.MaxLine)
	if err != nil {
		code := schema.ECodeRead
		var xe *x12.Error
		if errors.As(err, &xe) {
			code = xe.Code
		}
		rep.Verdict, rep.Reason = "reject", err.Error()
		rep.FileError = &schema.FieldError{Code: code, Message: err.Error()}
		return rep
	}
	defer conv.close()
	for _, e := range conv.rejected {
		rep.Errors = append(rep.Errors, schema.FieldError{Line: e.Line, RecordID: e.RecordID, Code: e.Code, Message: e.Message})
	}
	mode := "delta"
	if conv.full {
		mode = "full"
	}
	for _, entity := range conv.order {
		p := conv.parts[entity]
		if p.rows == 0 {
			continue
		}
		l, err := parsers.Builtin(p.layout)
		if err != nil {
			rep.Verdict, rep.Reason = "reject", err.Error()
			return rep
		}
		l.Mode, l.Checks.MinRows = mode, 0
		if _, err := p.f.Seek(0, io.SeekStart); err != nil {
			rep.Verdict, rep.Reason = "reject", err.Error()
			return rep
		}
		po := o
		po.Each = nil
		po.MaxErrors = 1 << 30
		r := parsers.Validate(p.f, path, l, po)
		rep.Rows += r.Rows
		rep.Valid += r.Valid
		rep.Invalid += r.Invalid
		for _, fe := range r.Errors {
			re := p.remap(schema.RecordError{Line: fe.Line, Message: fe.Message})
			fe.Line, fe.Message = re.Line, re.Message
			if o.Each != nil {
				o.Each(fe)
			}
			if len(rep.Errors) < cmp.Or(o.MaxErrors, 100) {
				rep.Errors = append(rep.Errors, fe)
			} else {
				rep.ErrorsOmitted++
			}
		}
	}
	maxInvalid := o.MaxInvalid
	if maxInvalid == 0 {
		maxInvalid = 0.05
	}
	switch {
	case rep.Rows > 0 && float64(rep.Invalid)/float64(rep.Rows) > maxInvalid:
		rep.Verdict, rep.Reason = "reject", fmt.Sprintf("%d of %d rows are invalid, above the limit of %g%%", rep.Invalid, rep.Rows, maxInvalid*100)
	case rep.Invalid > 0 || len(conv.rejected) > 0:
		rep.Verdict = "accept_with_errors"
	default:
		rep.Verdict = "accept"
	}
	return rep
}
