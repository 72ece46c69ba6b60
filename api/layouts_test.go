package api

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// post sends body with a content type and decodes the JSON answer.
func (e *env) post(path, key, contentType string, body []byte, out any) *http.Response {
	e.t.Helper()
	return e.request("POST", path, key, contentType, body, out)
}

// TestLayoutsOverTheAPI: list, read the effective layout, store an
// override (checked), dry-run a file by layout name or with an inline
// layout, and infer a layout from a sample, on both stores.
func TestLayoutsOverTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		e := newEnv(t, s)
		tn, write := e.tenant("acme", 0, "read", "write")
		read := e.key(tn.ID, "read")
		var list struct{ Data []layoutSummary }
		if r := e.get("/v1/layouts", read, &list); r.StatusCode != 200 || len(list.Data) < 6 || list.Data[0].Overridden {
			t.Fatalf("GET /v1/layouts = %d %+v", r.StatusCode, list)
		}
		var l parsers.Layout
		if r := e.get("/v1/layouts/census-csv", read, &l); r.StatusCode != 200 || l.Fields["external_id"] == nil {
			t.Fatalf("GET /v1/layouts/census-csv = %d", r.StatusCode)
		}
		if r := e.get("/v1/layouts/nope", read, nil); r.StatusCode != 404 {
			t.Fatalf("unknown layout = %d", r.StatusCode)
		}
		override := []byte("fields:\n  employment_status:\n    codes: {X: leave}\n")
		req, _ := http.NewRequest("PUT", e.url+"/v1/layouts/census-csv", bytes.NewReader(override))
		req.Header.Set("Authorization", "Bearer "+write)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("PUT override = %v %v", err, resp.StatusCode)
		}
		resp.Body.Close()
		bad, _ := http.NewRequest("PUT", e.url+"/v1/layouts/census-csv", strings.NewReader("mode: sometimes\n"))
		bad.Header.Set("Authorization", "Bearer "+write)
		if resp, _ := http.DefaultClient.Do(bad); resp.StatusCode != 422 {
			t.Fatalf("an invalid override = %d, want 422", resp.StatusCode)
		}
		e.get("/v1/layouts", read, &list)
		for _, x := range list.Data {
			if (x.Name == "census-csv") != x.Overridden {
				t.Fatalf("overrides listed wrongly: %+v", list.Data)
			}
		}
		// A dry run by name uses the tenant's effective layout: X is leave now.
		file := []byte("Employee ID,First Name,Last Name,Status\nE1,A,B,X\nE2,C,D,Q\n")
		var rep parsers.Report
		if r := e.post("/v1/validate?layout=census-csv&name=c.csv", write, "text/csv", file, &rep); r.StatusCode != 200 || rep.Rows != 2 || rep.Invalid != 1 || rep.Verdict != "reject" {
			t.Fatalf("POST /v1/validate = %d %+v", r.StatusCode, rep)
		}
		// An inline layout before the file.
		var mp bytes.Buffer
		w := multipart.NewWriter(&mp)
		lw, _ := w.CreateFormField("layout")
		y, _ := parsers.BuiltinYAML("census-csv")
		lw.Write(y)
		fw, _ := w.CreateFormFile("file", "c.csv")
		fw.Write([]byte("Employee ID,First Name,Last Name,Status\nE1,A,B,A\n"))
		w.Close()
		if r := e.post("/v1/validate", write, w.FormDataContentType(), mp.Bytes(), &rep); r.StatusCode != 200 || rep.Verdict != "accept" {
			t.Fatalf("inline validate = %d %+v", r.StatusCode, rep)
		}
		if r := e.post("/v1/validate", write, "text/csv", file, nil); r.StatusCode != 400 {
			t.Fatalf("validate without a layout = %d", r.StatusCode)
		}
		if r := e.post("/v1/validate?layout=census-csv", read, "text/csv", file, nil); r.StatusCode != 403 {
			t.Fatalf("validate with a read key = %d", r.StatusCode)
		}
		// Infer from a sample.
		var inf struct {
			Columns    []parsers.Column
			LayoutYAML string `json:"layout_yaml"`
			Validation parsers.Report
		}
		sample := []byte("Emp No;Employee First Name;Surname;Status Code\r\n1;Ann;Lee;A\r\n")
		if r := e.post("/v1/layouts/infer?entity=employee&name=s.csv", write, "text/csv", sample, &inf); r.StatusCode != 200 ||
			inf.Validation.Verdict != "accept" || !strings.Contains(inf.LayoutYAML, "Status Code") || inf.Columns[3].Field != "employment_status" {
			t.Fatalf("POST /v1/layouts/infer = %d %+v", r.StatusCode, inf)
		}
		if r := e.post("/v1/layouts/infer?entity=pets", write, "text/csv", sample, nil); r.StatusCode != 422 {
			t.Fatalf("infer an unknown entity = %d", r.StatusCode)
		}
	})
}

// TestCreateConnectionWithHostKeyFlow: an SFTP connection is created over
// the API only with a confirmed host key: the first try answers the
// fingerprint the server presents, the second (with it) creates the
// connection, which then tests green against the real server.
func TestCreateConnectionWithHostKeyFlow(t *testing.T) {
	s := storetest.SQLite(t)
	l := load(t, s, Config{})
	l.env = newEnvWith(t, s, Config{Connections: connOps{l.b}})
	admin := l.key(l.tenant.ID, "admin")
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "outbound"), 0o755)
	os.WriteFile(filepath.Join(root, "outbound", "census_1.csv"), []byte("x"), 0o644)
	srv := sftpd.StartTest(t, root)
	body := map[string]any{"name": "adp", "kind": "sftp", "layout": "census-csv", "schedule": "0 2 * * *",
		"config": map[string]any{"host": "127.0.0.1", "port": srv.Addr.Port, "user": srv.User, "dir": "outbound", "patterns": []string{"census_*.csv"}},
		"secret": map[string]string{"password": srv.Password}}
	var p map[string]any
	if r := l.env.send("POST", "/v1/connections", admin, body, &p); r.StatusCode != 409 || p["host_key"] != ssh.FingerprintSHA256(srv.HostKey) {
		t.Fatalf("create without a host key = %d %+v", r.StatusCode, p)
	}
	if _, err := s.Connection(context.Background(), l.tenant.ID, "adp"); err == nil {
		t.Fatal("an unconfirmed connection was stored")
	}
	body["config"].(map[string]any)["host_key"] = p["host_key"]
	var created connectionView
	if r := l.env.send("POST", "/v1/connections", admin, body, &created); r.StatusCode != 201 || created.ID == "" || created.Secret != nil {
		t.Fatalf("create = %d %+v", r.StatusCode, created)
	}
	var probe struct {
		OK    bool
		Files []string
	}
	if r := l.env.send("POST", "/v1/connections/adp/test", admin, nil, &probe); r.StatusCode != 200 || !probe.OK || len(probe.Files) != 1 {
		t.Fatalf("test = %d %+v", r.StatusCode, probe)
	}
	if r := l.env.send("POST", "/v1/connections", admin, body, &p); r.StatusCode != 409 || !strings.Contains(p["detail"].(string), `named "adp" already`) {
		t.Fatalf("a duplicate = %d %+v", r.StatusCode, p)
	}
	if r := l.env.send("POST", "/v1/connections", admin, map[string]any{"name": "uploads2", "kind": "dropbox"}, &created); r.StatusCode != 201 {
		t.Fatalf("create a drop box = %d", r.StatusCode)
	}
	if r := l.env.send("POST", "/v1/connections", admin, map[string]any{"name": "x", "kind": "ftp"}, &p); r.StatusCode != 422 {
		t.Fatalf("an unknown kind = %d", r.StatusCode)
	}
}

// TestCSVCellsCannotRunAsFormulas: a cell a spreadsheet would run as a
// formula is exported as text; plain numbers are left alone.
func TestCSVCellsCannotRunAsFormulas(t *testing.T) {
	s := storetest.SQLite(t)
	l := load(t, s, Config{})
	l.send("census-csv", "Employee ID,First Name,Last Name,DOB,SSN,Status,FT/PT,Department,Location,Hire Date,Term Date,Job Title\n"+
		"E1,\"=HYPERLINK(\"\"http://x\"\")\",L,1985-12-10,123-45-6789,A,FT,+cmd|' /C calc'!A0,Chicago,2020-01-06,,@SUM(1)\n"+
		"E2,Bob,S,1970-01-02,234-56-7890,T,PT,Ops,Joliet,2010-03-01,2026-10-31,-Lead\n"+
		"E3,Cy,L,1990-05-05,,A,FT,Eng,Remote,2024-02-01,,\n")
	req, _ := http.NewRequest("GET", l.url+"/v1/employees?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+l.key(l.tenant.ID, "read"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	out := body.String()
	for _, want := range []string{`'=HYPERLINK(`, `'+cmd|`, `'@SUM(1)`, `'-Lead`} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, ",=HYPERLINK") || strings.Contains(out, `,"=HYPERLINK`) {
		t.Fatalf("a formula left runnable:\n%s", out)
	}
	if neutralize("-12.50") != "-12.50" || neutralize("=1+1") != "'=1+1" || neutralize("\tx") != "'\tx" {
		t.Fatal("neutralize")
	}
}

// TestIncludedRelationsAreArrays: include=dependents,enrollments always
// returns the keys, empty arrays when there is nothing.
func TestIncludedRelationsAreArrays(t *testing.T) {
	s := storetest.SQLite(t)
	e := newEnv(t, s)
	tn, key := e.tenant("acme", 1, "read")
	es, _ := s.Employees(context.Background(), tn.ID, schema.EmployeeQuery{Limit: 1})
	var raw map[string]json.RawMessage
	if r := e.get("/v1/employees/"+es[0].ID+"?include=dependents,enrollments", key, &raw); r.StatusCode != 200 ||
		string(raw["dependents"]) != "[]" || string(raw["enrollments"]) != "[]" {
		t.Fatalf("include = %d dependents %s enrollments %s", r.StatusCode, raw["dependents"], raw["enrollments"])
	}
	raw = nil
	if e.get("/v1/employees/"+es[0].ID, key, &raw); raw["dependents"] != nil {
		t.Fatal("dependents without include")
	}
}

// TestEveryListHasOneEnvelope: every list route of the table answers
// {"data": [...], "next_cursor": ...}, an array even when empty.
func TestEveryListHasOneEnvelope(t *testing.T) {
	s := storetest.SQLite(t)
	l := load(t, s, Config{})
	admin := l.key(l.tenant.ID, "admin")
	srv, _ := New(Config{Store: s})
	n := 0
	for _, rt := range srv.table() {
		if rt.method != "GET" || strings.Contains(rt.path, ":") || !strings.HasPrefix(rt.path, "/v1/") || rt.doc.out[0].ctype != "" {
			continue // not a JSON list (an 834 export)
		}
		var raw map[string]json.RawMessage
		path := rt.path
		if r := l.get(path, admin, &raw); r.StatusCode != 200 {
			t.Errorf("GET %s = %d", path, r.StatusCode)
			continue
		}
		if len(raw["data"]) == 0 || raw["data"][0] != '[' {
			t.Errorf("GET %s: data is %s, want an array", path, raw["data"])
		}
		if _, ok := raw["next_cursor"]; !ok {
			t.Errorf("GET %s has no next_cursor", path)
		}
		n++
	}
	if n < 12 {
		t.Fatalf("checked %d list routes", n)
	}
}

// TestMetricRoutesUseTheDocumentsPaths: requests are observed under the
// OpenAPI document's path form, /v1/files/{id}.
func TestMetricRoutesUseTheDocumentsPaths(t *testing.T) {
	s := storetest.SQLite(t)
	var mu sync.Mutex
	var routes []string
	e := newEnvWith(t, s, Config{ObserveRequest: func(method, route string, status int, d time.Duration) {
		mu.Lock()
		routes = append(routes, route)
		mu.Unlock()
	}})
	_, key := e.tenant("acme", 0, "read")
	e.get("/v1/files/nope", key, nil)
	e.get("/v1/no-such-route", key, nil)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		got := strings.Join(routes, " ")
		mu.Unlock()
		if got == "/v1/files/{id} unmatched" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("observed routes %q", got)
		}
	}
}
