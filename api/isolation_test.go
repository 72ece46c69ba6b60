package api

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestTenantIsolationProperty makes 600 random calls of every tenant
// route, with one tenant's key (read, write and pii:read), the other
// tenant's ids in the path and query: no answer holds anything of the
// other tenant, whatever its status, and the other tenant's data is as it
// was.
func TestTenantIsolationProperty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		l := load(t, s, Config{}) // tenant acme with employees, dependents, plans, enrollments, files, events
		keyA := l.key(l.tenant.ID, schema.ScopeRead, schema.ScopeWrite, schema.ScopePIIRead)
		// Tenant globex: people, a connection and file, a window, an
		// endpoint, a drop box login, a key.
		b, _ := l.env.tenant("globex", 3, "read")
		var markers []string // what acme's key must never see
		markers = append(markers, b.ID, "globex-")
		es, _ := s.Employees(ctx, b.ID, schema.EmployeeQuery{Limit: 10})
		conns, _ := s.Connections(ctx, b.ID)
		files, _ := s.Files(ctx, b.ID, schema.ListQuery{Limit: 10})
		evs, _ := s.Events(ctx, b.ID, 0, 10)
		win := schema.Window{TenantID: b.ID, Name: "globex window", StartsOn: "2027-01-01", EndsOn: "2027-01-31", Schedule: "0 * * * *"}
		s.CreateWindow(ctx, &win)
		ep := schema.WebhookEndpoint{TenantID: b.ID, URL: "https://globex.example/hooks", Secret: "whsec_" + strings.Repeat("A", 32)}
		s.CreateWebhookEndpoint(ctx, &ep)
		s.CreateDropboxAccount(ctx, &schema.DropboxAccount{TenantID: b.ID, ConnectionID: conns[0].ID, Username: "globex-upload", Rights: []string{"list"}})
		keys, _ := s.APIKeys(ctx, b.ID)
		ids := []string{win.ID, ep.ID, keys[0].ID, keys[0].Prefix}
		for _, e := range es {
			ids = append(ids, e.ID)
			markers = append(markers, e.ID, e.SSN)
		}
		for _, c := range conns {
			ids = append(ids, c.ID, c.Name)
			markers = append(markers, c.ID)
		}
		for _, f := range files {
			ids = append(ids, f.ID)
			markers = append(markers, f.ID)
		}
		for _, e := range evs {
			ids = append(ids, e.ID)
			markers = append(markers, e.ID)
		}
		markers = append(markers, win.ID, ep.ID, "globex.example", "globex-upload", keys[0].ID, keys[0].Prefix)
		before := globexState(t, s, b.ID)

		param := regexp.MustCompile(`:[a-z]+`)
		var routes []route
		table, _ := New(Config{Store: s})
		for _, rt := range table.table() {
			if rt.access == "tenant" || rt.access == "upload" {
				routes = append(routes, rt)
			}
		}
		queries := []string{"", "limit=5", "connection_id=%s", "employee_id=%s", "include=dependents,enrollments", "tenant=globex",
			"changes_since=0", "format=csv", "sort=updated_at", "external_id=globex-1"}
		r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
		for i := range 600 {
			rt := routes[r.IntN(len(routes))]
			path := param.ReplaceAllStringFunc(rt.path, func(string) string { return ids[r.IntN(len(ids))] })
			q := queries[r.IntN(len(queries))]
			if strings.Contains(q, "%s") {
				q = fmt.Sprintf(q, ids[r.IntN(len(ids))])
			}
			sent := ids[r.IntN(len(ids))]
			req, _ := http.NewRequest(rt.method, l.url+path+"?"+q, strings.NewReader(`{"name":"x","url":"https://a.example","event_id":"`+sent+`"}`))
			req.Header.Set("Authorization", "Bearer "+keyA)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// A problem echoes the request's path, a dry run the body sent:
			// that much is the caller's own.
			text := strings.ReplaceAll(strings.ReplaceAll(string(body), path, ""), sent, "")
			for _, m := range markers {
				if strings.Contains(text, m) {
					t.Fatalf("call %d: %s %s?%s = %d holds globex's %q:\n%s", i, rt.method, path, q, resp.StatusCode, m, body)
				}
			}
		}
		if after := globexState(t, s, b.ID); after != before {
			t.Fatalf("globex's data changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// globexState summarizes a tenant's data to compare before and after.
func globexState(t *testing.T, s schema.Store, tenantID string) string {
	ctx := context.Background()
	es, _ := s.Employees(ctx, tenantID, schema.EmployeeQuery{Limit: 100})
	conns, _ := s.Connections(ctx, tenantID)
	files, _ := s.Files(ctx, tenantID, schema.ListQuery{Limit: 100})
	ws, _ := s.Windows(ctx, tenantID)
	eps, _ := s.WebhookEndpoints(ctx, tenantID)
	keys, _ := s.APIKeys(ctx, tenantID)
	accts, _ := s.DropboxAccounts(ctx, tenantID)
	var b strings.Builder
	fmt.Fprintf(&b, "employees %d connections %d files %d windows %d endpoints %d accounts %d", len(es), len(conns), len(files), len(ws), len(eps), len(accts))
	for _, c := range conns {
		fmt.Fprintf(&b, " %s:%s:%v:%s", c.Name, c.Layout, c.Enabled, c.Schedule)
	}
	for _, f := range files {
		fmt.Fprintf(&b, " %s:%s", f.ID, f.Status)
	}
	for _, e := range eps {
		fmt.Fprintf(&b, " %s:%v:%d", e.URL, e.Enabled, e.LastSeq)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, " %s:%v", k.Prefix, k.RevokedAt != nil)
	}
	return b.String()
}
