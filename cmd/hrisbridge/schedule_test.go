package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/schema"
)

// TestScheduleWindowsReplayCLI walks an operator through the scheduling
// commands on the embedded store: set a schedule in a time zone, see the
// next syncs, add and remove a window, configure health expectations,
// pull, replay a file, and queue a sync as a job.
func TestScheduleWindowsReplayCLI(t *testing.T) {
	dir := sqliteEnv(t)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "outbound"), 0o755)
	os.WriteFile(filepath.Join(root, "outbound", "census.csv"), []byte("Employee ID,First Name,Last Name,DOB,SSN,Status,Hire Date,Term Date\nE1,Ada,Lovelace,12/10/1985,123-45-6789,A,2020-01-06,\n"), 0o644)
	srv := sftpd.StartTest(t, root)
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte(srv.Password), 0o600)
	must := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("hrisbridge %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	must("tenants", "create", "acme")
	if out, err := runCLI(t, "connections", "create", "--tenant", "acme", "--name", "payroll", "--host", "127.0.0.1", "--port", strconv.Itoa(srv.Addr.Port),
		"--user", srv.User, "--host-key", ssh.FingerprintSHA256(srv.HostKey), "--dir", "outbound", "--stable-for", "0s", "--password-file", pw,
		"--schedule", "30 2 * * *", "--time-zone", "Mars/Olympus"); err == nil {
		t.Fatalf("an unknown time zone was accepted: %s", out)
	}
	must("connections", "create", "--tenant", "acme", "--name", "payroll", "--host", "127.0.0.1", "--port", strconv.Itoa(srv.Addr.Port),
		"--user", srv.User, "--host-key", ssh.FingerprintSHA256(srv.HostKey), "--dir", "outbound", "--stable-for", "0s", "--password-file", pw,
		"--schedule", "30 2 * * *", "--time-zone", "America/New_York", "--catch-up", "skip")
	var shown struct {
		schema.Connection
		NextSyncs []struct {
			At      time.Time
			Trigger string
		} `json:"next_syncs"`
	}
	json.Unmarshal([]byte(must("connections", "show", "--tenant", "acme", "payroll")), &shown)
	ny, _ := time.LoadLocation("America/New_York")
	if shown.TimeZone != "America/New_York" || shown.CatchUp != "skip" || len(shown.NextSyncs) != 5 || shown.NextSyncs[0].At.In(ny).Format("15:04") != "02:30" {
		t.Fatalf("connections show = %+v", shown)
	}
	if _, err := runCLI(t, "connections", "schedule", "--tenant", "acme", "payroll", "--cron", "every night"); err == nil {
		t.Fatal("a bad cron was accepted")
	}
	json.Unmarshal([]byte(must("connections", "schedule", "--tenant", "acme", "payroll", "--cron", "0 6 * * 1-5", "--time-zone", "Europe/Berlin")), &shown)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if shown.Schedule != "0 6 * * 1-5" || shown.NextSyncs[0].At.In(berlin).Format("15:04") != "06:00" || shown.NextSyncs[0].At.In(berlin).Weekday() == time.Sunday {
		t.Fatalf("after connections schedule: %+v", shown)
	}

	// Windows.
	tomorrow := time.Now().In(berlin).AddDate(0, 0, 1).Format(time.DateOnly)
	if _, err := runCLI(t, "windows", "add", "--tenant", "acme", "--name", "oe", "--from", "2026-12-01", "--to", "2026-11-01", "--schedule", "@hourly"); err == nil {
		t.Fatal("a backwards window was accepted")
	}
	out := must("windows", "add", "--tenant", "acme", "--connection", "payroll", "--name", "open enrollment", "--from", tomorrow, "--to", tomorrow,
		"--schedule", "*/15 * * * *", "--final-pull")
	id := strings.TrimSuffix(strings.Fields(out)[4], "):")[1:]
	json.Unmarshal([]byte(must("connections", "show", "--tenant", "acme", "payroll")), &shown)
	// Today's base run may still come first; from tomorrow's midnight
	// the window's schedule takes over.
	opens, _ := time.ParseInLocation(time.DateOnly, tomorrow, berlin)
	first := -1
	for i, s := range shown.NextSyncs {
		if s.Trigger == schema.TriggerWindow && first < 0 {
			first = i
		}
		if first < 0 && !s.At.Before(opens) || first >= 0 && s.Trigger != schema.TriggerWindow {
			t.Fatalf("next syncs with a window tomorrow: %+v", shown.NextSyncs)
		}
	}
	if first < 0 || !shown.NextSyncs[first].At.Equal(opens) {
		t.Fatalf("next syncs with a window tomorrow: %+v", shown.NextSyncs)
	}
	if out := must("windows", "list", "--tenant", "acme"); !strings.Contains(out, "open enrollment") || !strings.Contains(out, id) {
		t.Fatalf("windows list:\n%s", out)
	}
	must("windows", "delete", "--tenant", "acme", id)
	if out := must("windows", "list", "--tenant", "acme"); strings.Contains(out, "open enrollment") {
		t.Fatalf("window still listed after delete:\n%s", out)
	}

	// Health expectations.
	if _, err := runCLI(t, "connections", "configure", "--tenant", "acme", "payroll", "--max-shrink-ratio", "3"); err == nil {
		t.Fatal("max_shrink_ratio 3 accepted")
	}
	json.Unmarshal([]byte(must("connections", "configure", "--tenant", "acme", "payroll", "--expect-file-every", "3", "--absent", "terminate")), &shown)
	var cfg struct {
		Host            string `json:"host"`
		ExpectFileEvery int    `json:"expect_file_every"`
		Policy          struct{ Absent string }
	}
	json.Unmarshal(shown.Config, &cfg)
	if cfg.ExpectFileEvery != 3 || cfg.Policy.Absent != "terminate" || cfg.Host != "127.0.0.1" {
		t.Fatalf("config after configure: %s", shown.Config)
	}

	// Pull, then replay the file from its kept bytes.
	if out := must("sync", "--tenant", "acme", "payroll"); !strings.Contains(out, "census.csv: applied") {
		t.Fatalf("sync:\n%s", out)
	}
	var files []schema.File
	json.Unmarshal([]byte(must("files", "list", "--tenant", "acme", "--json")), &files)
	out = must("files", "replay", "--tenant", "acme", files[0].ID)
	if !strings.Contains(out, "census.csv: applied (1 rows: 0 created, 0 updated, 1 unchanged") || !strings.Contains(out, "succeeded") {
		t.Fatalf("files replay:\n%s", out)
	}
	if _, err := runCLI(t, "files", "replay", "--tenant", "acme", files[0].ID); err == nil {
		t.Fatal("a replayed file was replayed again")
	}
	// Queue a sync for the servers: its run waits as queued.
	out = must("sync", "--queue", "--tenant", "acme", "payroll")
	if !strings.Contains(out, "queued as job") {
		t.Fatalf("sync --queue:\n%s", out)
	}
}
