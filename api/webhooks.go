package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/api/webhook"
	"github.com/hrisbridge/hrisbridge/schema"
)

// Replayer sends one event to an endpoint now.
type Replayer interface {
	Replay(ctx context.Context, ep schema.WebhookEndpoint, ev schema.Event) (schema.WebhookDelivery, error)
	// CheckURL refuses a URL deliveries may not reach (a private
	// address, unless the server allows them).
	CheckURL(ctx context.Context, url string) error
}

// endpointView is an endpoint without its secret.
type endpointView struct {
	schema.WebhookEndpoint
	Secret any `json:"secret,omitempty"`
}

func (s *Server) createWebhookEndpoint(c *gin.Context) {
	var req EndpointRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		problem(c, http.StatusBadRequest, "invalid_body", "send {\"url\": \"https://...\", \"event_types\": [\"employee.*\"]}")
		return
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problem(c, http.StatusUnprocessableEntity, "invalid_url", "url must be an absolute http(s) URL")
		return
	}
	if s.cfg.Webhooks != nil {
		if err := s.cfg.Webhooks.CheckURL(c.Request.Context(), req.URL); err != nil {
			problem(c, http.StatusUnprocessableEntity, "private_url", err.Error())
			return
		}
	}
	ep := schema.WebhookEndpoint{TenantID: tenantID(c), URL: req.URL, EventTypes: req.EventTypes, Secret: webhook.NewSecret()}
	if err := s.cfg.Store.CreateWebhookEndpoint(c.Request.Context(), &ep); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "webhook.create", ep.ID)
	c.JSON(http.StatusCreated, ep) // the only time the secret is shown
}

func (s *Server) endpoint(c *gin.Context) (schema.WebhookEndpoint, bool) {
	eps, err := s.cfg.Store.WebhookEndpoints(c.Request.Context(), tenantID(c))
	if err != nil {
		fail(c, err)
		return schema.WebhookEndpoint{}, false
	}
	for _, ep := range eps {
		if ep.ID == c.Param("id") {
			return ep, true
		}
	}
	fail(c, schema.ErrNotFound)
	return schema.WebhookEndpoint{}, false
}

func (s *Server) listWebhookEndpoints(c *gin.Context) {
	eps, err := s.cfg.Store.WebhookEndpoints(c.Request.Context(), tenantID(c))
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]endpointView, len(eps))
	for i := range eps {
		out[i] = endpointView{WebhookEndpoint: eps[i]}
	}
	c.JSON(http.StatusOK, all(out))
}

func (s *Server) deleteWebhookEndpoint(c *gin.Context) {
	if err := s.cfg.Store.DeleteWebhookEndpoint(c.Request.Context(), tenantID(c), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "webhook.delete", c.Param("id"))
	c.Status(http.StatusNoContent)
}

// enableWebhookEndpoint turns a disabled endpoint back on; it resumes at
// the event it failed on.
func (s *Server) enableWebhookEndpoint(c *gin.Context) {
	ep, ok := s.endpoint(c)
	if !ok {
		return
	}
	ep.Enabled, ep.DisabledReason, ep.Attempt, ep.NextAttemptAt, ep.FailingSince = true, "", 0, nil, nil
	if err := s.cfg.Store.SaveWebhookState(c.Request.Context(), &ep); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, endpointView{WebhookEndpoint: ep})
}

// replayWebhook sends one event now ({"event_id": ...}) or rewinds the
// endpoint to re-deliver, in order, every event since a time
// ({"since": RFC 3339}).
func (s *Server) replayWebhook(c *gin.Context) {
	ep, ok := s.endpoint(c)
	if !ok {
		return
	}
	var req ReplayRequest
	if err := c.ShouldBindJSON(&req); err != nil || (req.EventID == "") == req.Since.IsZero() {
		problem(c, http.StatusBadRequest, "invalid_body", `send {"event_id": "..."} or {"since": "2026-11-01T00:00:00Z"}`)
		return
	}
	ctx := c.Request.Context()
	if req.EventID != "" {
		if s.cfg.Webhooks == nil {
			problem(c, http.StatusNotImplemented, "not_configured", "this server does not deliver webhooks")
			return
		}
		ev, err := s.cfg.Store.EventByID(ctx, tenantID(c), req.EventID)
		if err != nil {
			fail(c, err)
			return
		}
		del, err := s.cfg.Webhooks.Replay(ctx, ep, ev)
		if err != nil && del.ID == "" {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, del)
		return
	}
	seq, err := s.cfg.Store.FirstEventSince(ctx, tenantID(c), req.Since)
	if err != nil {
		fail(c, err)
		return
	}
	ep.LastSeq, ep.Attempt, ep.NextAttemptAt = seq-1, 0, nil
	if err := s.cfg.Store.SaveWebhookState(ctx, &ep); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, endpointView{WebhookEndpoint: ep})
}

func (s *Server) listWebhookDeliveries(c *gin.Context) {
	listBy(c, func(ctx context.Context, q schema.ListQuery) ([]schema.WebhookDelivery, error) {
		return s.cfg.Store.WebhookDeliveries(ctx, tenantID(c), q)
	}, func(d schema.WebhookDelivery) string { return d.ID })
}
