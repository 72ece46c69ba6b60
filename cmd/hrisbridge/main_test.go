package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
	"github.com/hrisbridge/hrisbridge/schema/secret"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestMain doubles as the hrisbridge binary for tests that run it as a
// child process (HRISBRIDGE_TEST_MAIN=1).
func TestMain(m *testing.M) {
	if os.Getenv("HRISBRIDGE_TEST_MAIN") == "1" {
		if at := os.Getenv("HRISBRIDGE_TEST_CRASH_AT"); at != "" {
			checkpoint = func(point string) {
				if point == at {
					syscall.Kill(os.Getpid(), syscall.SIGKILL) //nolint:errcheck
					select {}                                  // SIGKILL cannot be caught; wait for it
				}
			}
		}
		main()
		os.Exit(0)
	}
	pgtest.Main(m)
}

// runCLI runs a command line with a clean HRISBRIDGE_* environment.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out)
	return out.String(), err
}

func TestConfigDefaultsEnvAndFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HRISBRIDGE_DATA_DIR", dir)
	cfg, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "sqlite://"+filepath.Join(dir, "hrisbridge.db") || cfg.Addr != ":8080" || cfg.MaxInvalidRatio != 0.05 {
		t.Fatalf("defaults = %+v", cfg)
	}
	yml := filepath.Join(dir, "hb.yaml")
	os.WriteFile(yml, []byte("addr: 127.0.0.1:9999\nlog_level: debug\nmax_invalid_ratio: 0.1\n"), 0o600)
	keyFile := filepath.Join(dir, "mk")
	key := secret.NewKey()
	os.WriteFile(keyFile, []byte(key+"\n"), 0o600)
	t.Setenv("HRISBRIDGE_ADDR", "127.0.0.1:7777") // env beats the file
	t.Setenv("HRISBRIDGE_MASTER_KEY_FILE", keyFile)
	cfg, err = loadConfig(yml)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:7777" || cfg.LogLevel != "debug" || cfg.MaxInvalidRatio != 0.1 || cfg.MasterKey != key {
		t.Fatalf("file+env = %+v", cfg)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ yaml, env, val, want string }{
		{"log_level: loud\n", "", "", "log_level"},
		{"datbase_url: x\n", "", "", `unknown key "datbase_url" (did you mean "database_url"?)`},
		{"log_levl: debug\n", "", "", `unknown key "log_levl" (did you mean "log_level"?); the keys are: database_url`},
		{"", "HRISBRIDGE_DATABASE_URL", "mysql://x", "database_url"},
		{"", "HRISBRIDGE_DATABASE_URL", "postgres://localhost/x", "master_key"},
		{"", "HRISBRIDGE_MAX_INVALID_RATIO", "lots", "max_invalid_ratio"},
		{"", "HRISBRIDGE_MASTER_KEY", "short", "master_key"},
		{"log_format: xml\n", "", "", "log_format"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			yml := filepath.Join(dir, "c.yaml")
			os.WriteFile(yml, []byte(tt.yaml), 0o600)
			if tt.env != "" {
				t.Setenv(tt.env, tt.val)
			}
			_, err := loadConfig(yml)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("loadConfig = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

// TestTenantsAndKeysCLI creates a tenant and keys on both stores; the key
// is the last line of the output and works against the API.
func TestTenantsAndKeysCLI(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Setenv("HRISBRIDGE_DATABASE_URL", storetest.URL(t, kind))
			t.Setenv("HRISBRIDGE_DATA_DIR", t.TempDir())
			t.Setenv("HRISBRIDGE_MASTER_KEY", secret.NewKey())
			if out, err := runCLI(t, "tenants", "create", "acme", "--name", "Acme Corp"); err != nil || !strings.Contains(out, "created tenant acme") {
				t.Fatalf("tenants create = %q, %v", out, err)
			}
			if _, err := runCLI(t, "tenants", "create", "acme"); err == nil || !strings.Contains(err.Error(), "already exists") {
				t.Fatalf("duplicate tenant = %v", err)
			}
			if _, err := runCLI(t, "tenants", "create", "Bad Slug"); err == nil {
				t.Fatal("bad slug accepted")
			}
			out, err := runCLI(t, "keys", "create", "--tenant", "acme", "--scopes", "read,pii:read")
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			key := lines[len(lines)-1]
			if !strings.HasPrefix(key, "hbk_") || len(key) != 4+12+1+64 {
				t.Fatalf("last line %q is not a key", key)
			}
			if _, err := runCLI(t, "keys", "create", "--tenant", "acme", "--scopes", "read,superuser"); err == nil {
				t.Fatal("unknown scope accepted")
			}
			if _, err := runCLI(t, "keys", "create", "--scopes", "read"); err == nil {
				t.Fatal("tenant-less non-admin key accepted")
			}
			if out, err := runCLI(t, "tenants", "list"); err != nil || !strings.Contains(out, "Acme Corp") {
				t.Fatalf("tenants list = %q, %v", out, err)
			}
			// keys list, an expiring key, revoke by prefix.
			if out, err := runCLI(t, "keys", "create", "--tenant", "acme", "--name", "ci", "--expires-in", "720h"); err != nil || !strings.Contains(out, "expiring ") {
				t.Fatalf("expiring key = %q, %v", out, err)
			}
			prefix := key[4:16]
			out, err = runCLI(t, "keys", "list", "--tenant", "acme")
			if err != nil || strings.Count(out, "\n") != 3 || !strings.Contains(out, prefix) || !strings.Contains(out, " ci ") {
				t.Fatalf("keys list = %q, %v", out, err)
			}
			if out, err := runCLI(t, "keys", "revoke", "--tenant", "acme", prefix); err != nil || !strings.Contains(out, "revoked key "+prefix) {
				t.Fatalf("keys revoke = %q, %v", out, err)
			}
			if _, err := runCLI(t, "keys", "revoke", "--tenant", "acme", prefix); err == nil || !strings.Contains(err.Error(), "no unrevoked key") {
				t.Fatalf("revoking twice = %v", err)
			}
			out, _ = runCLI(t, "keys", "list", "--tenant", "acme")
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, prefix) && strings.HasSuffix(strings.TrimSpace(line), "-") {
					t.Fatalf("revoked key listed without its revocation: %q", line)
				}
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	if _, err := runCLI(t, "frobnicate"); err == nil {
		t.Fatal("unknown command accepted")
	}
	if out, _ := runCLI(t); !strings.Contains(out, "hrisbridge demo") {
		t.Fatalf("usage = %q", out)
	}
}

// TestDemo runs the demo as a user would and queries what it prints.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out storetest.Buffer
	done := make(chan error, 1)
	dir := t.TempDir()
	go func() { done <- run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--dir", dir}, &out) }()
	var api, key string
	deadline := time.Now().Add(60 * time.Second)
	for api == "" || key == "" {
		if time.Now().After(deadline) {
			t.Fatalf("demo printed no API and key:\n%s", out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("demo exited: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "API: "); ok {
				api = v
			}
			if v, ok := strings.CutPrefix(sc.Text(), "API key: "); ok {
				key = v
			}
		}
	}
	get := func(path, key string) (int, []byte) {
		req, _ := http.NewRequest("GET", api+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, body := get("/v1/employees?limit=1000", key)
	var page struct {
		Data []struct {
			ExternalID  string `json:"external_id"`
			SSN         string `json:"ssn"`
			DateOfBirth string `json:"date_of_birth"`
			Status      string `json:"employment_status"`
		} `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
	if err := json.Unmarshal(body, &page); status != 200 || err != nil {
		t.Fatalf("GET /v1/employees = %d %s", status, body)
	}
	if len(page.Data) != 26 || page.NextCursor != nil {
		t.Fatalf("demo serves %d employees, want the 26 of the sample drops", len(page.Data))
	}
	terminated := 0
	for _, e := range page.Data {
		if e.SSN != "" && !strings.HasPrefix(e.SSN, "***-**-") || e.DateOfBirth != "" {
			t.Fatalf("demo key (no pii:read) sees PII: %+v", e)
		}
		if e.Status == "terminated" {
			terminated++
		}
	}
	if terminated != 2 {
		t.Fatalf("terminated = %d, want 2 (E1012 in the first drop, E1004 in the second)", terminated)
	}
	// The second employer, fed by an HRIS API, is served by the same
	// endpoints in the same shape, and its connection is healthy.
	globexKey := regexp.MustCompile(`Bearer (hbk_[^']+)'.*# tenant globex`).FindStringSubmatch(out.String())
	if globexKey == nil {
		t.Fatalf("demo printed no command for the API-fed tenant:\n%s", out.String())
	}
	var globex struct {
		Data []struct {
			ExternalID string `json:"external_id"`
			LastName   string `json:"last_name"`
			Status     string `json:"employment_status"`
		} `json:"data"`
	}
	if status, body := get("/v1/employees?limit=100", globexKey[1]); status != 200 || json.Unmarshal(body, &globex) != nil || len(globex.Data) != 12 || globex.Data[0].LastName == "" || globex.Data[0].Status != "active" {
		t.Fatalf("globex employees = %d %s", status, body)
	}
	var globexConns struct {
		Data []struct {
			Kind   string `json:"kind"`
			Health struct {
				State string `json:"state"`
			} `json:"health"`
		} `json:"data"`
	}
	if _, body := get("/v1/connections", globexKey[1]); json.Unmarshal(body, &globexConns) != nil || len(globexConns.Data) != 1 || globexConns.Data[0].Kind != "api" || globexConns.Data[0].Health.State != "healthy" {
		t.Fatalf("globex connections = %s", body)
	}
	if status, body := get("/v1/employees", ""); status != 401 || !bytes.Contains(body, []byte(`"status":401`)) {
		t.Fatalf("no key = %d %s, want 401 problem", status, body)
	}
	status, body = get("/metrics", "")
	// Two first syncs: demo's over SFTP (26 employees), globex's from its API
	// (12 employees and 2 benefit plans).
	for _, series := range []string{`hrisbridge_files_total{layout="census-csv",status="applied_with_errors"} 1`, `hrisbridge_sync_runs_total{status="succeeded",trigger="manual"} 2`,
		`hrisbridge_rows_total{outcome="created"} 40`, `hrisbridge_files_total{layout="gusto.employee",status="applied"} 1`, `hrisbridge_api_request_duration_seconds_count{code="200",method="GET",route="/v1/employees"}`,
		`hrisbridge_ingest_duration_seconds_bucket`} {
		if status != 200 || !bytes.Contains(body, []byte(series)) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	// A sync queued over the API runs as a River job on the embedded store.
	var conns struct{ Data []schema.Connection }
	_, body = get("/v1/connections", key)
	json.Unmarshal(body, &conns)
	var pull string
	for _, c := range conns.Data {
		if c.Name == "hris-sftp" {
			pull = c.ID
		}
	}
	req, _ := http.NewRequest("POST", api+"/v1/connections/"+pull+"/sync", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var queued schema.SyncRun
	json.NewDecoder(resp.Body).Decode(&queued)
	resp.Body.Close()
	if resp.StatusCode != 202 || queued.ID == "" {
		t.Fatalf("POST sync = %d %+v", resp.StatusCode, queued)
	}
	for run := queued; run.Status != schema.RunSucceeded; {
		if time.Now().After(deadline) || run.Status == schema.RunFailed {
			t.Fatalf("queued sync: %+v", run)
		}
		time.Sleep(50 * time.Millisecond)
		_, body := get("/v1/sync-runs/"+queued.ID, key)
		json.Unmarshal(body, &run)
	}

	// Webhooks are delivered, as by serve: register a receiver, then
	// upload a file through the demo's printed command (the upload
	// connection's first file: its sync.baseline).
	hooks := make(chan string, 16)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case hooks <- string(b):
		default:
		}
	}))
	defer rcv.Close()
	hb, _ := json.Marshal(map[string]any{"url": rcv.URL, "event_types": []string{"employee.*", "sync.baseline"}})
	req, _ = http.NewRequest("POST", api+"/v1/webhook-endpoints", bytes.NewReader(hb))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("register webhook: %v %v", err, resp)
	}
	// Every command the demo printed works as printed.
	census, _ := demodata.ReadFile("demodata/census_20261108.csv")
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "census.csv"), append(census, []byte("E9999,New,Hire,A\n")...), 0o644)
	for _, line := range strings.Split(out.String(), "\n") {
		cmdline, ok := strings.CutPrefix(line, "  curl ")
		if !ok {
			continue
		}
		code := curl(t, work, cmdline)
		want := 200
		switch {
		case strings.Contains(cmdline, "/sync'"):
			want = 202
		case !strings.Contains(cmdline, "Authorization"):
			want = 401
			if strings.Contains(cmdline, "/readyz") {
				want = 200
			}
		}
		if code != want {
			t.Errorf("printed command curl %s answered %d, want %d", cmdline, code, want)
		}
	}
	// And every curl command of the README and docs/ that is written
	// against the default address, against the demo.
	ran := 0
	for _, block := range strings.Split(docsText(t), "```")[1:] {
		for _, cmdline := range shellCommands(block) {
			if !strings.HasPrefix(cmdline, "curl ") || !strings.Contains(cmdline, "http://127.0.0.1:8080") {
				continue
			}
			cmdline = strings.NewReplacer("$WRITE_KEY", key, "$KEY", key, "$CONN", pull, "http://127.0.0.1:8080", api).Replace(cmdline)
			if code := curl(t, work, cmdline); code < 200 || code > 299 {
				t.Errorf("README command %s answered %d", cmdline, code)
			}
			ran++
		}
	}
	if ran < 5 {
		t.Errorf("ran %d README curl commands; the parser missed some", ran)
	}
	select {
	case body := <-hooks:
		if !strings.Contains(body, "employee.") && !strings.Contains(body, "sync.baseline") {
			t.Fatalf("webhook body %s", body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo delivered no webhook")
	}
	// The drop box login the demo printed takes an upload.
	var dropPort, dropPassword string
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "Drop box (hrisbridge's own): sftp -P "); ok {
			dropPort, rest, _ = strings.Cut(rest, " ")
			_, rest, _ = strings.Cut(rest, "(password ")
			dropPassword, _, _ = strings.Cut(rest, ";")
		}
	}
	hk, err := bridge.HostKey(filepath.Join(dir, "ssh_host_ed25519_key"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ssh.Dial("tcp", "127.0.0.1:"+dropPort, &ssh.ClientConfig{User: "hr-admin", Auth: []ssh.AuthMethod{ssh.Password(dropPassword)},
		HostKeyCallback: ssh.FixedHostKey(hk.PublicKey())})
	if err != nil {
		t.Fatalf("drop box login printed by the demo (port %q): %v", dropPort, err)
	}
	defer sc.Close()
	fc, err := sftp.NewClient(sc)
	if err != nil {
		t.Fatal(err)
	}
	w, err := fc.Create("census-upload.csv")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(census)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for {
		_, body := get("/v1/files?limit=50", key)
		if bytes.Contains(body, []byte(`"name":"census-upload.csv"`)) {
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("the drop box upload was not recorded: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo stopped with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("demo did not stop on cancel")
	}
}

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(404)
		}
	}))
	defer ok.Close()
	if out, err := runCLI(t, "healthcheck", "--url", ok.URL+"/healthz"); err != nil || strings.TrimSpace(out) != "ok" {
		t.Fatalf("healthcheck on a healthy server = %q, %v", out, err)
	}
	if _, err := runCLI(t, "healthcheck", "--url", ok.URL+"/nope"); err == nil {
		t.Fatal("healthcheck passed on a 404")
	}
	ok.Close()
	if _, err := runCLI(t, "healthcheck", "--url", ok.URL+"/healthz"); err == nil {
		t.Fatal("healthcheck passed with the server down")
	}
}

// updateDocs rewrites generated docs: UPDATE_DOCS=1 go test ./cmd/hrisbridge
var updateDocs = os.Getenv("UPDATE_DOCS") != ""

// sqliteEnv points the CLI at a fresh embedded store with its own master
// key and data directory, which it returns.
func sqliteEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HRISBRIDGE_DATABASE_URL", "sqlite://"+filepath.Join(dir, "hb.db"))
	t.Setenv("HRISBRIDGE_MASTER_KEY", secret.NewKey())
	t.Setenv("HRISBRIDGE_DATA_DIR", dir)
	return dir
}

// curl runs one curl command line as the demo or README prints it (-s,
// -X, -H, -d, --data-binary @FILE and the URL; a trailing # comment),
// split into words as a shell would (quotes, adjacent quoted parts), and
// returns the status code. Files are read from dir.
func curl(t *testing.T, dir, cmdline string) int {
	t.Helper()
	args := shellWords(cmdline)
	method, headers := "GET", http.Header{}
	var body io.Reader
	var url string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "curl", "-s":
		case "-X":
			i++
			method = args[i]
		case "-H":
			i++
			k, v, _ := strings.Cut(args[i], ": ")
			headers.Add(k, v)
		case "-d":
			i++
			body = strings.NewReader(args[i])
			if method == "GET" {
				method = "POST"
			}
		case "--data-binary":
			i++
			b, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(args[i], "@")))
			if err != nil {
				t.Fatal(err)
			}
			body = bytes.NewReader(b)
		default:
			url = args[i]
		}
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatalf("curl %s: %v", cmdline, err)
	}
	req.Header = headers
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("curl %s: %v", cmdline, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// shellWords splits a command line as sh does for the quoting the docs
// use: single and double quotes, adjacent parts joined, backslash-newline
// continuations, a # comment after white space.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quote := false, byte(0)
	line = strings.ReplaceAll(line, "\\\n", " ")
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			return words
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// shellCommands splits a shell snippet into its command lines: a line
// goes on while it ends with a backslash or a quote is open.
func shellCommands(text string) []string {
	var out []string
	var cur strings.Builder
	var quote byte
	for _, line := range strings.Split(text, "\n") {
		cur.WriteString(line)
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '\'' || c == '"'):
				quote = c
			}
		}
		if quote != 0 || strings.HasSuffix(line, "\\") {
			cur.WriteString("\n")
			continue
		}
		out = append(out, strings.TrimSpace(cur.String()))
		cur.Reset()
	}
	return out
}
