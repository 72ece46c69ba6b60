package api

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/scheduler"
	"github.com/hrisbridge/hrisbridge/schema"
)

// signal is one thing the fleet view shows about a tenant: how bad, what,
// its catalog code and fix, and where to act on it.
type signal struct {
	Level int // 0 fine, 1 needs attention, 2 broken
	What  string
	Code  string
	Fix   string
	Link  string
}

// fleetRow is one tenant in the operators' view.
type fleetRow struct {
	Tenant      schema.Tenant
	Level       int
	Connections int
	Signals     []signal
}

// fleet reads every tenant's live signals, worst first. It maps the
// support runbook's symptoms to what the store knows: a refused grant or
// login (auth_expired, failing), syncs failing (429s and 5xx included),
// no file past the expected cadence, a held file (count drop, drift), a
// rejected file, a webhook endpoint failing or stopped.
func (cs *consoleServer) fleet(ctx context.Context) ([]fleetRow, error) {
	st := cs.s.cfg.Store
	tenants, err := st.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	conns, err := st.Connections(ctx, "")
	if err != nil {
		return nil, err
	}
	eps, err := st.WebhookEndpoints(ctx, "")
	if err != nil {
		return nil, err
	}
	rows := map[string]*fleetRow{}
	out := make([]fleetRow, len(tenants))
	for i, t := range tenants {
		out[i] = fleetRow{Tenant: t}
		rows[t.ID] = &out[i]
	}
	add := func(tenantID string, s signal) {
		r := rows[tenantID]
		if r == nil {
			return
		}
		s.Fix = schema.Catalog[s.Code].Fix
		r.Signals = append(r.Signals, s)
		r.Level = max(r.Level, s.Level)
	}
	for _, c := range conns {
		r := rows[c.TenantID]
		if r == nil {
			continue
		}
		r.Connections++
		h := c.Health
		level := 0
		switch h.State {
		case schema.HealthFailing, schema.HealthAuthExpired:
			level = 2
		case schema.HealthDegraded:
			level = 1
		default:
			continue
		}
		add(c.TenantID, signal{Level: level, What: c.Name + ": " + h.Reason, Code: h.Code, Link: "/console/t/" + r.Tenant.Slug})
	}
	for _, e := range eps {
		r := rows[e.TenantID]
		switch {
		case r == nil:
		case !e.Enabled:
			add(e.TenantID, signal{Level: 2, What: "webhooks stopped to " + e.URL + ": " + e.DisabledReason, Code: schema.ECodeWebhookFailing,
				Link: "/console/t/" + r.Tenant.Slug + "/webhooks"})
		case e.FailingSince != nil:
			add(e.TenantID, signal{Level: 1, What: fmt.Sprintf("webhook deliveries to %s failing since %s (attempt %d)", e.URL,
				e.FailingSince.UTC().Format("2006-01-02 15:04 UTC"), e.Attempt), Code: schema.ECodeWebhookFailing, Link: "/console/t/" + r.Tenant.Slug + "/webhooks"})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Level != out[j].Level {
			return out[i].Level > out[j].Level
		}
		return out[i].Tenant.Slug < out[j].Tenant.Slug
	})
	return out, nil
}

// connectionRow is a connection on the tenant page.
type connectionRow struct {
	schema.Connection
	Next    *scheduler.Tick
	Window  string
	LastRun *schema.SyncRun
}

type tenantData struct {
	Connections []connectionRow
	Held        []schema.File
	Files       []schema.File
	Names       map[string]string
	Runs        []schema.SyncRun
}

func (cs *consoleServer) tenantPage(c *gin.Context) {
	ctx := c.Request.Context()
	st, tid := cs.s.cfg.Store, tenantID(c)
	conns, err := st.Connections(ctx, tid)
	if err != nil {
		cs.fail(c, err)
		return
	}
	ws, err := st.Windows(ctx, tid)
	if err != nil {
		cs.fail(c, err)
		return
	}
	d := tenantData{Names: map[string]string{}}
	for _, conn := range conns {
		row := connectionRow{Connection: conn}
		row.Health = conn.Health.Resolved()
		p := scheduler.PreviewOf(conn, ws, time.Now(), 1)
		if len(p.NextSyncs) > 0 {
			row.Next = &p.NextSyncs[0]
		}
		row.Window = p.ActiveWindow
		runs, err := st.SyncRuns(ctx, tid, schema.ListQuery{ConnectionID: conn.ID, Limit: 1})
		if err != nil {
			cs.fail(c, err)
			return
		}
		if len(runs) > 0 {
			row.LastRun = &runs[0]
		}
		d.Connections = append(d.Connections, row)
		d.Names[conn.ID] = conn.Name
	}
	files, err := st.Files(ctx, tid, schema.ListQuery{Limit: 25})
	if err != nil {
		cs.fail(c, err)
		return
	}
	for _, f := range files {
		if f.Status == schema.FileHeld {
			d.Held = append(d.Held, f)
		}
	}
	d.Files = files
	cs.render(c, http.StatusOK, "tenant", page{Title: consoleTenant(c).Name, Nav: "home", Data: d})
}

func (cs *consoleServer) connection(c *gin.Context) (schema.Connection, bool) {
	conn, err := cs.s.cfg.Store.Connection(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		cs.fail(c, err)
		return conn, false
	}
	return conn, true
}

func (cs *consoleServer) syncNow(c *gin.Context) {
	conn, ok := cs.connection(c)
	if !ok {
		return
	}
	if cs.s.cfg.Jobs == nil {
		cs.errorPage(c, http.StatusNotImplemented, "This server does not run syncs.")
		return
	}
	if _, err := cs.s.cfg.Jobs.EnqueueSync(c.Request.Context(), conn, schema.TriggerManual); err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, conn.TenantID, "connection.sync", conn.ID)
	done(c, tenantURL(c, ""), "Sync of "+conn.Name+" queued.")
}

// testConnection dials and logs in, and shows the outcome with its fix.
func (cs *consoleServer) testConnection(c *gin.Context) {
	conn, ok := cs.connection(c)
	if !ok {
		return
	}
	if cs.s.cfg.Connections == nil {
		cs.errorPage(c, http.StatusNotImplemented, "This server does not manage connections.")
		return
	}
	p, err := cs.s.cfg.Connections.Test(c.Request.Context(), conn)
	var se *bridge.SyncError
	switch {
	case errors.As(err, &se):
		done(c, tenantURL(c, ""), fmt.Sprintf("Test of %s failed (%s): %s Fix: %s", conn.Name, se.Code, se.Error(), se.Fix()))
	case err != nil:
		cs.fail(c, err)
	default:
		done(c, tenantURL(c, ""), fmt.Sprintf("Test of %s passed: %d file(s) waiting.", conn.Name, len(p.Files)))
	}
}

// setCredentials replaces an SFTP connection's password (what an
// employer changes after rotating it on their server).
func (cs *consoleServer) setCredentials(c *gin.Context) {
	conn, ok := cs.connection(c)
	if !ok {
		return
	}
	pw := c.PostForm("password")
	if conn.Kind != schema.ConnSFTP || pw == "" || cs.s.cfg.Connections == nil {
		cs.errorPage(c, http.StatusUnprocessableEntity, "Give the new password of an SFTP connection.")
		return
	}
	if _, err := cs.s.cfg.Connections.UpdateConnection(c.Request.Context(), conn.TenantID, conn.ID, bridge.ConnectionChange{Secret: map[string]string{"password": pw}}); err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, conn.TenantID, "connection.update", conn.ID)
	done(c, tenantURL(c, ""), "Password of "+conn.Name+" replaced; sync now to check it.")
}

type fileData struct {
	File       schema.File
	Connection string
	Errors     []RecordErrorFix
	Omitted    int
	Held       bool
	CanReplay  bool
}

// shownErrors caps the rejected rows a page lists; the CSV has them all.
const shownErrors = 500

// fileWithErrors reads the request's file and its rejected rows.
func (cs *consoleServer) fileWithErrors(c *gin.Context) (schema.File, []schema.RecordError, bool) {
	f, err := cs.s.cfg.Store.File(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		cs.fail(c, err)
		return f, nil, false
	}
	errs, err := cs.s.cfg.Store.RecordErrors(c.Request.Context(), tenantID(c), f.ID)
	if err != nil {
		cs.fail(c, err)
		return f, nil, false
	}
	return f, errs, true
}

func (cs *consoleServer) filePage(c *gin.Context) {
	ctx := c.Request.Context()
	f, errs, ok := cs.fileWithErrors(c)
	if !ok {
		return
	}
	d := fileData{File: f, Held: f.Status == schema.FileHeld, CanReplay: bridge.Replayable(f) == nil}
	if conn, err := cs.s.cfg.Store.Connection(ctx, tenantID(c), f.ConnectionID); err == nil {
		d.Connection = conn.Name
	}
	for i, e := range errs {
		if i == shownErrors {
			d.Omitted = len(errs) - i
			break
		}
		d.Errors = append(d.Errors, RecordErrorFix{e, schema.Catalog[e.Code].Fix})
	}
	cs.render(c, http.StatusOK, "file", page{Title: "File " + f.Name, Nav: "home", Data: d})
}

// fileErrorsCSV downloads every rejected row of a file with its fix.
func (cs *consoleServer) fileErrorsCSV(c *gin.Context) {
	f, errs, ok := cs.fileWithErrors(c)
	if !ok {
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf("attachment; filename=%q", strings.TrimSuffix(f.Name, filepath.Ext(f.Name))+"-errors.csv"))
	w := csv.NewWriter(c.Writer)
	w.Write([]string{"file", "line", "record", "field", "code", "message", "fix"}) //nolint:errcheck
	for _, e := range errs {
		w.Write([]string{f.Name, strconv.Itoa(e.Line), e.RecordID, e.Field, e.Code, e.Message, schema.Catalog[e.Code].Fix}) //nolint:errcheck
	}
	w.Flush()
}

func (cs *consoleServer) files() bool { return cs.s.cfg.Files != nil }

func (cs *consoleServer) releaseFile(c *gin.Context) {
	if !cs.files() {
		cs.errorPage(c, http.StatusNotImplemented, "This server does not release files.")
		return
	}
	r, err := cs.s.cfg.Files.Release(c.Request.Context(), tenantID(c), c.Param("id"), c.PostForm("overwrite") == "on")
	if err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, tenantID(c), "file.release", c.Param("id"))
	done(c, tenantURL(c, "/files/"+cmpOr(r.ID, c.Param("id"))), fmt.Sprintf("Approved: applied with %d created, %d updated.", r.Created, r.Updated))
}

func (cs *consoleServer) discardFile(c *gin.Context) {
	if !cs.files() {
		cs.errorPage(c, http.StatusNotImplemented, "This server does not discard files.")
		return
	}
	if err := cs.s.cfg.Files.Discard(c.Request.Context(), tenantID(c), c.Param("id")); err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, tenantID(c), "file.discard", c.Param("id"))
	done(c, tenantURL(c, "/files/"+c.Param("id")), "Discarded: nothing of it was applied.")
}

func (cs *consoleServer) replayFile(c *gin.Context) {
	if cs.s.cfg.Jobs == nil {
		cs.errorPage(c, http.StatusNotImplemented, "This server does not run syncs.")
		return
	}
	if _, err := cs.s.cfg.Jobs.EnqueueReplay(c.Request.Context(), tenantID(c), c.Param("id")); err != nil {
		if errors.Is(err, bridge.ErrGone) {
			cs.errorPage(c, http.StatusGone, err.Error()+": "+schema.Catalog[schema.ECodeFileGone].Fix)
			return
		}
		cs.fail(c, err)
		return
	}
	cs.audit(c, tenantID(c), "file.replay", c.Param("id"))
	done(c, tenantURL(c, ""), "Replay queued with the current layout; the new outcome appears under Recent files.")
}

type uploadData struct {
	Connections []schema.Connection
	Connection  schema.Connection
	Report      *parsers.Report
	Token       string
	Name        string
}

// uploadConnections are those an upload can go to: drop box connections
// and SFTP ones (a file an HR admin has in hand).
func (cs *consoleServer) uploadConnections(ctx context.Context, tid string) ([]schema.Connection, error) {
	conns, err := cs.s.cfg.Store.Connections(ctx, tid)
	out := conns[:0]
	for _, c := range conns {
		if c.Kind != schema.ConnAPI {
			out = append(out, c)
		}
	}
	return out, err
}

func (cs *consoleServer) uploadPage(c *gin.Context) {
	conns, err := cs.uploadConnections(c.Request.Context(), tenantID(c))
	if err != nil {
		cs.fail(c, err)
		return
	}
	cs.render(c, http.StatusOK, "upload", page{Title: "Upload a file", Nav: "upload", Data: uploadData{Connections: conns}})
}

// previewUpload spools the file and shows its dry run under the
// connection's effective layout; nothing is applied. The spooled file
// waits (an hour at most) for the apply.
func (cs *consoleServer) previewUpload(c *gin.Context) {
	ctx := c.Request.Context()
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, cs.s.cfg.MaxUpload)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		cs.errorPage(c, http.StatusBadRequest, "Choose a file to upload.")
		return
	}
	var connID string
	for {
		part, err := mr.NextPart()
		if err != nil {
			cs.errorPage(c, http.StatusBadRequest, "Choose a file to upload.")
			return
		}
		if part.FormName() == "connection" {
			b, _ := io.ReadAll(io.LimitReader(part, 200))
			connID = string(b)
			continue
		}
		if part.FormName() != "file" {
			continue
		}
		conn, err := cs.s.cfg.Store.Connection(ctx, tenantID(c), connID)
		if err != nil || conn.Kind == schema.ConnAPI {
			cs.errorPage(c, http.StatusUnprocessableEntity, "Choose the connection the file belongs to (before the file field).")
			return
		}
		name := cleanName(part.FileName())
		token, _ := NewToken()
		path := cs.spoolPath(tenantID(c), token)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			cs.fail(c, err)
			return
		}
		if err := spoolTo(path, part); err != nil {
			os.Remove(path)
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				cs.errorPage(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than this server takes (%d bytes).", cs.s.cfg.MaxUpload))
				return
			}
			cs.fail(c, err)
			return
		}
		rep, err := cs.dryRun(ctx, conn, name, path)
		if err != nil {
			os.Remove(path)
			cs.errorPage(c, http.StatusUnprocessableEntity, "The connection's layout does not load: "+err.Error())
			return
		}
		// The name and connection travel with the token, in a file beside it.
		if err := os.WriteFile(path+".meta", []byte(conn.ID+"\n"+name), 0o600); err != nil {
			cs.fail(c, err)
			return
		}
		conns, err := cs.uploadConnections(ctx, tenantID(c))
		if err != nil {
			cs.fail(c, err)
			return
		}
		cs.render(c, http.StatusOK, "upload", page{Title: "Upload a file", Nav: "upload",
			Data: uploadData{Connections: conns, Connection: conn, Report: &rep, Token: token, Name: name}})
		return
	}
}

func spoolTo(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// spoolPath is where a previewed upload waits; the token is the only way
// to it, and it lives under its tenant.
func (cs *consoleServer) spoolPath(tenantID, token string) string {
	return filepath.Join(cs.cfg.SpoolDir, "console", tenantID, token)
}

func (cs *consoleServer) dryRun(ctx context.Context, conn schema.Connection, name, path string) (parsers.Report, error) {
	if conn.Layout == bridge.X12834 {
		rep := bridge.Validate834(path, parsers.ValidateOptions{})
		rep.File = name
		return rep, nil
	}
	l, err := bridge.EffectiveLayout(ctx, cs.s.cfg.Store, conn.TenantID, conn.ID, conn.Layout)
	if err != nil {
		return parsers.Report{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return parsers.Report{}, err
	}
	defer f.Close()
	return parsers.Validate(f, name, l, parsers.ValidateOptions{}), nil
}

// applyUpload hands a previewed upload to the inbox and waits for its
// outcome, then shows the file.
func (cs *consoleServer) applyUpload(c *gin.Context) {
	ctx := c.Request.Context()
	token := c.PostForm("token")
	if cs.s.cfg.Uploads == nil {
		cs.errorPage(c, http.StatusNotImplemented, "This server does not take uploads.")
		return
	}
	if token == "" || strings.ContainsAny(token, `/\.`) {
		cs.errorPage(c, http.StatusBadRequest, "Preview the file first.")
		return
	}
	path := cs.spoolPath(tenantID(c), token)
	meta, err := os.ReadFile(path + ".meta")
	if fi, serr := os.Stat(path); err != nil || serr != nil || time.Since(fi.ModTime()) > previewTTL {
		cs.errorPage(c, http.StatusGone, "This preview has expired; upload the file again.")
		return
	}
	defer os.Remove(path)
	defer os.Remove(path + ".meta")
	connID, name, _ := strings.Cut(string(meta), "\n")
	conn, err := cs.s.cfg.Store.Connection(ctx, tenantID(c), connID)
	if err != nil {
		cs.fail(c, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		cs.errorPage(c, http.StatusGone, "This preview has expired; upload the file again.")
		return
	}
	defer f.Close()
	file, err := cs.s.cfg.Uploads.Upload(ctx, conn, name, f, true)
	if err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, conn.TenantID, "file.upload", file.ID)
	done(c, tenantURL(c, "/files/"+file.ID), "Uploaded: "+file.Status+".")
}

// previewTTL is how long a checked upload waits for its apply.
const previewTTL = time.Hour

// cleanPreviews removes previews older than previewTTL (uploads checked
// and never applied: they hold SSNs in clear).
func (cs *consoleServer) cleanPreviews() {
	root := filepath.Join(cs.cfg.SpoolDir, "console")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error { //nolint:errcheck
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil && time.Since(info.ModTime()) > previewTTL {
			os.Remove(p)
		}
		return nil
	})
}
