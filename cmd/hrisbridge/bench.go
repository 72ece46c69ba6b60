package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/parsers/synth"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres"
	"github.com/hrisbridge/hrisbridge/schema/sqlite"
)

// benchResult is the one JSON line `hrisbridge bench ingest` prints.
type benchResult struct {
	Store             string  `json:"store"`
	Rows              int     `json:"rows"`
	Bytes             int64   `json:"bytes"`
	Seconds           float64 `json:"seconds"`
	RowsPerS          float64 `json:"rows_per_s"`
	Baseline          string  `json:"baseline"`
	BaselineSeconds   float64 `json:"baseline_seconds"`
	BaselineRowsPerS  float64 `json:"baseline_rows_per_s"`
	Ratio             float64 `json:"ratio"`
	ChangedSeconds    float64 `json:"changed_seconds"`
	ChangedRowsPerS   float64 `json:"changed_rows_per_s"`
	ChangedRatio      float64 `json:"changed_ratio"`
	ChangedRowsWrites int     `json:"changed_rows_written"`
	// ChangedRecognised is how many rows of the second pass were taken
	// unparsed (their raw bytes unchanged).
	ChangedRecognised int     `json:"changed_rows_recognised"`
	PeakRSSMB         float64 `json:"peak_rss_mb"`
	// CPUSeconds and ChangedCPUSeconds are the CPU time (user and
	// system) hrisbridge itself used in each pass, the database's not
	// counted: steadier than the wall clock on a noisy machine, and what
	// the Go side's work costs.
	CPUSeconds        float64 `json:"cpu_seconds"`
	ChangedCPUSeconds float64 `json:"changed_cpu_seconds"`
}

// cmdBench measures the whole ingest pipeline against a plain load of the
// same file in the same process: PostgreSQL COPY of the raw CSV into an
// all-text table, or for SQLite a batched insert of the raw rows.
func cmdBench(ctx context.Context, args []string, out io.Writer) error {
	fs, _ := flags("bench")
	rows := fs.Int("rows", 100_000, "census rows to generate")
	db := fs.String("db", "", "database URL (default: a new SQLite file in a temp dir)")
	conns := fs.Int("connections", 64, "bench api: wrk connections")
	dur := fs.Duration("duration", 10*time.Second, "bench api: wrk duration per target")
	tenants := fs.Int("tenants", 500, "bench fleet: employers, each with its own SFTP connection and drop")
	replicaList := fs.String("replicas", "1,3", "bench fleet: replica counts to run, one round each, in the same run")
	ticks := fs.Int("ticks", 2, "bench fleet: ticks per round (the first files, then the next nights' 1%-changed ones; more for a soak)")
	schedule := fs.String("schedule", "", "bench fleet: every connection's schedule (default: one tick for all at a coming minute, per measure)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 && pos[0] == "api" {
		return benchAPI(ctx, *db, *rows, *conns, *dur, out)
	}
	if len(pos) == 1 && pos[0] == "connector" {
		return benchConnector(ctx, *db, *rows, out)
	}
	if len(pos) == 1 && pos[0] == "fleet" {
		var rs []int
		for _, v := range strings.Split(*replicaList, ",") {
			r, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || r < 1 {
				return usageError{"--replicas is a list of counts like 1,3"}
			}
			rs = append(rs, r)
		}
		return benchFleet(ctx, *db, *tenants, rs, *ticks, *schedule, out)
	}
	if len(pos) == 1 && pos[0] == "834" {
		return bench834(ctx, *db, *rows, out)
	}
	if len(pos) != 1 || pos[0] != "ingest" {
		return usageError{"usage: hrisbridge bench ingest --rows N [--db URL] | bench api --db postgres://... [--rows N] [--connections 64] [--duration 10s] | bench connector --rows N [--db URL] | bench 834 --rows N [--db URL] | bench fleet --db postgres://... [--tenants 500] [--replicas 1,3] [--ticks 2]"}
	}
	env, err := newBenchEnv(ctx, "hrisbridge-bench-", *db)
	if err != nil {
		return err
	}
	defer env.close()
	dir, s, box := env.dir, env.store, env.box
	*db = env.url
	first, second := filepath.Join(dir, "census-1.csv"), filepath.Join(dir, "census-2.csv")
	if err := writeSynth(first, *rows, nil); err != nil {
		return err
	}
	changed := func(i int) bool { return i%100 == 42 } // 1%
	if err := writeSynth(second, *rows, changed); err != nil {
		return err
	}
	fi, _ := os.Stat(first)
	suffix := make([]byte, 4)
	rand.Read(suffix) //nolint:errcheck
	t := schema.Tenant{Slug: "bench-" + hex.EncodeToString(suffix), Name: "bench"}
	if err := s.CreateTenant(ctx, &t); err != nil {
		return err
	}
	conn := schema.Connection{TenantID: t.ID, Name: "bench", Kind: schema.ConnDropbox, Layout: "census-csv", Enabled: true}
	if err := s.CreateConnection(ctx, &conn); err != nil {
		return err
	}
	b, err := bridge.New(bridge.Config{Store: s, Box: box, SpoolDir: filepath.Join(dir, "spool"), Logger: discardLogger()})
	if err != nil {
		return err
	}
	res := benchResult{Store: storeKind(*db), Rows: *rows, Bytes: fi.Size()}
	// HRISBRIDGE_CPUPROFILE=FILE profiles the first pass into FILE and
	// the changed pass into FILE.changed (go tool pprof FILE).
	prof := os.Getenv("HRISBRIDGE_CPUPROFILE")
	profile := func(path string) func() {
		if prof == "" {
			return func() {}
		}
		f, err := os.Create(path)
		if err != nil {
			return func() {}
		}
		pprof.StartCPUProfile(f) //nolint:errcheck
		return func() { pprof.StopCPUProfile(); f.Close() }
	}

	stop := profile(prof)
	settle(ctx, s)
	cpu := cpuSeconds()
	r1, d1, err := timedIngest(ctx, b, conn, first)
	res.CPUSeconds = cpuSeconds() - cpu
	stop()
	if err != nil {
		return err
	}
	if r1.File.Status != schema.FileApplied || r1.File.Created != *rows {
		return fmt.Errorf("bench: first pass %s with %d created, want %d", r1.File.Status, r1.File.Created, *rows)
	}
	res.Seconds, res.RowsPerS = d1.Seconds(), float64(*rows)/d1.Seconds()

	settle(ctx, s)
	res.Baseline, res.BaselineSeconds, err = baseline(ctx, s, *db, first)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	res.BaselineRowsPerS = float64(*rows) / res.BaselineSeconds
	res.Ratio = res.RowsPerS / res.BaselineRowsPerS

	stop = profile(prof + ".changed")
	settle(ctx, s)
	cpu = cpuSeconds()
	r2, d2, err := timedIngest(ctx, b, conn, second)
	res.ChangedCPUSeconds = cpuSeconds() - cpu
	stop()
	if err != nil {
		return err
	}
	res.ChangedSeconds, res.ChangedRowsPerS = d2.Seconds(), float64(*rows)/d2.Seconds()
	res.ChangedRatio = res.ChangedRowsPerS / res.BaselineRowsPerS
	res.ChangedRowsWrites = r2.File.Created + r2.File.Updated
	res.ChangedRecognised = r2.Recognised
	res.PeakRSSMB = peakRSSMB("self")
	line, _ := json.Marshal(res)
	fmt.Fprintln(out, string(line))
	return nil
}

func writeSynth(path string, rows int, changed func(int) bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return synth.Census(f, rows, 1, changed)
}

func timedIngest(ctx context.Context, b *bridge.Bridge, conn schema.Connection, path string) (bridge.Result, time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return bridge.Result{}, 0, err
	}
	defer f.Close()
	start := time.Now()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	prog := stderrProgress(f, size, "bench "+filepath.Base(path))
	r, err := b.IngestReader(ctx, conn, filepath.Base(path), prog)
	prog.done()
	return r, time.Since(start), err
}

// baseline loads the raw file the plainest way the store allows.
// settle starts each timed phase on PostgreSQL from a checkpoint, so that
// no phase pays for flushing the buffers the one before it dirtied (a
// first load leaves over a gigabyte). Without the privilege to checkpoint
// the phases run as they are.
func settle(ctx context.Context, s schema.Store) {
	if st, ok := s.(*postgres.Store); ok {
		st.Pool().Exec(ctx, "CHECKPOINT") //nolint:errcheck // best effort
	}
}

func baseline(ctx context.Context, s schema.Store, url, path string) (string, float64, error) {
	switch st := s.(type) {
	case *postgres.Store:
		if _, err := exec.LookPath("psql"); err == nil {
			d, err := copyRaw(ctx, st.Pool(), path, func() error {
				return exec.CommandContext(ctx, "psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
					`\copy bench_raw FROM '`+strings.ReplaceAll(path, "'", "''")+`' WITH (FORMAT csv, HEADER true)`).Run()
			})
			return "psql \\copy of the raw CSV into an all-text table", d.Seconds(), err
		}
		d, err := copyRaw(ctx, st.Pool(), path, nil)
		return "postgres COPY of the raw CSV into an all-text table (psql not found)", d.Seconds(), err
	case *sqlite.Store:
		d, err := insertRaw(ctx, st.DB(), path)
		return "sqlite batched insert of the raw rows into an all-text table", d.Seconds(), err
	}
	return "", 0, fmt.Errorf("no baseline for %T", s)
}

func rawColumns(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	header, err := csv.NewReader(bufio.NewReader(f)).Read()
	if err != nil {
		return nil, err
	}
	cols := make([]string, len(header))
	for i := range header {
		cols[i] = "c" + strconv.Itoa(i) + " text"
	}
	return cols, nil
}

// copyRaw times a load of path into an all-text table: with load (psql's
// \copy, as a user would run it) when given, else COPY over the pool.
func copyRaw(ctx context.Context, pool *pgxpool.Pool, path string, load func() error) (time.Duration, error) {
	cols, err := rawColumns(path)
	if err != nil {
		return 0, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS bench_raw; CREATE TABLE bench_raw ("+strings.Join(cols, ", ")+")"); err != nil {
		return 0, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS bench_raw") //nolint:errcheck
	if load != nil {
		start := time.Now()
		err := load()
		return time.Since(start), err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	_, err = conn.Conn().PgConn().CopyFrom(ctx, f, "COPY bench_raw FROM STDIN WITH (FORMAT csv, HEADER true)")
	return time.Since(start), err
}

func insertRaw(ctx context.Context, db *sql.DB, path string) (time.Duration, error) {
	cols, err := rawColumns(path)
	if err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS bench_raw; CREATE TABLE bench_raw ("+strings.Join(cols, ", ")+")"); err != nil {
		return 0, err
	}
	defer db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS bench_raw") //nolint:errcheck
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil {
		return 0, err
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",")
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO bench_raw VALUES ("+marks+")")
	if err != nil {
		return 0, err
	}
	args := make([]any, len(cols))
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		for i := range args {
			args[i] = rec[i]
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return 0, err
		}
	}
	err = tx.Commit()
	return time.Since(start), err
}

// cpuSeconds is the process's CPU time so far, user and system.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakRSSMB reads a process's peak resident set size (Linux): proc is
// "self" or a process id.
func peakRSSMB(proc string) float64 {
	b, err := os.ReadFile("/proc/" + proc + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
