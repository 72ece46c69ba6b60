package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/api"
	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/parsers/synth"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres"
	"github.com/hrisbridge/hrisbridge/schema/secret"
)

// apiBench is what `hrisbridge bench api` prints.
type apiBench struct {
	Rows      int     `json:"rows"`
	Conns     int     `json:"connections"`
	Seconds   int     `json:"seconds"`
	RPS       float64 `json:"rps"`
	BareRPS   float64 `json:"bare_rps"`
	Ratio     float64 `json:"ratio"`
	P99MS     float64 `json:"p99_ms"`
	BareP99MS float64 `json:"bare_p99_ms"`
	P99Ratio  float64 `json:"p99_ratio"`
}

// benchAPI loads N employees into PostgreSQL, then runs wrk against
// GET /v1/employees?limit=100 of the full API (auth, rate limit, masking,
// JSON) and, in the same run, against a minimal gin handler that runs the
// same page query with pgx directly.
func benchAPI(ctx context.Context, db string, rows, conns int, dur time.Duration, out io.Writer) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("bench api needs wrk (apt-get install wrk)")
	}
	if !strings.HasPrefix(db, "postgres") {
		return usageError{"bench api compares against pgx: give --db postgres://..."}
	}
	k, _ := secret.ParseKey(secret.NewKey())
	box, _ := secret.New(k)
	s, err := postgres.Open(ctx, db, box)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	t := schema.Tenant{Slug: fmt.Sprintf("benchapi-%d", time.Now().UnixNano()), Name: "bench"}
	if err := s.CreateTenant(ctx, &t); err != nil {
		return err
	}
	conn := schema.Connection{TenantID: t.ID, Name: "bench", Kind: schema.ConnDropbox, Layout: "census-csv", Enabled: true}
	if err := s.CreateConnection(ctx, &conn); err != nil {
		return err
	}
	dir, _ := os.MkdirTemp("", "hrisbridge-benchapi-")
	defer os.RemoveAll(dir)
	b, err := bridge.New(bridge.Config{Store: s, Box: box, SpoolDir: dir, Logger: discardLogger()})
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(synth.Census(pw, rows, 1, nil)) }()
	if _, err := b.IngestReader(ctx, conn, "census.csv", pr); err != nil {
		return err
	}
	plain, prefix, hash := api.NewKey()
	if err := s.CreateAPIKey(ctx, &schema.APIKey{TenantID: t.ID, Prefix: prefix, Hash: hash, Scopes: []string{schema.ScopeRead}}); err != nil {
		return err
	}
	srv, err := api.New(api.Config{Store: s, Logger: discardLogger(), RateLimit: 1 << 30})
	if err != nil {
		return err
	}
	ours, err := serveOn(ctx, srv.Handler())
	if err != nil {
		return err
	}
	bare, err := serveOn(ctx, bareHandler(s, t.ID))
	if err != nil {
		return err
	}
	path := "/v1/employees?limit=100"
	res := apiBench{Rows: rows, Conns: conns, Seconds: int(dur.Seconds())}
	if res.BareRPS, res.BareP99MS, err = runWrk(bare+path, "", conns, dur); err != nil {
		return err
	}
	if p := os.Getenv("HRISBRIDGE_CPUPROFILE"); p != "" { // go tool pprof FILE
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f) //nolint:errcheck
		defer pprof.StopCPUProfile()
	}
	if res.RPS, res.P99MS, err = runWrk(ours+path, plain, conns, dur); err != nil {
		return err
	}
	res.Ratio, res.P99Ratio = res.RPS/res.BareRPS, res.P99MS/res.BareP99MS
	line, _ := json.Marshal(res)
	fmt.Fprintln(out, string(line))
	return nil
}

// bareHandler is the baseline: the store's page of employees (the same
// query, decoded the same way, SSNs unsealed) as JSON, and nothing else:
// no key, no rate limit, no masking, no problem details. The difference
// is what the API itself costs. (Until employees were stored as compact
// records it passed the stored JSON through; that would now skip the
// decoding the API cannot.)
func bareHandler(s schema.Store, tenantID string) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/v1/employees", func(c *gin.Context) {
		es, err := s.Employees(c.Request.Context(), tenantID, schema.EmployeeQuery{Limit: 101})
		if err != nil {
			c.Status(500)
			return
		}
		c.JSON(200, gin.H{"data": es})
	})
	return r
}

func serveOn(ctx context.Context, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l) //nolint:errcheck
	context.AfterFunc(ctx, func() { srv.Close() })
	return "http://" + l.Addr().String(), nil
}

var (
	wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99 = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
)

// runWrk runs wrk with 2 threads and returns requests/s and p99 in ms.
func runWrk(url, key string, conns int, dur time.Duration) (float64, float64, error) {
	args := []string{"-t2", "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(dur.Seconds())) + "s", "--latency"}
	if key != "" {
		args = append(args, "-H", "Authorization: Bearer "+key)
	}
	outb, err := exec.Command("wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk: %v: %s", err, outb)
	}
	out := string(outb)
	if strings.Contains(out, "Non-2xx") {
		return 0, 0, fmt.Errorf("wrk saw errors from %s:\n%s", url, out)
	}
	m, p := wrkRPS.FindStringSubmatch(out), wrkP99.FindStringSubmatch(out)
	if m == nil || p == nil {
		return 0, 0, fmt.Errorf("cannot read wrk output:\n%s", out)
	}
	rps, _ := strconv.ParseFloat(m[1], 64)
	p99, _ := strconv.ParseFloat(p[1], 64)
	switch p[2] {
	case "us":
		p99 /= 1000
	case "s":
		p99 *= 1000
	}
	return rps, p99, nil
}
