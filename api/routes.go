package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/schema"
)

// route is one API route: how it is served and how /openapi.json and
// /docs describe it. The table below is the one list of routes.
type route struct {
	method, path string // gin syntax: /files/:id
	access       string // "", "tenant", "admin" or "upload"
	scope        string // required key scope
	summary      string
	params       []string // query parameters
	handler      gin.HandlerFunc
}

var listParams = []string{"limit", "cursor"}

func (s *Server) table() []route {
	employeeFilters := append([]string{"employment_status", "employment_type", "department", "location", "external_id",
		"connection_id", "hired_after", "terminated_after", "updated_since", "sort", "format"}, listParams...)
	r, w := schema.ScopeRead, schema.ScopeWrite
	return []route{
		{"GET", "/healthz", "", "", "The process is up.", nil, s.healthz},
		{"GET", "/readyz", "", "", "The store is reachable and migrated.", nil, s.readyz},
		{"GET", "/v1/errors", "", "", "The error catalog: every code with its fix.", nil, s.listErrors},
		{"GET", "/v1/tenants", "admin", schema.ScopeAdmin, "Every tenant (admin keys).", nil, s.listTenants},
		{"POST", "/v1/connections/:id/files", "upload", w, "Upload a file for a connection (raw body or multipart `file`); `wait=true` returns the outcome.", []string{"name", "wait"}, s.upload},
		{"GET", "/v1/employees", "tenant", r, "Employees, filtered; CSV with `format=csv` or `Accept: text/csv`.", employeeFilters, s.listEmployees},
		{"GET", "/v1/employees/:id", "tenant", r, "One employee; `include=dependents,enrollments`.", []string{"include"}, s.getEmployee},
		{"GET", "/v1/dependents", "tenant", r, "Dependents.", append([]string{"employee_id"}, listParams...), s.listDependents},
		{"GET", "/v1/benefit-plans", "tenant", r, "Benefit plans.", listParams, s.listPlans},
		{"GET", "/v1/enrollments", "tenant", r, "Enrollments.", append([]string{"employee_id"}, listParams...), s.listEnrollments},
		{"GET", "/v1/connections", "tenant", r, "Connections with their health, without credentials.", nil, s.listConnections},
		{"GET", "/v1/connections/:id", "tenant", r, "One connection: health, schedule, the active window and the next five syncs.", nil, s.getConnection},
		{"POST", "/v1/connections", "tenant", schema.ScopeAdmin, "Create a connection (sftp or dropbox). An SFTP one without `config.host_key` answers 409 with the fingerprint the server presents; send it back as `config.host_key` once the employer confirmed it.", nil, s.createConnection},
		{"POST", "/v1/connections/:id/test", "tenant", w, "Dial, check the host key, log in and list what a pull would take; a failure comes back with its code and fix.", nil, s.testConnection},
		{"PATCH", "/v1/connections/:id", "tenant", schema.ScopeAdmin, "Update a connection: layout, enabled, config keys (merged; policy key by key; null removes), secret keys (credentials and PGP keys, merged; \"\" removes).", nil, s.updateConnection},
		{"DELETE", "/v1/connections/:id", "tenant", schema.ScopeAdmin, "Delete a connection: unlisted and unscheduled, its drop box logins and windows removed, its files' records kept; `purge_files=true` also deletes the bytes kept of its files.", []string{"purge_files"}, s.deleteConnection},
		{"GET", "/v1/dropbox-accounts", "tenant", schema.ScopeAdmin, "Drop box logins (never their credentials).", nil, s.listDropboxAccounts},
		{"DELETE", "/v1/dropbox-accounts/:username", "tenant", schema.ScopeAdmin, "Remove a drop box login.", nil, s.deleteDropboxAccount},
		{"PUT", "/v1/connections/:id/schedule", "tenant", w, "Set the cron schedule, time_zone and catch_up (once|skip) of a connection.", nil, s.putSchedule},
		{"POST", "/v1/connections/:id/sync", "tenant", w, "Queue a sync now; 202 with the queued sync run.", nil, s.syncConnection},
		{"GET", "/v1/windows", "tenant", r, "Enrollment windows.", nil, s.listWindows},
		{"POST", "/v1/windows", "tenant", w, "Create an enrollment window: name, starts_on, ends_on, schedule, final_pull, optional connection_id.", nil, s.createWindow},
		{"DELETE", "/v1/windows/:id", "tenant", w, "Remove an enrollment window.", nil, s.deleteWindow},
		{"GET", "/v1/files", "tenant", r, "Received files, newest first.", append([]string{"connection_id"}, listParams...), s.listFiles},
		{"GET", "/v1/files/:id", "tenant", r, "One file with its status and counts.", nil, s.getFile},
		{"GET", "/v1/files/:id/errors", "tenant", r, "A file's rejected rows, with fixes.", nil, s.fileErrors},
		{"POST", "/v1/files/:id/release", "tenant", w, "Apply a held file; `overwrite=true` even though files of its connection applied since it was received.", []string{"overwrite"}, s.releaseFile},
		{"POST", "/v1/files/:id/discard", "tenant", w, "Drop a held file.", nil, s.discardFile},
		{"POST", "/v1/files/:id/replay", "tenant", w, "Queue a re-run of the pipeline on the file's kept bytes with the current layout; 202 with the sync run.", nil, s.replayFile},
		{"GET", "/v1/sync-runs", "tenant", r, "Sync runs, newest first.", append([]string{"connection_id"}, listParams...), s.listSyncRuns},
		{"GET", "/v1/sync-runs/:id", "tenant", r, "One sync run: status, attempt, error and its code.", nil, s.getSyncRun},
		{"GET", "/v1/events", "tenant", r, "The change event feed in commit order.", listParams, s.listEvents},
		{"GET", "/v1/events/:id", "tenant", r, "One event by id (a webhook delivery's webhook-id).", nil, s.getEvent},
		{"POST", "/v1/webhook-endpoints", "tenant", w, "Register a webhook endpoint; its secret is shown once.", nil, s.createWebhookEndpoint},
		{"GET", "/v1/webhook-endpoints", "tenant", r, "Webhook endpoints and their delivery state.", nil, s.listWebhookEndpoints},
		{"DELETE", "/v1/webhook-endpoints/:id", "tenant", w, "Remove a webhook endpoint.", nil, s.deleteWebhookEndpoint},
		{"POST", "/v1/webhook-endpoints/:id/enable", "tenant", w, "Re-enable a disabled endpoint.", nil, s.enableWebhookEndpoint},
		{"POST", "/v1/webhook-endpoints/:id/replay", "tenant", w, "Send one event now, or re-deliver every event since a time.", nil, s.replayWebhook},
		{"GET", "/v1/audit", "tenant", schema.ScopeAdmin, "The audit log, newest first: PII reads and every change, by key or CLI user; filters action (or a family like `key.`), actor, since, until (RFC 3339).",
			append([]string{"action", "actor", "since", "until"}, listParams...), s.listAudit},
		{"GET", "/v1/layouts", "tenant", r, "The built-in layouts, and whether the tenant (or `connection_id`) overrides each.", []string{"connection_id"}, s.listLayouts},
		{"GET", "/v1/layouts/:name", "tenant", r, "The effective layout: built-in, deep-merged with the tenant's and `connection_id`'s overrides.", []string{"connection_id"}, s.getLayout},
		{"PUT", "/v1/layouts/:name", "tenant", w, "Store the tenant's (or `connection_id`'s) override of a layout (YAML or JSON), checked by merging it; answers the effective layout.", []string{"connection_id"}, s.putLayout},
		{"POST", "/v1/layouts/infer", "upload", w, "Propose a layout from a sample (raw body or multipart `file`, at most 16 MiB; `entity`), with its coverage and the sample's dry run.", []string{"entity", "name"}, s.inferLayout},
		{"POST", "/v1/validate", "upload", w, "Dry run: read and validate a file (raw body, or multipart with an optional `layout` part before the `file` part) with `layout` or the inline one; nothing is stored.", []string{"layout", "connection_id", "name"}, s.validateFile},
		{"GET", "/v1/keys", "tenant", schema.ScopeAdmin, "The tenant's API keys (never the keys themselves), with last use and expiry.", nil, s.listKeys},
		{"POST", "/v1/keys", "tenant", schema.ScopeAdmin, "Create an API key: name, scopes (read, pii:read, write), optional expires_at; the key is shown once.", nil, s.createKey},
		{"DELETE", "/v1/keys/:id", "tenant", schema.ScopeAdmin, "Revoke an API key (by id or prefix); it stops working at once, on every replica.", nil, s.revokeKey},
		{"GET", "/v1/webhook-deliveries", "tenant", r, "Webhook delivery attempts, newest first.", listParams, s.listWebhookDeliveries},
	}
}

// routes registers every route of the table, the documents and /metrics.
func (s *Server) routes() {
	e := s.engine
	e.HandleMethodNotAllowed = true
	e.Use(s.requestID, s.recovery)
	e.NoRoute(func(c *gin.Context) { problem(c, http.StatusNotFound, "not_found", "no route "+c.Request.URL.Path) })
	e.NoMethod(func(c *gin.Context) {
		problem(c, http.StatusMethodNotAllowed, "method_not_allowed", c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	})
	if s.cfg.Metrics != nil {
		e.GET("/metrics", gin.WrapH(s.cfg.Metrics))
	}
	e.GET("/openapi.json", s.openapi)
	e.GET("/docs", s.docs)
	for _, rt := range s.table() {
		var chain []gin.HandlerFunc
		switch rt.access {
		case "admin":
			chain = []gin.HandlerFunc{bodyLimit(s.cfg.MaxBody), s.authenticate, s.limits.middleware}
		case "upload":
			chain = []gin.HandlerFunc{bodyLimit(s.cfg.MaxUpload), s.authenticate, s.limits.middleware, s.tenant}
		case "tenant":
			chain = []gin.HandlerFunc{bodyLimit(s.cfg.MaxBody), s.authenticate, s.limits.middleware, s.tenant}
		}
		if rt.scope != "" {
			chain = append(chain, s.scope(rt.scope))
		}
		chain = append(chain, knownParams(rt.params, rt.access == "tenant" || rt.access == "upload"))
		e.Handle(rt.method, rt.path, append(chain, rt.handler)...)
	}
}

// knownParams refuses query parameters a route does not take, naming
// them: a misspelt filter (dept=Finance) must not silently return
// everyone. tenant (an admin key's choice of tenant) is taken wherever a
// tenant is.
func knownParams(params []string, tenant bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var unknown []string
		for name := range c.Request.URL.Query() {
			if !slices.Contains(params, name) && !(tenant && name == "tenant") {
				unknown = append(unknown, name)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			takes := "no query parameters"
			if len(params) > 0 {
				takes = "only " + strings.Join(params, ", ")
			}
			problem(c, http.StatusBadRequest, "unknown_parameter", fmt.Sprintf("unknown query parameter %s: %s %s takes %s",
				strings.Join(unknown, ", "), c.Request.Method, c.FullPath(), takes))
			return
		}
		c.Next()
	}
}

func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

func (s *Server) readyz(c *gin.Context) {
	if err := s.cfg.Store.Ready(c.Request.Context()); err != nil {
		problem(c, http.StatusServiceUnavailable, "not_ready", err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// listErrors serves the error catalog.
func (s *Server) listErrors(c *gin.Context) {
	out := make([]schema.CatalogEntry, 0, len(schema.Catalog))
	for _, code := range schema.CatalogCodes() {
		out = append(out, schema.Catalog[code])
	}
	c.JSON(http.StatusOK, gin.H{"data": nonNil(out), "next_cursor": nil})
}
