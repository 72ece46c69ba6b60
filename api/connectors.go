package api

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
)

// AuthorizeLink is where an employer's admin grants an API connection
// access.
type AuthorizeLink struct {
	URL string `json:"url" description:"Open in a browser (or send to the employer's admin); the provider returns to /oauth/callback."`
	// RedirectURL is the callback the provider must allow for the app.
	RedirectURL string `json:"redirect_url"`
}

// callbackURL is this server's OAuth callback as the caller reaches it.
func callbackURL(c *gin.Context) string { return origin(c) + "/oauth/callback" }

// authorizeConnection starts the authorization-code flow of an API
// connection.
func (s *Server) authorizeConnection(c *gin.Context) {
	if s.cfg.Connections == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not manage connections")
		return
	}
	conn, err := s.cfg.Store.Connection(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	redirect := callbackURL(c)
	u, err := s.cfg.Connections.AuthorizeURL(c.Request.Context(), conn, redirect)
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "connection.authorize", conn.ID)
	c.JSON(http.StatusOK, AuthorizeLink{URL: u, RedirectURL: redirect})
}

type callbackParams struct {
	State string `query:"state" required:"true" description:"The state the authorization link carried."`
	Code  string `query:"code" description:"The provider's authorization code."`
	Error string `query:"error" description:"The provider's refusal (access_denied)."`
}

// htmlPage documents an HTML answer.
type htmlPage string

var callbackPage = template.Must(template.New("cb").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>hrisbridge</title></head>
<body style="font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto"><h1>{{.Title}}</h1><p>{{.Text}}</p></body></html>`))

// oauthCallback finishes the authorization-code flow: the provider sends
// the admin back here with a code (or an error).
func (s *Server) oauthCallback(c *gin.Context) {
	page := func(status int, title, text string) {
		c.Status(status)
		c.Header("Content-Type", "text/html; charset=utf-8")
		callbackPage.Execute(c.Writer, map[string]string{"Title": title, "Text": text}) //nolint:errcheck
	}
	if s.cfg.Connections == nil {
		page(http.StatusNotImplemented, "Not available", "This server does not manage connections.")
		return
	}
	if e := c.Query("error"); e != "" {
		page(http.StatusBadRequest, "Access was not granted", "The provider answered "+e+". Start again from hrisbridge when ready.")
		return
	}
	conn, err := s.cfg.Connections.CompleteAuthorization(c.Request.Context(), c.Query("state"), c.Query("code"), callbackURL(c))
	switch {
	case errors.Is(err, bridge.ErrAuthState):
		page(http.StatusBadRequest, "Link expired", err.Error()+".")
	case err != nil:
		s.cfg.Logger.WarnContext(c.Request.Context(), "authorization failed", "error", err)
		page(http.StatusBadGateway, "Authorization failed", "The provider refused the grant: "+err.Error())
	default:
		s.cfg.Store.Audit(c.Request.Context(), schema.AuditEntry{TenantID: conn.TenantID, Actor: "oauth-callback", Action: "connection.authorized", Resource: conn.ID}) //nolint:errcheck
		page(http.StatusOK, "Connected", "hrisbridge may now read "+conn.Name+"; its first sync follows its schedule, or start one now.")
	}
}

type hookPath struct {
	Tenant string `path:"tenant" description:"The tenant's slug."`
	ID     string `path:"id" description:"The API connection's id."`
}

// providerWebhook takes a provider's signed change notification and
// queues an incremental sync of the connection.
func (s *Server) providerWebhook(c *gin.Context) {
	if s.cfg.Connections == nil || s.cfg.Jobs == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not run syncs")
		return
	}
	ctx := c.Request.Context()
	t, err := s.cfg.Store.TenantBySlug(ctx, c.Param("tenant"))
	if err != nil {
		problem(c, http.StatusNotFound, "not_found", "no such connection")
		return
	}
	conn, err := s.cfg.Store.Connection(ctx, t.ID, c.Param("id"))
	if err != nil {
		problem(c, http.StatusNotFound, "not_found", "no such connection")
		return
	}
	if err := s.cfg.Connections.VerifyWebhook(ctx, conn, c.Request.Header, c.Request.Body); err != nil {
		if s.cfg.ObserveWebhook != nil {
			s.cfg.ObserveWebhook(false)
		}
		s.cfg.Logger.WarnContext(ctx, "provider webhook refused", "tenant", t.Slug, "connection", conn.Name, "error", err)
		problem(c, http.StatusUnauthorized, "bad_signature", "the signature does not verify with the connection's webhook_secret")
		return
	}
	if s.cfg.ObserveWebhook != nil {
		s.cfg.ObserveWebhook(true)
	}
	run, err := s.cfg.Jobs.EnqueueSync(ctx, conn, schema.TriggerWebhook)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, run)
}
