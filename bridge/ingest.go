package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema"
)

// Result is the outcome of ingesting one file.
type Result struct {
	File schema.File `json:"file"`
}

// maxKeptErrors bounds the record errors kept in memory for a file that is
// rejected (and so rolled back) so they can still be stored with it.
const maxKeptErrors = 1000

// IngestReader spools r and ingests it as file name of conn.
func (b *Bridge) IngestReader(ctx context.Context, conn schema.Connection, name string, r io.Reader) (Result, error) {
	sp, err := spool(b.cfg.SpoolDir, r)
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(sp.Path)
	return b.ingestSpooled(ctx, conn, name, sp)
}

// ingestSpooled applies one spooled file: all of it in one transaction, or
// none of it.
func (b *Bridge) ingestSpooled(ctx context.Context, conn schema.Connection, name string, sp spooled) (Result, error) {
	file := schema.File{TenantID: conn.TenantID, ConnectionID: conn.ID, Name: name, SHA256: sp.SHA256, Size: sp.Size, Layout: conn.Layout}
	if prev, err := b.cfg.Store.FileBySHA256(ctx, conn.ID, sp.SHA256); err == nil {
		return b.duplicate(ctx, file, prev.ID)
	} else if !errors.Is(err, schema.ErrNotFound) {
		return Result{}, err
	}
	layout, err := EffectiveLayout(ctx, b.cfg.Store, conn.TenantID, conn.ID, conn.Layout)
	if err != nil {
		return Result{}, err
	}
	f, err := os.Open(sp.Path)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	rd, err := parsers.OpenReusing(f, layout)
	if err != nil {
		return b.reject(ctx, file, err, nil)
	}
	in, err := b.cfg.Store.BeginIngest(ctx, &file)
	if errors.Is(err, schema.ErrDuplicate) {
		prev, _ := b.cfg.Store.FileBySHA256(ctx, conn.ID, sp.SHA256)
		return b.duplicate(ctx, file, prev.ID)
	}
	if err != nil {
		return Result{}, err
	}
	res, kept, err := b.apply(ctx, in, rd, &file)
	if err != nil {
		in.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
		var pe *parsers.ParseError
		if errors.As(err, &pe) || errors.Is(err, errTooManyInvalid) {
			return b.reject(ctx, file, err, kept)
		}
		return Result{}, err
	}
	if err := in.Commit(ctx, &file); err != nil {
		return Result{}, fmt.Errorf("commit %s: %w", name, err)
	}
	res.File = file
	b.cfg.Logger.InfoContext(ctx, "file ingested", "tenant", conn.TenantID, "connection", conn.Name, "file", name,
		"status", file.Status, "rows", file.Rows, "invalid", file.Invalid, "created", file.Created, "updated", file.Updated)
	return res, nil
}

var errTooManyInvalid = errors.New("too many invalid rows")

// apply streams every row into the open transaction.
func (b *Bridge) apply(ctx context.Context, in schema.Ingest, rd parsers.Reader, file *schema.File) (Result, []schema.RecordError, error) {
	var res Result
	var kept []schema.RecordError
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, kept, err
		}
		file.Rows++
		if !row.Valid() {
			file.Invalid++
			for _, fe := range row.Errors {
				re := schema.RecordError{FileID: file.ID, Line: fe.Line, RecordID: fe.RecordID, Field: fe.Field, Code: fe.Code, Message: fe.Message}
				if len(kept) < maxKeptErrors {
					kept = append(kept, re)
				}
				if err := in.PutRecordError(ctx, re); err != nil {
					return res, kept, err
				}
			}
			continue
		}
		file.Valid++
		e := row.Record.(*schema.Employee)
		e.TenantID, e.ConnectionID = file.TenantID, file.ConnectionID
		change, err := in.PutEmployee(ctx, e)
		if err != nil {
			return res, kept, fmt.Errorf("line %d: %w", row.Line, err)
		}
		switch change {
		case schema.Created:
			file.Created++
		case schema.Updated:
			file.Updated++
		default:
			file.Unchanged++
		}
	}
	if file.Rows > 0 && float64(file.Invalid)/float64(file.Rows) > b.cfg.MaxInvalidRatio {
		return res, kept, fmt.Errorf("%w: %d of %d rows are invalid, above the limit of %.0f%%", errTooManyInvalid, file.Invalid, file.Rows, b.cfg.MaxInvalidRatio*100)
	}
	file.Status = schema.FileApplied
	if file.Invalid > 0 {
		file.Status = schema.FileAppliedWithErrors
	}
	t := time.Now().UTC()
	file.AppliedAt = &t
	return res, kept, nil
}

// reject records a file that must not apply, with the errors that explain
// why, in a transaction of its own.
func (b *Bridge) reject(ctx context.Context, file schema.File, cause error, kept []schema.RecordError) (Result, error) {
	file.ID, file.Status, file.Detail = "", schema.FileRejected, cause.Error()
	file.Created, file.Updated, file.Unchanged = 0, 0, 0
	var pe *parsers.ParseError
	if errors.As(cause, &pe) {
		kept = append(kept, schema.RecordError{Line: pe.Line, Code: pe.Code, Message: pe.Err.Error()})
	} else if errors.Is(cause, errTooManyInvalid) {
		kept = append(kept, schema.RecordError{Code: schema.ECodeInvalidMax, Message: cause.Error()})
	}
	if err := b.cfg.Store.RecordFile(ctx, &file, kept); err != nil {
		return Result{}, err
	}
	b.cfg.Logger.WarnContext(ctx, "file rejected", "tenant", file.TenantID, "file", file.Name, "reason", file.Detail)
	return Result{File: file}, nil
}

func (b *Bridge) duplicate(ctx context.Context, file schema.File, of string) (Result, error) {
	file.Status, file.Detail = schema.FileDuplicate, "same bytes as file "+of+", already applied"
	if err := b.cfg.Store.RecordFile(ctx, &file, nil); err != nil {
		return Result{}, err
	}
	return Result{File: file}, nil
}
