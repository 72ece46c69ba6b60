package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/internal/storeutil"
)

// copyAt is how many new employees go to the server in one COPY.
const copyAt = 5000

// ingest is one file's apply transaction. New employees go out with COPY
// in the background, one batch in flight while the caller parses the
// next: the caller's CPU and the server's overlap, which is most of what
// keeps a first load within reach of a plain COPY of the file. Every
// other statement waits for that batch first.
type ingest struct {
	s        *Store
	tx       pgx.Tx
	file     *schema.File
	now      time.Time
	seq      int64      // the tenant's last event seq
	gen      int64      // Generation
	rows     copyRows   // new employees waiting
	sent     copyRows   // the batch in flight: its buffer is reused
	inflight chan error // the background batch's outcome, nil when none
}

// tenantLock is the SQL that serialises a tenant's writers of employees
// and events ($1 the tenant id) until the transaction ends.
const tenantLock = `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`

// BeginIngest opens the apply transaction, serialises the tenant's
// writers with an advisory lock, and claims the file's (connection,
// sha256) slot.
func (s *Store) BeginIngest(ctx context.Context, f *schema.File) (schema.Ingest, error) {
	if !schema.ValidID(f.TenantID) {
		return nil, fmt.Errorf("tenant %q: %w", f.TenantID, schema.ErrNotFound)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	in := &ingest{s: s, tx: tx, file: f, now: now()}
	if err := in.begin(ctx); err != nil {
		tx.Rollback(ctx) //nolint:errcheck
		return nil, err
	}
	return in, nil
}

func (in *ingest) begin(ctx context.Context) error {
	if _, err := in.tx.Exec(ctx, tenantLock, in.file.TenantID); err != nil {
		return err
	}
	if err := in.tx.QueryRow(ctx, lastSeq, in.file.TenantID).Scan(&in.seq); err != nil {
		return err
	}
	if err := in.tx.QueryRow(ctx, `UPDATE tenants SET ingests = ingests + 1 WHERE id = $1 RETURNING ingests`, in.file.TenantID).Scan(&in.gen); err != nil {
		return interpret(err)
	}
	prepareFile(in.file)
	in.file.Status = schema.FileProcessing
	_, err := in.tx.Exec(ctx, insertFile, fileArgs(in.file)...)
	return interpret(err)
}

// Generation numbers the tenant's ingests.
func (in *ingest) Generation() int64 { return in.gen }

// wait blocks until the background batch, if any, is sent.
func (in *ingest) wait() error {
	if in.inflight == nil {
		return nil
	}
	err := <-in.inflight
	in.inflight = nil
	return err
}

// flush sends every buffered new employee and waits for it.
func (in *ingest) flush(ctx context.Context) error {
	if err := in.wait(); err != nil {
		return err
	}
	return in.rows.send(ctx, in.tx, "employees", storeutil.EmployeeColumns)
}

// Baseline reports whether the connection has no applied file yet.
func (in *ingest) Baseline(ctx context.Context, kind string) (bool, error) {
	if err := in.flush(ctx); err != nil {
		return false, err
	}
	var applied bool
	err := in.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE connection_id = $1 AND id <> $2
AND status IN ('applied', 'applied_with_errors', 'replayed') AND ($3 = '' OR layout IN ($3, $3 || '/delta')))`, in.file.ConnectionID, in.file.ID, kind).Scan(&applied)
	return !applied, interpret(err)
}

// EmployeeIndex streams the tenant's employees.
func (in *ingest) EmployeeIndex(ctx context.Context, size func(int), fn func(schema.IndexEntry) error) error {
	if err := in.flush(ctx); err != nil {
		return err
	}
	var n int
	if err := in.tx.QueryRow(ctx, `SELECT count(*) FROM employees WHERE tenant_id = $1`, in.file.TenantID).Scan(&n); err != nil {
		return err
	}
	size(n)
	rows, _ := in.tx.Query(ctx, `SELECT external_id, content_hash, source_hash, connection_id IS NOT DISTINCT FROM $2::uuid, missing_from_snapshot
FROM employees WHERE tenant_id = $1`, in.file.TenantID, idParam(in.file.ConnectionID, nilUUID))
	var e schema.IndexEntry
	var hash, source int64
	_, err := pgx.ForEachRow(rows, []any{&e.ExternalID, &hash, &source, &e.SameConnection, &e.Missing}, func() error {
		e.Hash, e.SourceHash = uint64(hash), uint64(source)
		return fn(e)
	})
	return interpret(err)
}

// EmployeesByExternalID loads stored employees.
func (in *ingest) EmployeesByExternalID(ctx context.Context, ids []string) ([]schema.Employee, error) {
	if err := in.flush(ctx); err != nil {
		return nil, err
	}
	rows, _ := in.tx.Query(ctx, selectEmployee+` WHERE tenant_id = $1 AND external_id = ANY($2)`, in.file.TenantID, ids)
	es, err := pgx.CollectRows(rows, in.s.scanEmployee)
	return es, interpret(err)
}

// InsertEmployees buffers new employees, sending a full batch in the
// background.
func (in *ingest) InsertEmployees(ctx context.Context, es []*schema.Employee) error {
	for _, e := range es {
		if err := in.s.writeEmployee(&in.rows, e, in.now); err != nil {
			return err
		}
	}
	if in.rows.n < copyAt {
		return nil
	}
	if err := in.wait(); err != nil {
		return err
	}
	in.rows, in.sent = in.sent, in.rows
	in.rows.b, in.rows.n = in.rows.b[:0], 0
	done := make(chan error, 1)
	in.inflight = done
	go func() { done <- in.sent.send(ctx, in.tx, "employees", storeutil.EmployeeColumns) }()
	return nil
}

// UpdateEmployees copies the changed employees into a temporary table and
// updates them from it in one statement.
func (in *ingest) UpdateEmployees(ctx context.Context, es []*schema.Employee) error {
	if len(es) == 0 {
		return nil
	}
	if err := in.flush(ctx); err != nil {
		return err
	}
	if _, err := in.tx.Exec(ctx, `CREATE TEMPORARY TABLE IF NOT EXISTS employee_updates ON COMMIT DROP AS TABLE employees WITH NO DATA;
TRUNCATE employee_updates`); err != nil {
		return err
	}
	var c copyRows
	for _, e := range es {
		if err := in.s.writeEmployee(&c, e, in.now); err != nil {
			return err
		}
	}
	if err := c.send(ctx, in.tx, "employee_updates", storeutil.EmployeeColumns); err != nil {
		return err
	}
	tag, err := in.tx.Exec(ctx, updateEmployees, in.file.TenantID, in.now)
	if err != nil {
		return fmt.Errorf("update employees: %w", interpret(err))
	}
	if int(tag.RowsAffected()) != len(es) {
		return fmt.Errorf("update employees: %d of %d found: %w", tag.RowsAffected(), len(es), schema.ErrNotFound)
	}
	return nil
}

// updateEmployees sets every column an update replaces from the
// employee_updates row of the same external id, and updated_at to $2.
var updateEmployees = func() string {
	var set []string
	for _, c := range strings.Split(storeutil.EmployeeColumns, ",") {
		switch c = strings.TrimSpace(c); c {
		case "tenant_id", "id", "external_id", "created_at", "updated_at":
		default:
			set = append(set, c+" = u."+c)
		}
	}
	return `UPDATE employees e SET ` + strings.Join(set, ", ") + `, updated_at = $2
FROM employee_updates u WHERE e.tenant_id = $1 AND e.external_id = u.external_id`
}()

// SetSourceHashes sets source hashes in one statement.
func (in *ingest) SetSourceHashes(ctx context.Context, ids []string, sources []uint64) error {
	if len(ids) == 0 {
		return nil
	}
	if err := in.flush(ctx); err != nil {
		return err
	}
	sums := make([]int64, len(sources))
	for i, s := range sources {
		sums[i] = int64(s)
	}
	_, err := in.tx.Exec(ctx, `UPDATE employees e SET source_hash = s.sum FROM unnest($2::text[], $3::bigint[]) AS s(ext, sum)
WHERE e.tenant_id = $1 AND e.external_id = s.ext`, in.file.TenantID, ids, sums)
	if err != nil {
		return fmt.Errorf("set source hashes: %w", interpret(err))
	}
	return nil
}

// AppendEvents numbers events after the tenant's last and copies them in.
func (in *ingest) AppendEvents(ctx context.Context, es []schema.Event) error {
	if err := in.flush(ctx); err != nil {
		return err
	}
	var c copyRows
	for i := range es {
		e := &es[i]
		in.seq++
		e.Seq, e.TenantID, e.FileID, e.OccurredAt = in.seq, in.file.TenantID, in.file.ID, in.now
		writeEvent(&c, e)
	}
	return c.send(ctx, in.tx, "events", eventColumns)
}

// PutRecordError keeps one rejected row.
func (in *ingest) PutRecordError(ctx context.Context, re schema.RecordError) error {
	if err := in.flush(ctx); err != nil {
		return err
	}
	return interpret(putRecordError(ctx, in.tx, in.file, re))
}

// Commit flushes, stores the file's outcome and commits everything.
func (in *ingest) Commit(ctx context.Context, f *schema.File) error {
	err := in.flush(ctx)
	if err == nil {
		_, err = in.tx.Exec(ctx, updateFile, fileUpdateArgs(f)...)
	}
	// A large load leaves the planner's statistics behind until
	// autovacuum catches up, and the next file's lookups of changed
	// employees would scan the whole table: refresh them now, from a
	// small sample (statistics target 10).
	if err == nil && f.Created >= analyzeAfter {
		_, err = in.tx.Exec(ctx, `SET LOCAL default_statistics_target = 10; ANALYZE employees`)
	}
	if err != nil {
		in.tx.Rollback(ctx) //nolint:errcheck
		return interpret(err)
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

// EmployeeID resolves an employee's external id.
func (in *ingest) EmployeeID(ctx context.Context, ext string) (string, error) {
	if err := in.flush(ctx); err != nil {
		return "", err
	}
	var id string
	err := in.tx.QueryRow(ctx, `SELECT id::text FROM employees WHERE tenant_id = $1 AND external_id = $2`, in.file.TenantID, ext).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%s: %w", ext, schema.ErrNoEmployee)
	}
	return id, err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
