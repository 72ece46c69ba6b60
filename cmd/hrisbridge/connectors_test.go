package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge/connector/mockhris"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestAPIConnectionCLI: an operator creates a BambooHR-shaped API
// connection, tests and syncs it, sees the connectors and overrides one
// field's mapping for the tenant, all from the CLI.
func TestAPIConnectionCLI(t *testing.T) {
	dir := sqliteEnv(t)
	mock := mockhris.New(12)
	hris := httptest.NewServer(mock)
	t.Cleanup(hris.Close)
	secret := filepath.Join(dir, "secret.json")
	os.WriteFile(secret, []byte(fmt.Sprintf(`{"api_key": %q}`, mockhris.APIKey)), 0o600)
	runCLI(t, "tenants", "create", "acme")

	out, err := runCLI(t, "connectors")
	if err != nil || !strings.Contains(out, "bamboohr") || !strings.Contains(out, "gusto") {
		t.Fatalf("connectors = %v\n%s", err, out)
	}
	if out, err := runCLI(t, "connectors", "show", "gusto"); err != nil || !strings.Contains(out, "oauth2_authorization_code") {
		t.Fatalf("connectors show = %v\n%s", err, out)
	}
	out, err = runCLI(t, "connections", "create", "--tenant", "acme", "--name", "bamboo", "--kind", "api", "--layout", "bamboohr",
		"--param", "company="+mockhris.Company, "--base-url", hris.URL+"/api/gateway.php/{company}/v1", "--secret-file", secret)
	if err != nil || !strings.Contains(out, "bamboo") {
		t.Fatalf("create = %v\n%s", err, out)
	}
	if out, err := runCLI(t, "connections", "test", "--tenant", "acme", "bamboo"); err != nil || !strings.Contains(out, "12 records") {
		t.Fatalf("test = %v\n%s", err, out)
	}
	if out, err := runCLI(t, "sync", "--tenant", "acme", "bamboo"); err != nil || !strings.Contains(out, "12") {
		t.Fatalf("sync = %v\n%s", err, out)
	}
	// The tenant's department comes from another field from now on.
	override := filepath.Join(dir, "override.yaml")
	os.WriteFile(override, []byte("entities: {employee: {fields: {department: {jq: .division}}}}\n"), 0o600)
	if out, err := runCLI(t, "connectors", "set", "bamboohr", override, "--tenant", "acme"); err != nil {
		t.Fatalf("connectors set = %v\n%s", err, out)
	}
	if out, err := runCLI(t, "connectors", "show", "bamboohr", "--tenant", "acme"); err != nil || !strings.Contains(out, "jq: .division") {
		t.Fatalf("effective connector = %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("entities: {employee: {fields: {department: {jq: '.['}}}}\n"), 0o600)
	if _, err := runCLI(t, "connectors", "set", "bamboohr", bad, "--tenant", "acme"); err == nil {
		t.Fatal("an override whose jq does not compile was stored")
	}
	// A changed mapping reads everyone again, not only what changed.
	out, err = runCLI(t, "sync", "--tenant", "acme", "bamboo")
	if err != nil || !strings.Contains(out, "12 rows: 0 created, 12 updated") {
		t.Fatalf("sync after the override = %v\n%s", err, out)
	}
	if out, _ := runCLI(t, "connections", "list", "--tenant", "acme"); !strings.Contains(out, "api") || !strings.Contains(out, "healthy") {
		t.Fatalf("list = %s", out)
	}
}

// TestBenchConnector runs the connector benchmark small, as documented.
func TestBenchConnector(t *testing.T) {
	sqliteEnv(t)
	out, err := runCLI(t, "bench", "connector", "--rows", "250")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var res struct {
		Rows      int     `json:"rows"`
		Pages     int     `json:"pages"`
		RecordsPS float64 `json:"records_per_s"`
		FileRecPS float64 `json:"file_records_per_s"`
		Ratio     float64 `json:"ratio"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &res); err != nil || res.Rows != 250 || res.Pages != 3 || res.RecordsPS <= 0 || res.FileRecPS <= 0 || res.Ratio <= 0 {
		t.Fatalf("bench connector = %v %+v\n%s", err, res, out)
	}
}

// TestIngest834CLI: `ingest --layout x12-834` applies an 834 as any file.
func TestIngest834CLI(t *testing.T) {
	sqliteEnv(t)
	runCLI(t, "tenants", "create", "acme")
	out, err := runCLI(t, "ingest", "--tenant", "acme", "--layout", "x12-834", "../../testdata/x12-834/change-tilde.edi")
	if err != nil || !strings.Contains(out, "applied") {
		t.Fatalf("ingest 834 = %v\n%s", err, out)
	}
	var res struct {
		FileID string `json:"file_id"`
	}
	out, err = runCLI(t, "ingest", "--tenant", "acme", "--layout", "x12-834", "--json", "../../testdata/x12-834/broken-se.edi")
	// Applied with errors (one set rejected): exit status 1, as for any file.
	if exitCode(err) != 1 || json.Unmarshal([]byte(out), &res) != nil || res.FileID == "" {
		t.Fatalf("ingest --json = %v\n%s", err, out)
	}
	if out, err := runCLI(t, "files", "ack", "--tenant", "acme", res.FileID); err != nil || !strings.Contains(out, "AK9*P*2*2*1~") {
		t.Fatalf("files ack = %v\n%s", err, out)
	}
	// A dry run reads it as ingest would, and stores nothing.
	out, err = runCLI(t, "validate", "--layout", "x12-834", "../../testdata/x12-834/broken-se.edi")
	if exitCode(err) != 1 || !strings.Contains(out, "accept_with_errors") || !strings.Contains(out, "E_X12_ENVELOPE") {
		t.Fatalf("validate 834 = %v\n%s", err, out)
	}
	out, err = runCLI(t, "ingest", "--tenant", "acme", "--layout", "x12-834", "../../testdata/x12-834/broken-iea.edi")
	if err == nil || !strings.Contains(out, "E_X12_ENVELOPE") {
		t.Fatalf("broken 834 = %v\n%s", err, out)
	}
}

// TestBench834 runs the 834 benchmark small, as documented.
func TestBench834(t *testing.T) {
	sqliteEnv(t)
	out, err := runCLI(t, "bench", "834", "--rows", "300")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var res struct {
		Members     int     `json:"members"`
		MembersPerS float64 `json:"members_per_s"`
		CensusRowsS float64 `json:"census_rows_per_s"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &res); err != nil || res.Members != 300 || res.MembersPerS <= 0 || res.CensusRowsS <= 0 {
		t.Fatalf("bench 834 = %v %+v\n%s", err, res, out)
	}
}

// TestExport834CLI: export 834 writes what the tenant holds, readable as
// an 834 again.
func TestExport834CLI(t *testing.T) {
	dir := sqliteEnv(t)
	runCLI(t, "tenants", "create", "acme")
	runCLI(t, "ingest", "--tenant", "acme", "--layout", "x12-834", "../../testdata/x12-834/change-tilde.edi")
	path := filepath.Join(dir, "out.834")
	if out, err := runCLI(t, "export", "834", "--tenant", "acme", "-o", path); err != nil || !strings.Contains(out, "wrote 1 subscribers") {
		t.Fatalf("export = %v\n%s", err, out)
	}
	runCLI(t, "tenants", "create", "globex")
	if out, err := runCLI(t, "ingest", "--tenant", "globex", "--layout", "x12-834", path); err != nil || !strings.Contains(out, "applied") {
		t.Fatalf("ingesting the export = %v\n%s", err, out)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("the export (SSNs) is %v", fi.Mode().Perm())
	}
}

// TestMockHRISCommand: mock-hris serves what it prints, and takes faults.
func TestMockHRISCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out storetest.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"mock-hris", "--addr", "127.0.0.1:0", "--employees", "7"}, &out) }()
	var base string
	storetest.WaitUntil(t, 10*time.Second, func() bool {
		m := regexp.MustCompile(`mock HRIS on (http://\S+) with 7 employees`).FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return base != ""
	}, "mock-hris printed no address:\n%s", out.String())
	req, _ := http.NewRequest("POST", base+"/api/gateway.php/"+mockhris.Company+"/v1/reports/custom?format=JSON", strings.NewReader("{}"))
	req.SetBasicAuth(mockhris.APIKey, "x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Employees []map[string]any `json:"employees"`
	}
	json.NewDecoder(resp.Body).Decode(&report) //nolint:errcheck
	resp.Body.Close()
	if resp.StatusCode != 200 || len(report.Employees) != 7 {
		t.Fatalf("report = %d, %d employees", resp.StatusCode, len(report.Employees))
	}
	if resp, err := http.Post(base+"/mock/faults", "application/json", strings.NewReader(`{"rate_limited": 1}`)); err != nil || resp.StatusCode != 204 {
		t.Fatalf("faults: %v %v", err, resp)
	}
	resp, err = http.DefaultClient.Do(req.Clone(context.Background()))
	if err != nil || resp.StatusCode != 429 {
		t.Fatalf("after rate_limited 1: %v %v", err, resp)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("mock-hris exited: %v", err)
	}
}

// TestBenchFleet runs the fleet harness small: three employers, one then
// two replica processes, on PostgreSQL, three nights: every file applies
// once, with exactly its rows and events.
func TestBenchFleet(t *testing.T) {
	skipProcesses(t)
	t.Setenv("HRISBRIDGE_TEST_MAIN", "1") // the replicas are this test binary, run as main
	out, err := runCLI(t, "bench", "fleet", "--tenants", "3", "--replicas", "1,2", "--schedule", "@every 2s", "--ticks", "3", "--db", pgtest.URL(t))
	if err != nil {
		t.Fatalf("bench fleet: %v\n%s", err, out)
	}
	var rounds []fleetRound
	for _, line := range strings.Split(out, "\n") {
		var r fleetRound
		if json.Unmarshal([]byte(line), &r) == nil && r.Tenants == 3 {
			rounds = append(rounds, r)
		}
	}
	if len(rounds) != 6 || rounds[5].Replicas != 2 || rounds[5].Tick != 3 || len(rounds[5].PeakRSSMB) != 2 {
		t.Fatalf("rounds = %+v\n%s", rounds, out)
	}
	for _, r := range rounds {
		if r.Lost != 0 || r.Duplicated != 0 || r.RowsWrong != 0 || r.EventsWrong != 0 || r.Rows == 0 || r.RowsPS <= 0 || r.PeakRSSMB[0] <= 0 {
			t.Fatalf("round = %+v", r)
		}
	}
}

// TestFleetChanged: the rows a night changes from the night before.
func TestFleetChanged(t *testing.T) {
	for _, c := range []struct{ size, night, want int }{
		{250, 1, 0}, {250, 2, 3}, {250, 3, 3 + 3}, {250, 52, 2 + 2}, {250, 101, 3 + 3},
		{2, 2, 0}, {2, 3, 0}, {3, 3, 1}, {1000, 7, 20},
	} {
		if got := fleetChanged(c.size, c.night); got != c.want {
			t.Errorf("fleetChanged(%d, %d) = %d, want %d", c.size, c.night, got, c.want)
		}
	}
}
