package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"

	"github.com/hrisbridge/hrisbridge/api"
	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/secret"
)

// demodata holds the sample drops the demo's SFTP server starts with: two
// weekly census exports of a small employer (the first with one bad row).
//
//go:embed demodata/*.csv
var demodata embed.FS

// cmdDemo runs the whole product on one machine with no config and no
// network: embedded store, an SFTP server seeded with sample drops, a demo
// tenant, connection and key, a first sync, and the API.
func cmdDemo(ctx context.Context, args []string, out io.Writer) error {
	fs, _ := flags("demo")
	addr := fs.String("addr", "127.0.0.1:8080", "API listen address")
	dir := fs.String("dir", "hrisbridge-demo", "directory for the demo's store and SFTP files (reset at each start)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	a, sftpRoot, err := openDemo(ctx, *dir)
	if err != nil {
		return err
	}
	defer a.store.Close()

	sftpL, hostKey, password, err := startDemoSFTP(ctx, sftpRoot)
	if err != nil {
		return err
	}
	apiL, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --addr)", *addr, err)
	}
	t := schema.Tenant{Slug: "demo", Name: "Demo Employer Inc."}
	if err := a.store.CreateTenant(ctx, &t); err != nil {
		return err
	}
	port := sftpL.Addr().(*net.TCPAddr).Port
	conn, err := createSFTPConnection(ctx, a, t.ID, "hris-sftp", "census-csv", "@every 1m",
		bridge.SFTPConfig{Host: "127.0.0.1", Port: port, User: "hris", HostKey: ssh.FingerprintSHA256(hostKey), Dir: "outbound",
			Patterns: []string{"census_*.csv"}, Ack: "archive", ArchiveDir: "archive", StableFor: "1s"},
		bridge.SFTPSecret{Password: password})
	if err != nil {
		return err
	}
	plain, prefix, hash := api.NewKey()
	if err := a.store.CreateAPIKey(ctx, &schema.APIKey{TenantID: t.ID, Name: "demo", Prefix: prefix, Hash: hash,
		Scopes: []string{schema.ScopeRead, schema.ScopeWrite}}); err != nil {
		return err
	}
	m := newMetrics()
	b, err := a.bridgeWith(m)
	if err != nil {
		return err
	}
	_, results, err := b.Sync(ctx, conn, "manual")
	if err != nil {
		return fmt.Errorf("first sync: %w", err)
	}
	fmt.Fprintln(out, "hrisbridge demo: first sync of tenant demo over SFTP:")
	printResults(out, results)
	inbox := b.NewInbox(filepath.Join(a.cfg.DataDir, "dropbox"))
	jobs, err := a.jobs(ctx, b)
	if err != nil {
		return err
	}
	srv, err := api.New(api.Config{Store: a.store, Logger: a.log, Files: heldFiles{b}, Uploads: inbox, Jobs: jobs,
		Metrics: m.handler(), ObserveRequest: m.request})
	if err != nil {
		return err
	}
	base := "http://" + apiL.Addr().String()
	fmt.Fprintf(out, "\nAPI: %s\nAPI key: %s\n", base, plain)
	fmt.Fprintf(out, "SFTP: sftp -P %d hris@127.0.0.1 (password %s; drop census_*.csv into outbound/, pulled every minute)\n\n", port, password)
	fmt.Fprintf(out, "Try:\n  curl -s -H 'Authorization: Bearer %s' '%s/v1/employees?limit=5'\n", plain, base)
	fmt.Fprintf(out, "  curl -s -H 'Authorization: Bearer %s' '%s/v1/employees?employment_status=terminated'\n", plain, base)
	fmt.Fprintf(out, "  curl -s -X POST -H 'Authorization: Bearer %s' '%s/v1/connections/%s/sync'   # queue a sync now\n", plain, base, conn.ID)
	fmt.Fprintf(out, "  curl -s -H 'Authorization: Bearer %s' '%s/v1/connections/%s'        # health and next syncs\n", plain, base, conn.ID)
	fmt.Fprintf(out, "  curl -s '%s/v1/employees'            # no key: 401 problem+json\n", base)
	fmt.Fprintf(out, "  curl -s '%s/readyz'\nPress Ctrl-C to stop.\n", base)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(ctx, apiL) })
	g.Go(func() error { return inbox.Run(ctx) })
	g.Go(func() error { return jobs.Run(ctx) })
	err = g.Wait()
	fmt.Fprintln(out, "hrisbridge demo stopped")
	return err
}

// openDemo resets the demo directory and opens its embedded store.
func openDemo(ctx context.Context, dir string) (*app, string, error) {
	for _, p := range []string{"hrisbridge.db", "hrisbridge.db-wal", "hrisbridge.db-shm", "sftp", "spool"} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			return nil, "", err
		}
	}
	sftpRoot := filepath.Join(dir, "sftp")
	if err := os.MkdirAll(filepath.Join(sftpRoot, "outbound"), 0o755); err != nil {
		return nil, "", err
	}
	drops, _ := fs.Glob(demodata, "demodata/*.csv")
	for _, d := range drops {
		b, _ := demodata.ReadFile(d)
		if err := os.WriteFile(filepath.Join(sftpRoot, "outbound", filepath.Base(d)), b, 0o644); err != nil {
			return nil, "", err
		}
	}
	cfg := defaults()
	cfg.DataDir, cfg.LogLevel = dir, "warn"
	cfg.DatabaseURL = "sqlite://" + filepath.Join(dir, "hrisbridge.db")
	cfg.MasterKey = secret.NewKey()
	box, err := cfg.box()
	if err != nil {
		return nil, "", err
	}
	a := &app{cfg: cfg, log: cfg.logger(), box: box}
	if a.store, err = openMigrated(ctx, cfg.DatabaseURL, box); err != nil {
		return nil, "", err
	}
	return a, sftpRoot, nil
}

// startDemoSFTP serves root on a loopback port as user "hris" with a fresh
// host key and password.
func startDemoSFTP(ctx context.Context, root string) (net.Listener, ssh.PublicKey, string, error) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, "", err
	}
	pw := make([]byte, 8)
	rand.Read(pw) //nolint:errcheck
	password := hex.EncodeToString(pw)
	hash, err := sftpd.HashPassword(password)
	if err != nil {
		return nil, nil, "", err
	}
	srv, err := sftpd.New(sftpd.Config{HostKey: signer, Logger: slog.New(slog.DiscardHandler),
		Accounts: sftpd.StaticAccounts(map[string]sftpd.Account{"hris": {User: "hris", PasswordHash: hash, Root: root}})})
	if err != nil {
		return nil, nil, "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, "", err
	}
	go srv.Serve(ctx, l) //nolint:errcheck // ends with ctx
	return l, signer.PublicKey(), password, nil
}
