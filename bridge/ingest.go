package bridge

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema"
)

// Result is the outcome of ingesting one file.
type Result struct {
	File    schema.File `json:"file"`
	Missing int         `json:"missing"`
	Events  int         `json:"events"`
	// Recognised counts the unchanged rows taken without parsing: their
	// raw bytes matched what the employee was last written from.
	Recognised int `json:"recognised"`
}

// maxKeptErrors bounds the record errors kept in memory for a file that is
// rejected (and so rolled back) so they can still be stored with it.
const maxKeptErrors = 1000

// IngestReader spools r and ingests it as file name of conn, then
// updates the connection's health.
func (b *Bridge) IngestReader(ctx context.Context, conn schema.Connection, name string, r io.Reader) (Result, error) {
	sp, err := spool(b.cfg.SpoolDir, r)
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(sp.Path)
	defer sp.sync() //nolint:errcheck // the bytes were kept (or not) by then; this only ends the sync
	res, err := b.ingestSpooled(ctx, conn, name, sp, false)
	if err == nil {
		b.updateHealth(ctx, conn)
	}
	return res, err
}

// ingestSpooled applies one spooled file: all of it in one transaction, or
// none of it. release skips the hold guards (an operator approved it).
func (b *Bridge) ingestSpooled(ctx context.Context, conn schema.Connection, name string, sp spooled, release bool) (Result, error) {
	start := time.Now()
	if err := b.keepReceived(ctx, conn, &sp); err != nil {
		return Result{}, err
	}
	res, err := b.ingestFile(ctx, conn, name, sp, release)
	if b.cfg.Observe != nil && err == nil {
		b.cfg.Observe(res.File, time.Since(start))
	}
	return res, err
}

// layoutOf is the effective layout name of conn's files: a built-in or
// tenant layout with its overrides, or for an API connection the layout
// of its connector's fetch.
func (b *Bridge) layoutOf(ctx context.Context, conn schema.Connection, name string) (*parsers.Layout, error) {
	if conn.Kind == schema.ConnAPI {
		return b.apiLayout(ctx, conn, name)
	}
	return EffectiveLayout(ctx, b.cfg.Store, conn.TenantID, conn.ID, name)
}

func (b *Bridge) ingestFile(ctx context.Context, conn schema.Connection, name string, sp spooled, release bool) (Result, error) {
	start := time.Now()
	file := schema.File{ID: sp.ID, TenantID: conn.TenantID, ConnectionID: conn.ID, Name: name, SHA256: sp.SHA256, Size: sp.Size, Layout: cmp.Or(sp.layout, conn.Layout), Remote: sp.Remote}
	if prev, err := b.cfg.Store.FileBySHA256(ctx, conn.ID, sp.SHA256); err == nil {
		return b.duplicate(ctx, file, prev.ID)
	} else if !errors.Is(err, schema.ErrNotFound) {
		return Result{}, err
	}
	policy, err := policyOf(conn.Config)
	if err != nil {
		return Result{}, err
	}
	if file.Layout == X12834 {
		keys, err := b.pgpKeys(conn)
		if err != nil {
			return Result{}, err
		}
		path, _, err := b.decode(sp, name, keys)
		if err != nil {
			return b.reject(ctx, file, &parsers.ParseError{Code: schema.ECodeDecode, Err: err}, nil)
		}
		if path != sp.Path {
			defer os.Remove(path)
		}
		return b.ingest834(ctx, conn, file, sp, path, policy, release)
	}
	layout, err := b.layoutOf(ctx, conn, file.Layout)
	if err != nil {
		return Result{}, err
	}
	keys, err := b.pgpKeys(conn)
	if err != nil {
		return Result{}, err
	}
	path, _, err := b.decode(sp, name, keys)
	if err != nil {
		code := schema.ECodeDecode
		if errors.Is(err, ErrTooLarge) {
			code = schema.ECodeTooLarge
		}
		return b.reject(ctx, file, &parsers.ParseError{Code: code, Err: err}, nil)
	}
	if path != sp.Path {
		defer os.Remove(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	rd, err := b.cfg.Limits.OpenReusing(f, layout)
	if err != nil {
		return b.reject(ctx, file, err, nil)
	}
	defer rd.Close()
	mapped := rd.Mapped()
	file.Mapped = strings.Join(mapped, ",")
	if d := rd.Detected(); d.Delimiter != "" {
		file.ReadAs = d.Encoding + ", delimiter " + d.Delimiter
	} else {
		file.ReadAs = d.Encoding
	}
	if drift := rd.Drift(); len(drift) > 0 && !release {
		return b.hold(ctx, file, sp, "schema drift: "+strings.Join(drift, "; "))
	}
	if layout.Mode == "full" && !release && mapped != nil {
		lost, prev, err := b.lostFields(ctx, file, mapped)
		if err != nil {
			return Result{}, err
		}
		if len(lost) > 0 {
			return b.hold(ctx, file, sp, fmt.Sprintf("schema drift: the header has no column for %s, which the last applied file (%s) had: a renamed or dropped column? "+
				"Map the new header in the layout and release this file, or discard it", strings.Join(lost, ", "), prev))
		}
	}
	kind := "" // what the file may be the first of: its connection
	if conn.Kind == schema.ConnAPI {
		kind = strings.TrimSuffix(file.Layout, "/delta") // or one entity of an API connection
	}
	res, committed, err := b.transact(ctx, conn, file, sp, func(in schema.Ingest, file *schema.File, idx **index) (Result, []schema.RecordError, error) {
		baseline, err := in.Baseline(ctx, kind)
		if err != nil {
			return Result{}, nil, err
		}
		return b.apply(ctx, in, rd, layout, policy, file, release, baseline, idx)
	})
	if !committed {
		return res, err
	}
	file = res.File
	b.cfg.Logger.InfoContext(ctx, "file ingested", "tenant", conn.TenantID, "connection", conn.Name, "file", name, "status", file.Status,
		"rows", file.Rows, "invalid", file.Invalid, "created", file.Created, "updated", file.Updated, "unchanged", file.Unchanged,
		"missing", res.Missing, "events", res.Events, "duration_ms", time.Since(start).Milliseconds())
	return res, nil
}

var errTooManyInvalid = errors.New("too many invalid rows")

// applyFunc applies a file's rows inside its open ingest, with the
// connection's change index (nil when none is kept).
type applyFunc func(in schema.Ingest, file *schema.File, idx **index) (Result, []schema.RecordError, error)

// transact applies file in one ingest transaction. A file already stored
// answers as a duplicate; an apply that must wait for an operator rolls
// back and holds the file; bad bytes or too many invalid rows roll back
// and reject it. committed reports that the file applied, and the change
// index is kept for the connection's next file.
func (b *Bridge) transact(ctx context.Context, conn schema.Connection, file schema.File, sp spooled, apply applyFunc) (res Result, committed bool, err error) {
	in, err := b.cfg.Store.BeginIngest(ctx, &file)
	if errors.Is(err, schema.ErrDuplicate) {
		prev, _ := b.cfg.Store.FileBySHA256(ctx, conn.ID, sp.SHA256)
		res, err = b.duplicate(ctx, file, prev.ID)
		return res, false, err
	}
	if err != nil {
		return Result{}, false, err
	}
	idx := b.indexes.take(conn.TenantID, conn.ID, in.Generation())
	res, kept, err := apply(in, &file, &idx)
	if err != nil {
		in.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
		var pe *parsers.ParseError
		var held errHeld
		switch {
		case errors.As(err, &held):
			res, err = b.hold(ctx, schema.File{ID: file.ID, TenantID: file.TenantID, ConnectionID: file.ConnectionID, Name: file.Name, SHA256: file.SHA256, Remote: file.Remote,
				Size: file.Size, Layout: file.Layout, Rows: file.Rows, Valid: file.Valid, Invalid: file.Invalid, Mapped: file.Mapped, ReadAs: file.ReadAs}, sp, held.reason)
			return res, false, err
		case errors.As(err, &pe), errors.Is(err, errTooManyInvalid):
			res, err = b.reject(ctx, file, err, kept)
			return res, false, err
		}
		return Result{}, false, err
	}
	b.checkpoint("before-commit")
	if err := in.Commit(ctx, &file); err != nil {
		return Result{}, false, fmt.Errorf("commit %s: %w", file.Name, err)
	}
	b.checkpoint("after-commit")
	b.indexes.put(conn.TenantID, conn.ID, in.Generation(), idx)
	res.File = file
	return res, true, nil
}

// lostFields returns the fields the connection's last applied file had a
// column for and mapped does not, with that file's id.
func (b *Bridge) lostFields(ctx context.Context, file schema.File, mapped []string) ([]string, string, error) {
	files, err := b.cfg.Store.Files(ctx, file.TenantID, schema.ListQuery{ConnectionID: file.ConnectionID, Limit: 50})
	if err != nil {
		return nil, "", err
	}
	for _, f := range files {
		if f.Mapped == "" || f.Status != schema.FileApplied && f.Status != schema.FileAppliedWithErrors || !sameKind(f.Layout, file.Layout) {
			continue
		}
		var lost []string
		for _, name := range strings.Split(f.Mapped, ",") {
			if !slices.Contains(mapped, name) {
				lost = append(lost, name)
			}
		}
		return lost, f.ID, nil
	}
	return nil, "", nil
}

// sameKind reports whether two files' layouts read the same kind of file:
// an API connection's fetches of different entities (gusto.benefit_plan,
// gusto.employee) are not compared; a file connection's files all are.
func sameKind(a, b string) bool {
	ca, _, apiA := strings.Cut(strings.TrimSuffix(a, "/delta"), ".")
	cb, _, apiB := strings.Cut(strings.TrimSuffix(b, "/delta"), ".")
	if !apiA || !apiB {
		return true
	}
	return ca == cb && strings.TrimSuffix(a, "/delta") == strings.TrimSuffix(b, "/delta")
}

// errHeld stops an apply that must wait for an operator.
type errHeld struct{ reason string }

func (e errHeld) Error() string { return "held: " + e.reason }

// rowErrors stores a row's errors and keeps the first ones in memory.
func rowErrors(ctx context.Context, in schema.Ingest, file *schema.File, errs []schema.FieldError, kept *[]schema.RecordError) error {
	for _, fe := range errs {
		re := schema.RecordError{FileID: file.ID, Line: fe.Line, RecordID: fe.RecordID, Field: fe.Field, Code: fe.Code, Message: fe.Message}
		if len(*kept) < maxKeptErrors {
			*kept = append(*kept, re)
		}
		if err := in.PutRecordError(ctx, re); err != nil {
			return err
		}
	}
	return nil
}

// apply streams every row into the open transaction and, when the rows
// are all in, runs the end-of-file guards.
// idx is the tenant's change index kept from its last ingest, or nil; an
// employee file loads it when nil and leaves it as written.
func (b *Bridge) apply(ctx context.Context, in schema.Ingest, rd parsers.Reader, layout *parsers.Layout, policy Policy, file *schema.File, release, baseline bool, idx **index) (Result, []schema.RecordError, error) {
	if layout.Entity == "employee" {
		return b.applyEmployees(ctx, in, rd, layout, policy, file, release, baseline, idx)
	}
	return b.applyRecords(ctx, in, rd, layout, policy, file, baseline)
}

// applyEmployees writes only what changed (unchanged rows cost nothing),
// and in a full snapshot flags the absent.
func (b *Bridge) applyEmployees(ctx context.Context, in schema.Ingest, rd parsers.Reader, layout *parsers.Layout, policy Policy, file *schema.File, release, baseline bool, cached **index) (Result, []schema.RecordError, error) {
	var res Result
	var kept []schema.RecordError
	idx := *cached
	if idx == nil {
		var err error
		if idx, err = loadIndex(ctx, in); err != nil {
			return res, nil, fmt.Errorf("load current employees: %w", err)
		}
		*cached = idx
	}
	// Rows whose raw bytes match what an employee was last written from
	// are recognised before they are parsed (parsers.Skipper).
	skipping := rd.SkipWith(idx, b.cfg.HashKey)
	hashKey := schema.NewHashKey(b.cfg.HashKey)
	w := &employeeWriter{in: in, idx: idx, baseline: baseline, hashKey: hashKey}
	var scratch []byte
	var hash uint64
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, kept, err
		}
		file.Rows++
		b.rowCheckpoint(file.Rows)
		if row.Skipped {
			file.Valid++
			file.Unchanged++
			res.Recognised++
			continue
		}
		if !row.Valid() {
			file.Invalid++
			if err := rowErrors(ctx, in, file, row.Errors, &kept); err != nil {
				return res, kept, err
			}
			continue
		}
		file.Valid++
		e := row.Record.(*schema.Employee)
		hash, scratch = e.ContentHash(hashKey, scratch)
		switch ch := idx.classify(e.ExternalID, hash); ch {
		case added, changed:
			c := e.Clone()
			c.TenantID, c.ConnectionID, c.Hash, c.SourceHash = file.TenantID, file.ConnectionID, hash, row.Source
			if ch == added {
				file.Created++
				err = w.insert(ctx, c)
			} else {
				file.Updated++
				err = w.update(ctx, c)
			}
		default:
			file.Unchanged++
			if skipping && idx.sourceStale(e.ExternalID, row.Source) {
				err = w.source(ctx, e.ExternalID, row.Source)
			}
		}
		if err != nil {
			return res, kept, fmt.Errorf("line %d: %w", row.Line, err)
		}
	}
	if err := b.checkInvalid(file, policy); err != nil {
		return res, kept, err
	}
	if layout.Mode == "full" {
		if prev := idx.previous; !release && prev > 0 && float64(file.Valid) < float64(prev)*(1-maxShrink(policy)) {
			return res, kept, errHeld{fmt.Sprintf("snapshot shrank from %d to %d people, more than the %g%% limit: a truncated or filtered export?",
				prev, file.Valid, maxShrink(policy)*100)}
		}
		if prev := idx.previous; !release && prev > 0 && float64(idx.overlap()) < float64(prev)*minOverlap(policy) {
			return res, kept, errHeld{fmt.Sprintf("only %d of the %d people of the last snapshot are in this one, below the %g%% overlap limit: another employer's export, or re-keyed employee ids?",
				idx.overlap(), prev, minOverlap(policy)*100)}
		}
		gone := idx.unseen()
		if err := w.markMissing(ctx, gone, policy.Absent == "terminate", time.Now().UTC().Format(schema.DateLayout)); err != nil {
			return res, kept, fmt.Errorf("mark missing: %w", err)
		}
		res.Missing = len(gone)
	}
	if err := w.flush(ctx); err != nil {
		return res, kept, err
	}
	finishFile(file)
	res.Events = w.written
	if baseline {
		if err := in.AppendEvents(ctx, []schema.Event{baselineEvent(file, layout)}); err != nil {
			return res, kept, err
		}
		res.Events = 1
	}
	return res, kept, nil
}

// baselineEvent is the one event of a connection's first applied file.
func baselineEvent(f *schema.File, layout *parsers.Layout) schema.Event {
	return schema.BaselineEvent(schema.Baseline{FileID: f.ID, ConnectionID: f.ConnectionID, Entity: layout.Entity, Rows: f.Rows,
		Created: f.Created, Updated: f.Updated, Unchanged: f.Unchanged, Invalid: f.Invalid})
}

func (b *Bridge) checkInvalid(file *schema.File, policy Policy) error {
	if file.Rows > 0 && float64(file.Invalid)/float64(file.Rows) > b.maxInvalid(policy) {
		return fmt.Errorf("%w: %d of %d rows are invalid, above the limit of %g%%", errTooManyInvalid, file.Invalid, file.Rows, b.maxInvalid(policy)*100)
	}
	return nil
}

func finishFile(file *schema.File) {
	file.Status = schema.FileApplied
	if file.Invalid > 0 {
		file.Status = schema.FileAppliedWithErrors
	}
	t := time.Now().UTC()
	file.AppliedAt = &t
}

// applyRecords writes dependents, plans or enrollments row by row (their
// files are small next to a census), resolving the employee and plan they
// refer to. A full file ends the dependents and enrollments of each listed
// employee that it no longer lists.
func (b *Bridge) applyRecords(ctx context.Context, in schema.Ingest, rd parsers.Reader, layout *parsers.Layout, policy Policy, file *schema.File, baseline bool) (Result, []schema.RecordError, error) {
	var res Result
	var kept []schema.RecordError
	rw := &recordWriter{in: in, baseline: baseline, hashKey: schema.NewHashKey(b.cfg.HashKey), listed: map[string][]string{}}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, kept, err
		}
		file.Rows++
		var c change
		if row.Valid() {
			c, err = rw.put(ctx, row.Record)
			if errors.Is(err, schema.ErrNotFound) {
				code := schema.ECodeUnknownEmployee
				if errors.Is(err, schema.ErrNoPlan) {
					code = schema.ECodeUnknownPlan
				}
				row.Errors = append(row.Errors, schema.FieldError{Line: row.Line, RecordID: row.RecordID, Code: code, Message: err.Error() + " in the store"})
			} else if err != nil {
				return res, kept, fmt.Errorf("line %d: %w", row.Line, err)
			}
		}
		if !row.Valid() {
			file.Invalid++
			if err := rowErrors(ctx, in, file, row.Errors, &kept); err != nil {
				return res, kept, err
			}
			continue
		}
		file.Valid++
		switch c {
		case added:
			file.Created++
		case changed:
			file.Updated++
		default:
			file.Unchanged++
		}
	}
	if err := b.checkInvalid(file, policy); err != nil {
		return res, kept, err
	}
	if layout.Mode == "full" {
		n, err := rw.endUnlisted(ctx, layout.Entity, time.Now().UTC().Format(schema.DateLayout))
		if err != nil {
			return res, kept, err
		}
		res.Missing = n
	}
	events := rw.events
	if baseline {
		events = []schema.Event{baselineEvent(file, layout)}
	}
	if err := in.AppendEvents(ctx, events); err != nil {
		return res, kept, err
	}
	finishFile(file)
	res.Events = len(events)
	return res, kept, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// reject records a file that must not apply, with the errors that explain
// why, in a transaction of its own.
func (b *Bridge) reject(ctx context.Context, file schema.File, cause error, kept []schema.RecordError) (Result, error) {
	file.Status, file.Detail = schema.FileRejected, cause.Error()
	file.Created, file.Updated, file.Unchanged, file.AppliedAt = 0, 0, 0, nil
	var pe *parsers.ParseError
	if errors.As(cause, &pe) {
		kept = append(kept, schema.RecordError{Line: pe.Line, Code: pe.Code, Message: pe.Err.Error()})
	} else if errors.Is(cause, errTooManyInvalid) {
		kept = append(kept, schema.RecordError{Code: schema.ECodeInvalidMax, Message: cause.Error()})
	}
	if err := b.cfg.Store.RecordFile(ctx, &file, kept); err != nil {
		return Result{}, err
	}
	b.fileEvent(ctx, "file.rejected", file)
	b.cfg.Logger.WarnContext(ctx, "file rejected", "tenant", file.TenantID, "file", file.Name, "reason", file.Detail)
	return Result{File: file}, nil
}

// hold records a file that waits for an operator's release or discard
// (its bytes were kept before the ingest began).
func (b *Bridge) hold(ctx context.Context, file schema.File, sp spooled, reason string) (Result, error) {
	file.Status, file.Detail = schema.FileHeld, reason
	if err := b.cfg.Store.RecordFile(ctx, &file, nil); err != nil {
		return Result{}, err
	}
	b.fileEvent(ctx, "file.held", file)
	b.cfg.Logger.WarnContext(ctx, "file held for approval", "tenant", file.TenantID, "file", file.Name, "file_id", file.ID, "reason", reason)
	return Result{File: file}, nil
}

// fileEvent announces a file that did not apply (file.rejected,
// file.held). The file's record is stored already; a failure to write
// the notice is logged, not returned.
func (b *Bridge) fileEvent(ctx context.Context, typ string, f schema.File) {
	data, _ := json.Marshal(map[string]any{"file_id": f.ID, "connection_id": f.ConnectionID, "name": f.Name, "status": f.Status,
		"rows": f.Rows, "invalid": f.Invalid, "detail": f.Detail})
	if err := b.cfg.Store.AppendEvent(ctx, &schema.Event{TenantID: f.TenantID, Type: typ, Subject: f.ID, Data: data}); err != nil {
		b.cfg.Logger.WarnContext(ctx, "file event not written", "type", typ, "file_id", f.ID, "error", err)
	}
}

func (b *Bridge) duplicate(ctx context.Context, file schema.File, of string) (Result, error) {
	file.Status, file.Detail = schema.FileDuplicate, "same bytes as file "+of+", already received"
	if err := b.cfg.Store.RecordFile(ctx, &file, nil); err != nil {
		return Result{}, err
	}
	return Result{File: file}, nil
}
