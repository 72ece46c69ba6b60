package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/scheduler"
	"github.com/hrisbridge/hrisbridge/schema"
)

func (s *Server) listDependents(c *gin.Context) {
	limit, after, ok := pageParams(c)
	if !ok {
		return
	}
	ds, err := s.cfg.Store.Dependents(c.Request.Context(), tenantID(c), schema.ListQuery{Cursor: after, Limit: limit + 1, EmployeeID: c.Query("employee_id")})
	if err != nil {
		fail(c, err)
		return
	}
	page := pageOf(ds, limit, func(d schema.Dependent) string { return d.ID })
	if s.protectDependents(c, page.Data) {
		c.JSON(http.StatusOK, page)
	}
}

func (s *Server) listPlans(c *gin.Context) {
	listBy(c, func(ctx context.Context, q schema.ListQuery) ([]schema.BenefitPlan, error) {
		return s.cfg.Store.BenefitPlans(ctx, tenantID(c), q)
	}, func(p schema.BenefitPlan) string { return p.ID })
}

func (s *Server) listEnrollments(c *gin.Context) {
	listBy(c, func(ctx context.Context, q schema.ListQuery) ([]schema.Enrollment, error) {
		q.EmployeeID = c.Query("employee_id")
		return s.cfg.Store.Enrollments(ctx, tenantID(c), q)
	}, func(n schema.Enrollment) string { return n.ID })
}

func (s *Server) listFiles(c *gin.Context) {
	listBy(c, func(ctx context.Context, q schema.ListQuery) ([]schema.File, error) {
		return s.cfg.Store.Files(ctx, tenantID(c), q)
	}, func(f schema.File) string { return f.ID })
}

func (s *Server) listSyncRuns(c *gin.Context) {
	listBy(c, func(ctx context.Context, q schema.ListQuery) ([]schema.SyncRun, error) {
		return s.cfg.Store.SyncRuns(ctx, tenantID(c), q)
	}, func(r schema.SyncRun) string { return r.ID })
}

// listBy serves a cursor-paged list from fetch.
func listBy[T any](c *gin.Context, fetch func(context.Context, schema.ListQuery) ([]T, error), key func(T) string) {
	limit, after, ok := pageParams(c)
	if !ok {
		return
	}
	rows, err := fetch(c.Request.Context(), schema.ListQuery{Cursor: after, Limit: limit + 1, ConnectionID: c.Query("connection_id")})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageOf(rows, limit, key))
}

// listEvents is the change feed, in commit order; the cursor is the last
// event's sequence number, so consumers resume exactly where they stopped.
// getEvent serves one of the tenant's events by id (a webhook's
// webhook-id).
func (s *Server) getEvent(c *gin.Context) {
	ev, err := s.cfg.Store.EventByID(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	s.single(c, ev)
}

func (s *Server) listEvents(c *gin.Context) {
	limit, after, ok := pageParams(c)
	if !ok {
		return
	}
	seq, ok := intCursor(c, after)
	if !ok {
		return
	}
	evs, err := s.cfg.Store.Events(c.Request.Context(), tenantID(c), seq, limit)
	if err != nil {
		fail(c, err)
		return
	}
	// The feed always returns a cursor to resume from, even at its end.
	page := Page[schema.Event]{Data: nonNil(evs), NextCursor: cursorFor(strconv.FormatInt(seq, 10))}
	if len(evs) > 0 {
		page.NextCursor = cursorFor(strconv.FormatInt(evs[len(evs)-1].Seq, 10))
	}
	c.JSON(http.StatusOK, page)
}

func (s *Server) getFile(c *gin.Context) {
	f, err := s.cfg.Store.File(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	s.single(c, f)
}

// fileErrors lists a file's rejected rows, each with the catalog's fix.
func (s *Server) fileErrors(c *gin.Context) {
	ctx := c.Request.Context()
	if _, err := s.cfg.Store.File(ctx, tenantID(c), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	errs, err := s.cfg.Store.RecordErrors(ctx, tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]RecordErrorFix, len(errs))
	for i, e := range errs {
		out[i] = RecordErrorFix{e, schema.Catalog[e.Code].Fix}
	}
	c.JSON(http.StatusOK, all(out))
}

// Released is a released held file's outcome: the file it applied as,
// how many people its snapshot flagged missing, and the events written.
type Released struct {
	schema.File
	Missing int `json:"missing"`
	Events  int `json:"events"`
}

// Files releases and discards held files; cmd wires the bridge in.
type Files interface {
	// Release applies a held file; overwrite lets it apply over files of
	// its connection that applied after it was received.
	Release(ctx context.Context, tenantID, fileID string, overwrite bool) (Released, error)
	Discard(ctx context.Context, tenantID, fileID string) error
	// Ack999 is a received 834's 999 acknowledgment.
	Ack999(ctx context.Context, tenantID, fileID string) ([]byte, error)
}

// x12Text documents an X12 interchange answer.
type x12Text string

// fileAck serves a received 834's 999 acknowledgment.
func (s *Server) fileAck(c *gin.Context) {
	if s.cfg.Files == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not apply files")
		return
	}
	ack, err := s.cfg.Files.Ack999(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/edi-x12", ack)
}

func (s *Server) releaseFile(c *gin.Context) {
	if s.cfg.Files == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not apply files")
		return
	}
	overwrite := c.Query("overwrite") == "true"
	f, err := s.cfg.Files.Release(c.Request.Context(), tenantID(c), c.Param("id"), overwrite)
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "file.release", c.Param("id"))
	c.JSON(http.StatusOK, f)
}

func (s *Server) discardFile(c *gin.Context) {
	if s.cfg.Files == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not apply files")
		return
	}
	if err := s.cfg.Files.Discard(c.Request.Context(), tenantID(c), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "file.discard", c.Param("id"))
	c.Status(http.StatusNoContent)
}

// connectionView is a connection without its credentials.
type connectionView struct {
	schema.Connection
	Secret any `json:"secret,omitempty"`
}

func (s *Server) listConnections(c *gin.Context) {
	cs, err := s.cfg.Store.Connections(c.Request.Context(), tenantID(c))
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]connectionView, len(cs))
	for i := range cs {
		out[i] = connectionView{Connection: cs[i]}
	}
	c.JSON(http.StatusOK, all(out))
}

func (s *Server) listTenants(c *gin.Context) {
	ts, err := s.cfg.Store.Tenants(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, all(ts))
}

// Connections updates and deletes connections; cmd wires the bridge in.
type Connections interface {
	// CreateConnection stores a new connection; an SFTP one without a
	// confirmed host key answers *bridge.ErrHostKeyUnconfirmed.
	CreateConnection(ctx context.Context, tenantID string, nc bridge.NewConnection) (schema.Connection, error)
	// Test dials, checks the host key, logs in and lists what a pull takes.
	Test(ctx context.Context, c schema.Connection) (bridge.Probe, error)
	UpdateConnection(ctx context.Context, tenantID, idOrName string, ch bridge.ConnectionChange) (schema.Connection, error)
	// DeleteConnection removes a connection; purgeFiles also deletes the
	// bytes kept of its files. It returns how many it deleted.
	DeleteConnection(ctx context.Context, tenantID, idOrName string, purgeFiles bool) (int, error)
	// AuthorizeURL starts an API connection's OAuth authorization-code
	// flow; CompleteAuthorization takes the provider's callback.
	AuthorizeURL(ctx context.Context, c schema.Connection, redirect string) (string, error)
	CompleteAuthorization(ctx context.Context, state, code, redirect string) (schema.Connection, error)
	// VerifyWebhook checks a provider's signed change notification.
	VerifyWebhook(ctx context.Context, c schema.Connection, h http.Header, body io.Reader) error
}

func (s *Server) updateConnection(c *gin.Context) {
	if s.cfg.Connections == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not manage connections")
		return
	}
	var ch bridge.ConnectionChange
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ch); err != nil {
		problem(c, http.StatusBadRequest, "invalid_body", `send {"layout": "...", "enabled": true, "config": {...}, "secret": {"password": "..."}} (every part optional): `+err.Error())
		return
	}
	conn, err := s.cfg.Connections.UpdateConnection(c.Request.Context(), tenantID(c), c.Param("id"), ch)
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "connection.update", conn.ID)
	c.JSON(http.StatusOK, connectionView{Connection: conn})
}

func (s *Server) deleteConnection(c *gin.Context) {
	if s.cfg.Connections == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not manage connections")
		return
	}
	purge := c.Query("purge_files") == "true"
	n, err := s.cfg.Connections.DeleteConnection(c.Request.Context(), tenantID(c), c.Param("id"), purge)
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "connection.delete", c.Param("id"))
	c.JSON(http.StatusOK, ConnectionDeleted{Deleted: c.Param("id"), FilesPurged: n, FilesKept: !purge})
}

func (s *Server) listDropboxAccounts(c *gin.Context) {
	as, err := s.cfg.Store.DropboxAccounts(c.Request.Context(), tenantID(c))
	if err != nil {
		fail(c, err)
		return
	}
	type view struct {
		Username     string    `json:"username"`
		ConnectionID string    `json:"connection_id"`
		Password     bool      `json:"password"`
		Keys         int       `json:"authorized_keys"`
		Rights       []string  `json:"rights"`
		MaxBytes     int64     `json:"max_bytes"`
		CreatedAt    time.Time `json:"created_at"`
	}
	out := make([]view, len(as))
	for i, a := range as {
		out[i] = view{a.Username, a.ConnectionID, len(a.PasswordHash) > 0, len(bridge.ParseAuthorizedKeys(a.AuthorizedKeys)), a.Rights, a.MaxBytes, a.CreatedAt}
	}
	c.JSON(http.StatusOK, all(out))
}

func (s *Server) deleteDropboxAccount(c *gin.Context) {
	if err := s.cfg.Store.DeleteDropboxAccount(c.Request.Context(), tenantID(c), c.Param("username")); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "dropbox.delete", c.Param("username"))
	c.Status(http.StatusNoContent)
}

func (s *Server) createConnection(c *gin.Context) {
	if s.cfg.Connections == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not manage connections")
		return
	}
	var nc bridge.NewConnection
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&nc); err != nil {
		problem(c, http.StatusBadRequest, "invalid_body", `send {"name": "...", "kind": "sftp"|"dropbox", "layout": "census-csv", "config": {...}, "secret": {...}, "schedule": "..."}: `+err.Error())
		return
	}
	if err := scheduler.CheckSchedule(nc.Schedule, cmpOr(nc.TimeZone, "UTC"), cmpOr(nc.CatchUp, schema.CatchUpOnce)); err != nil {
		problem(c, http.StatusUnprocessableEntity, "invalid_schedule", err.Error())
		return
	}
	conn, err := s.cfg.Connections.CreateConnection(c.Request.Context(), tenantID(c), nc)
	var unconfirmed *bridge.ErrHostKeyUnconfirmed
	var se *bridge.SyncError
	switch {
	case errors.As(err, &unconfirmed):
		c.Header("Content-Type", "application/problem+json")
		c.JSON(http.StatusConflict, HostKeyProblem{Problem: Problem{Type: problemBase + "host_key_unconfirmed", Title: "Host key not confirmed", Status: http.StatusConflict,
			Detail: err.Error(), Instance: c.Request.URL.Path, Code: "host_key_unconfirmed", RequestID: c.GetString(requestIDKey)}, HostKey: unconfirmed.Fingerprint, KeyType: unconfirmed.Type})
		return
	case errors.As(err, &se):
		problem(c, http.StatusBadGateway, se.Code, se.Error()+". Fix: "+se.Fix())
		return
	case err != nil:
		fail(c, err)
		return
	}
	s.audit(c, "connection.create", conn.ID)
	c.Header("Location", "/v1/connections/"+conn.ID)
	c.JSON(http.StatusCreated, connectionView{Connection: conn})
}

// testConnection dials a connection, checks its host key, logs in and
// lists the files a pull would take; a failure is the answer's error with
// its catalog code and fix, not an API error.
func (s *Server) testConnection(c *gin.Context) {
	if s.cfg.Connections == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not manage connections")
		return
	}
	conn, err := s.cfg.Store.Connection(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	p, err := s.cfg.Connections.Test(c.Request.Context(), conn)
	var se *bridge.SyncError
	switch {
	case errors.As(err, &se):
		c.JSON(http.StatusOK, ConnectionTest{OK: false, Code: se.Code, Error: se.Error(), Fix: se.Fix()})
	case err != nil:
		fail(c, err)
	default:
		c.JSON(http.StatusOK, ConnectionTest{OK: true, HostKey: p.HostKey, Files: nonNil(p.Files)})
	}
}
