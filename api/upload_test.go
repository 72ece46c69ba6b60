package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

func TestHTTPUpload(t *testing.T) {
	s := openSQLite(t)
	l := load(t, s, Config{MaxUpload: 4096})
	inbox := l.b.NewInbox(t.TempDir())
	l.env = newEnvWith(t, s, Config{Uploads: inbox, MaxUpload: 4096})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inbox.Run(ctx) //nolint:errcheck
	write, read := l.key(l.tenant.ID, "write"), l.key(l.tenant.ID, "read")
	conn := l.conns["census-csv"].ID
	// The connection's export format: the same columns as the file load sent.
	census := "Employee ID,First Name,Last Name,DOB,SSN,Status,FT/PT,Department,Location,Hire Date,Term Date\n" +
		"E1,Ada,L,,,A,,,,,\nE2,Bob,S,,,A,,,,,\nE3,Cy,L,,,A,,,,,\nE4,Di,X,,,A,,,,,\n"

	post := func(path, key, contentType string, body io.Reader) (*http.Response, map[string]any) {
		req, _ := http.NewRequest("POST", l.url+path, body)
		req.Header.Set("Authorization", "Bearer "+key)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	if resp, _ := post("/v1/connections/"+conn+"/files?name=c.csv", read, "text/csv", strings.NewReader(census)); resp.StatusCode != 403 {
		t.Fatalf("upload with a read key = %d", resp.StatusCode)
	}
	// Raw body, waiting for the outcome.
	resp, out := post("/v1/connections/"+conn+"/files?name=census.csv&wait=true", write, "text/csv", strings.NewReader(census))
	if resp.StatusCode != 200 || out["status"] != "applied" || out["name"] != "census.csv" {
		t.Fatalf("raw upload = %d %v", resp.StatusCode, out)
	}
	// Multipart, in the background: 202 with the file id to poll.
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	fw, _ := w.CreateFormFile("file", `C:\exports\census-2.csv`)
	fw.Write([]byte(census + "E5,Ed,Y,,,A,,,,,\n"))
	w.Close()
	resp, out = post("/v1/connections/"+conn+"/files", write, w.FormDataContentType(), &mp)
	id, _ := out["file_id"].(string)
	if resp.StatusCode != 202 || out["status"] != "received" || id == "" || resp.Header.Get("Location") != "/v1/files/"+id {
		t.Fatalf("multipart upload = %d %v", resp.StatusCode, out)
	}
	var f schema.File
	storetest.WaitUntil(t, 10*time.Second, func() bool {
		var raw json.RawMessage
		if resp := l.get("/v1/files/"+id, read, &raw); resp.StatusCode == 200 {
			json.Unmarshal(raw, &f)
		}
		return f.Status == schema.FileApplied
	}, "uploaded file %s never applied", id)
	if f.Name != "census-2.csv" || f.Created != 1 {
		t.Fatalf("file = %+v", f)
	}
	if resp, out := post("/v1/connections/"+conn+"/files?name=big.csv", write, "text/csv", strings.NewReader(strings.Repeat("x", 5000))); resp.StatusCode != 413 {
		t.Fatalf("oversized upload = %d %v", resp.StatusCode, out)
	}
	if resp, _ := post("/v1/connections/nope/files?name=c.csv", write, "text/csv", strings.NewReader(census)); resp.StatusCode != 404 {
		t.Fatalf("unknown connection = %d", resp.StatusCode)
	}
}
