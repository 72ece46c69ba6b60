package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/parsers/synth"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/secret"
	"github.com/hrisbridge/hrisbridge/schema/storage"
)

type bench834Result struct {
	Store          string  `json:"store"`
	Members        int     `json:"members"`
	Bytes          int64   `json:"bytes"`
	Seconds        float64 `json:"seconds"`
	MembersPerS    float64 `json:"members_per_s"`
	Baseline       string  `json:"baseline"`
	CensusSeconds  float64 `json:"census_seconds"`
	CensusRowsPerS float64 `json:"census_rows_per_s"`
	Ratio          float64 `json:"ratio"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
}

// bench834 ingests a synthetic 834 full file of rows subscribers (and a
// spouse for every third) and the census CSV of the same people into two
// tenants, and reports both rates.
func bench834(ctx context.Context, db string, rows int, out io.Writer) error {
	dir, db, s, box, done, err := benchStore(ctx, "hrisbridge-bench834-", db)
	if err != nil {
		return err
	}
	defer done()
	edi, csvPath := filepath.Join(dir, "members.834"), filepath.Join(dir, "census.csv")
	for path, write := range map[string]func(io.Writer) error{
		edi:     func(w io.Writer) error { return synth.X12834(w, rows, 1) },
		csvPath: func(w io.Writer) error { return synth.Census(w, rows, 1, nil) },
	} {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		err = write(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	b, err := bridge.New(bridge.Config{Store: s, Box: box, SpoolDir: filepath.Join(dir, "spool"), Logger: discardLogger()})
	if err != nil {
		return err
	}
	stamp := time.Now().UnixNano()
	ingest := func(role, layout, path string) (bridge.Result, time.Duration, error) {
		t := schema.Tenant{Slug: fmt.Sprintf("bench834-%s-%d", role, stamp), Name: "bench"}
		if err := s.CreateTenant(ctx, &t); err != nil {
			return bridge.Result{}, 0, err
		}
		conn := schema.Connection{TenantID: t.ID, Name: "drop", Kind: schema.ConnDropbox, Layout: layout, Enabled: true}
		if err := s.CreateConnection(ctx, &conn); err != nil {
			return bridge.Result{}, 0, err
		}
		return timedIngest(ctx, b, conn, path)
	}
	fi, _ := os.Stat(edi)
	res := bench834Result{Store: storeKind(db), Members: rows, Bytes: fi.Size(), Baseline: "the census CSV of the same people, through the whole file pipeline"}
	// HRISBRIDGE_CPUPROFILE=FILE profiles the 834's ingest (go tool pprof FILE).
	stop := func() {}
	if p := os.Getenv("HRISBRIDGE_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f) //nolint:errcheck
			stop = func() { pprof.StopCPUProfile(); f.Close() }
		}
	}
	r, d, err := ingest("834", bridge.X12834, edi)
	stop()
	if err != nil {
		return err
	}
	if r.File.Status != schema.FileApplied {
		return fmt.Errorf("bench: the 834 was %s: %s", r.File.Status, r.File.Detail)
	}
	res.Seconds, res.MembersPerS = d.Seconds(), float64(rows)/d.Seconds()
	rc, dc, err := ingest("census", "census-csv", csvPath)
	if err != nil {
		return err
	}
	if rc.File.Created != rows {
		return fmt.Errorf("bench: the census created %d", rc.File.Created)
	}
	res.CensusSeconds, res.CensusRowsPerS = dc.Seconds(), float64(rows)/dc.Seconds()
	res.Ratio = res.MembersPerS / res.CensusRowsPerS
	res.PeakRSSMB = peakRSSMB("self")
	line, _ := json.Marshal(res)
	fmt.Fprintln(out, string(line))
	return nil
}

// benchStore makes a bench's temporary directory and opens its store,
// migrated (db, or a new SQLite file in the directory); done closes and
// removes both.
func benchStore(ctx context.Context, prefix, db string) (dir, url string, s schema.Store, box *secret.Box, done func(), err error) {
	if dir, err = os.MkdirTemp("", prefix); err != nil {
		return
	}
	url = db
	if url == "" {
		url = "sqlite://" + filepath.Join(dir, "bench.db")
	}
	k, _ := secret.ParseKey(secret.NewKey())
	box, _ = secret.New(k)
	if s, err = storage.Open(ctx, url, box); err != nil {
		os.RemoveAll(dir)
		return
	}
	done = func() { s.Close(); os.RemoveAll(dir) }
	if err = s.Migrate(ctx); err != nil {
		done()
	}
	return
}
