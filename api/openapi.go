package api

import (
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
)

var ginParam = regexp.MustCompile(`:([a-z_]+)`)

// openAPIPath turns /files/:id into /files/{id}.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

var paramDocs = map[string]string{
	"limit":             "Page size, 1 to 1000 (default 50).",
	"cursor":            "The next_cursor of the previous page.",
	"employment_status": "active, leave, terminated, retired, deceased or prehire.",
	"employment_type":   "full_time, part_time, temporary, seasonal, contractor or intern.",
	"department":        "Exact department.",
	"location":          "Exact location.",
	"external_id":       "The source system's employee id.",
	"connection_id":     "Employees last delivered by this connection.",
	"hired_after":       "YYYY-MM-DD, exclusive.",
	"terminated_after":  "YYYY-MM-DD, exclusive.",
	"updated_since":     "RFC 3339 time.",
	"format":            "csv for a CSV export of every match.",
	"sort":              "id (default) or updated_at.",
	"include":           "dependents,enrollments",
	"employee_id":       "One employee's records.",
	"name":              "File name of a raw-body upload.",
	"wait":              "true: ingest now and return the outcome.",
	"tenant":            "Tenant slug, for admin keys.",
}

// document builds the OpenAPI 3.1 description of the route table.
func (s *Server) document() map[string]any {
	paths := map[string]any{}
	for _, rt := range s.table() {
		op := map[string]any{
			"summary":     rt.summary,
			"operationId": strings.ToLower(rt.method) + strings.ReplaceAll(strings.ReplaceAll(openAPIPath(rt.path), "/", "_"), "{id}", "id"),
			"responses": map[string]any{
				"200":     map[string]any{"description": "OK", "content": map[string]any{"application/json": map[string]any{}}},
				"default": map[string]any{"description": "An RFC 9457 problem", "content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}},
			},
		}
		var params []any
		if strings.Contains(rt.path, ":id") {
			params = append(params, map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, p := range rt.params {
			params = append(params, map[string]any{"name": p, "in": "query", "description": paramDocs[p], "schema": map[string]any{"type": "string"}})
		}
		if rt.access != "" {
			params = append(params, map[string]any{"name": "tenant", "in": "query", "description": paramDocs["tenant"], "schema": map[string]any{"type": "string"}})
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			op["description"] = fmt.Sprintf("Requires the `%s` scope.", rt.scope)
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		item, _ := paths[openAPIPath(rt.path)].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[openAPIPath(rt.path)] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "hrisbridge API", "version": "1",
			"description": "Normalized HRIS data per employer (tenant): employees, dependents, plans, enrollments, files, sync runs, change events and webhooks."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "An API key: hbk_..."}},
			"schemas": map[string]any{"Problem": map[string]any{"type": "object", "properties": map[string]any{
				"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"}, "status": map[string]any{"type": "integer"},
				"detail": map[string]any{"type": "string"}, "instance": map[string]any{"type": "string"}, "code": map[string]any{"type": "string"},
				"request_id": map[string]any{"type": "string"}}}},
		},
	}
}

func (s *Server) openapi(c *gin.Context) { c.JSON(http.StatusOK, s.document()) }

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hrisbridge API reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .2em}td,th{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}</style></head>
<body><h1>hrisbridge API reference</h1>
<p>Send <code>Authorization: Bearer hbk_...</code>. Errors are <code>application/problem+json</code> (RFC 9457); lists page with
<code>limit</code> and <code>cursor</code> → <code>next_cursor</code>. The machine-readable description is at <a href="/openapi.json">/openapi.json</a>.</p>
<table><tr><th>Route</th><th>Scope</th><th>What</th><th>Query</th></tr>
{{range .}}<tr><td><code>{{.Method}} {{.Path}}</code></td><td>{{.Scope}}</td><td>{{.Summary}}</td><td>{{range .Params}}<code>{{.}}</code> {{end}}</td></tr>
{{end}}</table></body></html>`))

// docs serves the human-readable reference, from the same table.
func (s *Server) docs(c *gin.Context) {
	type row struct {
		Method, Path, Scope, Summary string
		Params                       []string
	}
	var rows []row
	for _, rt := range s.table() {
		rows = append(rows, row{rt.method, openAPIPath(rt.path), rt.scope, rt.summary, rt.params})
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := docsPage.Execute(c.Writer, rows); err != nil {
		c.Error(err) //nolint:errcheck
	}
}
