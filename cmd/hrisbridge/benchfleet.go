package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/api"
	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
)

// fleetRound is one round of `hrisbridge bench fleet`: N tenants synced
// at one tick by R replicas.
type fleetRound struct {
	Replicas int `json:"replicas"`
	// Tick 1 is every employer's first file; each later tick the next
	// night's, 1% changed.
	Tick    int     `json:"tick"`
	Tenants int     `json:"tenants"`
	Rows    int     `json:"rows"`
	Seconds float64 `json:"seconds"` // tick to the last file applied
	FilesPS float64 `json:"files_per_second"`
	RowsPS  float64 `json:"rows_per_second"`
	// Tick to API: from the scheduled tick to the file's rows being
	// served, per tenant.
	LatencyP50 float64 `json:"tick_to_api_p50_s"`
	LatencyP99 float64 `json:"tick_to_api_p99_s"`
	// SmallWaitMax is the longest a tenant of at most 2,000 people waited
	// for a worker (queued); LargestWork the longest sync's own run;
	// SmallAfterLarge how many such tenants' syncs started after the
	// first 10,000+ person sync had. LargeWhileSmallWaited is the most
	// 10,000+ person syncs that ran at once while a small tenant's sync
	// was still waiting; fair when it stays within the replicas' large
	// slots (half their workers), so small syncs always had workers.
	SmallWaitMax          float64 `json:"small_tenant_max_wait_s"`
	LargestWork           float64 `json:"largest_sync_s"`
	SmallAfterLarge       int     `json:"small_started_after_large"`
	LargeWhileSmallWaited int     `json:"large_running_while_small_waited"`
	Fair                  bool    `json:"fair"`
	// API p99 of GET /v1/employees?limit=100 while the fleet ingests,
	// and idle before the tick.
	APIRequests  int       `json:"api_requests"`
	APIP99MS     float64   `json:"api_p99_ms"`
	APIIdleP99MS float64   `json:"api_idle_p99_ms"`
	PeakRSSMB    []float64 `json:"peak_rss_mb"`
	Lost         int       `json:"files_not_applied"`
	Duplicated   int       `json:"files_applied_twice"`
	// RowsWrong counts tenants whose file did not apply exactly its rows
	// (created on the first night, then the rows changed since the night
	// before updated and the rest unchanged) or whose people are not the
	// file's; EventsWrong tenants whose employee events since the night
	// before are not one employee.updated per changed row (none the
	// first night, a baseline).
	RowsWrong   int `json:"tenants_rows_wrong"`
	EventsWrong int `json:"tenants_events_wrong"`
}

// fleetSizes draws employer sizes from a spread like a benefits
// platform's book: most 50-2,000 people, some up to 10,000, one in fifty
// 50,000 or more.
func fleetSizes(n int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]int, n)
	for i := range out {
		switch p := r.Float64(); {
		case p < 0.02:
			out[i] = 50_000 + r.IntN(10_000)
		case p < 0.10:
			out[i] = 2_000 + r.IntN(8_000)
		default:
			out[i] = 50 + r.IntN(1_950)
		}
	}
	return out
}

// benchFleet runs rounds of N tenants with SFTP connections to a loopback
// server, each scheduled on one and the same minute, pulled by R `hrisbridge serve`
// replicas (processes) on one PostgreSQL while API clients page through
// employees.
func benchFleet(ctx context.Context, db string, tenants int, replicas []int, ticks int, schedule string, out io.Writer) error {
	if !strings.HasPrefix(db, "postgres") {
		return usageError{"bench fleet runs replicas on one database: give --db postgres://..."}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	env, err := newBenchEnv(ctx, "hrisbridge-fleet-", db)
	if err != nil {
		return err
	}
	defer env.close()
	dir, s, box, key := env.dir, env.store, env.box, env.key
	root := filepath.Join(dir, "sftp")
	l, hostKey, password, err := startDemoSFTP(ctx, root, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	a := &app{store: s, box: box}
	var rounds []fleetRound
	for _, r := range replicas {
		fmt.Fprintf(out, "bench fleet: %d tenants, %d replica(s): preparing\n", tenants, r)
		rs, err := fleetRun(ctx, a, exe, db, key, dir, root, l.Addr().(*net.TCPAddr).Port, hostKey, password, tenants, r, ticks, schedule, out)
		if err != nil {
			return err
		}
		rounds = append(rounds, rs...)
	}
	lost, twice, rowsWrong, eventsWrong := 0, 0, 0, 0
	for _, r := range rounds {
		lost, twice, rowsWrong, eventsWrong = lost+r.Lost, twice+r.Duplicated, rowsWrong+r.RowsWrong, eventsWrong+r.EventsWrong
	}
	fmt.Fprintf(out, "\nbench fleet: %d ticks measured; files not applied: %d, applied twice: %d; tenant-nights with rows wrong: %d, with events wrong: %d\n",
		len(rounds), lost, twice, rowsWrong, eventsWrong)
	fmt.Fprintf(out, "\n%-9s %-5s %-8s %-9s %-8s %-8s %-13s %-16s %-11s %-12s %-16s %s\n", "replicas", "tick", "tenants", "rows", "files/s", "rows/s",
		"tick-api p50", "tick-api p99 (s)", "small wait", "large/slots", "api p99 (idle)", "peak RSS MB")
	for _, r := range rounds {
		rss := make([]string, len(r.PeakRSSMB))
		for i, v := range r.PeakRSSMB {
			rss[i] = fmt.Sprintf("%.0f", v)
		}
		fmt.Fprintf(out, "%-9d %-5d %-8d %-9d %-8.1f %-8.0f %-13.1f %-16.1f %-11.1f %-12s %-16s %s\n", r.Replicas, r.Tick, r.Tenants, r.Rows, r.FilesPS, r.RowsPS,
			r.LatencyP50, r.LatencyP99, r.SmallWaitMax, fmt.Sprintf("%d/%d", r.LargeWhileSmallWaited, r.Replicas*fleetLargeSlots),
			fmt.Sprintf("%.0f ms (%.0f)", r.APIP99MS, r.APIIdleP99MS), strings.Join(rss, ", "))
	}
	return nil
}

// fleetLargeSlots is each replica's job_large_workers: the default, half of
// the default 4 workers.
const fleetLargeSlots = 2

func fleetRun(ctx context.Context, a *app, exe, db, key, dir, root string, port int, hostKey ssh.PublicKey, password string, n, replicas, ticks int, schedule string, out io.Writer) ([]fleetRound, error) {
	rows := 0
	sizes := fleetSizes(n, 1) // the same employers in every round
	prefix := fmt.Sprintf("fleet%d-%d", replicas, time.Now().Unix())
	type member struct {
		t    schema.Tenant
		key  string
		rows int
	}
	members := make([]member, n)
	for i := range members {
		t := schema.Tenant{Slug: fmt.Sprintf("%s-%04d", prefix, i), Name: "fleet"}
		if err := a.store.CreateTenant(ctx, &t); err != nil {
			return nil, err
		}
		out := filepath.Join(root, t.Slug, "outbound")
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, err
		}
		if err := writeSynth(filepath.Join(out, "census.csv"), sizes[i], nil); err != nil {
			return nil, err
		}
		cfg := bridge.SFTPConfig{Host: "127.0.0.1", Port: port, User: "hris", HostKey: ssh.FingerprintSHA256(hostKey), Dir: t.Slug + "/outbound",
			Ack: "archive", ArchiveDir: t.Slug + "/archive", StableFor: "0s"}
		// With the default (empty) schedule each connection gets one tick
		// per measure, set below; until then none is scheduled.
		if _, err := createSFTPConnection(ctx, a, t.ID, "payroll", "census-csv", schedule, cfg, bridge.SFTPSecret{Password: password}); err != nil {
			return nil, err
		}
		plain, pfx, hash := api.NewKey()
		if err := a.store.CreateAPIKey(ctx, &schema.APIKey{TenantID: t.ID, Prefix: pfx, Hash: hash, Scopes: []string{schema.ScopeRead}}); err != nil {
			return nil, err
		}
		members[i] = member{t: t, key: plain, rows: sizes[i]}
		rows += sizes[i]
	}
	// The replicas: one process each, their own data directory, one
	// database and one shared files directory.
	var procs []*exec.Cmd
	var addrs []string
	for i := range replicas {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(exe, "serve")
		cmd.Env = append(os.Environ(), "HRISBRIDGE_DATABASE_URL="+db, "HRISBRIDGE_MASTER_KEY="+key, "HRISBRIDGE_ADDR="+addr,
			"HRISBRIDGE_DATA_DIR="+filepath.Join(dir, fmt.Sprintf("replica-%d-%d", replicas, i)), "HRISBRIDGE_FILES_DIR="+filepath.Join(dir, "files"),
			"HRISBRIDGE_LOG_LEVEL=error")
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		procs = append(procs, cmd)
		addrs = append(addrs, "http://"+addr)
	}
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM) //nolint:errcheck
			p.Wait()                          //nolint:errcheck
		}
	}()
	for _, base := range addrs {
		if err := waitReady(ctx, base); err != nil {
			return nil, err
		}
	}
	// API clients page through employees from before the tick to the end.
	var mu sync.Mutex
	var idle, busy []time.Duration
	ingesting := false
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				m := members[r.IntN(len(members))]
				req, _ := http.NewRequestWithContext(ctx, "GET", addrs[c%len(addrs)]+"/v1/employees?limit=100", nil)
				req.Header.Set("Authorization", "Bearer "+m.key)
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				d := time.Since(start)
				if err == nil {
					io.Copy(io.Discard, resp.Body) //nolint:errcheck
					resp.Body.Close()
					mu.Lock()
					if ingesting {
						busy = append(busy, d)
					} else {
						idle = append(idle, d)
					}
					mu.Unlock()
				}
				select { // each client: up to 20 pages a second
				case <-ctx.Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	defer func() {
		// Later rounds must not pull this round's employers.
		for _, m := range members {
			cs, _ := a.store.Connections(ctx, m.t.ID)
			for _, c := range cs {
				a.store.DeleteConnection(ctx, m.t.ID, c.ID) //nolint:errcheck
			}
		}
	}()
	var rounds []fleetRound
	lastSeq := make([]int64, n) // each tenant's last event seen
	for tickNo := 1; tickNo <= ticks; tickNo++ {
		if tickNo > 1 {
			// The next night: every employer sends its census again, 1%
			// changed (another 1% each night).
			changed := func(i int) bool { return i%100 == tickNo%100 }
			for i, m := range members {
				// Written beside the drop folder, then renamed into it: a
				// sync never sees half a file.
				tmp := filepath.Join(root, m.t.Slug, "census.tmp")
				if err := writeSynth(tmp, sizes[i], changed); err != nil {
					return nil, err
				}
				if err := os.Rename(tmp, filepath.Join(root, m.t.Slug, "outbound", fmt.Sprintf("census-%d.csv", tickNo))); err != nil {
					return nil, err
				}
			}
		}
		// By default every connection is scheduled on one coming minute
		// (a daily cron "M H * * *"), so that the tick is exactly one and
		// the same for all; with another schedule the clock starts now.
		tick := time.Now()
		if schedule == "" {
			tick = time.Now().Add(10 * time.Second).Truncate(time.Minute).Add(time.Minute).UTC()
			cron := fmt.Sprintf("%d %d * * *", tick.Minute(), tick.Hour())
			for _, m := range members {
				cs, err := a.store.Connections(ctx, m.t.ID)
				if err != nil {
					return nil, err
				}
				if err := a.store.UpdateConnectionSchedule(ctx, m.t.ID, cs[0].ID, cron, "UTC", schema.CatchUpSkip); err != nil {
					return nil, err
				}
			}
		}
		fmt.Fprintf(out, "bench fleet: %d replica(s), tick %d at %s\n", replicas, tickNo, tick.Format(time.TimeOnly))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Until(tick)):
		}
		mu.Lock()
		ingesting, busy = true, nil
		mu.Unlock()
		r := fleetRound{Replicas: replicas, Tenants: n, Tick: tickNo, Rows: rows}
		// Wait until every tenant has tickNo files applied (or an hour).
		deadline := tick.Add(time.Hour)
		type done struct{ applied, started, finished time.Time }
		finished := map[string]done{}
		for len(finished) < n && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(2 * time.Second):
			}
			for _, m := range members {
				if _, ok := finished[m.t.ID]; ok {
					continue
				}
				files, err := a.store.Files(ctx, m.t.ID, schema.ListQuery{Limit: tickNo + 10})
				if err != nil || countApplied(files) < tickNo {
					continue
				}
				runs, _ := a.store.SyncRuns(ctx, m.t.ID, schema.ListQuery{Limit: 20})
				d := done{applied: *files[0].AppliedAt}
				for _, run := range runs { // the run that pulled it
					if run.Files > 0 && run.FinishedAt != nil {
						d.started, d.finished = run.StartedAt, *run.FinishedAt
						break
					}
				}
				finished[m.t.ID] = d
			}
		}
		mu.Lock()
		ingesting = false
		r.APIRequests = len(busy)
		r.APIP99MS, r.APIIdleP99MS = pctDur(busy, 0.99), pctDur(idle, 0.99)
		mu.Unlock()
		var lat []float64
		var last, firstLarge time.Time
		for i, m := range members {
			d, ok := finished[m.t.ID]
			if !ok {
				r.Lost++
				continue
			}
			files, _ := a.store.Files(ctx, m.t.ID, schema.ListQuery{Limit: tickNo + 10})
			if countApplied(files) > tickNo {
				r.Duplicated++
			}
			rowsOK, eventsOK, err := fleetCheck(ctx, a.store, m.t.ID, files[0], sizes[i], tickNo, &lastSeq[i])
			if err != nil {
				return nil, err
			}
			if !rowsOK {
				r.RowsWrong++
			}
			if !eventsOK {
				r.EventsWrong++
			}
			lat = append(lat, d.applied.Sub(tick).Seconds())
			if d.applied.After(last) {
				last = d.applied
			}
			r.LargestWork = max(r.LargestWork, d.finished.Sub(d.started).Seconds())
			if sizes[i] > 10_000 && (firstLarge.IsZero() || d.started.Before(firstLarge)) {
				firstLarge = d.started
			}
		}
		for i, m := range members {
			if d, ok := finished[m.t.ID]; ok && sizes[i] <= 2000 {
				r.SmallWaitMax = max(r.SmallWaitMax, d.started.Sub(tick).Seconds())
				if !firstLarge.IsZero() && d.started.After(firstLarge) {
					r.SmallAfterLarge++
				}
			}
		}
		r.Seconds = last.Sub(tick).Seconds()
		if r.Seconds > 0 {
			r.FilesPS, r.RowsPS = float64(n-r.Lost)/r.Seconds, float64(r.Rows)/r.Seconds
		}
		r.LatencyP50, r.LatencyP99 = pct(lat, 0.50), pct(lat, 0.99)
		// At each large sync's start, count the large ones running, if a
		// small one was still waiting then.
		for i, m := range members {
			l, ok := finished[m.t.ID]
			if !ok || sizes[i] <= 10_000 {
				continue
			}
			waiting := false
			for k, o := range members {
				if d, ok := finished[o.t.ID]; ok && sizes[k] <= 2000 && d.started.After(l.started) {
					waiting = true
					break
				}
			}
			if !waiting {
				continue
			}
			running := 0
			for k, o := range members {
				if d, ok := finished[o.t.ID]; ok && sizes[k] > 10_000 && !d.started.After(l.started) && d.finished.After(l.started) {
					running++
				}
			}
			r.LargeWhileSmallWaited = max(r.LargeWhileSmallWaited, running)
		}
		r.Fair = r.LargeWhileSmallWaited <= replicas*fleetLargeSlots
		for _, p := range procs {
			r.PeakRSSMB = append(r.PeakRSSMB, peakRSSMB(strconv.Itoa(p.Process.Pid)))
		}
		rounds = append(rounds, r)
		b, _ := json.Marshal(r)
		fmt.Fprintln(out, string(b))
	}
	return rounds, nil
}

// fleetChanged is how many of a night's rows differ from the night
// before: the harness changes rows i%100 == night%100 from the first
// night's, so a night changes its own and puts back the last one's.
func fleetChanged(size, night int) int {
	count := func(r int) int {
		if r >= size {
			return 0
		}
		return (size-1-r)/100 + 1
	}
	switch night {
	case 1:
		return 0
	case 2:
		return count(2 % 100)
	}
	return count(night%100) + count((night-1)%100)
}

// fleetCheck compares a tenant's night with what the harness wrote: its
// newest file's counts, its people, and its employee events since
// *lastSeq (then moved past them).
func fleetCheck(ctx context.Context, s schema.Store, tenantID string, f schema.File, size, night int, lastSeq *int64) (rowsOK, eventsOK bool, err error) {
	changed := fleetChanged(size, night)
	if night == 1 {
		rowsOK = f.Rows == size && f.Created == size && f.Invalid == 0
	} else {
		rowsOK = f.Rows == size && f.Created == 0 && f.Updated == changed && f.Unchanged == size-changed && f.Invalid == 0
	}
	people := 0
	q := schema.EmployeeQuery{Limit: 1000}
	for {
		es, err := s.Employees(ctx, tenantID, q)
		if err != nil {
			return false, false, err
		}
		people += len(es)
		if len(es) < q.Limit {
			break
		}
		q.AfterID = es[len(es)-1].ID
	}
	rowsOK = rowsOK && people == size
	updated, other := 0, 0
	for {
		evs, err := s.Events(ctx, tenantID, *lastSeq, 1000)
		if err != nil {
			return false, false, err
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			switch {
			case e.Type == schema.EventEmployeeUpdated:
				updated++
			case strings.HasPrefix(e.Type, "employee."):
				other++
			}
		}
		*lastSeq = evs[len(evs)-1].Seq
	}
	return rowsOK, updated == changed && other == 0, nil
}

// countApplied counts a tenant's applied files.
func countApplied(files []schema.File) int {
	n := 0
	for _, f := range files {
		if f.Status == schema.FileApplied || f.Status == schema.FileAppliedWithErrors {
			n++
		}
	}
	return n
}

func waitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("replica %s did not become ready", base)
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func pctDur(v []time.Duration, p float64) float64 {
	f := make([]float64, len(v))
	for i, d := range v {
		f[i] = float64(d) / float64(time.Millisecond)
	}
	return pct(f, p)
}
