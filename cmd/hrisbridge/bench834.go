package main

import (
	"cmp"
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
	env, err := newBenchEnv(ctx, "hrisbridge-bench834-", db)
	if err != nil {
		return err
	}
	defer env.close()
	dir, db, s, box := env.dir, env.url, env.store, env.box
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

// benchEnv is a bench's temporary directory and its store, migrated (the
// bench's database, or a new SQLite file in the directory), sealed under
// a master key made for the run.
type benchEnv struct {
	dir, url, key string
	store         schema.Store
	box           *secret.Box
}

// newBenchEnv makes a bench's directory (named from prefix) and opens its
// store; close closes and removes both.
func newBenchEnv(ctx context.Context, prefix, db string) (*benchEnv, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	e := &benchEnv{dir: dir, url: cmp.Or(db, "sqlite://"+filepath.Join(dir, "bench.db")), key: secret.NewKey()}
	k, _ := secret.ParseKey(e.key)
	e.box, _ = secret.New(k)
	if e.store, err = storage.Open(ctx, e.url, e.box); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := e.store.Migrate(ctx); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *benchEnv) close() {
	e.store.Close()
	os.RemoveAll(e.dir)
}
