package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/bridge/connector"
	"github.com/hrisbridge/hrisbridge/bridge/connector/mockhris"
	"github.com/hrisbridge/hrisbridge/schema"
)

type connectorBench struct {
	Store      string  `json:"store"`
	Rows       int     `json:"rows"`
	Pages      int     `json:"pages"`
	Seconds    float64 `json:"seconds"`
	RecordsPS  float64 `json:"records_per_s"`
	Baseline   string  `json:"baseline"`
	FileSecs   float64 `json:"file_seconds"`
	FileRecPS  float64 `json:"file_records_per_s"`
	Ratio      float64 `json:"ratio"`
	FetchSecs  float64 `json:"fetch_seconds"`
	FetchRecPS float64 `json:"fetch_records_per_s"`
}

// benchConnector syncs rows employees from the mock HRIS (Gusto shape,
// 100 a page) through an API connection, then ingests the very CSV that
// sync read as a file drop of another tenant, and reports both rates.
func benchConnector(ctx context.Context, db string, rows int, out io.Writer) error {
	env, err := newBenchEnv(ctx, "hrisbridge-benchconn-", db)
	if err != nil {
		return err
	}
	defer env.close()
	dir, db, s, box := env.dir, env.url, env.store, env.box
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mock := mockhris.New(rows)
	srv := &http.Server{Handler: mock, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck
	defer srv.Close()
	base := "http://" + l.Addr().String()

	b, err := bridge.New(bridge.Config{Store: s, Box: box, SpoolDir: filepath.Join(dir, "spool"), Logger: discardLogger()})
	if err != nil {
		return err
	}
	suffix := make([]byte, 4)
	rand.Read(suffix) //nolint:errcheck
	tenant := func(role string) (schema.Tenant, error) {
		t := schema.Tenant{Slug: "benchconn-" + role + "-" + hex.EncodeToString(suffix), Name: "bench"}
		return t, s.CreateTenant(ctx, &t)
	}
	ta, err := tenant("api")
	if err != nil {
		return err
	}
	access, refresh, exp := mock.Grant()
	conn, err := b.CreateConnection(ctx, ta.ID, bridge.NewConnection{Name: "gusto", Kind: schema.ConnAPI, Layout: "gusto",
		Config: map[string]any{"params": map[string]any{"company_id": mockhris.CompanyID}, "base_url": base, "requests_per_second": 1e6},
		Secret: map[string]string{"client_id": mockhris.ClientID, "client_secret": mockhris.ClientSecret,
			"access_token": access, "refresh_token": refresh, "expiry": exp.UTC().Format(time.RFC3339)}})
	if err != nil {
		return err
	}
	res := connectorBench{Store: storeKind(db), Rows: rows, Baseline: "the same records as a CSV file dropped on another tenant (the whole file pipeline)"}

	// The fetch alone: the API's pages into a CSV, no store.
	def, err := connector.Resolve("gusto", nil, nil)
	if err != nil {
		return err
	}
	csvPath := filepath.Join(dir, "employees.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		return err
	}
	src := &connector.Source{Def: def, Params: map[string]string{"company_id": mockhris.CompanyID}, BaseURL: base, RequestsPerSecond: 1e6,
		Secret: map[string]string{"client_id": mockhris.ClientID, "client_secret": mockhris.ClientSecret, "access_token": access, "refresh_token": refresh,
			"expiry": exp.UTC().Format(time.RFC3339)}}
	start := time.Now()
	st, err := src.Fetch(ctx, "employee", time.Time{}, f)
	f.Close()
	if err != nil {
		return err
	}
	res.FetchSecs = time.Since(start).Seconds()
	res.FetchRecPS = float64(st.Records) / res.FetchSecs
	res.Pages = st.Pages

	// The API connection's sync: fetch and ingest.
	start = time.Now()
	run, results, err := b.Sync(ctx, conn, schema.TriggerManual)
	if err != nil {
		return err
	}
	res.Seconds = time.Since(start).Seconds()
	created := 0
	for _, r := range results {
		if r.File.Layout == "gusto.employee" {
			created = r.File.Created
		}
	}
	if run.Status != schema.RunSucceeded || created != rows {
		return fmt.Errorf("bench: the sync %s with %d employees created, want %d", run.Status, created, rows)
	}
	res.RecordsPS = float64(rows) / res.Seconds

	// The file baseline: the same CSV, dropped on a tenant whose layout is
	// the connector's.
	tf, err := tenant("file")
	if err != nil {
		return err
	}
	layout, err := def.Layout("employee", "full")
	if err != nil {
		return err
	}
	layout.Name = "gusto-employees-csv"
	ly, err := yaml.Marshal(layout)
	if err != nil {
		return err
	}
	if err := s.PutLayout(ctx, tf.ID, "", layout.Name, ly); err != nil {
		return err
	}
	drop := schema.Connection{TenantID: tf.ID, Name: "drop", Kind: schema.ConnDropbox, Layout: layout.Name, Enabled: true}
	if err := s.CreateConnection(ctx, &drop); err != nil {
		return err
	}
	in, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	defer in.Close()
	start = time.Now()
	fr, err := b.IngestReader(ctx, drop, "employees.csv", in)
	if err != nil {
		return err
	}
	res.FileSecs = time.Since(start).Seconds()
	if fr.File.Created != rows {
		return errors.New("bench: the file baseline created " + fmt.Sprint(fr.File.Created) + " employees")
	}
	res.FileRecPS = float64(rows) / res.FileSecs
	res.Ratio = res.RecordsPS / res.FileRecPS
	line, _ := json.Marshal(res)
	fmt.Fprintln(out, string(line))
	return nil
}
