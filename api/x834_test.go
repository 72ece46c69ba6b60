package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestAck999OverTheAPI: an 834 with one broken transaction set of two is
// uploaded; GET /v1/files/{id}/999 acknowledges one set accepted and one
// rejected; a census has no 999 (409).
func TestAck999OverTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		b, err := bridge.New(bridge.Config{Store: s, Box: storetest.Box(t), SpoolDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		e := newEnvWith(t, s, Config{Files: heldFiles{b}})
		tn, key := e.tenant("acme", 0, schema.ScopeRead)
		conn := schema.Connection{TenantID: tn.ID, Name: "carrier", Kind: schema.ConnDropbox, Layout: bridge.X12834, Enabled: true}
		if err := s.CreateConnection(ctx, &conn); err != nil {
			t.Fatal(err)
		}
		edi, _ := os.ReadFile("../testdata/x12-834/broken-se.edi")
		res, err := b.IngestReader(ctx, conn, "enrollment.834", strings.NewReader(string(edi)))
		if err != nil || res.File.Status != schema.FileAppliedWithErrors {
			t.Fatalf("ingest: %v %+v", err, res.File)
		}
		req, _ := http.NewRequest("GET", e.url+"/v1/files/"+res.File.ID+"/999", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		ack, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/edi-x12" || !strings.Contains(string(ack), "AK9*P*2*2*1~") {
			t.Fatalf("999 = %d %s", resp.StatusCode, ack)
		}
		census := schema.Connection{TenantID: tn.ID, Name: "census", Kind: schema.ConnDropbox, Layout: "census-csv", Enabled: true}
		s.CreateConnection(ctx, &census) //nolint:errcheck
		cr, err := b.IngestReader(ctx, census, "c.csv", strings.NewReader("Employee ID,First Name,Last Name,Status\nE1,A,B,A\n"))
		if err != nil {
			t.Fatal(err)
		}
		if r := e.get("/v1/files/"+cr.File.ID+"/999", key, nil); r.StatusCode != 409 {
			t.Fatalf("a census's 999: %d", r.StatusCode)
		}
		// The export carries SSNs: a key without pii:read is refused.
		if r := e.get("/v1/exports/834", key, nil); r.StatusCode != 403 {
			t.Fatalf("export without pii:read: %d", r.StatusCode)
		}
		pii := e.key(tn.ID, schema.ScopeRead, schema.ScopePIIRead)
		req, _ = http.NewRequest("GET", e.url+"/v1/exports/834", nil)
		req.Header.Set("Authorization", "Bearer "+pii)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		edi, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(edi), "REF*0F*E1003~") || !strings.Contains(string(edi), "REF*0F*E1~") {
			t.Fatalf("export = %d %s", resp.StatusCode, edi)
		}
	})
}

// TestValidate834OverTheAPI: a dry run of an 834 over POST /v1/validate.
func TestValidate834OverTheAPI(t *testing.T) {
	s := storetest.SQLite(t)
	e := newEnv(t, s)
	_, key := e.tenant("acme", 0, schema.ScopeRead, schema.ScopeWrite)
	edi, _ := os.ReadFile("../testdata/x12-834/change-tilde.edi")
	var rep struct {
		Verdict string `json:"verdict"`
		Rows    int    `json:"rows"`
	}
	if r := e.request("POST", "/v1/validate?layout=x12-834&name=enrollment.834", key, "application/edi-x12", edi, &rep); r.StatusCode != 200 || rep.Verdict != "accept" || rep.Rows != 7 {
		t.Fatalf("validate 834 = %d %+v", r.StatusCode, rep)
	}
}
