package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/bridge/throttle"
	"github.com/hrisbridge/hrisbridge/schema"
)

// ConsoleConfig turns on the web console under /console.
type ConsoleConfig struct {
	// SpoolDir keeps an upload between its preview and its apply.
	// Required.
	SpoolDir string
	// BaseURL is the console's public address for magic links
	// (https://bridge.example.com); default: the address the operator's
	// request came to.
	BaseURL string
	// Mail sends a magic link to an HR admin when set; otherwise the link
	// is shown to the operator to send.
	Mail func(ctx context.Context, to, subject, body string) error
	// DropboxAddr and DropboxHostKey are the drop box SFTP server's
	// public address and host key fingerprint, shown to employers who
	// choose to upload there.
	DropboxAddr, DropboxHostKey string
	// SessionTTL bounds a sign-in (default 12 h); LinkTTL is a magic
	// link's default life (72 h).
	SessionTTL, LinkTTL time.Duration
}

//go:embed console
var consoleFS embed.FS

const (
	sessionCookie = "hrisbridge_session"
	loginCookie   = "hrisbridge_login" // the sign-in form's CSRF pair
	sessionCtx    = "console_session"
	tenantObjCtx  = "console_tenant"
)

// consoleSession is the signed-in person of a console request.
type consoleSession struct {
	schema.ConsoleSession
	token string
}

func (cs *consoleSession) operator() bool { return cs.OperatorID != "" }

// consoleServer holds the console's state beside the API's.
type consoleServer struct {
	s      *Server
	cfg    ConsoleConfig
	pages  map[string]*template.Template
	logins *throttle.Counter
}

func newConsole(s *Server, cfg ConsoleConfig) (*consoleServer, error) {
	if cfg.SpoolDir == "" {
		return nil, errors.New("api: Console.SpoolDir is required")
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.LinkTTL == 0 {
		cfg.LinkTTL = 72 * time.Hour
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &consoleServer{s: s, cfg: cfg, pages: pages, logins: throttle.New(5, 15*time.Minute)}, nil
}

// parsePages parses each page template with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(consoleFS, "console/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "console/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(consoleFuncs).ParseFS(consoleFS, "console/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console page %s: %w", base, err)
		}
		pages[base] = t
	}
	return pages, nil
}

var consoleFuncs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
		return ""
	},
	"fix": func(code string) string { return schema.Catalog[code].Fix },
	"q":   url.QueryEscape,
}

// routes mounts the console on the API's engine.
func (cs *consoleServer) routes(e *gin.Engine) {
	static, _ := fs.Sub(consoleFS, "console/static")
	g := e.Group("/console", cs.headers, bodyLimit(cs.s.cfg.MaxBody))
	g.StaticFS("/static", http.FS(static))
	g.GET("/login", cs.loginPage)
	g.POST("/login", cs.login)
	g.GET("/link/:token", cs.linkPage)
	g.POST("/link", cs.useLink)

	in := g.Group("", cs.authenticate)
	in.POST("/logout", cs.csrf, cs.logout)
	in.GET("", cs.home)
	in.GET("/", cs.home)

	t := in.Group("/t/:tenant", cs.tenant)
	t.GET("", cs.tenantPage)
	t.POST("/connections/:id/sync", cs.csrf, cs.syncNow)
	t.POST("/connections/:id/test", cs.csrf, cs.testConnection)
	t.POST("/connections/:id/credentials", cs.csrf, cs.setCredentials)
	t.POST("/connections/:id/schedule", cs.csrf, cs.setSchedule)
	t.GET("/files/:id", cs.filePage)
	t.GET("/files/:id/errors.csv", cs.fileErrorsCSV)
	t.POST("/files/:id/release", cs.csrf, cs.releaseFile)
	t.POST("/files/:id/discard", cs.csrf, cs.discardFile)
	t.POST("/files/:id/replay", cs.csrf, cs.replayFile)
	t.GET("/upload", cs.uploadPage)
	t.POST("/upload", cs.csrfMultipart, cs.previewUpload)
	t.POST("/upload/apply", cs.csrf, cs.applyUpload)
	t.GET("/layouts", cs.layoutPage)
	t.POST("/layouts/infer", cs.csrfMultipart, cs.inferLayout)
	t.POST("/layouts", cs.csrf, cs.saveLayout)
	t.GET("/schedules", cs.schedulesPage)
	t.POST("/windows", cs.csrf, cs.createWindow)
	t.POST("/windows/:id/delete", cs.csrf, cs.deleteWindow)
	t.GET("/webhooks", cs.webhooksPage)
	t.POST("/webhooks", cs.csrf, cs.createEndpoint)
	t.POST("/webhooks/:id/redeliver", cs.csrf, cs.redeliver)
	t.GET("/keys", cs.keysPage)
	t.POST("/keys", cs.csrf, cs.createKey)
	t.POST("/keys/:id/revoke", cs.csrf, cs.revokeKey)
	t.GET("/people", cs.peoplePage)
	t.POST("/people/:id/reveal", cs.csrf, cs.reveal)
	t.GET("/connect", cs.connectPage)
	t.POST("/connect/dropbox", cs.csrf, cs.connectDropbox)
	t.POST("/connect/sftp", cs.csrf, cs.connectSFTP)
	t.POST("/connect/api", cs.csrf, cs.connectAPI)
	t.GET("/links", cs.operatorOnly, cs.linksPage)
	t.POST("/links", cs.operatorOnly, cs.csrf, cs.createLink)
	t.POST("/links/:id/revoke", cs.operatorOnly, cs.csrf, cs.revokeLink)
	t.GET("/audit", cs.auditPage)
}

// headers sets the console's security headers: no framing, no sniffing,
// scripts and styles only from the console itself, no caching of pages
// that show PII.
func (cs *consoleServer) headers(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if !strings.HasPrefix(c.Request.URL.Path, "/console/static/") {
		h.Set("Cache-Control", "no-store")
	}
}

// secure reports whether the request came over TLS (directly or through
// a proxy that says so): cookies are then Secure.
func secure(c *gin.Context) bool {
	return c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https"
}

// origin is the scheme and host the request came to.
func origin(c *gin.Context) string {
	if secure(c) {
		return "https://" + c.Request.Host
	}
	return "http://" + c.Request.Host
}

func (cs *consoleServer) setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: "/console", MaxAge: maxAge,
		HttpOnly: true, Secure: secure(c), SameSite: http.SameSiteLaxMode})
}

// authenticate loads the session named by the cookie, or sends the
// browser to sign in.
func (cs *consoleServer) authenticate(c *gin.Context) {
	token, err := c.Cookie(sessionCookie)
	if err == nil && token != "" {
		sess, err := cs.s.cfg.Store.Session(c.Request.Context(), tokenHash(token), time.Now())
		if err == nil {
			c.Set(sessionCtx, &consoleSession{ConsoleSession: sess, token: token})
			c.Next()
			return
		}
		if !errors.Is(err, schema.ErrNotFound) {
			cs.fail(c, err)
			return
		}
	}
	if c.Request.Method == http.MethodGet {
		c.Redirect(http.StatusSeeOther, "/console/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
	} else {
		cs.errorPage(c, http.StatusUnauthorized, "Your sign-in has ended. Sign in again.")
	}
	c.Abort()
}

func session(c *gin.Context) *consoleSession { return c.MustGet(sessionCtx).(*consoleSession) }
func consoleTenant(c *gin.Context) schema.Tenant {
	return c.MustGet(tenantObjCtx).(schema.Tenant)
}

// tenant resolves /t/:tenant; an HR admin's session reaches only its own
// tenant, and any other answers 404 (whether it exists or not).
func (cs *consoleServer) tenant(c *gin.Context) {
	t, err := cs.s.cfg.Store.TenantBySlug(c.Request.Context(), c.Param("tenant"))
	sess := session(c)
	if err != nil || (!sess.operator() && t.ID != sess.TenantID) {
		if err != nil && !errors.Is(err, schema.ErrNotFound) {
			cs.fail(c, err)
			return
		}
		cs.errorPage(c, http.StatusNotFound, "There is no such employer here.")
		c.Abort()
		return
	}
	c.Set(tenantObjCtx, t)
	c.Set(tenantCtx, t.ID)
	c.Next()
}

func (cs *consoleServer) operatorOnly(c *gin.Context) {
	if !session(c).operator() {
		cs.errorPage(c, http.StatusForbidden, "Only operators may do this.")
		c.Abort()
		return
	}
	c.Next()
}

// csrf checks a form's token against the session's, and that a browser
// that names the request's origin names this server.
func (cs *consoleServer) csrf(c *gin.Context) { cs.checkCSRF(c, c.PostForm("csrf")) }

// csrfMultipart is csrf for file forms: the token comes in the URL's
// query (the form's action) so that the file can stream without the
// form being read whole first.
func (cs *consoleServer) csrfMultipart(c *gin.Context) { cs.checkCSRF(c, c.Query("csrf")) }

func (cs *consoleServer) checkCSRF(c *gin.Context, token string) {
	if !sameOrigin(c) || !tokenEqual(token, csrfToken(session(c).token)) {
		cs.errorPage(c, http.StatusForbidden, "This form has expired or did not come from this console. Reload the page and try again.")
		c.Abort()
		return
	}
	c.Next()
}

func tokenEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// sameOrigin refuses a request whose Origin (or, lacking it, Referer)
// names another site. Browsers send Origin on every cross-site POST.
func sameOrigin(c *gin.Context) bool {
	from := c.GetHeader("Origin")
	if from == "" || from == "null" {
		from = c.GetHeader("Referer")
		if from == "" {
			return true
		}
	}
	u, err := url.Parse(from)
	return err == nil && u.Host == c.Request.Host
}

// page is what every console page template sees.
type page struct {
	Title   string
	Session *consoleSession
	CSRF    string
	Tenant  *schema.Tenant
	Notice  string
	Problem string
	Nav     string
	Data    any
}

// render writes a page with the layout.
func (cs *consoleServer) render(c *gin.Context, status int, name string, p page) {
	if v, ok := c.Get(sessionCtx); ok {
		p.Session = v.(*consoleSession)
		p.CSRF = csrfToken(p.Session.token)
	}
	if v, ok := c.Get(tenantObjCtx); ok {
		t := v.(schema.Tenant)
		p.Tenant = &t
	}
	if p.Notice == "" {
		p.Notice = c.Query("notice")
	}
	var buf bytes.Buffer
	if err := cs.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.Error(err) //nolint:errcheck
		c.String(http.StatusInternalServerError, "page error; quote the request id %s to support", c.GetString(requestIDKey))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

func (cs *consoleServer) errorPage(c *gin.Context, status int, msg string) {
	cs.render(c, status, "error", page{Title: http.StatusText(status), Problem: msg})
}

// fail shows an error from below as a page (the API's mapping, in words).
func (cs *consoleServer) fail(c *gin.Context, err error) {
	var ve *schema.ValidationError
	switch {
	case errors.Is(err, schema.ErrNotFound):
		cs.errorPage(c, http.StatusNotFound, "Not found: it may have been removed.")
	case errors.Is(err, schema.ErrState), errors.Is(err, schema.ErrDuplicate):
		cs.errorPage(c, http.StatusConflict, err.Error())
	case errors.Is(err, schema.ErrInvalid), errors.As(err, &ve):
		cs.errorPage(c, http.StatusUnprocessableEntity, err.Error())
	default:
		c.Error(err) //nolint:errcheck
		cs.errorPage(c, http.StatusInternalServerError, "Something went wrong; quote the request id "+c.GetString(requestIDKey)+" to support.")
	}
	c.Abort()
}

// done sends the browser back to a page with a notice (post/redirect/get).
func done(c *gin.Context, to, notice string) {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	c.Redirect(http.StatusSeeOther, to+sep+"notice="+url.QueryEscape(notice))
}

// tenantURL is a path inside the request's tenant.
func tenantURL(c *gin.Context, rest string) string {
	return "/console/t/" + consoleTenant(c).Slug + rest
}

// audit records a console change by the signed-in person.
func (cs *consoleServer) audit(c *gin.Context, tenantID, action, resource string) {
	err := cs.s.cfg.Store.Audit(c.Request.Context(), schema.AuditEntry{TenantID: tenantID, Actor: session(c).Actor, Action: action, Resource: resource})
	if err != nil {
		cs.s.cfg.Logger.ErrorContext(c.Request.Context(), "audit entry not written", "action", action, "resource", resource, "error", err)
	}
}
