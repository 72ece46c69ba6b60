package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/scheduler"
	"github.com/hrisbridge/hrisbridge/schema"
)

// Jobs queues syncs and replays as durable jobs.
type Jobs interface {
	EnqueueSync(ctx context.Context, c schema.Connection, trigger string) (schema.SyncRun, error)
	EnqueueReplay(ctx context.Context, tenantID, fileID string) (schema.SyncRun, error)
}

// connectionDetail is one connection with its schedule's next ticks.
type connectionDetail struct {
	connectionView
	scheduler.Preview
	// LastRun is the connection's latest sync run, if any.
	LastRun *schema.SyncRun `json:"last_run"`
}

func (s *Server) getConnection(c *gin.Context) {
	ctx := c.Request.Context()
	conn, err := s.cfg.Store.Connection(ctx, tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	d, err := s.detail(ctx, conn)
	if err != nil {
		fail(c, err)
		return
	}
	s.single(c, d)
}

func (s *Server) detail(ctx context.Context, conn schema.Connection) (connectionDetail, error) {
	ws, err := s.cfg.Store.Windows(ctx, conn.TenantID)
	if err != nil {
		return connectionDetail{}, err
	}
	runs, err := s.cfg.Store.SyncRuns(ctx, conn.TenantID, schema.ListQuery{ConnectionID: conn.ID, Limit: 1})
	if err != nil {
		return connectionDetail{}, err
	}
	d := connectionDetail{connectionView: connectionView{Connection: conn}, Preview: scheduler.PreviewOf(conn, ws, time.Now(), 5)}
	if len(runs) > 0 {
		d.LastRun = &runs[0]
	}
	return d, nil
}

// putSchedule sets a connection's schedule, time zone and catch-up policy.
func (s *Server) putSchedule(c *gin.Context) {
	ctx := c.Request.Context()
	var body ScheduleRequest
	if err := c.ShouldBindJSON(&body); err != nil {
		problem(c, http.StatusBadRequest, "bad_request", "body must be JSON: {\"schedule\", \"time_zone\", \"catch_up\"}: "+err.Error())
		return
	}
	body.TimeZone, body.CatchUp = cmpOr(body.TimeZone, "UTC"), cmpOr(body.CatchUp, schema.CatchUpOnce)
	if err := scheduler.CheckSchedule(body.Schedule, body.TimeZone, body.CatchUp); err != nil {
		problem(c, http.StatusUnprocessableEntity, "validation_failed", err.Error())
		return
	}
	conn, err := s.cfg.Store.Connection(ctx, tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	if err := s.cfg.Store.UpdateConnectionSchedule(ctx, conn.TenantID, conn.ID, body.Schedule, body.TimeZone, body.CatchUp); err != nil {
		fail(c, err)
		return
	}
	if err := s.cfg.Store.Audit(ctx, schema.AuditEntry{TenantID: conn.TenantID, KeyID: apiKey(c).ID, Action: "connection.schedule", Resource: conn.ID}); err != nil {
		fail(c, err)
		return
	}
	conn, err = s.cfg.Store.Connection(ctx, conn.TenantID, conn.ID)
	if err != nil {
		fail(c, err)
		return
	}
	d, err := s.detail(ctx, conn)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// syncConnection queues a manual sync.
func (s *Server) syncConnection(c *gin.Context) {
	if s.cfg.Jobs == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not run syncs")
		return
	}
	ctx := c.Request.Context()
	conn, err := s.cfg.Store.Connection(ctx, tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	run, err := s.cfg.Jobs.EnqueueSync(ctx, conn, schema.TriggerManual)
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "connection.sync", conn.ID)
	c.Header("Location", "/v1/sync-runs/"+run.ID)
	c.JSON(http.StatusAccepted, run)
}

// replayFile queues a replay of a kept file with the current layout.
func (s *Server) replayFile(c *gin.Context) {
	if s.cfg.Jobs == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not run syncs")
		return
	}
	run, err := s.cfg.Jobs.EnqueueReplay(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "file.replay", c.Param("id"))
	c.Header("Location", "/v1/sync-runs/"+run.ID)
	c.JSON(http.StatusAccepted, run)
}

func (s *Server) getSyncRun(c *gin.Context) {
	r, err := s.cfg.Store.SyncRun(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	s.single(c, r)
}

func (s *Server) listWindows(c *gin.Context) {
	ws, err := s.cfg.Store.Windows(c.Request.Context(), tenantID(c))
	if err != nil {
		fail(c, err)
		return
	}
	if ws == nil {
		ws = []schema.Window{}
	}
	c.JSON(http.StatusOK, all(ws))
}

// createWindow stores an enrollment window after checking its dates and
// schedule (and connection, when it names one).
func (s *Server) createWindow(c *gin.Context) {
	ctx := c.Request.Context()
	var w schema.Window
	if err := c.ShouldBindJSON(&w); err != nil {
		problem(c, http.StatusBadRequest, "bad_request", "body must be a JSON window: "+err.Error())
		return
	}
	w.TenantID = tenantID(c)
	tz := "UTC"
	if w.ConnectionID != "" {
		conn, err := s.cfg.Store.Connection(ctx, w.TenantID, w.ConnectionID)
		if err != nil {
			problem(c, http.StatusUnprocessableEntity, "validation_failed", "connection_id: no such connection for this tenant")
			return
		}
		w.ConnectionID, tz = conn.ID, conn.TimeZone
	}
	if err := scheduler.CheckWindow(w, tz); err != nil {
		problem(c, http.StatusUnprocessableEntity, "validation_failed", err.Error())
		return
	}
	if err := s.cfg.Store.CreateWindow(ctx, &w); err != nil {
		fail(c, err)
		return
	}
	if err := s.cfg.Store.Audit(ctx, schema.AuditEntry{TenantID: w.TenantID, KeyID: apiKey(c).ID, Action: "window.create", Resource: w.ID}); err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/v1/windows/"+w.ID)
	c.JSON(http.StatusCreated, w)
}

func (s *Server) deleteWindow(c *gin.Context) {
	ctx := c.Request.Context()
	if err := s.cfg.Store.DeleteWindow(ctx, tenantID(c), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	if err := s.cfg.Store.Audit(ctx, schema.AuditEntry{TenantID: tenantID(c), KeyID: apiKey(c).ID, Action: "window.delete", Resource: c.Param("id")}); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
