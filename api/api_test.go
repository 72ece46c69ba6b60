package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
	"github.com/hrisbridge/hrisbridge/schema/sqlite"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(statusCheck{m}) }

type env struct {
	t     *testing.T
	store schema.Store
	url   string
}

func newEnv(t *testing.T, s schema.Store) *env { return newEnvWith(t, s, Config{}) }

func newEnvWith(t *testing.T, s schema.Store, cfg Config) *env {
	cfg.Store, cfg.Logger = s, slog.New(slog.DiscardHandler)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(recordStatuses(srv))
	t.Cleanup(ts.Close)
	return &env{t: t, store: s, url: ts.URL}
}

// tenant creates a tenant with n employees and returns a key for it.
func (e *env) tenant(slug string, n int, scopes ...string) (schema.Tenant, string) {
	e.t.Helper()
	ctx := context.Background()
	tn := schema.Tenant{Slug: slug, Name: slug}
	if err := e.store.CreateTenant(ctx, &tn); err != nil {
		e.t.Fatal(err)
	}
	conn := schema.Connection{TenantID: tn.ID, Name: "payroll", Kind: "sftp", Layout: "census-csv", Enabled: true}
	if err := e.store.CreateConnection(ctx, &conn); err != nil {
		e.t.Fatal(err)
	}
	emps := make([]*schema.Employee, n)
	for i := range n {
		emps[i] = &schema.Employee{TenantID: tn.ID, ConnectionID: conn.ID, ExternalID: fmt.Sprintf("%s-%d", slug, i), FirstName: "F", LastName: "L",
			SSN: fmt.Sprintf("12345%04d", i+1), DateOfBirth: "1980-01-02", EmploymentStatus: "active"}
	}
	storetest.Apply(e.t, e.store, conn, slug, emps...)
	return tn, e.key(tn.ID, scopes...)
}

func (e *env) key(tenantID string, scopes ...string) string {
	plain, prefix, hash := NewKey()
	k := schema.APIKey{TenantID: tenantID, Prefix: prefix, Hash: hash, Scopes: scopes}
	if err := e.store.CreateAPIKey(context.Background(), &k); err != nil {
		e.t.Fatal(err)
	}
	return plain
}

// get does a GET and decodes the JSON body into out (when not nil).
func (e *env) get(path, key string, out any) *http.Response {
	return e.do("GET", path, key, out)
}

func (e *env) do(method, path, key string, out any) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, body, err)
		}
	}
	return resp
}

func TestUnauthenticatedIsProblem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		e := newEnv(t, s)
		for _, key := range []string{"", "hbk_nope", "hbk_000000000000_" + strings.Repeat("0", 64)} {
			var p Problem
			resp := e.get("/v1/employees", key, &p)
			if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/problem+json" || p.Status != 401 || p.Type == "" || p.Title == "" {
				t.Errorf("key %q: %d %s %+v, want 401 problem+json", key, resp.StatusCode, resp.Header.Get("Content-Type"), p)
			}
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		e := newEnv(t, s)
		_, keyA := e.tenant("acme", 3, "read")
		_, keyB := e.tenant("globex", 2, "read")
		var pa, pb Page[schema.Employee]
		e.get("/v1/employees", keyA, &pa)
		e.get("/v1/employees", keyB, &pb)
		if len(pa.Data) != 3 || len(pb.Data) != 2 {
			t.Fatalf("acme sees %d, globex sees %d; want 3 and 2", len(pa.Data), len(pb.Data))
		}
		for _, emp := range pb.Data {
			if !strings.HasPrefix(emp.ExternalID, "globex-") {
				t.Fatalf("globex key read %s", emp.ExternalID)
			}
		}
		var p Problem
		if resp := e.get("/v1/employees/"+pa.Data[0].ID, keyB, &p); resp.StatusCode != 404 || p.Code != "not_found" {
			t.Fatalf("globex GET acme employee = %d %+v, want 404", resp.StatusCode, p)
		}
		var one schema.Employee
		if resp := e.get("/v1/employees/"+pa.Data[0].ID, keyA, &one); resp.StatusCode != 200 || one.ID != pa.Data[0].ID {
			t.Fatalf("acme GET own employee = %d %+v", resp.StatusCode, one)
		}
	})
}

func TestMaskingAndAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		e := newEnv(t, s)
		tn, readKey := e.tenant("acme", 1, "read")
		piiKey := e.key(tn.ID, "read", "pii:read")
		var masked, clear Page[schema.Employee]
		e.get("/v1/employees", readKey, &masked)
		if got := masked.Data[0]; got.SSN != "***-**-0001" || got.DateOfBirth != "" {
			t.Fatalf("read key sees ssn %q dob %q, want masked", got.SSN, got.DateOfBirth)
		}
		if log, _ := s.AuditLog(context.Background(), tn.ID, schema.AuditQuery{Limit: 10}); len(log) != 0 {
			t.Fatalf("masked read audited: %+v", log)
		}
		e.get("/v1/employees", piiKey, &clear)
		if got := clear.Data[0]; got.SSN != "123450001" || got.DateOfBirth != "1980-01-02" {
			t.Fatalf("pii:read key sees ssn %q dob %q, want clear", got.SSN, got.DateOfBirth)
		}
		log, _ := s.AuditLog(context.Background(), tn.ID, schema.AuditQuery{Limit: 10})
		if len(log) != 1 || log[0].Action != "pii.read" || log[0].Resource != "/v1/employees" || log[0].KeyID == "" {
			t.Fatalf("audit log = %+v, want one pii.read", log)
		}
	})
}

func TestPagination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		e := newEnv(t, s)
		_, key := e.tenant("acme", 5, "read")
		seen := map[string]bool{}
		path := "/v1/employees?limit=2"
		for pages := 0; ; pages++ {
			var p Page[schema.Employee]
			if resp := e.get(path, key, &p); resp.StatusCode != 200 {
				t.Fatalf("GET %s = %d", path, resp.StatusCode)
			}
			for _, emp := range p.Data {
				if seen[emp.ID] {
					t.Fatalf("employee %s on two pages", emp.ExternalID)
				}
				seen[emp.ID] = true
			}
			if p.NextCursor == nil {
				if pages != 2 || len(seen) != 5 {
					t.Fatalf("walked %d pages and %d employees, want 3 pages of 5", pages+1, len(seen))
				}
				break
			}
			path = "/v1/employees?limit=2&cursor=" + *p.NextCursor
		}
		// sort=updated_at walks the same rows in updated order.
		byUpdated := map[string]bool{}
		upath := "/v1/employees?limit=2&sort=updated_at"
		for {
			var p Page[schema.Employee]
			if resp := e.get(upath, key, &p); resp.StatusCode != 200 {
				t.Fatalf("GET %s = %d", upath, resp.StatusCode)
			}
			for _, emp := range p.Data {
				byUpdated[emp.ID] = true
			}
			if p.NextCursor == nil {
				break
			}
			upath = "/v1/employees?limit=2&sort=updated_at&cursor=" + *p.NextCursor
			if r := e.get("/v1/employees?cursor="+*p.NextCursor, key, nil); r.StatusCode != 400 {
				t.Fatalf("an updated_at cursor with sort=id = %d, want 400", r.StatusCode)
			}
		}
		if len(byUpdated) != 5 {
			t.Fatalf("sort=updated_at walked %d employees, want 5", len(byUpdated))
		}
		for _, q := range []string{"limit=0", "limit=1001", "limit=x", "cursor=***", "updated_since=yesterday", "sort=name"} {
			var p Problem
			if resp := e.get("/v1/employees?"+q, key, &p); resp.StatusCode != 400 || p.Detail == "" {
				t.Errorf("?%s = %d %+v, want 400 problem", q, resp.StatusCode, p)
			}
		}
		var full Page[schema.Employee]
		e.get("/v1/employees?limit=1000", key, &full)
		if len(full.Data) != 5 || full.NextCursor != nil {
			t.Fatalf("limit=1000: %d rows, cursor %v", len(full.Data), full.NextCursor)
		}
	})
}

func TestScopesAndAdminKeys(t *testing.T) {
	s := openSQLite(t)
	e := newEnv(t, s)
	tn, _ := e.tenant("acme", 2, "read")
	writeOnly := e.key(tn.ID, "write")
	var p Problem
	if resp := e.get("/v1/employees", writeOnly, &p); resp.StatusCode != 403 || p.Code != "insufficient_scope" {
		t.Fatalf("write-only key = %d %+v, want 403", resp.StatusCode, p)
	}
	admin := e.key("", "admin")
	if resp := e.get("/v1/employees", admin, &p); resp.StatusCode != 400 || p.Code != "tenant_required" {
		t.Fatalf("admin key without tenant = %d %+v, want 400 tenant_required", resp.StatusCode, p)
	}
	var page Page[schema.Employee]
	if resp := e.get("/v1/employees?tenant=acme", admin, &page); resp.StatusCode != 200 || len(page.Data) != 2 {
		t.Fatalf("admin key for acme = %d, %d rows", resp.StatusCode, len(page.Data))
	}
}

func TestRouterErrorsAreProblems(t *testing.T) {
	s := openSQLite(t)
	e := newEnv(t, s)
	for _, tt := range []struct {
		method, path string
		status       int
	}{{"GET", "/nope", 404}, {"POST", "/healthz", 405}, {"DELETE", "/readyz", 405}} {
		var p Problem
		resp := e.do(tt.method, tt.path, "", &p)
		if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/problem+json" || p.Status != tt.status {
			t.Errorf("%s %s = %d %q %+v, want %d problem+json", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), p, tt.status)
		}
	}
	var ok map[string]string
	if resp := e.get("/readyz", "", &ok); resp.StatusCode != 200 || ok["status"] != "ready" {
		t.Fatalf("readyz = %d %v", resp.StatusCode, ok)
	}
	if resp := e.get("/healthz", "", &ok); resp.StatusCode != 200 {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
}

func TestReadyzBeforeMigrate(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hb.db"), storetest.Box(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := newEnv(t, s)
	var p Problem
	if resp := e.get("/readyz", "", &p); resp.StatusCode != 503 || p.Code != "not_ready" {
		t.Fatalf("readyz on an unmigrated store = %d %+v, want 503", resp.StatusCode, p)
	}
}

// TestPaginationStableUnderWrites pages through employees while another
// writer keeps adding and changing them: every employee that existed
// before the walk is seen exactly once.
func TestPaginationStableUnderWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		e := newEnv(t, s)
		tn, key := e.tenant("acme", 60, "read")
		before := map[string]bool{}
		var all Page[schema.Employee]
		e.get("/v1/employees?limit=1000", key, &all)
		for _, emp := range all.Data {
			before[emp.ID] = true
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { // a writer: new people and updates, one file at a time
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx := context.Background()
				conns, _ := s.Connections(ctx, tn.ID)
				f := &schema.File{TenantID: tn.ID, ConnectionID: conns[0].ID, Name: "w.csv", SHA256: fmt.Sprint("w", i), Layout: "census-csv"}
				in, err := s.BeginIngest(ctx, f)
				if err != nil {
					return
				}
				n := &schema.Employee{ID: schema.NewID(), TenantID: tn.ID, ConnectionID: conns[0].ID, ExternalID: fmt.Sprint("new-", i), FirstName: "N", LastName: "N", EmploymentStatus: "active"}
				in.InsertEmployees(ctx, []*schema.Employee{n}) //nolint:errcheck // the commit reports it
				u := &schema.Employee{TenantID: tn.ID, ConnectionID: conns[0].ID, ExternalID: fmt.Sprintf("acme-%d", i%60), FirstName: "Changed", LastName: "L", EmploymentStatus: "leave"}
				in.UpdateEmployees(ctx, []*schema.Employee{u}) //nolint:errcheck
				f.Status = schema.FileApplied
				in.Commit(ctx, f)
			}
		}()
		seen := map[string]int{}
		path := "/v1/employees?limit=7"
		for {
			var p Page[schema.Employee]
			e.get(path, key, &p)
			for _, emp := range p.Data {
				seen[emp.ID]++
			}
			if p.NextCursor == nil {
				break
			}
			path = "/v1/employees?limit=7&cursor=" + *p.NextCursor
		}
		close(stop)
		<-done
		for id := range before {
			if seen[id] != 1 {
				t.Fatalf("employee %s seen %d times during concurrent writes", id, seen[id])
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%s seen %d times", id, n)
			}
		}
	})
}
