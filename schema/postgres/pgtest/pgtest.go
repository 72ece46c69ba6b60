// Package pgtest gives tests a fresh PostgreSQL database each.
//
// The server is TEST_DATABASE_URL when set. Otherwise, when PostgreSQL's
// initdb and pg_ctl are installed, a throwaway cluster is started in a
// temporary directory for the test binary (call Main from TestMain so it is
// stopped). With neither, tests skip, except under CI=true, where a missing
// PostgreSQL is a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

var (
	once      sync.Once
	serverURL string
	setupErr  error
	stop      func()

	tmplOnce sync.Once
	tmplName string
	tmplErr  error
)

// Main runs the tests and stops a throwaway cluster afterwards (or drops
// the migrated template on a server of TEST_DATABASE_URL).
func Main(m interface{ Run() int }) {
	code := m.Run()
	if tmplName != "" && stop == nil {
		ctx := context.Background()
		if c, err := pgx.Connect(ctx, serverURL); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+tmplName+" WITH (FORCE)") //nolint:errcheck
			c.Close(ctx)
		}
	}
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// URL returns the URL of a new, empty database that is dropped when the
// test ends.
func URL(t testing.TB) string {
	t.Helper()
	return create(t, "")
}

// Migrated returns the URL of a new database that is dropped when the
// test ends, copied from a template that migrate prepared once for the
// test binary: a copy costs a fraction of running every migration again.
func Migrated(t testing.TB, migrate func(ctx context.Context, url string) error) string {
	t.Helper()
	connect(t)
	tmplOnce.Do(func() {
		name := newName("hbtmpl_")
		admin, err := pgx.Connect(context.Background(), serverURL)
		if err != nil {
			tmplErr = err
			return
		}
		defer admin.Close(context.Background())
		if _, tmplErr = admin.Exec(context.Background(), "CREATE DATABASE "+name); tmplErr != nil {
			return
		}
		if tmplErr = migrate(context.Background(), dbURL(name)); tmplErr == nil {
			tmplName = name
		}
	})
	if tmplErr != nil {
		t.Fatalf("migrate the template database: %v", tmplErr)
	}
	return create(t, tmplName)
}

// connect starts or finds the server once, skipping (or, under CI=true,
// failing) the test without one.
func connect(t testing.TB) {
	t.Helper()
	once.Do(func() { serverURL, setupErr = server() })
	if setupErr != nil {
		missing(t, "PostgreSQL", fmt.Sprintf("%v (set TEST_DATABASE_URL)", setupErr))
	}
}

// missing skips t for want's absence (why), or fails it under CI=true,
// where a skipped PostgreSQL test would pass unseen.
func missing(t testing.TB, want, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true: %s", want, why)
	}
	t.Skipf("no %s: %s", want, why)
}

func newName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b) //nolint:errcheck
	return prefix + hex.EncodeToString(b)
}

func dbURL(name string) string {
	u, _ := url.Parse(serverURL)
	u.Path = "/" + name
	return u.String()
}

// create makes a database, a copy of template when one is named.
func create(t testing.TB, template string) string {
	t.Helper()
	connect(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatalf("connect %s: %v", redact(serverURL), err)
	}
	defer admin.Close(ctx)
	name := newName("hbtest_")
	sql := "CREATE DATABASE " + name
	if template != "" {
		sql += " TEMPLATE " + template
	}
	if _, err := admin.Exec(ctx, sql); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
	})
	return dbURL(name)
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

func server() (string, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u, nil
	}
	return throwaway()
}

// throwaway starts the test binary's private cluster.
func throwaway() (string, error) {
	c, err := startCluster()
	if err != nil {
		return "", err
	}
	stop = c.remove
	return c.URL, nil
}

// A Cluster is a PostgreSQL server of one test's own, for tests that stop
// and start the server under a running program.
type Cluster struct {
	// URL is the cluster's postgres database.
	URL string

	dir, data, pgctl, opts string
	run                    func(name string, args ...string) *exec.Cmd
}

// Own starts a cluster for t alone (initdb and pg_ctl are needed; without
// them t skips, or fails under CI=true) and removes it when t ends.
func Own(t testing.TB) *Cluster {
	t.Helper()
	c, err := startCluster()
	if err != nil {
		missing(t, "a PostgreSQL cluster of the test's own", err.Error())
	}
	t.Cleanup(c.remove)
	return c
}

// Kill stops the server the way a crash does: every backend ends at once,
// without a checkpoint; the next Start recovers from the WAL.
func (c *Cluster) Kill() error { return c.ctl("-m", "immediate", "stop") }

// Start starts the server again after Kill.
func (c *Cluster) Start() error {
	return c.ctl("-o", c.opts, "-w", "-l", filepath.Join(c.dir, "log"), "start")
}

func (c *Cluster) ctl(args ...string) error {
	if out, err := c.run(c.pgctl, append([]string{"-D", c.data}, args...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl %v: %v: %s", args, err, out)
	}
	return nil
}

func (c *Cluster) remove() {
	c.Kill() //nolint:errcheck
	os.RemoveAll(c.dir)
}

// startCluster initialises and starts a cluster in a temporary directory
// on a free loopback port, with a watchdog that removes it should the test
// binary die before it can (a timeout's panic, a kill).
func startCluster() (*Cluster, error) {
	initdb, err := pgBin("initdb")
	if err != nil {
		return nil, err
	}
	pgctl, err := pgBin("pg_ctl")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hrisbridge-pg-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		URL:   fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		dir:   dir,
		data:  filepath.Join(dir, "data"),
		pgctl: pgctl,
		opts:  fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", port, dir),
		run:   func(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) },
	}
	// PostgreSQL refuses to run as root; run it as the postgres user then.
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		c.run = func(name string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
		}
	}
	if out, err := c.run(initdb, "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	c.watch()
	return c, nil
}

// watch starts a shell, in a session of its own and with no output (so
// that go test does not wait on it), that stops the cluster and removes
// its directory once this process is gone.
func (c *Cluster) watch() {
	stopCmd := c.run(c.pgctl, "-D", c.data, "-m", "immediate", "stop").Args
	script := fmt.Sprintf(`while kill -0 %d 2>/dev/null; do sleep 1; done; %s >/dev/null 2>&1; rm -rf %s`,
		os.Getpid(), shellJoin(stopCmd), shellQuote(c.dir))
	w := exec.Command("sh", "-c", script)
	w.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := w.Start(); err == nil {
		go w.Wait() //nolint:errcheck
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func pgBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) == 0 {
		return "", fmt.Errorf("%s not found (install PostgreSQL or set TEST_DATABASE_URL)", name)
	}
	return matches[len(matches)-1], nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
