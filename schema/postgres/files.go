package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema"
)

const fileColumns = `id, tenant_id, connection_id, name, sha256, size, layout, status, rows, valid, invalid,
created, updated, unchanged, detail, received_at, applied_at, remote, mapped, read_as`

const insertFile = `INSERT INTO files (` + fileColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`

func fileArgs(f *schema.File) []any {
	return []any{f.ID, f.TenantID, f.ConnectionID, f.Name, f.SHA256, f.Size, f.Layout, f.Status, f.Rows, f.Valid, f.Invalid,
		f.Created, f.Updated, f.Unchanged, f.Detail, f.ReceivedAt, f.AppliedAt, f.Remote, f.Mapped, f.ReadAs}
}

func prepareFile(f *schema.File) {
	if f.ID == "" {
		f.ID = schema.NewID()
	}
	if f.ReceivedAt.IsZero() {
		f.ReceivedAt = now()
	}
}

// RecordFile stores a file that was not applied, with its record errors.
func (s *Store) RecordFile(ctx context.Context, f *schema.File, errs []schema.RecordError) error {
	prepareFile(f)
	return interpret(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertFile, fileArgs(f)...); err != nil {
			return err
		}
		for _, re := range errs {
			if err := putRecordError(ctx, tx, f, re); err != nil {
				return err
			}
		}
		return nil
	}))
}

const insertRecordError = `INSERT INTO record_errors (tenant_id, file_id, line, record_id, field, code, message)
VALUES ($1, $2, $3, $4, $5, $6, $7)`

func putRecordError(ctx context.Context, tx pgx.Tx, f *schema.File, re schema.RecordError) error {
	_, err := tx.Exec(ctx, insertRecordError, f.TenantID, f.ID, re.Line, re.RecordID, re.Field, re.Code, re.Message)
	return err
}

const updateFile = `UPDATE files SET status = $2, rows = $3, valid = $4, invalid = $5, created = $6, updated = $7,
unchanged = $8, detail = $9, applied_at = $10 WHERE id = $1`

func fileUpdateArgs(f *schema.File) []any {
	return []any{f.ID, f.Status, f.Rows, f.Valid, f.Invalid, f.Created, f.Updated, f.Unchanged, f.Detail, f.AppliedAt}
}

// FileBySHA256 finds the applied (or held, or in-progress) file of a
// connection with the given content hash.
func (s *Store) FileBySHA256(ctx context.Context, connectionID, sha string) (schema.File, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+fileColumns+` FROM files WHERE connection_id = $1 AND sha256 = $2
AND status IN ('processing', 'applied', 'applied_with_errors', 'held')`, connectionID, sha)
	f, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[schema.File])
	return f, interpret(err)
}

// File returns one of a tenant's files.
func (s *Store) File(ctx context.Context, tenantID, id string) (schema.File, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+fileColumns+` FROM files WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	f, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[schema.File])
	return f, interpret(err)
}

// SetFileStatus moves a file between statuses.
func (s *Store) SetFileStatus(ctx context.Context, tenantID, id, from, to, detail string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE files SET status = $4, detail = $5 WHERE tenant_id = $1 AND id = $2 AND status = $3`, tenantID, id, from, to, detail)
	if err == nil && tag.RowsAffected() == 0 {
		return schema.ErrNotFound
	}
	return interpret(err)
}

// Files lists a tenant's newest files.
func (s *Store) Files(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.File, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+fileColumns+` FROM files WHERE tenant_id = $1 AND ($2 = '' OR id < $2)
AND ($4 = '' OR connection_id = $4) ORDER BY id DESC LIMIT $3`, tenantID, q.Cursor, q.Limit, q.ConnectionID)
	fs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[schema.File])
	return fs, interpret(err)
}

// RecordErrors lists a file's rejected rows in line order.
func (s *Store) RecordErrors(ctx context.Context, tenantID, fileID string) ([]schema.RecordError, error) {
	rows, _ := s.pool.Query(ctx, `SELECT file_id, line, record_id, field, code, message FROM record_errors
WHERE tenant_id = $1 AND file_id = $2 ORDER BY line, id`, tenantID, fileID)
	es, err := pgx.CollectRows(rows, pgx.RowToStructByPos[schema.RecordError])
	return es, interpret(err)
}

const syncRunColumns = `id, tenant_id, connection_id, trigger, status, files, rows, error, error_code, started_at, finished_at, job_id, attempt, scheduled_for, file_id`

func scanSyncRun(row pgx.CollectableRow) (schema.SyncRun, error) {
	var r schema.SyncRun
	var job *int64
	err := row.Scan(&r.ID, &r.TenantID, &r.ConnectionID, &r.Trigger, &r.Status, &r.Files, &r.Rows, &r.Error, &r.ErrorCode, &r.StartedAt, &r.FinishedAt,
		&job, &r.Attempt, &r.ScheduledFor, &r.FileID)
	if job != nil {
		r.JobID = *job
	}
	return r, err
}

func jobID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// QueueSyncRun records a job's run before a worker takes it.
func (s *Store) QueueSyncRun(ctx context.Context, r *schema.SyncRun) error {
	r.ID, r.StartedAt, r.Status = schema.NewID(), now(), schema.RunQueued
	rows, _ := s.pool.Query(ctx, `WITH ins AS (
INSERT INTO sync_runs (`+syncRunColumns+`) VALUES ($1, $2, $3, $4, $5, 0, 0, '', '', $6, NULL, $7, 0, $8, $9)
ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO NOTHING RETURNING `+syncRunColumns+`)
SELECT * FROM ins UNION ALL SELECT `+syncRunColumns+` FROM sync_runs WHERE job_id = $7 AND NOT EXISTS (SELECT 1 FROM ins)`,
		r.ID, r.TenantID, r.ConnectionID, r.Trigger, r.Status, r.StartedAt, jobID(r.JobID), r.ScheduledFor, r.FileID)
	got, err := pgx.CollectExactlyOneRow(rows, scanSyncRun)
	if errors.Is(err, pgx.ErrNoRows) {
		// A worker's run for the job committed while the statement ran:
		// the insert saw the conflict, but the statement's snapshot does
		// not see the row. A new statement does.
		rows, _ = s.pool.Query(ctx, `SELECT `+syncRunColumns+` FROM sync_runs WHERE job_id = $1`, jobID(r.JobID))
		got, err = pgx.CollectExactlyOneRow(rows, scanSyncRun)
	}
	if err == nil {
		*r = got
	}
	return interpret(err)
}

// StartSyncRun records a run as running; a job's later attempt takes its
// row over.
func (s *Store) StartSyncRun(ctx context.Context, r *schema.SyncRun) error {
	r.ID, r.StartedAt, r.Status, r.FinishedAt = schema.NewID(), now(), schema.RunRunning, nil
	rows, _ := s.pool.Query(ctx, `INSERT INTO sync_runs (`+syncRunColumns+`) VALUES ($1, $2, $3, $4, $5, 0, 0, '', '', $6, NULL, $7, $8, $9, $10)
ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO UPDATE SET status = excluded.status, attempt = excluded.attempt, started_at = excluded.started_at,
finished_at = NULL RETURNING id`, r.ID, r.TenantID, r.ConnectionID, r.Trigger, r.Status, r.StartedAt, jobID(r.JobID), r.Attempt, r.ScheduledFor, r.FileID)
	id, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
	r.ID = id
	return interpret(err)
}

// FinishSyncRun stores a run's outcome.
func (s *Store) FinishSyncRun(ctx context.Context, r *schema.SyncRun) error {
	t := now()
	r.FinishedAt = &t
	if r.Status == schema.RunQueued { // deferred: it runs again
		r.FinishedAt = nil
	}
	_, err := s.pool.Exec(ctx, `UPDATE sync_runs SET status = $2, files = $3, rows = $4, error = $5, error_code = $6, finished_at = $7 WHERE id = $1`,
		r.ID, r.Status, r.Files, r.Rows, r.Error, r.ErrorCode, r.FinishedAt)
	return interpret(err)
}

// SyncRun returns one of a tenant's runs.
func (s *Store) SyncRun(ctx context.Context, tenantID, id string) (schema.SyncRun, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+syncRunColumns+` FROM sync_runs WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	r, err := pgx.CollectExactlyOneRow(rows, scanSyncRun)
	return r, interpret(err)
}

// SyncRuns lists a tenant's newest runs.
func (s *Store) SyncRuns(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.SyncRun, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+syncRunColumns+` FROM sync_runs WHERE tenant_id = $1 AND ($2 = '' OR id < $2)
AND ($4 = '' OR connection_id = $4) ORDER BY id DESC LIMIT $3`, tenantID, q.Cursor, q.Limit, q.ConnectionID)
	rs, err := pgx.CollectRows(rows, scanSyncRun)
	return rs, interpret(err)
}

// SeenRemote reports whether a remote file was received before.
func (s *Store) SeenRemote(ctx context.Context, connectionID, remote string) (bool, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM files WHERE connection_id = $1 AND remote = $2
AND status IN ('applied', 'applied_with_errors', 'duplicate', 'held', 'released', 'replayed')`, connectionID, remote).Scan(&n)
	return n > 0, interpret(err)
}
