package sqlite

import (
	"context"
	"database/sql"

	"github.com/hrisbridge/hrisbridge/schema"
)

const fileColumns = `id, tenant_id, connection_id, name, sha256, size, layout, status, rows, valid, invalid,
created, updated, unchanged, detail, received_at, applied_at, remote, mapped, read_as`

const insertFile = `INSERT INTO files (` + fileColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func fileArgs(f *schema.File) []any {
	return []any{f.ID, f.TenantID, f.ConnectionID, f.Name, f.SHA256, f.Size, f.Layout, f.Status, f.Rows, f.Valid, f.Invalid,
		f.Created, f.Updated, f.Unchanged, f.Detail, ts(f.ReceivedAt), tsPtr(f.AppliedAt), f.Remote, f.Mapped, f.ReadAs}
}

func scanFile(row scanner) (schema.File, error) {
	var f schema.File
	err := row.Scan(&f.ID, &f.TenantID, &f.ConnectionID, &f.Name, &f.SHA256, &f.Size, &f.Layout, &f.Status, &f.Rows, &f.Valid, &f.Invalid,
		&f.Created, &f.Updated, &f.Unchanged, &f.Detail, timeCol{&f.ReceivedAt}, nullTimeCol{&f.AppliedAt}, &f.Remote, &f.Mapped, &f.ReadAs)
	return f, err
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
	return interpret(s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertFile, fileArgs(f)...); err != nil {
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

func putRecordError(ctx context.Context, tx *sql.Tx, f *schema.File, re schema.RecordError) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO record_errors (tenant_id, file_id, line, record_id, field, code, message)
VALUES (?, ?, ?, ?, ?, ?, ?)`, f.TenantID, f.ID, re.Line, re.RecordID, re.Field, re.Code, re.Message)
	return err
}

const updateFile = `UPDATE files SET status = ?, rows = ?, valid = ?, invalid = ?, created = ?, updated = ?,
unchanged = ?, detail = ?, applied_at = ? WHERE id = ?`

func fileUpdateArgs(f *schema.File) []any {
	return []any{f.Status, f.Rows, f.Valid, f.Invalid, f.Created, f.Updated, f.Unchanged, f.Detail, tsPtr(f.AppliedAt), f.ID}
}

// FileBySHA256 finds the applied (or held, or in-progress) file of a
// connection with the given content hash.
func (s *Store) FileBySHA256(ctx context.Context, connectionID, sha string) (schema.File, error) {
	f, err := scanFile(s.db.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE connection_id = ? AND sha256 = ?
AND status IN ('processing', 'applied', 'applied_with_errors', 'held')`, connectionID, sha))
	return f, interpret(err)
}

// File returns one of a tenant's files.
func (s *Store) File(ctx context.Context, tenantID, id string) (schema.File, error) {
	f, err := scanFile(s.db.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return f, interpret(err)
}

// SetFileStatus moves a file between statuses.
func (s *Store) SetFileStatus(ctx context.Context, tenantID, id, from, to, detail string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE files SET status = ?, detail = ? WHERE tenant_id = ? AND id = ? AND status = ?`, to, detail, tenantID, id, from)
	if err != nil {
		return interpret(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return schema.ErrNotFound
	}
	return nil
}

// Files lists a tenant's newest files.
func (s *Store) Files(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.File, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+fileColumns+` FROM files WHERE tenant_id = ?1 AND (?2 = '' OR id < ?2)
AND (?4 = '' OR connection_id = ?4) ORDER BY id DESC LIMIT ?3`, tenantID, q.Cursor, q.Limit, q.ConnectionID)
	return collectRows(rows, err, scanFile)
}

// RecordErrors lists a file's rejected rows in line order.
func (s *Store) RecordErrors(ctx context.Context, tenantID, fileID string) ([]schema.RecordError, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT file_id, line, record_id, field, code, message FROM record_errors
WHERE tenant_id = ? AND file_id = ? ORDER BY line, id`, tenantID, fileID)
	return collectRows(rows, err, func(r scanner) (schema.RecordError, error) {
		var e schema.RecordError
		err := r.Scan(&e.FileID, &e.Line, &e.RecordID, &e.Field, &e.Code, &e.Message)
		return e, err
	})
}

const syncRunColumns = `id, tenant_id, connection_id, trigger, status, files, rows, error, error_code, started_at, finished_at, job_id, attempt, scheduled_for, file_id`

func scanSyncRun(row scanner) (schema.SyncRun, error) {
	var r schema.SyncRun
	var job sql.NullInt64
	err := row.Scan(&r.ID, &r.TenantID, &r.ConnectionID, &r.Trigger, &r.Status, &r.Files, &r.Rows, &r.Error, &r.ErrorCode, timeCol{&r.StartedAt}, nullTimeCol{&r.FinishedAt},
		&job, &r.Attempt, nullTimeCol{&r.ScheduledFor}, &r.FileID)
	r.JobID = job.Int64
	return r, err
}

func jobID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// QueueSyncRun records a job's run before a worker takes it.
func (s *Store) QueueSyncRun(ctx context.Context, r *schema.SyncRun) error {
	r.ID, r.StartedAt, r.Status = schema.NewID(), now(), schema.RunQueued
	if _, err := s.db.ExecContext(ctx, `INSERT INTO sync_runs (`+syncRunColumns+`) VALUES (?, ?, ?, ?, ?, 0, 0, '', '', ?, NULL, ?, 0, ?, ?)
ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO NOTHING`, r.ID, r.TenantID, r.ConnectionID, r.Trigger, r.Status, ts(r.StartedAt), jobID(r.JobID), tsPtr(r.ScheduledFor), r.FileID); err != nil {
		return interpret(err)
	}
	if r.JobID == 0 {
		return nil
	}
	got, err := scanSyncRun(s.db.QueryRowContext(ctx, `SELECT `+syncRunColumns+` FROM sync_runs WHERE job_id = ?`, r.JobID))
	if err == nil {
		*r = got
	}
	return interpret(err)
}

// StartSyncRun records a run as running; a job's later attempt takes its
// row over.
func (s *Store) StartSyncRun(ctx context.Context, r *schema.SyncRun) error {
	r.ID, r.StartedAt, r.Status, r.FinishedAt = schema.NewID(), now(), schema.RunRunning, nil
	err := s.db.QueryRowContext(ctx, `INSERT INTO sync_runs (`+syncRunColumns+`) VALUES (?, ?, ?, ?, ?, 0, 0, '', '', ?, NULL, ?, ?, ?, ?)
ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO UPDATE SET status = excluded.status, attempt = excluded.attempt, started_at = excluded.started_at,
finished_at = NULL RETURNING id`, r.ID, r.TenantID, r.ConnectionID, r.Trigger, r.Status, ts(r.StartedAt), jobID(r.JobID), r.Attempt, tsPtr(r.ScheduledFor), r.FileID).Scan(&r.ID)
	return interpret(err)
}

// FinishSyncRun stores a run's outcome.
func (s *Store) FinishSyncRun(ctx context.Context, r *schema.SyncRun) error {
	t := now()
	r.FinishedAt = &t
	if r.Status == schema.RunQueued { // deferred: it runs again
		r.FinishedAt = nil
	}
	_, err := s.db.ExecContext(ctx, `UPDATE sync_runs SET status = ?, files = ?, rows = ?, error = ?, error_code = ?, finished_at = ? WHERE id = ?`,
		r.Status, r.Files, r.Rows, r.Error, r.ErrorCode, tsPtr(r.FinishedAt), r.ID)
	return interpret(err)
}

// SyncRun returns one of a tenant's runs.
func (s *Store) SyncRun(ctx context.Context, tenantID, id string) (schema.SyncRun, error) {
	r, err := scanSyncRun(s.db.QueryRowContext(ctx, `SELECT `+syncRunColumns+` FROM sync_runs WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return r, interpret(err)
}

// SyncRuns lists a tenant's newest runs.
func (s *Store) SyncRuns(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.SyncRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+syncRunColumns+` FROM sync_runs WHERE tenant_id = ?1 AND (?2 = '' OR id < ?2)
AND (?4 = '' OR connection_id = ?4) ORDER BY id DESC LIMIT ?3`, tenantID, q.Cursor, q.Limit, q.ConnectionID)
	return collectRows(rows, err, scanSyncRun)
}

// SeenRemote reports whether a remote file was received before.
func (s *Store) SeenRemote(ctx context.Context, connectionID, remote string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM files WHERE connection_id = ? AND remote = ?
AND status IN ('applied', 'applied_with_errors', 'duplicate', 'held', 'released', 'replayed')`, connectionID, remote).Scan(&n)
	return n > 0, interpret(err)
}
