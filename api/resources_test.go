package api

import (
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// heldFiles adapts the bridge for the API, as cmd does.
type heldFiles struct{ b *bridge.Bridge }

func (h heldFiles) Release(ctx context.Context, t, id string, overwrite bool) (Released, error) {
	r, err := h.b.Release(ctx, t, id, overwrite)
	return Released{File: r.File, Missing: r.Missing, Events: r.Events}, err
}
func (h heldFiles) Discard(ctx context.Context, t, id string) error { return h.b.Discard(ctx, t, id) }
func (h heldFiles) Ack999(ctx context.Context, t, id string) ([]byte, error) {
	return h.b.Ack999(ctx, t, id)
}

// loaded is a tenant with a census, plans, dependents and enrollments
// ingested through the bridge, served over real HTTP.
type loaded struct {
	*env
	tenant schema.Tenant
	b      *bridge.Bridge
	conns  map[string]schema.Connection
}

func load(t *testing.T, s schema.Store, cfg Config) *loaded {
	ctx := context.Background()
	b, err := bridge.New(bridge.Config{Store: s, Box: storetest.Box(t), SpoolDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Files, cfg.Logger = s, heldFiles{b}, slog.New(slog.DiscardHandler)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	l := &loaded{env: &env{t: t, store: s, url: ts.URL}, b: b, conns: map[string]schema.Connection{}}
	l.tenant = schema.Tenant{Slug: "acme", Name: "Acme"}
	if err := s.CreateTenant(ctx, &l.tenant); err != nil {
		t.Fatal(err)
	}
	for _, layout := range []string{"census-csv", "plans-csv", "dependents-csv", "enrollments-csv"} {
		c := schema.Connection{TenantID: l.tenant.ID, Name: layout, Kind: schema.ConnDropbox, Layout: layout, Enabled: true}
		if err := s.CreateConnection(ctx, &c); err != nil {
			t.Fatal(err)
		}
		l.conns[layout] = c
	}
	l.send("census-csv", "Employee ID,First Name,Last Name,DOB,SSN,Status,FT/PT,Department,Location,Hire Date,Term Date\n"+
		"E1,Ada,L,1985-12-10,123-45-6789,A,FT,Eng,Chicago,2020-01-06,\n"+
		"E2,Bob,S,1970-01-02,234-56-7890,T,PT,Ops,Joliet,2010-03-01,2026-10-31\n"+
		"E3,Cy,L,1990-05-05,,A,FT,Eng,Remote,2024-02-01,\n")
	l.send("plans-csv", "Plan Code,Plan Name,Plan Type\nMED,PPO,Medical\n")
	l.send("dependents-csv", "Employee ID,Dependent ID,First Name,Last Name,Relationship,DOB,SSN\nE1,01,Charles,L,SP,1983-05-01,345-67-8912\n")
	l.send("enrollments-csv", "Employee ID,Plan Code,Coverage Tier,Effective Date\nE1,MED,ES,01/01/2027\n")
	return l
}

func (l *loaded) send(layout, body string) bridge.Result {
	l.t.Helper()
	r, err := l.b.IngestReader(context.Background(), l.conns[layout], layout+".csv", strings.NewReader(body))
	if err != nil || r.File.Status == schema.FileRejected {
		l.t.Fatalf("%s: %+v %v", layout, r.File, err)
	}
	return r
}

func TestResourcesAndFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		l := load(t, s, Config{})
		key := l.key(l.tenant.ID, "read")
		for _, tt := range []struct {
			query string
			want  string
		}{
			{"employment_status=active", "E1 E3"},
			{"employment_type=part_time", "E2"},
			{"department=Eng&location=Remote", "E3"},
			{"external_id=E2", "E2"},
			{"hired_after=2019-12-31", "E1 E3"},
			{"terminated_after=2026-01-01", "E2"},
			{"connection_id=" + l.conns["census-csv"].ID, "E1 E2 E3"},
		} {
			var p Page[schema.Employee]
			l.get("/v1/employees?"+tt.query, key, &p)
			var ids []string
			for _, e := range p.Data {
				ids = append(ids, e.ExternalID)
			}
			if strings.Join(ids, " ") != tt.want {
				t.Errorf("?%s = %v, want %s", tt.query, ids, tt.want)
			}
		}
		var emps Page[schema.Employee]
		l.get("/v1/employees?external_id=E1", key, &emps)
		var view struct {
			schema.Employee
			Dependents  []schema.Dependent  `json:"dependents"`
			Enrollments []schema.Enrollment `json:"enrollments"`
		}
		resp := l.get("/v1/employees/"+emps.Data[0].ID+"?include=dependents,enrollments", key, &view)
		if resp.StatusCode != 200 || len(view.Dependents) != 1 || view.Dependents[0].SSN != "***-**-8912" || view.Dependents[0].DateOfBirth != "" ||
			len(view.Enrollments) != 1 || view.Enrollments[0].CoverageTier != "employee_spouse" || view.SSN != "***-**-6789" {
			t.Fatalf("include = %d %+v", resp.StatusCode, view)
		}
		etag := resp.Header.Get("ETag")
		req, _ := http.NewRequest("GET", l.url+"/v1/employees/"+emps.Data[0].ID+"?include=dependents,enrollments", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("If-None-Match", etag)
		if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 304 || etag == "" {
			t.Fatalf("If-None-Match = %v %v (etag %q), want 304", r.StatusCode, err, etag)
		}
		var deps Page[schema.Dependent]
		var plans Page[schema.BenefitPlan]
		var enr Page[schema.Enrollment]
		var runs, files Page[map[string]any]
		l.get("/v1/dependents", key, &deps)
		l.get("/v1/benefit-plans", key, &plans)
		l.get("/v1/enrollments?employee_id="+emps.Data[0].ID, key, &enr)
		l.get("/v1/files?limit=2", key, &files)
		l.get("/v1/sync-runs", key, &runs)
		if len(deps.Data) != 1 || deps.Data[0].SSN != "***-**-8912" || len(plans.Data) != 1 || len(enr.Data) != 1 || len(files.Data) != 2 || files.NextCursor == nil {
			t.Fatalf("lists: deps %+v plans %d enr %d files %d", deps.Data, len(plans.Data), len(enr.Data), len(files.Data))
		}
		var more Page[map[string]any]
		l.get("/v1/files?limit=2&cursor="+*files.NextCursor, key, &more)
		if len(more.Data) != 2 || more.Data[0]["id"] == files.Data[0]["id"] {
			t.Fatalf("files page 2 = %+v", more.Data)
		}
		var tenants Problem
		if r := l.get("/v1/tenants", key, &tenants); r.StatusCode != 403 {
			t.Fatalf("/v1/tenants with a tenant read key = %d, want 403", r.StatusCode)
		}
		var all struct{ Data []schema.Tenant }
		if r := l.get("/v1/tenants", l.key("", "admin"), &all); r.StatusCode != 200 || len(all.Data) != 1 {
			t.Fatalf("/v1/tenants with an admin key = %d %+v", r.StatusCode, all)
		}
	})
}

func TestEventFeedResumes(t *testing.T) {
	s := openSQLite(t)
	l := load(t, s, Config{})
	key := l.key(l.tenant.ID, "read")
	var first Page[schema.Event]
	l.get("/v1/events?limit=2", key, &first)
	var rest Page[schema.Event]
	l.get("/v1/events?limit=1000&cursor="+*first.NextCursor, key, &rest)
	total := len(first.Data) + len(rest.Data)
	if len(first.Data) != 2 || total != 4 || rest.Data[0].Seq <= first.Data[1].Seq {
		t.Fatalf("feed: %d then %d events", len(first.Data), len(rest.Data))
	}
	// At the end the cursor still comes back, and new events appear after it.
	var empty Page[schema.Event]
	l.get("/v1/events?cursor="+*rest.NextCursor, key, &empty)
	if len(empty.Data) != 0 || empty.NextCursor == nil {
		t.Fatalf("end of feed: %+v", empty)
	}
	l.send("census-csv", "Employee ID,First Name,Last Name,Status\nE1,Ada,L,A\nE2,Bob,S,A\nE3,Cy,L,A\nE4,Di,X,A\n")
	var next Page[schema.Event]
	l.get("/v1/events?cursor="+*empty.NextCursor, key, &next)
	if len(next.Data) == 0 {
		t.Fatal("new events not found after the saved cursor")
	}
}

func TestReleaseAndDiscardOverHTTP(t *testing.T) {
	s := openSQLite(t)
	l := load(t, s, Config{})
	read, write := l.key(l.tenant.ID, "read"), l.key(l.tenant.ID, "read", "write")
	held := l.send("census-csv", "Employee ID,First Name,Last Name,Status\nE1,Ada,L,A\n") // 3 -> 1 people: held
	if held.File.Status != schema.FileHeld {
		t.Fatalf("shrunk census = %s", held.File.Status)
	}
	var p Problem
	if r := l.do("POST", "/v1/files/"+held.File.ID+"/release", read, &p); r.StatusCode != 403 {
		t.Fatalf("release with a read key = %d", r.StatusCode)
	}
	var f Released
	// E2 and E3 are not in the released snapshot: it says so.
	if r := l.do("POST", "/v1/files/"+held.File.ID+"/release", write, &f); r.StatusCode != 200 || f.Status != schema.FileApplied || f.Missing != 2 {
		t.Fatalf("release = %d %+v", r.StatusCode, f)
	}
	if r := l.do("POST", "/v1/files/"+held.File.ID+"/release", write, &p); r.StatusCode != 409 {
		t.Fatalf("second release = %d %+v, want 409", r.StatusCode, p)
	}
	var errs struct {
		Data []struct {
			Code string `json:"code"`
			Fix  string `json:"fix"`
		} `json:"data"`
	}
	bad := l.send("census-csv", strings.Repeat("", 0)+"Employee ID,First Name,Last Name,Status\nE1,Ada,L,A\nE2,,S,A\nE3,Cy,L,A\nE4,Di,X,A\nE5,E,X,A\nE6,F,X,A\nE7,G,X,A\nE8,H,X,A\nE9,I,X,A\nE10,J,X,A\nE11,K,X,A\nE12,L,X,A\nE13,M,X,A\nE14,N,X,A\nE15,O,X,A\nE16,P,X,A\nE17,Q,X,A\nE18,R,X,A\nE19,S,X,A\nE20,T,X,A\nE21,U,X,A\n")
	if r := l.get("/v1/files/"+bad.File.ID+"/errors", read, &errs); r.StatusCode != 200 || len(errs.Data) != 1 || errs.Data[0].Code != "E_REQUIRED" || errs.Data[0].Fix == "" {
		t.Fatalf("file errors = %d %+v", r.StatusCode, errs)
	}
}

func TestCSVExport(t *testing.T) {
	s := openSQLite(t)
	l := load(t, s, Config{})
	key := l.key(l.tenant.ID, "read")
	for _, how := range []func(*http.Request){
		func(r *http.Request) { r.URL.RawQuery = "format=csv&department=Eng" },
		func(r *http.Request) { r.URL.RawQuery = "department=Eng"; r.Header.Set("Accept", "text/csv") },
	} {
		req, _ := http.NewRequest("GET", l.url+"/v1/employees", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		how(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(lines) != 3 ||
			!strings.HasPrefix(lines[0], "id,external_id,first_name") || !strings.Contains(string(body), "***-**-6789") || strings.Contains(string(body), "123-45-6789") {
			t.Fatalf("csv export = %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	// Custom fields travel in one JSON column.
	l.send("census-csv", "Employee ID,First Name,Last Name,DOB,SSN,Status,FT/PT,Department,Location,Hire Date,Term Date,Union Code\n"+
		"E1,Ada,L,1985-12-10,123-45-6789,A,FT,Eng,Chicago,2020-01-06,,L42\n"+
		"E2,Bob,S,1970-01-02,234-56-7890,T,PT,Ops,Joliet,2010-03-01,2026-10-31,\n"+
		"E3,Cy,L,1990-05-05,,A,FT,Eng,Remote,2024-02-01,,\n")
	req, _ := http.NewRequest("GET", l.url+"/v1/employees?format=csv&external_id=E1", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(recs) != 2 {
		t.Fatalf("export of E1: %v %v", recs, err)
	}
	col := slices.Index(recs[0], "custom_fields")
	if col < 0 || recs[1][col] != `{"Union Code":"L42"}` {
		t.Fatalf("custom_fields column = %d %q", col, recs[1])
	}
}

func TestRateLimit(t *testing.T) {
	s := openSQLite(t)
	l := load(t, s, Config{RateLimit: 3, RateWindow: time.Minute})
	key, other := l.key(l.tenant.ID, "read"), l.key(l.tenant.ID, "read")
	for i := range 3 {
		resp := l.get("/v1/employees", key, nil)
		if resp.StatusCode != 200 || resp.Header.Get("RateLimit-Policy") != `"per-key";q=3;w=60` || !strings.HasPrefix(resp.Header.Get("RateLimit"), `"per-key";r=`+string(rune('2'-i))) {
			t.Fatalf("request %d: %d %q %q", i, resp.StatusCode, resp.Header.Get("RateLimit-Policy"), resp.Header.Get("RateLimit"))
		}
	}
	var p Problem
	resp := l.get("/v1/employees", key, &p)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || p.Code != "quota_exceeded" || !strings.HasSuffix(p.Type, "#quota-exceeded") {
		t.Fatalf("4th request = %d retry-after %q %+v", resp.StatusCode, resp.Header.Get("Retry-After"), p)
	}
	if resp := l.get("/v1/employees", other, nil); resp.StatusCode != 200 {
		t.Fatalf("another key is limited too: %d", resp.StatusCode)
	}
}
