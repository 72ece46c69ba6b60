package api

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRouter checks every served route against
// /openapi.json, both ways.
func TestOpenAPIMatchesRouter(t *testing.T) {
	s := openSQLite(t)
	srv, err := New(Config{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, s, Config{})
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if r := e.get("/openapi.json", "", &doc); r.StatusCode != 200 || doc.OpenAPI != "3.0.3" {
		t.Fatalf("/openapi.json = %d %q", r.StatusCode, doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	served := map[string]bool{}
	for _, r := range srv.engine.Routes() {
		switch r.Path {
		case "/openapi.json", "/docs", "/metrics":
			continue
		}
		served[r.Method+" "+openAPIPath(r.Path)] = true
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 || len(served) < 20 {
		t.Fatalf("served but undocumented: %v; documented but not served: %v", missing, extra)
	}
	if op := doc.Paths["/v1/employees"]["get"]; op["security"] == nil || op["parameters"] == nil {
		t.Fatalf("GET /v1/employees lacks security or parameters: %v", op)
	}
	resp, err := http.Get(e.url + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "GET /v1/employees/{id}") {
		t.Fatalf("/docs = %d", resp.StatusCode)
	}
}
