package bridge

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestLogsHoldNoSecretsOrSSNs runs pulls, a file with bad rows, a refused
// login and a held file with every log at debug level, and scans what was
// logged for the SSNs and the passwords involved: none appears.
func TestLogsHoldNoSecretsOrSSNs(t *testing.T) {
	var logs storetest.Buffer
	f := setup(t, openSQLite(t), SFTPConfig{Dir: "outbound"})
	f.bridge.cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	f.drop(t, "census_1.csv", sampleCensus)
	if _, _, err := f.bridge.Sync(ctx, f.conn, "manual"); err != nil {
		t.Fatal(err)
	}
	// Bad SSNs and dates: rejected rows are logged and recorded.
	f.drop(t, "census_2.csv", sampleCensus+"E3,Cy,Bad,1/1/1990,666-12-3456,A,2020-01-01,\nE4,Di,Bad,1/1/1990,987-65-432,A,not a date,\n")
	f.bridge.Sync(ctx, f.conn, "manual") //nolint:errcheck
	// A refused login.
	var cfg SFTPConfig
	json.Unmarshal(f.conn.Config, &cfg)
	wrong := f.conn
	sealed, _ := f.bridge.cfg.Box.Seal([]byte(`{"password":"hunter2-not-the-password"}`))
	wrong.Secret = sealed
	f.bridge.cfg.Retries = -1
	f.bridge.Sync(ctx, wrong, "manual") //nolint:errcheck
	// A held file (shrank).
	f.drop(t, "census_3.csv", "Employee ID,First Name,Last Name,DOB,SSN,Status,Hire Date,Term Date\nE1,Ada,Lovelace,12/10/1985,123-45-6789,A,2020-01-06,\n")
	f.bridge.Sync(ctx, f.conn, "manual") //nolint:errcheck
	out := logs.String()
	if !strings.Contains(out, "file ingested") || !strings.Contains(out, string(schema.ECodeSFTPAuth)) {
		t.Fatalf("the runs logged too little to mean anything:\n%s", out)
	}
	for _, secret := range []string{"123-45-6789", "123456789", "234-56-7890", "234567890", "666-12-3456", "666123456", "987-65-432",
		f.srv.Password, "hunter2-not-the-password"} {
		if strings.Contains(out, secret) {
			t.Errorf("the logs hold %q", secret)
		}
	}
}
