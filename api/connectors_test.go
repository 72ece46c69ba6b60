package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/bridge/connector/mockhris"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestAPIConnectionOverHTTP: an admin creates a Gusto-shaped API
// connection, authorizes it through the OAuth flow (the provider sends
// the browser back to /oauth/callback), syncs it, and the provider's
// signed webhook queues the next sync; a bad signature is refused.
func TestAPIConnectionOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		mock := mockhris.New(30)
		hris := httptest.NewServer(mock)
		t.Cleanup(hris.Close)
		b, err := bridge.New(bridge.Config{Store: s, Box: storetest.Box(t), SpoolDir: t.TempDir(), RetryBase: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		jobs := startJobs(t, s, b)
		e := newEnvWith(t, s, Config{Jobs: jobs, Connections: connOps{b}})
		tn, key := e.tenant("acme", 0, schema.ScopeAdmin, schema.ScopeRead, schema.ScopeWrite)

		var conn connectionView
		r := e.send("POST", "/v1/connections", key, map[string]any{"name": "gusto", "kind": "api", "layout": "gusto",
			"config": map[string]any{"params": map[string]any{"company_id": mockhris.CompanyID}, "base_url": hris.URL, "requests_per_second": 1000},
			"secret": map[string]string{"client_id": mockhris.ClientID, "client_secret": mockhris.ClientSecret, "webhook_secret": "whk"}}, &conn)
		if r.StatusCode != 201 || conn.Kind != schema.ConnAPI {
			t.Fatalf("create: %d %+v", r.StatusCode, conn)
		}
		// Not authorized yet: a test says so with the catalog's code.
		var probe ConnectionTest
		if r := e.send("POST", "/v1/connections/"+conn.ID+"/test", key, nil, &probe); r.StatusCode != 200 || probe.OK || probe.Code != schema.ECodeAPIAuth {
			t.Fatalf("test before authorizing: %d %+v", r.StatusCode, probe)
		}

		var link AuthorizeLink
		if r := e.send("POST", "/v1/connections/"+conn.ID+"/authorize", key, nil, &link); r.StatusCode != 200 || !strings.HasPrefix(link.URL, hris.URL+"/oauth/authorize?") {
			t.Fatalf("authorize: %d %+v", r.StatusCode, link)
		}
		resp, err := http.Get(link.URL) // the consent screen approves and redirects to /oauth/callback
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), "Connected") || resp.Request.URL.Path != "/oauth/callback" {
			t.Fatalf("callback: %d %s", resp.StatusCode, page)
		}
		if r := e.get("/oauth/callback?state=forged&code=x", "", nil); r.StatusCode != 400 {
			t.Fatalf("a forged state: %d", r.StatusCode)
		}
		if r := e.send("POST", "/v1/connections/"+conn.ID+"/test", key, nil, &probe); r.StatusCode != 200 || !probe.OK {
			t.Fatalf("test after authorizing: %d %+v", r.StatusCode, probe)
		}

		var run schema.SyncRun
		if r := e.send("POST", "/v1/connections/"+conn.ID+"/sync", key, nil, &run); r.StatusCode != 202 {
			t.Fatalf("sync: %d %+v", r.StatusCode, run)
		}
		waitRun(t, e, key, run.ID)
		var detail connectionDetail
		if e.get("/v1/connections/"+conn.ID, key, &detail); detail.Kind != schema.ConnAPI || detail.Health.State != schema.HealthHealthy || detail.LastRun == nil || detail.LastRun.ID != run.ID {
			t.Fatalf("connection detail = %+v", detail)
		}
		var page1 Page[schema.Employee]
		if e.get("/v1/employees?limit=100", key, &page1); len(page1.Data) != 30 {
			t.Fatalf("%d employees after the sync", len(page1.Data))
		}

		body := `{"event_type":"employee.updated","entity_uuid":"x"}`
		hook := func(sig string) *http.Response {
			req, _ := http.NewRequest("POST", e.url+"/v1/hooks/"+tn.Slug+"/"+conn.ID, strings.NewReader(body))
			req.Header.Set("X-Gusto-Signature", sig)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if r := hook("deadbeef"); r.StatusCode != 401 {
			t.Fatalf("a bad signature: %d", r.StatusCode)
		}
		if err := mockhris.Notify(e.url+"/v1/hooks/"+tn.Slug+"/"+conn.ID, "whk"); err != nil {
			t.Fatalf("the provider's signed notification: %v", err)
		}
		storetest.WaitUntil(t, 20*time.Second, func() bool {
			runs, _ := s.SyncRuns(ctx, tn.ID, schema.ListQuery{Limit: 10})
			for _, r := range runs {
				if r.Trigger == schema.TriggerWebhook && r.Status == schema.RunSucceeded {
					return true
				}
			}
			return false
		}, "no webhook-triggered sync succeeded")
	})
}

func waitRun(t *testing.T, e *env, key, id string) {
	t.Helper()
	var run schema.SyncRun
	storetest.WaitUntil(t, 20*time.Second, func() bool {
		e.get("/v1/sync-runs/"+id, key, &run)
		return run.Status == schema.RunSucceeded || run.Status == schema.RunFailed
	}, "run %s not finished", id)
	if run.Status != schema.RunSucceeded {
		t.Fatalf("run = %+v", run)
	}
}
