package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
)

// ingestReport is what `hrisbridge ingest --json` prints.
type ingestReport struct {
	FileID    string `json:"file_id"`
	Status    string `json:"status"`
	Rows      int    `json:"rows"`
	Valid     int    `json:"valid"`
	Invalid   int    `json:"invalid"`
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Missing   int    `json:"missing"`
	Events    int    `json:"events"`
	Detail    string `json:"detail,omitempty"`
}

func reportOf(r bridge.Result) ingestReport {
	f := r.File
	return ingestReport{FileID: f.ID, Status: f.Status, Rows: f.Rows, Valid: f.Valid, Invalid: f.Invalid, Created: f.Created,
		Updated: f.Updated, Unchanged: f.Unchanged, Missing: r.Missing, Events: r.Events, Detail: f.Detail}
}

// cmdIngest applies one file to the configured store: backfills, support,
// tests. Without --connection, ingests of a tenant and layout share one
// implicit connection, so idempotency and the guards apply across them.
// Its exit status is validate's: 0 applied (or a duplicate of an applied
// file), 1 applied with row errors, 2 rejected, held or not readable.
func cmdIngest(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("ingest")
	tenant := fs.String("tenant", "", "tenant slug")
	layout := fs.String("layout", "", "layout name (built-in or the tenant's)")
	connection := fs.String("connection", "", "connection name or id (default: the implicit ingest-LAYOUT connection)")
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *tenant == "" || (*layout == "" && *connection == "") {
		return usageError{"usage: hrisbridge ingest --tenant SLUG --layout NAME [--connection C] [--json] FILE"}
	}
	a, t, err := openTenant(ctx, *config, *tenant)
	if err != nil {
		return err
	}
	defer a.store.Close()
	conn, err := ingestConnection(ctx, a, t.ID, *connection, *layout)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return exitError{2, err}
	}
	defer f.Close()
	b, err := a.bridge()
	if err != nil {
		return err
	}
	run := schema.SyncRun{TenantID: t.ID, ConnectionID: conn.ID, Trigger: "cli"}
	if err := a.store.StartSyncRun(ctx, &run); err != nil {
		return err
	}
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	prog := stderrProgress(f, size, "ingest "+filepath.Base(pos[0]))
	res, err := b.IngestReader(ctx, conn, filepath.Base(pos[0]), prog)
	prog.done()
	run.Status, run.Files, run.Rows = schema.RunSucceeded, 1, res.File.Rows
	if err != nil {
		run.Status, run.Error = schema.RunFailed, err.Error()
	}
	if ferr := a.store.FinishSyncRun(context.WithoutCancel(ctx), &run); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.Marshal(reportOf(res))
		fmt.Fprintln(out, string(b))
	} else {
		printResults(out, []bridge.Result{res})
	}
	if code := ingestExit(res.File.Status); code != 0 {
		return exitError{code, nil}
	}
	return nil
}

// ingestExit is the exit status of ingest for a file's outcome.
func ingestExit(status string) int {
	switch status {
	case schema.FileApplied, schema.FileDuplicate:
		return 0
	case schema.FileAppliedWithErrors:
		return 1
	}
	return 2 // rejected, held
}

// ingestConnection finds the named connection, or the tenant's implicit
// one for the layout, creating it on first use.
func ingestConnection(ctx context.Context, a *app, tenantID, name, layout string) (schema.Connection, error) {
	if name != "" {
		c, err := a.store.Connection(ctx, tenantID, name)
		if err != nil {
			return c, fmt.Errorf("connection %q: %w", name, err)
		}
		return c, nil
	}
	if err := bridge.CheckLayout(ctx, a.store, tenantID, "", layout); err != nil {
		return schema.Connection{}, usageError{err.Error()}
	}
	name = "ingest-" + layout
	c, err := a.store.Connection(ctx, tenantID, name)
	if errors.Is(err, schema.ErrNotFound) {
		c = schema.Connection{TenantID: tenantID, Name: name, Kind: schema.ConnDropbox, Layout: layout, Enabled: true}
		if err = a.store.CreateConnection(ctx, &c); errors.Is(err, schema.ErrDuplicate) {
			c, err = a.store.Connection(ctx, tenantID, name)
		}
	}
	return c, err
}

// cmdFiles lists received files and releases or discards held ones.
func cmdFiles(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("files")
	tenant := fs.String("tenant", "", "tenant slug")
	limit := fs.Int("limit", 50, "files to list")
	asJSON := fs.Bool("json", false, "print JSON")
	overwrite := fs.Bool("overwrite", false, "release: apply a held file even though newer files of its connection applied since")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	ok := len(pos) == 1 && pos[0] == "list" || len(pos) == 2 && (pos[0] == "release" || pos[0] == "discard" || pos[0] == "errors" || pos[0] == "replay" || pos[0] == "ack")
	if !ok || *tenant == "" {
		return usageError{"usage: hrisbridge files list|errors ID|release ID|discard ID|replay ID|ack ID --tenant SLUG"}
	}
	a, t, err := openTenant(ctx, *config, *tenant)
	if err != nil {
		return err
	}
	defer a.store.Close()
	b, err := a.bridge()
	if err != nil {
		return err
	}
	switch pos[0] {
	case "list":
		files, err := a.store.Files(ctx, t.ID, schema.ListQuery{Limit: *limit})
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(out).Encode(files)
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tSTATUS\tROWS\tINVALID\tRECEIVED\tDETAIL")
		for _, f := range files {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", f.ID, f.Name, f.Status, f.Rows, f.Invalid, f.ReceivedAt.Format("2006-01-02 15:04"), f.Detail)
		}
		return w.Flush()
	case "errors":
		errs, err := a.store.RecordErrors(ctx, t.ID, pos[1])
		if err != nil {
			return err
		}
		for _, e := range errs {
			fe := schema.FieldError{Line: e.Line, RecordID: e.RecordID, Field: e.Field, Code: e.Code, Message: e.Message}
			fmt.Fprintf(out, "%s\n    Fix: %s\n", fe.Error(), fe.Fix())
		}
		return nil
	case "ack":
		ack, err := b.Ack999(ctx, t.ID, pos[1])
		if err != nil {
			return err
		}
		_, err = out.Write(ack)
		return err
	case "release":
		res, err := b.Release(ctx, t.ID, pos[1], *overwrite)
		if err != nil {
			return err
		}
		a.audit(ctx, t.ID, "file.release", pos[1])
		printResults(out, []bridge.Result{res})
		return nil
	case "replay":
		run := schema.SyncRun{}
		res, err := b.Replay(ctx, t.ID, pos[1], &run)
		if err != nil {
			return err
		}
		a.audit(ctx, t.ID, "file.replay", pos[1])
		printResults(out, []bridge.Result{res})
		fmt.Fprintf(out, "replay run %s: %s\n", run.ID, run.Status)
		return nil
	}
	if err := b.Discard(ctx, t.ID, pos[1]); err != nil {
		return err
	}
	a.audit(ctx, t.ID, "file.discard", pos[1])
	fmt.Fprintf(out, "discarded file %s\n", pos[1])
	return nil
}
