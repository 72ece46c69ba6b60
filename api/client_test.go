package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/api/client"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// newClient is the generated client (api/client) on e's server with key.
func newClient(t *testing.T, e *env, key string) *client.ClientWithResponses {
	t.Helper()
	c, err := client.NewClientWithResponses(e.url, client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		if key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestThroughGeneratedClient drives the API end to end through the client
// generated from /openapi.json: every answer decodes into the typed
// fields the document promises.
func TestThroughGeneratedClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		e := newEnv(t, s)
		tn, key := e.tenant("acme", 5, schema.ScopeRead, schema.ScopeWrite, schema.ScopePIIRead)
		c := newClient(t, e, key)

		// Paging: limit 2 over 5 employees, following next_cursor.
		seen := map[string]bool{}
		limit := 2
		params := &client.ListEmployeesParams{Limit: &limit}
		for pages := 0; ; pages++ {
			r, err := c.ListEmployeesWithResponse(ctx, params)
			if err != nil || r.JSON200 == nil {
				t.Fatalf("list employees: %v, %d %s", err, r.StatusCode(), r.Body)
			}
			for _, emp := range r.JSON200.Data {
				seen[*emp.Id] = true
			}
			if r.JSON200.NextCursor == nil {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			params.Cursor = r.JSON200.NextCursor
		}
		if len(seen) != 5 {
			t.Fatalf("paged %d distinct employees, want 5", len(seen))
		}

		// One employee with its (empty) relations.
		var id string
		for id = range seen {
			break
		}
		include := "dependents,enrollments"
		one, err := c.GetEmployeeWithResponse(ctx, id, &client.GetEmployeeParams{Include: &include})
		if err != nil || one.JSON200 == nil || one.JSON200.Dependents == nil || len(*one.JSON200.Dependents) != 0 || one.JSON200.Enrollments == nil {
			t.Fatalf("get employee with include: %v %d %s", err, one.StatusCode(), one.Body)
		}

		// A CSV export is the declared text/csv answer.
		csv := client.ListEmployeesParamsFormat("csv")
		exp, err := c.ListEmployeesWithResponse(ctx, &client.ListEmployeesParams{Format: &csv})
		if err != nil || exp.StatusCode() != 200 || !strings.HasPrefix(exp.HTTPResponse.Header.Get("Content-Type"), "text/csv") || strings.Count(string(exp.Body), "\n") != 6 {
			t.Fatalf("csv export: %v %d %q", err, exp.StatusCode(), exp.HTTPResponse.Header.Get("Content-Type"))
		}

		// Problems decode as the declared problem of their status.
		missing, err := c.GetFileWithResponse(ctx, schema.NewID(), nil)
		if err != nil || missing.ApplicationproblemJSON404 == nil || *missing.ApplicationproblemJSON404.Code != "not_found" {
			t.Fatalf("missing file: %v %d %s", err, missing.StatusCode(), missing.Body)
		}
		anon, err := newClient(t, e, "").ListEmployeesWithResponse(ctx, nil)
		if err != nil || anon.ApplicationproblemJSON401 == nil {
			t.Fatalf("no key: %v %d %s", err, anon.StatusCode(), anon.Body)
		}

		// Webhook endpoints: created (201, the secret shown once), listed,
		// removed (204).
		url := "https://hooks.example.com/hrisbridge"
		ep, err := c.CreateWebhookEndpointWithResponse(ctx, nil, client.EndpointRequest{Url: url})
		if err != nil || ep.JSON201 == nil || ep.JSON201.Secret == nil || !strings.HasPrefix(*ep.JSON201.Secret, "whsec_") {
			t.Fatalf("create endpoint: %v %d %s", err, ep.StatusCode(), ep.Body)
		}
		eps, err := c.ListWebhookEndpointsWithResponse(ctx, nil)
		if err != nil || eps.JSON200 == nil || len(eps.JSON200.Data) != 1 || eps.JSON200.Data[0].Secret != nil {
			t.Fatalf("list endpoints: %v %d %s", err, eps.StatusCode(), eps.Body)
		}
		if del, err := c.DeleteWebhookEndpointWithResponse(ctx, *ep.JSON201.Id, nil); err != nil || del.StatusCode() != http.StatusNoContent {
			t.Fatalf("delete endpoint: %v %d", err, del.StatusCode())
		}

		// API keys need the admin scope: created (201, the key shown once)
		// and revoked (204), after which it no longer works.
		admin := newClient(t, e, e.key(tn.ID, schema.ScopeAdmin, schema.ScopeRead))
		scopes := []string{schema.ScopeRead}
		k, err := admin.CreateKeyWithResponse(ctx, nil, client.KeyRequest{Name: "payroll-sync", Scopes: &scopes})
		if err != nil || k.JSON201 == nil || k.JSON201.Key == nil || !strings.HasPrefix(*k.JSON201.Key, "hbk_") {
			t.Fatalf("create key: %v %d %s", err, k.StatusCode(), k.Body)
		}
		if r, err := newClient(t, e, *k.JSON201.Key).ListEmployeesWithResponse(ctx, nil); err != nil || r.JSON200 == nil {
			t.Fatalf("the new key: %v %d", err, r.StatusCode())
		}
		if rv, err := admin.RevokeKeyWithResponse(ctx, *k.JSON201.Id, nil); err != nil || rv.StatusCode() != http.StatusNoContent {
			t.Fatalf("revoke key: %v %d", err, rv.StatusCode())
		}
		if r, err := newClient(t, e, *k.JSON201.Key).ListEmployeesWithResponse(ctx, nil); err != nil || r.ApplicationproblemJSON401 == nil {
			t.Fatalf("a revoked key: %v %d", err, r.StatusCode())
		}
	})
}
