package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestKeysAPI: a tenant's admin key lists, creates and revokes its keys; a
// revoked key stops working on the next request, on another replica too
// (a second server over the same store); an expired key is refused; the
// changes are in the audit log.
func TestKeysAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		e := newEnv(t, s)
		other := newEnv(t, s) // another replica
		tn, admin := e.tenant("acme", 1, "admin")
		_, otherAdmin := e.tenant("beta", 1, "admin")
		var created keyCreated
		if r := e.send("POST", "/v1/keys", admin, map[string]any{"name": "payroll-sync", "scopes": []string{"read"}}, &created); r.StatusCode != 201 || created.Key == "" {
			t.Fatalf("create key = %d %+v", r.StatusCode, created)
		}
		if r := e.send("POST", "/v1/keys", admin, map[string]any{"scopes": []string{"admin"}}, nil); r.StatusCode != 422 {
			t.Fatalf("create an admin key over the API = %d, want 422", r.StatusCode)
		}
		read := e.key(tn.ID, "read")
		if r := e.send("POST", "/v1/keys", read, map[string]any{"scopes": []string{"read"}}, nil); r.StatusCode != 403 {
			t.Fatalf("create with a read key = %d, want 403", r.StatusCode)
		}
		// Both replicas accept the new key; then it is revoked on one.
		for _, env := range []*env{e, other} {
			if r := env.get("/v1/employees", created.Key, nil); r.StatusCode != 200 {
				t.Fatalf("new key = %d", r.StatusCode)
			}
		}
		var list struct{ Data []schema.APIKey }
		e.get("/v1/keys", admin, &list)
		var found *schema.APIKey
		for i := range list.Data {
			if list.Data[i].ID == created.ID {
				found = &list.Data[i]
			}
		}
		if found == nil || found.Name != "payroll-sync" || len(list.Data) != 3 {
			t.Fatalf("keys = %+v", list.Data)
		}
		storetest.WaitUntil(t, 5*time.Second, func() bool {
			k, _ := s.APIKeyByPrefix(context.Background(), created.Prefix)
			return k.LastUsedAt != nil
		}, "last use not recorded")
		if r := e.do("DELETE", "/v1/keys/"+created.ID, otherAdmin, nil); r.StatusCode != 404 {
			t.Fatalf("another tenant revoking = %d, want 404", r.StatusCode)
		}
		if r := e.do("DELETE", "/v1/keys/"+created.ID, admin, nil); r.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke = %d", r.StatusCode)
		}
		for _, env := range []*env{e, other} {
			if r := env.get("/v1/employees", created.Key, nil); r.StatusCode != 401 {
				t.Fatalf("revoked key = %d, want 401 at once", r.StatusCode)
			}
		}
		// An expired key.
		plain, prefix, hash := NewKey()
		past := time.Now().Add(-time.Minute)
		s.CreateAPIKey(context.Background(), &schema.APIKey{TenantID: tn.ID, Prefix: prefix, Hash: hash, Scopes: []string{"read"}, ExpiresAt: &past})
		if r := e.get("/v1/employees", plain, nil); r.StatusCode != 401 {
			t.Fatalf("expired key = %d, want 401", r.StatusCode)
		}
		log, _ := s.AuditLog(context.Background(), tn.ID, schema.AuditQuery{Limit: 10})
		var actions []string
		for _, a := range log {
			actions = append(actions, a.Action)
		}
		if len(actions) < 2 || actions[0] != "key.revoke" || actions[1] != "key.create" {
			t.Fatalf("audit = %v", actions)
		}
		// The same over the API, filtered and paged.
		var page struct {
			Data       []schema.AuditEntry
			NextCursor *string `json:"next_cursor"`
		}
		if r := e.get("/v1/audit?action=key.&limit=1", admin, &page); r.StatusCode != 200 || len(page.Data) != 1 || page.Data[0].Action != "key.revoke" || page.NextCursor == nil {
			t.Fatalf("GET /v1/audit = %d %+v", r.StatusCode, page)
		}
		if e.get("/v1/audit?action=key.&cursor="+*page.NextCursor, admin, &page); len(page.Data) != 1 || page.Data[0].Action != "key.create" {
			t.Fatalf("second page = %+v", page)
		}
		if r := e.get("/v1/audit", read, nil); r.StatusCode != 403 {
			t.Fatalf("audit with a read key = %d", r.StatusCode)
		}
		if r := e.get("/v1/audit?since=yesterday", admin, nil); r.StatusCode != 400 {
			t.Fatalf("a bad since = %d", r.StatusCode)
		}
		var otherPage struct{ Data []schema.AuditEntry }
		if e.get("/v1/audit", otherAdmin, &otherPage); len(otherPage.Data) != 0 {
			t.Fatalf("another tenant sees %d audit entries", len(otherPage.Data))
		}
	})
}

// TestUnknownParametersRefused: a misspelt filter or an unknown value is
// a 400 problem that names it, never an unfiltered or empty 200.
func TestUnknownParametersRefused(t *testing.T) {
	s := storetest.SQLite(t)
	e := newEnv(t, s)
	_, key := e.tenant("acme", 3, "read")
	for _, c := range []struct{ path, want string }{
		{"/v1/employees?dept=Finance", "unknown query parameter dept"},
		{"/v1/employees?employment_status=bogus", `employment_status "bogus" is not one of active, leave, terminated`},
		{"/v1/employees?employment_type=fulltime", `employment_type "fulltime" is not one of full_time`},
		{"/v1/files?limit=5&conection_id=x", "unknown query parameter conection_id"},
		{"/v1/connections?x=1&a=2", "unknown query parameter a, x: GET /v1/connections takes no query parameters"},
	} {
		var p Problem
		if r := e.get(c.path, key, &p); r.StatusCode != 400 || !strings.Contains(p.Detail, c.want) {
			t.Errorf("GET %s = %d %q, want 400 with %q", c.path, r.StatusCode, p.Detail, c.want)
		}
	}
	var page struct{ Data []schema.Employee }
	if r := e.get("/v1/employees?employment_status=active&limit=2", key, &page); r.StatusCode != 200 || len(page.Data) != 2 {
		t.Fatalf("a valid filter = %d, %d employees", r.StatusCode, len(page.Data))
	}
}

// TestGetEvent: an event is read by its id (a webhook's webhook-id), by
// its own tenant only.
func TestGetEvent(t *testing.T) {
	s := storetest.SQLite(t)
	e := newEnv(t, s)
	tn, key := e.tenant("acme", 1, "read")
	_, otherKey := e.tenant("beta", 1, "read")
	evs, err := s.Events(context.Background(), tn.ID, 0, 10)
	if err != nil || len(evs) == 0 {
		t.Fatalf("events = %v, %v", evs, err)
	}
	var got schema.Event
	if r := e.get("/v1/events/"+evs[0].ID, key, &got); r.StatusCode != 200 || got.ID != evs[0].ID || got.Type != evs[0].Type {
		t.Fatalf("GET /v1/events/{id} = %d %+v", r.StatusCode, got)
	}
	if r := e.get("/v1/events/"+evs[0].ID, otherKey, nil); r.StatusCode != 404 {
		t.Fatalf("another tenant's event = %d, want 404", r.StatusCode)
	}
}

// connOps adapts the bridge for the API's connection changes, as cmd does.
type connOps struct{ b *bridge.Bridge }

func (o connOps) CreateConnection(ctx context.Context, t string, nc bridge.NewConnection) (schema.Connection, error) {
	return o.b.CreateConnection(ctx, t, nc)
}

func (o connOps) Test(ctx context.Context, c schema.Connection) (bridge.Probe, error) {
	return o.b.Test(ctx, c)
}

func (o connOps) UpdateConnection(ctx context.Context, t, id string, ch bridge.ConnectionChange) (schema.Connection, error) {
	return o.b.UpdateConnection(ctx, t, id, ch)
}

func (o connOps) DeleteConnection(ctx context.Context, t, id string, purge bool) (int, error) {
	return o.b.DeleteConnection(ctx, t, id, "", purge)
}

// TestConnectionUpdateAndDeleteAPI: an admin key changes a connection's
// layout and guards (merged), a bad value is a 422 naming it, and a
// deleted connection is gone with its files' records kept.
func TestConnectionUpdateAndDeleteAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		l := load(t, s, Config{})
		l.env = newEnvWith(t, s, Config{Connections: connOps{l.b}})
		admin := l.key(l.tenant.ID, "admin")
		id := l.conns["census-csv"].ID
		var got struct {
			Layout string
			Config map[string]any
		}
		if r := l.env.send("PATCH", "/v1/connections/"+id, admin, map[string]any{"config": map[string]any{"policy": map[string]any{"max_shrink_ratio": 0.1}}}, &got); r.StatusCode != 200 {
			t.Fatalf("PATCH = %d", r.StatusCode)
		}
		if p, _ := got.Config["policy"].(map[string]any); p["max_shrink_ratio"] != 0.1 {
			t.Fatalf("patched config = %+v", got.Config)
		}
		var p Problem
		if r := l.env.send("PATCH", "/v1/connections/"+id, admin, map[string]any{"config": map[string]any{"policy": map[string]any{"absent": "vanish"}}}, &p); r.StatusCode != 422 || !strings.Contains(p.Detail, "policy.absent") {
			t.Fatalf("bad policy = %d %+v", r.StatusCode, p)
		}
		if r := l.env.send("PATCH", "/v1/connections/"+id, admin, map[string]any{"layout": "no-such-layout"}, &p); r.StatusCode != 422 {
			t.Fatalf("unknown layout = %d %+v", r.StatusCode, p)
		}
		if r := l.env.send("PATCH", "/v1/connections/"+id, l.key(l.tenant.ID, "read", "write"), map[string]any{"enabled": false}, nil); r.StatusCode != 403 {
			t.Fatalf("PATCH with a write key = %d, want 403 (admin)", r.StatusCode)
		}
		files, _ := s.Files(context.Background(), l.tenant.ID, schema.ListQuery{ConnectionID: id, Limit: 10})
		var del map[string]any
		if r := l.env.send("DELETE", "/v1/connections/"+id, admin, nil, &del); r.StatusCode != 200 || del["files_kept"] != true {
			t.Fatalf("DELETE = %d %+v", r.StatusCode, del)
		}
		if r := l.get("/v1/connections/"+id, admin, nil); r.StatusCode != 404 {
			t.Fatalf("deleted connection = %d", r.StatusCode)
		}
		if f, err := s.File(context.Background(), l.tenant.ID, files[0].ID); err != nil || f.ID == "" {
			t.Fatalf("a deleted connection's file record is gone: %v", err)
		}
	})
}

func (o connOps) AuthorizeURL(ctx context.Context, c schema.Connection, redirect string) (string, error) {
	return o.b.AuthorizeURL(ctx, c, redirect)
}

func (o connOps) CompleteAuthorization(ctx context.Context, state, code, redirect string) (schema.Connection, error) {
	return o.b.CompleteAuthorization(ctx, state, code, redirect)
}

func (o connOps) VerifyWebhook(ctx context.Context, c schema.Connection, h http.Header, body io.Reader) error {
	return o.b.VerifyWebhook(ctx, c, h, body)
}

// TestInvalidKeysThrottled: an address that sends many unknown keys waits
// (429 with Retry-After), whatever key it sends next; others do not.
func TestInvalidKeysThrottled(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	_, good := e.tenant("acme", 1, "read")
	for i := range 30 {
		if r := e.get("/v1/employees", fmt.Sprintf("hbk_guess%02d_%s", i, strings.Repeat("x", 40)), nil); r.StatusCode != 401 {
			t.Fatalf("guess %d = %d", i, r.StatusCode)
		}
	}
	r := e.get("/v1/employees", good, nil)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("after 30 invalid keys = %d (Retry-After %q)", r.StatusCode, r.Header.Get("Retry-After"))
	}
}
