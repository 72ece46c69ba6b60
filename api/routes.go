package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema"
)

// route is one API route: how it is served and how /openapi.json and
// /docs describe it. The table below is the one list of routes; a route's
// query parameters are those its request type declares.
type route struct {
	method, path string // gin syntax: /files/:id
	access       string // "", "tenant", "admin" or "upload"
	scope        string // required key scope
	summary      string
	handler      gin.HandlerFunc
	doc          opDoc
}

func (s *Server) table() []route {
	r, w, a := schema.ScopeRead, schema.ScopeWrite, schema.ScopeAdmin
	one := func(body any) opDoc { return op(idPath{}, ok(body), notModified).errors(404) }
	list := func(in, body any) opDoc { return op(in, ok(body)) }
	return []route{
		{"GET", "/healthz", "", "", "The process is up.", s.healthz, op(noParams{}, ok(Status{}))},
		{"GET", "/readyz", "", "", "The store is reachable and migrated.", s.readyz, op(noParams{}, ok(Status{})).errors(503)},
		{"GET", "/v1/errors", "", "", "The error catalog: every code with its fix.", s.listErrors, op(noParams{}, ok(Page[schema.CatalogEntry]{}))},
		{"GET", "/v1/tenants", "admin", a, "Every tenant (admin keys).", s.listTenants, op(noParams{}, ok(Page[schema.Tenant]{}))},
		{"POST", "/v1/connections/:id/files", "upload", w, "Upload a file for a connection (raw body or multipart `file`); `wait=true` returns the outcome.", s.upload,
			op(uploadParams{}, ok(schema.File{}), accepted(UploadAccepted{})).raw("text/csv,application/octet-stream,multipart/form-data").errors(404, 413, 501)},
		{"GET", "/v1/employees", "tenant", r, "Employees, filtered; CSV with `format=csv` or `Accept: text/csv`.", s.listEmployees,
			op(employeeParams{}, ok(Page[schema.Employee]{}), reply{status: 200, body: csvExport(""), ctype: "text/csv"})},
		{"GET", "/v1/employees/:id", "tenant", r, "One employee; `include=dependents,enrollments`.", s.getEmployee, op(employeeGet{}, ok(employeeView{}), notModified).errors(404)},
		{"GET", "/v1/dependents", "tenant", r, "Dependents.", s.listDependents, list(employeeRecordsQuery{}, Page[schema.Dependent]{})},
		{"GET", "/v1/benefit-plans", "tenant", r, "Benefit plans.", s.listPlans, list(pageQuery{}, Page[schema.BenefitPlan]{})},
		{"GET", "/v1/enrollments", "tenant", r, "Enrollments.", s.listEnrollments, list(employeeRecordsQuery{}, Page[schema.Enrollment]{})},
		{"GET", "/v1/connections", "tenant", r, "Connections with their health, without credentials.", s.listConnections, list(noParams{}, Page[connectionView]{})},
		{"GET", "/v1/connections/:id", "tenant", r, "One connection: health, schedule, the active window and the next five syncs.", s.getConnection, one(connectionDetail{})},
		{"POST", "/v1/connections", "tenant", a, "Create a connection (sftp or dropbox). An SFTP one without `config.host_key` answers 409 with the fingerprint the server presents; send it back as `config.host_key` once the employer confirmed it.", s.createConnection,
			op(createConnectionBody{}, created(connectionView{})).errors(409, 422, 501, 502)},
		{"POST", "/v1/connections/:id/authorize", "tenant", a, "Start an API connection's OAuth authorization: the link for the employer's admin, who returns to /oauth/callback.", s.authorizeConnection,
			op(idPath{}, ok(AuthorizeLink{})).errors(404, 422, 501)},
		{"GET", "/oauth/callback", "", "", "The OAuth provider's return: stores the connection's token and shows the outcome.", s.oauthCallback,
			op(callbackParams{}, reply{status: 200, body: htmlPage(""), ctype: "text/html"}, reply{status: 400, body: htmlPage(""), ctype: "text/html"},
				reply{status: 501, body: htmlPage(""), ctype: "text/html"}, reply{status: 502, body: htmlPage(""), ctype: "text/html"})},
		{"POST", "/v1/hooks/:tenant/:id", "", "", "A provider's signed change notification for an API connection: queues a sync (202).", s.providerWebhook,
			op(hookPath{}, accepted(schema.SyncRun{})).errors(401, 404, 409, 501)},
		{"POST", "/v1/connections/:id/test", "tenant", w, "Dial, check the host key, log in and list what a pull would take; a failure comes back with its code and fix.", s.testConnection,
			op(idPath{}, ok(ConnectionTest{})).errors(404, 501)},
		{"PATCH", "/v1/connections/:id", "tenant", a, "Update a connection: layout, enabled, config keys (merged; policy key by key; null removes), secret keys (credentials and PGP keys, merged; \"\" removes).", s.updateConnection,
			op(updateConnectionBody{}, ok(connectionView{})).errors(404, 409, 422, 501)},
		{"DELETE", "/v1/connections/:id", "tenant", a, "Delete a connection: unlisted and unscheduled, its drop box logins and windows removed, its files' records kept; `purge_files=true` also deletes the bytes kept of its files.", s.deleteConnection,
			op(deleteConnectionParams{}, ok(ConnectionDeleted{})).errors(404, 501)},
		{"GET", "/v1/dropbox-accounts", "tenant", a, "Drop box logins (never their credentials).", s.listDropboxAccounts, list(noParams{}, Page[schema.DropboxAccount]{})},
		{"DELETE", "/v1/dropbox-accounts/:username", "tenant", a, "Remove a drop box login.", s.deleteDropboxAccount, op(usernamePath{}, noContent).errors(404)},
		{"PUT", "/v1/connections/:id/schedule", "tenant", w, "Set the cron schedule, time_zone and catch_up (once|skip) of a connection.", s.putSchedule,
			op(scheduleBody{}, ok(connectionDetail{})).errors(404, 422)},
		{"POST", "/v1/connections/:id/sync", "tenant", w, "Queue a sync now; 202 with the queued sync run.", s.syncConnection, op(idPath{}, accepted(schema.SyncRun{})).errors(404, 409, 501)},
		{"GET", "/v1/windows", "tenant", r, "Enrollment windows.", s.listWindows, list(noParams{}, Page[schema.Window]{})},
		{"POST", "/v1/windows", "tenant", w, "Create an enrollment window: name, starts_on, ends_on, schedule, final_pull, optional connection_id.", s.createWindow,
			op(windowBody{}, created(schema.Window{})).errors(422)},
		{"DELETE", "/v1/windows/:id", "tenant", w, "Remove an enrollment window.", s.deleteWindow, op(idPath{}, noContent).errors(404)},
		{"GET", "/v1/files", "tenant", r, "Received files, newest first.", s.listFiles, list(connectionListQuery{}, Page[schema.File]{})},
		{"GET", "/v1/files/:id", "tenant", r, "One file with its status and counts.", s.getFile, one(schema.File{})},
		{"GET", "/v1/files/:id/errors", "tenant", r, "A file's rejected rows, with fixes.", s.fileErrors, op(idPath{}, ok(Page[RecordErrorFix]{})).errors(404)},
		{"GET", "/v1/exports/834", "tenant", schema.ScopePIIRead, "The tenant's people, dependents and coverages as an X12 834 (everyone as an audit file, or `changes_since` a feed seq as a change file); it carries SSNs, so the key needs pii:read and the export is audited.", s.export834,
			op(export834Params{}, reply{status: 200, body: x12Text(""), ctype: "application/edi-x12"})},
		{"GET", "/v1/files/:id/999", "tenant", r, "A received 834's 999 acknowledgment: each transaction set accepted or rejected with its error (application/edi-x12).", s.fileAck,
			op(idPath{}, reply{status: 200, body: x12Text(""), ctype: "application/edi-x12"}).errors(404, 409, 410, 501)},
		{"POST", "/v1/files/:id/release", "tenant", w, "Apply a held file; `overwrite=true` even though files of its connection applied since it was received.", s.releaseFile,
			op(releaseParams{}, ok(Released{})).errors(404, 409, 410, 422, 501)},
		{"POST", "/v1/files/:id/discard", "tenant", w, "Drop a held file.", s.discardFile, op(idPath{}, noContent).errors(404, 409, 501)},
		{"POST", "/v1/files/:id/replay", "tenant", w, "Queue a re-run of the pipeline on the file's kept bytes with the current layout; 202 with the sync run.", s.replayFile,
			op(idPath{}, accepted(schema.SyncRun{})).errors(404, 410, 501)},
		{"GET", "/v1/sync-runs", "tenant", r, "Sync runs, newest first.", s.listSyncRuns, list(connectionListQuery{}, Page[schema.SyncRun]{})},
		{"GET", "/v1/sync-runs/:id", "tenant", r, "One sync run: status, attempt, error and its code.", s.getSyncRun, one(schema.SyncRun{})},
		{"GET", "/v1/events", "tenant", r, "The change event feed in commit order.", s.listEvents, list(pageQuery{}, Page[schema.Event]{})},
		{"GET", "/v1/events/:id", "tenant", r, "One event by id (a webhook delivery's webhook-id).", s.getEvent, one(schema.Event{})},
		{"POST", "/v1/webhook-endpoints", "tenant", w, "Register a webhook endpoint; its secret is shown once.", s.createWebhookEndpoint,
			op(EndpointRequest{}, created(schema.WebhookEndpoint{})).errors(422)},
		{"GET", "/v1/webhook-endpoints", "tenant", r, "Webhook endpoints and their delivery state.", s.listWebhookEndpoints, list(noParams{}, Page[endpointView]{})},
		{"DELETE", "/v1/webhook-endpoints/:id", "tenant", w, "Remove a webhook endpoint.", s.deleteWebhookEndpoint, op(idPath{}, noContent).errors(404)},
		{"POST", "/v1/webhook-endpoints/:id/enable", "tenant", w, "Re-enable a disabled endpoint.", s.enableWebhookEndpoint, op(idPath{}, ok(endpointView{})).errors(404)},
		{"POST", "/v1/webhook-endpoints/:id/replay", "tenant", w, "Send one event now (200, the delivery), or re-deliver every event since a time (202).", s.replayWebhook,
			op(replayBody{}, ok(schema.WebhookDelivery{}), accepted(endpointView{})).errors(404, 501)},
		{"GET", "/v1/audit", "tenant", a, "The audit log, newest first: PII reads and every change, by key or CLI user; filters action (or a family like `key.`), actor, since, until (RFC 3339).", s.listAudit,
			list(auditQuery{}, Page[schema.AuditEntry]{})},
		{"GET", "/v1/layouts", "tenant", r, "The built-in layouts, and whether the tenant (or `connection_id`) overrides each.", s.listLayouts, list(connectionScopeQuery{}, Page[layoutSummary]{})},
		{"GET", "/v1/layouts/:name", "tenant", r, "The effective layout: built-in, deep-merged with the tenant's and `connection_id`'s overrides.", s.getLayout,
			op(layoutGet{}, ok(parsers.Layout{}), notModified).errors(404)},
		{"PUT", "/v1/layouts/:name", "tenant", w, "Store the tenant's (or `connection_id`'s) override of a layout (YAML or JSON), checked by merging it; answers the effective layout.", s.putLayout,
			op(layoutPut{}, ok(parsers.Layout{})).raw("application/yaml,application/json").errors(404, 422)},
		{"POST", "/v1/layouts/infer", "upload", w, "Propose a layout from a sample (raw body or multipart `file`, at most 16 MiB; `entity`), with its coverage and the sample's dry run.", s.inferLayout,
			op(inferParams{}, ok(inferred{})).raw("text/csv,application/octet-stream,multipart/form-data").errors(413, 422)},
		{"POST", "/v1/validate", "upload", w, "Dry run: read and validate a file (raw body, or multipart with an optional `layout` part before the `file` part) with `layout` or the inline one; nothing is stored.", s.validateFile,
			op(validateParams{}, ok(parsers.Report{})).raw("text/csv,application/octet-stream,multipart/form-data").errors(404, 413, 422)},
		{"GET", "/v1/keys", "tenant", a, "The tenant's API keys (never the keys themselves), with last use and expiry.", s.listKeys, list(noParams{}, Page[schema.APIKey]{})},
		{"POST", "/v1/keys", "tenant", a, "Create an API key: name, scopes (read, pii:read, write), optional expires_at; the key is shown once.", s.createKey,
			op(KeyRequest{}, created(keyCreated{})).errors(422)},
		{"DELETE", "/v1/keys/:id", "tenant", a, "Revoke an API key (by id or prefix); it stops working at once, on every replica.", s.revokeKey, op(idPath{}, noContent).errors(404)},
		{"GET", "/v1/webhook-deliveries", "tenant", r, "Webhook delivery attempts, newest first.", s.listWebhookDeliveries, list(pageQuery{}, Page[schema.WebhookDelivery]{})},
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
	if s.console != nil {
		s.console.routes(e)
	}
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
		chain = append(chain, knownParams(queryParams(rt.doc.in), rt.access == "tenant" || rt.access == "upload"))
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

func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, Status{Status: "ok"}) }

func (s *Server) readyz(c *gin.Context) {
	if err := s.cfg.Store.Ready(c.Request.Context()); err != nil {
		problem(c, http.StatusServiceUnavailable, "not_ready", err.Error())
		return
	}
	c.JSON(http.StatusOK, Status{Status: "ready"})
}

// listErrors serves the error catalog.
func (s *Server) listErrors(c *gin.Context) {
	out := make([]schema.CatalogEntry, 0, len(schema.Catalog))
	for _, code := range schema.CatalogCodes() {
		out = append(out, schema.Catalog[code])
	}
	c.JSON(http.StatusOK, all(out))
}
