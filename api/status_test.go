package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Every answer the API tests get is recorded by route and status;
// after the tests, each must be one the route's OpenAPI operation
// declares. The tests exercise success and failure paths of every route,
// so an undeclared status (a 409 the document does not list) fails the
// package.

var answered sync.Map // "GET /v1/files/{id} 404" -> true

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type routePattern struct {
	method, path string
	re           *regexp.Regexp
	static       bool
}

// recordStatuses serves srv, recording each answer's route and status.
func recordStatuses(srv *Server) http.Handler {
	var patterns []routePattern
	for _, rt := range srv.table() {
		re := regexp.MustCompile("^" + ginParam.ReplaceAllString(regexp.QuoteMeta(rt.path), "[^/]+") + "$")
		patterns = append(patterns, routePattern{rt.method, openAPIPath(rt.path), re, !strings.Contains(rt.path, ":")})
	}
	// A static path wins over a parameter (/v1/layouts/infer before
	// /v1/layouts/{name}).
	sort.SliceStable(patterns, func(i, j int) bool { return patterns[i].static && !patterns[j].static })
	h := srv.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		for _, p := range patterns {
			if p.method == r.Method && p.re.MatchString(r.URL.Path) {
				answered.Store(fmt.Sprintf("%s %s %d", p.method, p.path, rec.status), true)
				return
			}
		}
	})
}

type statusCheck struct{ m *testing.M }

func (c statusCheck) Run() int {
	code := c.m.Run()
	if code != 0 || !flagRanAll() {
		return code
	}
	b, err := (&Server{}).document()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var undeclared []string
	answered.Range(func(k, _ any) bool {
		f := strings.Fields(k.(string))
		if _, ok := doc.Paths[f[1]][strings.ToLower(f[0])].Responses[f[2]]; !ok {
			undeclared = append(undeclared, k.(string))
		}
		return true
	})
	if len(undeclared) > 0 {
		slices.Sort(undeclared)
		fmt.Fprintf(os.Stderr, "FAIL: the API answered statuses /openapi.json does not declare for the route:\n  %s\n", strings.Join(undeclared, "\n  "))
		return 1
	}
	return 0
}

// flagRanAll reports whether the whole package ran (no -run filter), so
// that the statuses seen are worth checking.
func flagRanAll() bool {
	f := flagLookup("test.run")
	return f == "" || f == "^$"
}

func flagLookup(name string) string {
	for i, a := range os.Args {
		if strings.HasPrefix(a, "-"+name+"=") {
			return strings.TrimPrefix(a, "-"+name+"=")
		}
		if a == "-"+name && i+1 < len(os.Args) {
			return os.Args[i+1]
		}
	}
	return ""
}
