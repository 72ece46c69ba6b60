package main

import (
	"os"
	"strings"
	"testing"
)

// TestErrorCatalogDoc keeps docs/errors.md equal to `hrisbridge errors`
// (UPDATE_DOCS=1 go test ./cmd/hrisbridge rewrites it).
func TestErrorCatalogDoc(t *testing.T) {
	out, err := runCLI(t, "errors", "--markdown")
	if err != nil {
		t.Fatal(err)
	}
	const path = "../../docs/errors.md"
	if updateDocs {
		os.WriteFile(path, []byte(out), 0o644)
	}
	want, _ := os.ReadFile(path)
	if strings.TrimSpace(string(want)) != strings.TrimSpace(out) {
		t.Fatalf("docs/errors.md is stale: run UPDATE_DOCS=1 go test ./cmd/hrisbridge")
	}
}
