package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

// flushAt is how many buffered writes go to the server in one COPY/batch;
// changed employees go sooner (updateAt), each costing the server far more
// than a new row, so that their batches overlap the parsing of the rest
// of the file instead of piling up for the end.
const (
	flushAt  = 5000
	updateAt = 1000
)

// ingest is one file's apply transaction. Writes are buffered as a batch
// (new employees, changed employees, source hashes, events) and each full
// batch is sent in the background while the caller parses on, one batch
// in flight at a time: changed employees as one set-based UPDATE after
// their old rows are read for the change events, new employees and all
// events with binary COPY.
type ingest struct {
	s        *Store
	tx       pgx.Tx
	file     *schema.File
	now      time.Time
	batch    batch
	sent     batch // the batch in flight (or sent last): its arrays are reused
	nEvents  atomic.Int64
	inflight chan error // the background batch's outcome, nil when none
	// The events COPY stream, owned by the background batch while one is
	// in flight.
	evBuf copyBuf
	// The tenant's and the last connection's ids as uuid column values.
	tenantKey [16]byte
	connKey   struct {
		id  string
		key [16]byte
		ok  bool
	}
	// wrote is set by every write to employees, kept by KeepIndex: Commit
	// drops the kept change index when the first is set without the
	// second, so a kept index is never stale.
	wrote, kept bool
}

// batch is the writes waiting for the next send.
type batch struct {
	// New employees are encoded into their COPY stream as they come (on
	// the caller's goroutine, which would otherwise wait for the server),
	// so a batch goes out the moment the one before it is done.
	emp     copyBuf
	hires   []hire // their employee.hired events
	updates []codec.Pending
	sources [][2]string // external id, source hash
	events  []pendingEvent
	records []byte // the updates' records, back to back
}

// hire is a new employee's employee.hired event, written in a block.
type hire struct{ id, externalID, status, connectionID string }

// recycle empties b for reuse, keeping its arrays.
func (b *batch) recycle() batch {
	clear(b.hires) // drop references to the sent rows' strings
	clear(b.updates)
	clear(b.events)
	b.emp.b, b.emp.nrows = b.emp.b[:0], 0
	return batch{emp: b.emp, hires: b.hires[:0], updates: b.updates[:0], sources: b.sources[:0], events: b.events[:0], records: b.records[:0]}
}

// record encodes e's record into the batch's arena. A record's bytes are
// never changed after: when the arena grows, earlier records stay where
// they were.
func (b *batch) record(e *schema.Employee) []byte {
	start := len(b.records)
	b.records = codec.AppendRecord(b.records, e)
	return b.records[start:len(b.records):len(b.records)]
}

func (b *batch) full() bool {
	return len(b.hires) >= flushAt || len(b.updates) >= updateAt || len(b.sources) >= flushAt
}

// pendingEvent is an event other than a hire (hires are written in
// blocks, hireBlocks) waiting for the next COPY.
type pendingEvent struct {
	typ, subject string
	data         []byte
}

// wait blocks until the background batch, if any, is sent: every other
// use of the transaction waits first.
func (in *ingest) wait() error {
	if in.inflight == nil {
		return nil
	}
	err := <-in.inflight
	in.inflight = nil
	return err
}

// flushAsync hands the buffered batch to the background once it is full.
func (in *ingest) flushAsync(ctx context.Context) error {
	if !in.batch.full() {
		return nil
	}
	if err := in.wait(); err != nil {
		return err
	}
	// The last batch sent is done with: its arrays take the next rows.
	in.sent, in.batch = in.batch, in.sent.recycle()
	b := in.sent
	done := make(chan error, 1)
	in.inflight = done
	go func() { done <- in.send(ctx, b) }()
	return nil
}

// flush sends everything buffered and waits for it.
func (in *ingest) flush(ctx context.Context) error {
	if err := in.wait(); err != nil {
		return err
	}
	in.sent, in.batch = in.batch, in.sent.recycle()
	return in.send(ctx, in.sent)
}

// send writes a batch: updates first (their events join the batch's),
// then source hashes, then new employees and the events.
func (in *ingest) send(ctx context.Context, b batch) error {
	if err := in.sendUpdates(ctx, b.updates, &b.events); err != nil {
		return err
	}
	if err := in.sendSources(ctx, b.sources); err != nil {
		return err
	}
	return in.copy(ctx, &b)
}

// BeginIngest opens the apply transaction, serialises ingests of one tenant
// with an advisory lock, and claims the file's (connection, sha256) slot.
func (s *Store) BeginIngest(ctx context.Context, f *schema.File) (schema.Ingest, error) {
	tenant, ok := codec.ParseUUID(f.TenantID)
	if !ok {
		return nil, fmt.Errorf("tenant %q: %w", f.TenantID, schema.ErrNotFound)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write([]byte(f.TenantID))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		tx.Rollback(ctx) //nolint:errcheck
		return nil, err
	}
	prepareFile(f)
	f.Status = schema.FileProcessing
	if _, err := tx.Exec(ctx, insertFile, fileArgs(f)...); err != nil {
		tx.Rollback(ctx) //nolint:errcheck
		return nil, interpret(err)
	}
	return &ingest{s: s, tx: tx, file: f, now: now(), tenantKey: tenant}, nil
}

// Index streams the tenant's employees.
func (in *ingest) Index(ctx context.Context, fn func(schema.IndexEntry) error) error {
	rows, err := in.tx.Query(ctx, `SELECT external_id, encode(content_hash, 'hex'), coalesce(connection_id::text, ''), missing_from_snapshot, encode(source_hash, 'hex') FROM employees WHERE tenant_id = $1`, in.file.TenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var e schema.IndexEntry
	for rows.Next() {
		if err := rows.Scan(&e.ExternalID, &e.ContentHash, &e.ConnectionID, &e.Missing, &e.SourceHash); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// KeptIndex streams the tenant's kept change index.
func (in *ingest) KeptIndex(ctx context.Context, fn func([]byte) error) (bool, error) {
	if err := in.wait(); err != nil {
		return false, err
	}
	rows, err := in.tx.Query(ctx, `SELECT data FROM employee_index WHERE tenant_id = $1 ORDER BY chunk`, in.file.TenantID)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	found := false
	var chunk []byte
	for rows.Next() {
		found = true
		if err := rows.Scan(&chunk); err != nil {
			return found, err
		}
		if err := fn(chunk); err != nil {
			return found, err
		}
	}
	return found, rows.Err()
}

// KeepIndex replaces the tenant's kept change index, or adds chunks after
// it.
func (in *ingest) KeepIndex(ctx context.Context, chunks func(yield func([]byte) error) error, replace bool) error {
	if err := in.wait(); err != nil {
		return err
	}
	next := 0
	if replace {
		if _, err := in.tx.Exec(ctx, `DELETE FROM employee_index WHERE tenant_id = $1`, in.file.TenantID); err != nil {
			return interpret(err)
		}
	} else if err := in.tx.QueryRow(ctx, `SELECT coalesce(max(chunk) + 1, 0) FROM employee_index WHERE tenant_id = $1`, in.file.TenantID).Scan(&next); err != nil {
		return interpret(err)
	}
	// The chunks stream straight into one COPY through a pipe: each is
	// copied once, into the connection's buffer, while the next is made.
	pr, pw := io.Pipe()
	made := make(chan error, 1)
	go func() {
		var head copyBuf
		head.reset()
		n := next
		err := chunks(func(chunk []byte) error {
			head.b = binary.BigEndian.AppendUint16(head.b, 3) // fields
			head.text(in.file.TenantID)
			head.int4(int32(n))
			head.b = binary.BigEndian.AppendUint32(head.b, uint32(len(chunk)))
			n++
			if _, err := pw.Write(head.b); err != nil {
				return err
			}
			head.b = head.b[:0]
			_, err := pw.Write(chunk)
			return err
		})
		if err == nil {
			_, err = pw.Write(binary.BigEndian.AppendUint16(head.b, 0xffff))
		}
		pw.CloseWithError(err)
		made <- err
	}()
	_, err := in.tx.Conn().PgConn().CopyFrom(ctx, pr, "COPY employee_index (tenant_id, chunk, data) FROM STDIN (FORMAT binary)")
	pr.CloseWithError(io.ErrClosedPipe) // the writer stops if the COPY did first
	if merr := <-made; err == nil && merr != nil && merr != io.ErrClosedPipe {
		err = merr
	}
	if err != nil {
		err = fmt.Errorf("keep change index: %w", interpret(err))
	}
	in.kept = err == nil
	return err
}

// touch notes a write to employees: the kept index must be replaced or
// dropped.
func (in *ingest) touch() { in.wrote, in.kept = true, false }

// event buffers an event (on the caller's goroutine, after wait).
func (in *ingest) event(typ, subject string, data []byte) {
	in.batch.events = append(in.batch.events, pendingEvent{typ, subject, data})
	in.nEvents.Add(1)
}

// Events is the number of events written so far.
func (in *ingest) Events() int { return int(in.nEvents.Load()) }

// Insert buffers a new employee and its hire event.
func (in *ingest) Insert(ctx context.Context, e *schema.Employee, enc schema.Encoded) error {
	sealed, err := codec.SealSSN(in.s.box, e.SSN)
	if err != nil {
		return err
	}
	id, idKey := codec.NewKey()
	if in.connKey.id != e.ConnectionID || !in.connKey.ok {
		in.connKey.key, in.connKey.ok = codec.ParseUUID(e.ConnectionID)
		in.connKey.id = e.ConnectionID
		if !in.connKey.ok && e.ConnectionID != "" {
			return fmt.Errorf("employee %s: connection %q is not a UUID", e.ExternalID, e.ConnectionID)
		}
	}
	in.touch()
	b := &in.batch
	emp := &b.emp
	emp.row(16)
	emp.uuid(idKey)
	emp.uuid(in.tenantKey)
	emp.text(e.ExternalID)
	if in.connKey.ok {
		emp.uuid(in.connKey.key)
	} else {
		emp.null()
	}
	emp.text(e.EmploymentStatus)
	emp.text(e.EmploymentType)
	emp.text(e.Department)
	emp.text(e.Location)
	emp.text(e.HireDate)
	emp.text(e.TerminationDate)
	emp.hexBytes(enc.Hash)
	emp.appended(func(b []byte) []byte { return codec.AppendRecord(b, e) })
	emp.bytesOrNull(sealed)
	emp.time(in.now)
	emp.time(in.now)
	emp.hexBytes(enc.Source)
	b.hires = append(b.hires, hire{id, e.ExternalID, e.EmploymentStatus, e.ConnectionID})
	in.nEvents.Add(1) // its employee.hired, written in a block
	return in.flushAsync(ctx)
}

// Update buffers a changed employee.
func (in *ingest) Update(ctx context.Context, e *schema.Employee, enc schema.Encoded) error {
	p, err := codec.NewPending(in.s.box, e, enc, in.batch.record(e))
	if err != nil {
		return err
	}
	in.touch()
	in.batch.updates = append(in.batch.updates, p)
	return in.flushAsync(ctx)
}

const (
	// missing_from_snapshot is left to its default (false) for a new
	// employee: one column fewer for the server to read per row.
	employeeColumns = `id, tenant_id, external_id, connection_id, employment_status, employment_type, department, location, hire_date,
termination_date, content_hash, record, ssn_sealed, created_at, updated_at, source_hash`
	eventColumns = "id, tenant_id, type, subject, data, file_id, occurred_at, n, hires"
)

// SetSource buffers a source hash for an unchanged employee.
func (in *ingest) SetSource(ctx context.Context, externalID, source string) error {
	in.touch()
	in.batch.sources = append(in.batch.sources, [2]string{externalID, source})
	return in.flushAsync(ctx)
}

// sendSources sets source hashes in one statement.
func (in *ingest) sendSources(ctx context.Context, sources [][2]string) error {
	if len(sources) == 0 {
		return nil
	}
	ids, sums := make([]string, len(sources)), make([]string, len(sources))
	for i, s := range sources {
		ids[i], sums[i] = s[0], s[1]
	}
	_, err := in.tx.Exec(ctx, `UPDATE employees e SET source_hash = decode(s.sum, 'hex') FROM unnest($2::text[], $3::text[]) AS s(ext, sum)
WHERE e.tenant_id = $1 AND e.external_id = s.ext`, in.file.TenantID, ids, sums)
	if err != nil {
		return fmt.Errorf("set source hashes: %w", interpret(err))
	}
	return nil
}

// copy sends the batch's new employees, their hire events (in blocks)
// and the other buffered events with COPY.
func (in *ingest) copy(ctx context.Context, b *batch) error {
	ev := &in.evBuf
	in.hireBlocks(ev, b.hires)
	for i := range b.events {
		e := &b.events[i]
		in.eventRow(ev, e.typ, e.subject, func(b []byte) []byte { return append(b, e.data...) })
	}
	if err := b.emp.send(ctx, in.tx, "employees", employeeColumns); err != nil {
		return err
	}
	return ev.send(ctx, in.tx, "events", eventColumns)
}

func (in *ingest) eventRow(ev *copyBuf, typ, subject string, data func([]byte) []byte) {
	ev.row(9)
	ev.text(codec.NewID())
	ev.text(in.file.TenantID)
	ev.text(typ)
	ev.text(subject)
	ev.appended(data)
	ev.text(in.file.ID)
	ev.time(in.now)
	ev.int4(1)
	ev.null()
}

// hireBlocks writes the employee.hired events of new employees as blocks
// of hires (events.go), one per hireBlock hires of one connection.
func (in *ingest) hireBlocks(ev *copyBuf, rows []hire) {
	for len(rows) > 0 {
		n := 1
		for n < len(rows) && n < hireBlock && rows[n].connectionID == rows[0].connectionID {
			n++
		}
		ev.row(9)
		ev.text(hireBlockID())
		ev.text(in.file.TenantID)
		ev.text("employee.hired")
		ev.text("")
		ev.text("")
		ev.text(in.file.ID)
		ev.time(in.now)
		ev.int4(int32(n))
		ev.appended(func(b []byte) []byte {
			b = appendHireHeader(b, rows[0].connectionID)
			for i := range rows[:n] {
				b = appendHire(b, rows[i].id, rows[i].externalID, rows[i].status)
			}
			return b
		})
		rows = rows[n:]
	}
}

const updateEmployees = `UPDATE employees e SET connection_id = nullif(u.conn, '')::uuid, employment_status = u.status, employment_type = u.type,
department = u.dept, location = u.loc, hire_date = u.hire, termination_date = u.term, missing_from_snapshot = false,
content_hash = decode(u.hash, 'hex'), data = NULL, record = u.record, ssn_sealed = u.ssn, updated_at = $2, source_hash = decode(u.source, 'hex')
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bytea[], $13::bytea[], $14::text[])
  AS u(ext, conn, status, type, dept, loc, hire, term, hash, record, ssn, source)
WHERE e.tenant_id = $1 AND e.external_id = u.ext`

// sendUpdates reads the old rows of changed employees, adds their change
// events to events and updates them in one statement. The old rows are
// read without FOR UPDATE: the tenant's advisory lock, held by the
// transaction, already keeps every other writer of its employees out.
func (in *ingest) sendUpdates(ctx context.Context, updates []codec.Pending, events *[]pendingEvent) error {
	if len(updates) == 0 {
		return nil
	}
	ids := make([]string, len(updates))
	for i := range updates {
		ids[i] = updates[i].ExternalID
	}
	rows, _ := in.tx.Query(ctx, selectEmployee+` WHERE tenant_id = $1 AND external_id = ANY($2)`, in.file.TenantID, ids)
	olds, err := pgx.CollectRows(rows, in.s.scanEmployee)
	if err != nil {
		return fmt.Errorf("load changed employees: %w", err)
	}
	byExt := make(map[string]*schema.Employee, len(olds))
	for i := range olds {
		byExt[olds[i].ExternalID] = &olds[i]
	}
	n := len(updates)
	exts, conns, statuses, types, depts, locs := make([]string, n), make([]*string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	hires, terms, hashes, sources := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	records, ssns := make([][]byte, n), make([][]byte, n)
	for i := range updates {
		p := &updates[i]
		old, ok := byExt[p.ExternalID]
		if !ok {
			return fmt.Errorf("update employee %s: %w", p.ExternalID, schema.ErrNotFound)
		}
		for _, ev := range codec.UpdateEvents(old, old.ID, p) {
			*events = append(*events, pendingEvent{ev.Type, ev.Subject, ev.Data})
			in.nEvents.Add(1)
		}
		exts[i], statuses[i], types[i], depts[i], locs[i] = p.ExternalID, p.Status, p.Type, p.Department, p.Location
		hires[i], terms[i], hashes[i], records[i], sources[i], ssns[i] = p.HireDate, p.TerminationDate, p.Hash, p.Data, p.Source, p.SSNSealed
		if p.ConnectionID != "" {
			conns[i] = &p.ConnectionID
		}
	}
	// One set-based statement for the whole flush.
	_, err = in.tx.Exec(ctx, updateEmployees, in.file.TenantID, in.now, exts, conns, statuses, types, depts, locs, hires, terms, hashes, records, ssns, sources)
	if err != nil {
		return fmt.Errorf("update employees: %w", interpret(err))
	}
	return nil
}

// MarkMissing flags or terminates employees absent from a full snapshot.
func (in *ingest) MarkMissing(ctx context.Context, externalIDs []string, terminate bool, date string) error {
	if err := in.flush(ctx); err != nil {
		return err
	}
	if len(externalIDs) == 0 {
		return nil
	}
	in.touch()
	q := `UPDATE employees SET missing_from_snapshot = true, updated_at = $3
WHERE tenant_id = $1 AND external_id = ANY($2) AND NOT missing_from_snapshot
RETURNING id, external_id, coalesce(connection_id::text, ''), employment_status`
	typ := "employee.missing_from_snapshot"
	args := []any{in.file.TenantID, externalIDs, in.now}
	if terminate {
		q = `UPDATE employees SET missing_from_snapshot = true, updated_at = $3, employment_status = 'terminated',
termination_date = $4, content_hash = ''::bytea
WHERE tenant_id = $1 AND external_id = ANY($2) AND NOT missing_from_snapshot
RETURNING id, external_id, coalesce(connection_id::text, ''), employment_status`
		typ = "employee.terminated"
		args = append(args, date)
	}
	rows, err := in.tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	var id, ext, conn, status string
	_, err = pgx.ForEachRow(rows, []any{&id, &ext, &conn, &status}, func() error {
		in.event(typ, id, codec.EventData(id, ext, conn, status, []string{"missing_from_snapshot"}))
		return nil
	})
	if err != nil {
		return err
	}
	return in.flush(ctx)
}

// PutRecordError keeps one rejected row.
func (in *ingest) PutRecordError(ctx context.Context, re schema.RecordError) error {
	if err := in.wait(); err != nil {
		return err
	}
	return interpret(putRecordError(ctx, in.tx, in.file, re))
}

// Commit flushes, stores the file's outcome and commits everything.
func (in *ingest) Commit(ctx context.Context, f *schema.File) error {
	if err := in.flush(ctx); err != nil {
		in.tx.Rollback(ctx) //nolint:errcheck
		return err
	}
	if _, err := in.tx.Exec(ctx, updateFile, fileUpdateArgs(f)...); err != nil {
		in.tx.Rollback(ctx) //nolint:errcheck
		return interpret(err)
	}
	if in.wrote && !in.kept {
		if _, err := in.tx.Exec(ctx, `DELETE FROM employee_index WHERE tenant_id = $1`, in.file.TenantID); err != nil {
			in.tx.Rollback(ctx) //nolint:errcheck
			return interpret(err)
		}
	}
	// A large load leaves the planner's statistics behind until autovacuum
	// catches up, and the next file's lookups of changed employees would
	// then scan the whole table: refresh them now, from a small sample
	// (3,000 rows at target 10, instead of 30,000: 0.07 s instead of 0.8 s
	// after a million-row load). That is plenty to know the table's size
	// and keep those lookups on the index; autovacuum's own ANALYZE
	// brings the full statistics later.
	if f.Created >= analyzeAfter {
		if _, err := in.tx.Exec(ctx, `SET LOCAL default_statistics_target = 10; ANALYZE employees`); err != nil {
			in.tx.Rollback(ctx) //nolint:errcheck
			return interpret(err)
		}
	}
	return in.tx.Commit(ctx)
}

// analyzeAfter is how many new employees in one file make Commit refresh
// the table's statistics.
const analyzeAfter = 50_000

// Rollback discards the transaction.
func (in *ingest) Rollback(ctx context.Context) error {
	in.wait() //nolint:errcheck // rolling back anyway
	return in.tx.Rollback(ctx)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
