package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/parsers/synth"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
	"github.com/hrisbridge/hrisbridge/schema/secret"
)

// TestBareHandlerServesThePage: the API benchmark's baseline answers a
// full page of decoded employees (its raw query broke once when records
// left JSON, and wrk then refused every run).
func TestBareHandlerServesThePage(t *testing.T) {
	ctx := context.Background()
	k, _ := secret.ParseKey(secret.NewKey())
	box, _ := secret.New(k)
	s, err := postgres.Open(ctx, pgtest.URL(t), box)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tn := schema.Tenant{Slug: "bare", Name: "bare"}
	if err := s.CreateTenant(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	conn := schema.Connection{TenantID: tn.ID, Name: "c", Kind: schema.ConnDropbox, Layout: "census-csv", Enabled: true}
	if err := s.CreateConnection(ctx, &conn); err != nil {
		t.Fatal(err)
	}
	b, err := bridge.New(bridge.Config{Store: s, Box: box, SpoolDir: t.TempDir(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(synth.Census(pw, 150, 1, nil)) }()
	if _, err := b.IngestReader(ctx, conn, "census.csv", pr); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	bareHandler(s, tn.ID).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/employees", nil))
	var page struct {
		Data []schema.Employee
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
		t.Fatalf("bare handler: %d %s", rec.Code, rec.Body)
	}
	if len(page.Data) != 101 || page.Data[0].ID == "" || page.Data[0].LastName == "" {
		t.Fatalf("bare handler served %d rows, first %+v; want the 101 of a page, decoded", len(page.Data), page.Data[0])
	}
}
