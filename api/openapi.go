package api

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/swaggest/jsonschema-go"
	"github.com/swaggest/openapi-go"
	"github.com/swaggest/openapi-go/openapi3"
)

var ginParam = regexp.MustCompile(`:([a-z_]+)`)

// openAPIPath turns /files/:id into /files/{id}.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// queryParams lists the query parameters a request type declares (its
// query tags, embedded structs included).
func queryParams(in any) []string {
	var out []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
			} else if q := f.Tag.Get("query"); q != "" {
				out = append(out, q)
			}
		}
	}
	if in != nil {
		walk(reflect.TypeOf(in))
	}
	return out
}

// tenantParam is the query parameter of every tenant route: an admin
// key's choice of tenant.
type tenantParam struct {
	Tenant string `query:"tenant" description:"The tenant's slug; admin keys only (or the Hrisbridge-Tenant header)."`
}

// errorStatuses are the problems every route of an access answers besides
// its own: a malformed or unknown parameter, authentication, scope and the
// rate limit.
var errorStatuses = map[string][]int{
	"":       {400, 500},
	"admin":  {400, 401, 403, 413, 429, 500},
	"tenant": {400, 401, 403, 413, 429, 500},
	"upload": {400, 401, 403, 413, 429, 500},
}

// Version is the API's version in the document.
const Version = "1.0.0"

// document reflects the OpenAPI 3.0 description of the route table from
// its request and response types.
func (s *Server) document() ([]byte, error) {
	r := openapi3.NewReflector()
	r.DefaultOptions = append(r.DefaultOptions, jsonschema.InterceptDefName(defName))
	spec := r.SpecEns()
	spec.Info.WithTitle("hrisbridge API").WithVersion(Version).
		WithDescription("Normalized HRIS data per employer (tenant): employees, dependents, plans, enrollments, files, sync runs, change events and webhooks. Errors are RFC 9457 problems; lists page with limit and cursor.").
		WithLicense(openapi3.License{Name: "Apache-2.0", URL: ptr("https://www.apache.org/licenses/LICENSE-2.0")})
	spec.WithServers(openapi3.Server{URL: "/", Description: ptr("This server.")})
	spec.SetHTTPBearerTokenSecurity("bearer", "hbk_...", "An API key: Authorization: Bearer hbk_...")
	for _, rt := range s.table() {
		oc, err := r.NewOperationContext(rt.method, openAPIPath(rt.path))
		if err != nil {
			return nil, err
		}
		oc.SetID(operationID(rt))
		oc.SetSummary(rt.summary)
		if rt.access != "" {
			oc.SetDescription(fmt.Sprintf("Requires the `%s` scope.", rt.scope))
			oc.AddSecurity("bearer")
			oc.AddReqStructure(tenantParam{})
		}
		oc.AddReqStructure(rt.doc.in)
		for _, ct := range strings.Split(rt.doc.body, ",") {
			switch ct {
			case "":
			case "multipart/form-data":
				oc.AddReqStructure(multipartFile{})
			default:
				oc.AddReqStructure(fileBody(""), openapi.WithContentType(ct))
			}
		}
		for _, rep := range rt.doc.out {
			opts := []openapi.ContentOption{openapi.WithHTTPStatus(rep.status)}
			if rep.ctype != "" {
				opts = append(opts, openapi.WithContentType(rep.ctype))
			}
			oc.AddRespStructure(rep.body, opts...)
		}
		errs := append(slices.Clone(errorStatuses[rt.access]), rt.doc.errs...)
		slices.Sort(errs)
		for _, st := range slices.Compact(errs) {
			body := any(Problem{})
			if st == http.StatusConflict && rt.method == "POST" && rt.path == "/v1/connections" {
				body = HostKeyProblem{}
			}
			oc.AddRespStructure(body, openapi.WithHTTPStatus(st), openapi.WithContentType("application/problem+json"))
		}
		if err := r.AddOperation(oc); err != nil {
			return nil, fmt.Errorf("%s %s: %w", rt.method, rt.path, err)
		}
	}
	return publicRoutes(spec, s.table())
}

// publicRoutes writes the document with an explicit empty security list
// on the routes that take no key (the library leaves an empty list out).
func publicRoutes(spec *openapi3.Spec, routes []route) ([]byte, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	paths := doc["paths"].(map[string]any)
	for _, rt := range routes {
		if rt.access == "" {
			paths[openAPIPath(rt.path)].(map[string]any)[strings.ToLower(rt.method)].(map[string]any)["security"] = []any{}
		}
	}
	return json.Marshal(doc)
}

func ptr[T any](v T) *T { return &v }

// defName names a schema by its Go type without the package
// (SchemaEmployee -> Employee), a page by what it holds (PageEmployee).
func defName(t reflect.Type, def string) string {
	name := t.Name()
	if name == "" || !strings.HasPrefix(t.PkgPath(), "github.com/hrisbridge/") {
		return def
	}
	if i := strings.IndexByte(name, '['); i >= 0 {
		arg := strings.TrimSuffix(name[i+1:], "]")
		name = name[:i] + upperFirst(arg[strings.LastIndexAny(arg, "./")+1:])
	}
	return upperFirst(name)
}

func upperFirst(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// operationID names an operation for generated clients: listEmployees,
// getEmployee, createKey...
func operationID(rt route) string {
	name := runtime.FuncForPC(reflect.ValueOf(rt.handler).Pointer()).Name()
	name = name[strings.LastIndex(name, ".")+1:]
	return strings.TrimSuffix(name, "-fm")
}

func (s *Server) openapi(c *gin.Context) {
	doc, err := s.document()
	if err != nil {
		fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", doc)
}

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
		rows = append(rows, row{rt.method, openAPIPath(rt.path), rt.scope, rt.summary, queryParams(rt.doc.in)})
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := docsPage.Execute(c.Writer, rows); err != nil {
		c.Error(err) //nolint:errcheck
	}
}
