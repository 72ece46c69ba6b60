package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryCommandHasHelp: COMMAND --help and help COMMAND print the
// command's usage lines and flags, and succeed.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, cmd := range []string{"demo", "serve", "migrate", "tenants", "keys", "connections", "windows", "sync", "layouts", "ingest",
		"dropbox", "files", "audit", "bench", "synth", "validate", "errors", "healthcheck", "connectors", "mock-hris", "export", "console"} {
		for _, args := range [][]string{{cmd, "--help"}, {cmd, "-h"}, {"help", cmd}} {
			out, err := runCLI(t, args...)
			if err != nil {
				t.Errorf("%v: %v", args, err)
				continue
			}
			if !strings.Contains(out, "Usage:\n  hrisbridge "+cmd) || !strings.Contains(out, "Flags:") {
				t.Errorf("%v printed:\n%s", args, out)
			}
		}
	}
	out, err := runCLI(t, "help")
	if err != nil || !strings.Contains(out, "hrisbridge audit") || !strings.Contains(out, "hrisbridge keys revoke") {
		t.Fatalf("help = %v\n%s", err, out)
	}
	if _, err := runCLI(t, "keys", "--bogus"); err == nil || !strings.Contains(err.Error(), "see hrisbridge keys --help") {
		t.Fatalf("an unknown flag = %v", err)
	}
}

// TestAuditCLI: changes made on the command line are in the audit log
// with the user who made them, filtered as asked.
func TestAuditCLI(t *testing.T) {
	sqliteEnv(t)
	runCLI(t, "tenants", "create", "acme")
	out, err := runCLI(t, "keys", "create", "--tenant", "acme", "--scopes", "read")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	prefix := lines[len(lines)-1][4:16]
	if _, err := runCLI(t, "keys", "revoke", "--tenant", "acme", prefix); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "audit", "--tenant", "acme", "--action", "key.")
	if err != nil || strings.Count(out, "cli:") != 2 || !strings.Contains(out, "key.revoke") || !strings.Contains(out, "key.create") {
		t.Fatalf("audit = %v\n%s", err, out)
	}
	if strings.Index(out, "key.revoke") > strings.Index(out, "key.create") {
		t.Fatalf("audit is not newest first:\n%s", out)
	}
	out, _ = runCLI(t, "audit", "--tenant", "acme", "--action", "pii.read")
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("pii.read filter = %q, want the header only", out)
	}
	out, _ = runCLI(t, "audit", "--since", "1h", "--json")
	if strings.Count(out, "\n") != 2 {
		t.Fatalf("audit --json = %q", out)
	}
}

// docsText is README.md and every docs/*.md, one after the other.
func docsText(t *testing.T) string {
	t.Helper()
	paths, _ := filepath.Glob("../../docs/*.md")
	var b strings.Builder
	for _, p := range append([]string{"../../README.md"}, paths...) {
		text, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(text)
		b.WriteString("\n")
	}
	return b.String()
}

// TestReadmeCommandsExist: every hrisbridge command line in README.md and
// docs/ names a command that exists, and every --flag it shows is one
// that command takes: the docs and the product agree.
func TestReadmeCommandsExist(t *testing.T) {
	readme := docsText(t)
	seen := 0
	inBlock := false
	var line string
	for _, raw := range strings.Split(readme, "\n") {
		if strings.HasPrefix(raw, "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock {
			continue
		}
		// Continuation lines (ending in a backslash) belong to the command.
		if line != "" {
			line += " " + strings.TrimSpace(strings.TrimSuffix(raw, "\\"))
		} else if l := strings.TrimSpace(raw); strings.HasPrefix(l, "hrisbridge ") || strings.HasPrefix(l, "HRISBRIDGE_") && strings.Contains(l, " hrisbridge ") {
			line = strings.TrimSuffix(l, "\\")
		}
		if line == "" || strings.HasSuffix(strings.TrimSpace(raw), "\\") {
			continue
		}
		cmdline, _, _ := strings.Cut(line, "#")
		line = ""
		_, cmdline, _ = strings.Cut(" "+cmdline, " hrisbridge ")
		fields := strings.Fields(cmdline)
		if len(fields) == 0 {
			continue
		}
		out, err := runCLI(t, "help", fields[0])
		if err != nil || !strings.Contains(out, "Flags:") {
			t.Errorf("README: hrisbridge %s: no such command (%v)", fields[0], err)
			continue
		}
		seen++
		for _, f := range fields[1:] {
			f = strings.Trim(f, "[]()|'\"")
			if !strings.HasPrefix(f, "--") {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
			if !strings.Contains(out, "\n  -"+name+" ") && !strings.Contains(out, "\n  -"+name+"\n") {
				t.Errorf("README: hrisbridge %s shows --%s, which it does not take", fields[0], name)
			}
		}
	}
	t.Logf("%d documented command lines checked", seen)
	if seen < 30 {
		t.Fatalf("found %d command lines in README.md and docs/; the parser missed them", seen)
	}
}
