package connector

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeAPI serves 7 people through every pagination style, behind every
// kind of authentication.
func fakeAPI(t *testing.T) *httptest.Server {
	t.Helper()
	people := make([]map[string]any, 7)
	for i := range people {
		people[i] = map[string]any{"id": i + 1, "name": map[string]any{"first": fmt.Sprint("F", i+1), "last": "L"}, "active": i != 3}
	}
	page := func(from, n int) []map[string]any { return people[min(from, 7):min(from+n, 7)] }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm() //nolint:errcheck
		id, secret, _ := r.BasicAuth()
		if r.PostForm.Get("grant_type") != "client_credentials" || id != "cid" || secret != "csecret" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"tok","token_type":"bearer","expires_in":3600}`)
	})
	auth := func(r *http.Request) bool {
		user, pass, basic := r.BasicAuth()
		return r.Header.Get("X-Api-Key") == "k" || r.URL.Query().Get("api_key") == "k" || (basic && user == "u" && pass == "p") ||
			r.Header.Get("Authorization") == "Bearer tok"
	}
	mux.HandleFunc("GET /{style}", func(w http.ResponseWriter, r *http.Request) {
		if !auth(r) {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		w.Header().Set("Content-Type", "application/json")
		switch r.PathValue("style") {
		case "offset":
			off, _ := strconv.Atoi(q.Get("offset"))
			lim, _ := strconv.Atoi(q.Get("limit"))
			json.NewEncoder(w).Encode(map[string]any{"items": page(off, lim)}) //nolint:errcheck
		case "page":
			p, _ := strconv.Atoi(q.Get("page"))
			per, _ := strconv.Atoi(q.Get("per"))
			w.Header().Set("X-Total-Pages", strconv.Itoa((7+per-1)/per))
			json.NewEncoder(w).Encode(page((p-1)*per, per)) //nolint:errcheck
		case "cursor-body", "cursor-header":
			from, _ := strconv.Atoi(q.Get("cursor"))
			next := ""
			if from+3 < 7 {
				next = strconv.Itoa(from + 3)
			}
			if r.PathValue("style") == "cursor-header" {
				w.Header().Set("X-Next", next)
				json.NewEncoder(w).Encode(map[string]any{"data": page(from, 3)}) //nolint:errcheck
				return
			}
			var nx any = next
			if next == "" {
				nx = nil
			}
			json.NewEncoder(w).Encode(map[string]any{"data": page(from, 3), "meta": map[string]any{"next": nx}}) //nolint:errcheck
		case "link":
			from, _ := strconv.Atoi(q.Get("from"))
			if from+3 < 7 {
				w.Header().Set("Link", fmt.Sprintf(`</link?from=%d>; rel="next", </link?from=0>; rel="first"`, from+3))
			}
			json.NewEncoder(w).Encode(page(from, 3)) //nolint:errcheck
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func def(t *testing.T, auth, path, records string, p Pagination) *Definition {
	t.Helper()
	y := fmt.Sprintf(`name: fake
base_url: http://unused
auth: %s
requests_per_second: 1000
entities:
  employee:
    request: {path: %s}
    records: '%s'
    fields:
      external_id: {jq: '.id', required: true}
      first_name: {jq: '.name.first'}
      employment_status: {jq: 'if .active then "active" else "terminated" end'}
    custom:
      raw_name: .name
`, auth, path, records)
	d, err := Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	d.Entities["employee"].Pagination = p
	return d
}

func TestFetchEveryPaginationAndAuth(t *testing.T) {
	srv := fakeAPI(t)
	for _, c := range []struct {
		name, auth, path, records string
		p                         Pagination
		secret                    map[string]string
	}{
		{"offset, api key in a header", `{type: api_key, in: header, name: X-Api-Key, value: "{secret.api_key}"}`, "/offset", ".items[]",
			Pagination{Type: "offset", Size: 3}, map[string]string{"api_key": "k"}},
		{"page with total pages, api key in the query", `{type: api_key, in: query, name: api_key, value: "{secret.api_key}"}`, "/page", ".[]",
			Pagination{Type: "page", Size: 3, TotalPagesHeader: "X-Total-Pages"}, map[string]string{"api_key": "k"}},
		{"short last page, basic", `{type: basic, username: "{secret.username}", password: "{secret.password}"}`, "/page", ".[]",
			Pagination{Type: "page", Size: 3}, map[string]string{"username": "u", "password": "p"}},
		{"cursor in the body, client credentials", `{type: oauth2_client_credentials, token_url: /token}`, "/cursor-body", ".data[]",
			Pagination{Type: "cursor", CursorPath: ".meta.next"}, map[string]string{"client_id": "cid", "client_secret": "csecret"}},
		{"cursor in a header", `{type: api_key, name: X-Api-Key, value: k}`, "/cursor-header", ".data[]",
			Pagination{Type: "cursor", CursorHeader: "X-Next"}, nil},
		{"link rel=next", `{type: api_key, name: X-Api-Key, value: k}`, "/link", ".[]",
			Pagination{Type: "link"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := &Source{Def: def(t, c.auth, c.path, c.records, c.p), Secret: c.secret, BaseURL: srv.URL, RetryBase: time.Millisecond}
			var out bytes.Buffer
			st, err := src.Fetch(context.Background(), "employee", time.Time{}, &out)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&out).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if st.Records != 7 || len(rows) != 8 || strings.Join(rows[0], ",") != "employment_status,external_id,first_name,raw_name" {
				t.Fatalf("stats %+v, rows %q", st, rows)
			}
			if got := strings.Join(rows[4], "|"); got != `terminated|4|F4|{"first":"F4","last":"L"}` {
				t.Fatalf("row 4 = %s", got)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{"Retry-After": {"3"}}, 3 * time.Second},
		{http.Header{"Ratelimit": {`"default";r=0;t=7`}}, 7 * time.Second},
		{http.Header{"X-Ratelimit-Reset": {"12"}}, 12 * time.Second},
		{http.Header{"Retry-After": {"99999"}}, 5 * time.Minute},
		{http.Header{}, 0},
	} {
		if got := retryAfter(c.h); got != c.want {
			t.Errorf("retryAfter(%v) = %s, want %s", c.h, got, c.want)
		}
	}
}

func TestBuiltinDefinitionsAndOverrides(t *testing.T) {
	for _, name := range Builtins() {
		d, err := Resolve(name, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for entity := range d.Entities {
			if _, err := d.Layout(entity, "full"); err != nil {
				t.Fatalf("%s %s: %v", name, entity, err)
			}
		}
	}
	// A tenant remaps one field; a connection changes the page size.
	d, err := Resolve("gusto", []byte("entities: {employee: {fields: {department: {jq: .team}}}}"), []byte("entities: {employee: {pagination: {size: 25}}}"))
	if err != nil {
		t.Fatal(err)
	}
	e := d.Entities["employee"]
	if e.Fields["department"].JQ != ".team" || e.Pagination.Size != 25 || e.Pagination.Type != "page" || e.Fields["last_name"].JQ != ".last_name" {
		t.Fatalf("merged: department %q, pagination %+v", e.Fields["department"].JQ, e.Pagination)
	}
	if _, err := Resolve("gusto", []byte("name: other"), nil); err == nil {
		t.Fatal("an override renamed the connector")
	}
	if _, err := Parse([]byte("name: x\nbase_url: u\nauth: {type: magic}\nentities: {}")); err == nil {
		t.Fatal("an unknown auth type was accepted")
	}
}

// FuzzFetchBody: whatever an API answers, a fetch returns records or an
// error with a code; it never panics.
func FuzzFetchBody(f *testing.F) {
	f.Add([]byte(`{"items":[{"id":1,"name":{"first":"A"},"active":true}]}`))
	f.Add([]byte(`{"items":[{"id":"x","name":"flat","active":null}]}`))
	f.Add([]byte(`{"items":{"id":1}}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, body []byte) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })) //nolint:errcheck
		defer srv.Close()
		src := &Source{Def: def(t, `{type: api_key, name: X-Api-Key, value: k}`, "/x", ".items[]", Pagination{}), BaseURL: srv.URL, Retries: -1}
		var out bytes.Buffer
		_, err := src.Fetch(context.Background(), "employee", time.Time{}, &out)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error without a code: %T %v", err, err)
			}
		}
	})
}

// TestDocumentedDefinitionParses: the worked example of docs/connectors.md
// is a definition the runtime accepts.
func TestDocumentedDefinitionParses(t *testing.T) {
	doc, err := os.ReadFile("../../docs/connectors.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\nname: acmehr")
	if !ok {
		t.Fatal("docs/connectors.md has no acmehr example")
	}
	body, _, _ := strings.Cut(rest, "```")
	d, err := Parse([]byte("name: acmehr" + body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Layout("employee", "full"); err != nil {
		t.Fatal(err)
	}
}
