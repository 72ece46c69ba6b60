// Package storeutil holds what the PostgreSQL and SQLite stores share
// beside their SQL: reading migrations, sealing SSNs, the scopes column
// and connection defaults.
package storeutil

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Seal seals an SSN for its column (nil when there is none).
func Seal(box schema.Sealer, ssn string) ([]byte, error) {
	if ssn == "" {
		return nil, nil
	}
	sealed, err := box.Seal([]byte(ssn))
	if err != nil {
		return nil, fmt.Errorf("seal ssn: %w", err)
	}
	return sealed, nil
}

// Open opens a sealed SSN column ("" for none).
func Open(box schema.Sealer, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	ssn, err := box.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("open ssn: %w", err)
	}
	return string(ssn), nil
}

// Scopes joins scopes for the api_keys.scopes column.
func Scopes(s []string) string { return strings.Join(s, ",") }

// ParseScopes splits the api_keys.scopes column.
func ParseScopes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// ConnectionDefaults fills what a new connection leaves empty.
func ConnectionDefaults(c *schema.Connection) {
	if len(c.Config) == 0 {
		c.Config = []byte("{}")
	}
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	if c.CatchUp == "" {
		c.CatchUp = schema.CatchUpOnce
	}
}

// Migration is one numbered forward-only SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads NNN_name.sql files from dir of fsys in version order.
func Migrations(fsys embed.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.sql", e.Name())
		}
		b, err := fsys.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Latest returns the highest migration version.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// ErrStale is returned by Ready when the schema is behind the binary.
var ErrStale = fmt.Errorf("database schema is not current: run `hrisbridge migrate`")
