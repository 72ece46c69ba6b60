package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/api/webhook"
	"github.com/hrisbridge/hrisbridge/schema"
)

func TestWebhookEndpointsAPI(t *testing.T) {
	s := openSQLite(t)
	var got []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("webhook-id"))
	}))
	defer rcv.Close()
	d, _ := webhook.New(webhook.Config{Store: s, AllowPrivate: true})
	l := load(t, s, Config{})
	l.env = newEnvWith(t, s, Config{Webhooks: d})
	write, read := l.key(l.tenant.ID, "read", "write"), l.key(l.tenant.ID, "read")
	postJSON := func(path, key string, body any, out any) *http.Response {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", l.url+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(out)
		return resp
	}
	var ep schema.WebhookEndpoint
	if r := postJSON("/v1/webhook-endpoints", read, map[string]any{"url": rcv.URL}, &ep); r.StatusCode != 403 {
		t.Fatalf("create with a read key = %d", r.StatusCode)
	}
	var p Problem
	if r := postJSON("/v1/webhook-endpoints", write, map[string]any{"url": "ftp://x"}, &p); r.StatusCode != 422 {
		t.Fatalf("ftp url = %d", r.StatusCode)
	}
	if r := postJSON("/v1/webhook-endpoints", write, map[string]any{"url": rcv.URL, "event_types": []string{"sync.*"}}, &ep); r.StatusCode != 201 || !strings.HasPrefix(ep.Secret, "whsec_") {
		t.Fatalf("create = %d %+v", r.StatusCode, ep)
	}
	var list struct{ Data []map[string]any }
	l.get("/v1/webhook-endpoints", read, &list)
	if len(list.Data) != 1 || list.Data[0]["secret"] != nil {
		t.Fatalf("list shows the secret or lacks the endpoint: %+v", list)
	}
	// A new endpoint starts after the events that exist: replay one of them.
	evs, _ := s.Events(context.Background(), l.tenant.ID, 0, 10)
	var del schema.WebhookDelivery
	if r := postJSON("/v1/webhook-endpoints/"+ep.ID+"/replay", write, map[string]any{"event_id": evs[0].ID}, &del); r.StatusCode != 200 || del.Status != "succeeded" || len(got) != 1 || got[0] != evs[0].ID {
		t.Fatalf("replay one = %d %+v, receiver got %v", r.StatusCode, del, got)
	}
	if n, _ := d.DeliverDue(context.Background()); n != 0 {
		t.Fatalf("the dispatcher sent %d old events to a new endpoint", n)
	}
	var rewound schema.WebhookEndpoint
	if r := postJSON("/v1/webhook-endpoints/"+ep.ID+"/replay", write, map[string]any{"since": time.Now().Add(-time.Hour)}, &rewound); r.StatusCode != 202 {
		t.Fatalf("rewind = %d", r.StatusCode)
	}
	if n, _ := d.DeliverDue(context.Background()); n != 4 { // the sync.baseline of each of load()'s four connections
		t.Fatalf("after a rewind the dispatcher sent %d, want the 4 baseline events", n)
	}
	var dels Page[schema.WebhookDelivery]
	if l.get("/v1/webhook-deliveries", read, &dels); len(dels.Data) != 5 {
		t.Fatalf("delivery log = %d entries", len(dels.Data))
	}
	req, _ := http.NewRequest("DELETE", l.url+"/v1/webhook-endpoints/"+ep.ID, nil)
	req.Header.Set("Authorization", "Bearer "+write)
	if r, _ := http.DefaultClient.Do(req); r.StatusCode != 204 {
		t.Fatalf("delete = %d", r.StatusCode)
	}
}

// TestPrivateWebhookURLsRefused: without webhooks_allow_private a URL on
// loopback, a private network or a name resolving to one is refused at
// registration with a problem that says why.
func TestPrivateWebhookURLsRefused(t *testing.T) {
	s := openSQLite(t)
	d, _ := webhook.New(webhook.Config{Store: s})
	l := load(t, s, Config{})
	l.env = newEnvWith(t, s, Config{Webhooks: d})
	write := l.key(l.tenant.ID, "read", "write")
	for _, u := range []string{"http://127.0.0.1:9000/hook", "https://10.1.2.3/hook", "http://[::1]/hook", "http://169.254.169.254/latest",
		"http://localhost:8080/hook", "http://192.168.0.10/hook"} {
		b, _ := json.Marshal(map[string]any{"url": u})
		req, _ := http.NewRequest("POST", l.url+"/v1/webhook-endpoints", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+write)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p Problem
		json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != 422 || !strings.Contains(p.Detail, "private") || !strings.Contains(p.Detail, "webhooks_allow_private") {
			t.Errorf("register %s = %d %+v, want 422 naming the private address", u, resp.StatusCode, p)
		}
	}
	if eps, _ := s.WebhookEndpoints(context.Background(), l.tenant.ID); len(eps) != 0 {
		t.Fatalf("%d private endpoints were stored", len(eps))
	}
}
