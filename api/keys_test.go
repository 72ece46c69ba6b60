package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

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
		for deadline := time.Now().Add(5 * time.Second); found.LastUsedAt == nil; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("last use not recorded")
			}
			k, _ := s.APIKeyByPrefix(context.Background(), created.Prefix)
			found.LastUsedAt = k.LastUsedAt
		}
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
