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
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/api"
	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/bridge/connector/mockhris"
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
// demoOperator is the demo's console operator.
const demoOperator = "operator@demo.example"

func cmdDemo(ctx context.Context, args []string, out io.Writer) error {
	fs, _ := flags("demo")
	addr := fs.String("addr", "127.0.0.1:8080", "API listen address")
	sftpAddr := fs.String("sftp-addr", "127.0.0.1:0", "listen address of the sample employer's SFTP server (port 0: any free port)")
	dropboxAddr := fs.String("dropbox-addr", "127.0.0.1:0", "listen address of hrisbridge's drop box SFTP server (port 0: any free port)")
	dir := fs.String("dir", "hrisbridge-demo", "directory for the demo's store and SFTP files (reset at each start)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(out, "hrisbridge demo: starting in %s/ ...\n", *dir)
	a, sftpRoot, err := openDemo(ctx, *dir)
	if err != nil {
		return err
	}
	defer a.store.Close()

	sftpL, hostKey, password, err := startDemoSFTP(ctx, sftpRoot, *sftpAddr)
	if err != nil {
		return err
	}
	apiL, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --addr)", *addr, err)
	}
	dropL, err := net.Listen("tcp", *dropboxAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --dropbox-addr)", *dropboxAddr, err)
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
	uploads, uploadPassword, err := demoDropbox(ctx, a, t.ID)
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
	// A second employer whose HRIS has an API: a mock Gusto-shaped API on
	// loopback, pulled by an API connection into the same model.
	hrisL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mock := mockhris.New(12)
	go (&http.Server{Handler: mock, ReadHeaderTimeout: 10 * time.Second}).Serve(hrisL) //nolint:errcheck // ends with the process
	apiTenant, apiConn, apiKey, err := demoAPITenant(ctx, a, b, mock, "http://"+hrisL.Addr().String())
	if err != nil {
		return err
	}
	_, results, err = b.Sync(ctx, apiConn, "manual")
	if err != nil {
		return fmt.Errorf("first sync of %s: %w", apiTenant.Slug, err)
	}
	fmt.Fprintf(out, "hrisbridge demo: first sync of tenant %s from its HRIS API (%s):\n", apiTenant.Slug, apiConn.Layout)
	printResults(out, results)
	// The console: an operator account and an HR admin's link for demo.
	opPassword, _ := api.NewToken()
	opPassword = opPassword[:20]
	opHash, err := api.HashPassword(opPassword)
	if err != nil {
		return err
	}
	if err := a.store.CreateOperator(ctx, &schema.Operator{Email: demoOperator, PasswordHash: opHash, PII: true}); err != nil {
		return err
	}
	link := schema.MagicLink{TenantID: t.ID, Email: "hr@demo.example", Creator: "demo", Expires: time.Now().Add(72 * time.Hour)}
	linkPath, err := api.NewMagicLink(ctx, a.store, &link)
	if err != nil {
		return err
	}
	// The demo runs on loopback: webhooks may go to receivers there too.
	a.cfg.SFTPAddr = dropL.Addr().String()
	svc, err := a.services(ctx, b, m, true)
	if err != nil {
		return err
	}
	base := "http://" + apiL.Addr().String()
	dropPort := dropL.Addr().(*net.TCPAddr).Port
	fmt.Fprintf(out, "\nAPI: %s\nAPI key: %s\n", base, plain)
	fmt.Fprintf(out, "Console: %s/console/ (operator %s, password %s)\n", base, demoOperator, opPassword)
	fmt.Fprintf(out, "HR admin's sign-in link for tenant demo (works once): %s%s\n", base, linkPath)
	fmt.Fprintf(out, "SFTP (the employer's server): sftp -P %d hris@127.0.0.1 (password %s; drop census_*.csv into outbound/, pulled every minute)\n", port, password)
	fmt.Fprintf(out, "Drop box (hrisbridge's own): sftp -P %d hr-admin@127.0.0.1 (password %s; put a census .csv, applied to connection %s)\n\n", dropPort, uploadPassword, uploads.Name)
	fmt.Fprintf(out, "Try:\n  curl -s -H 'Authorization: Bearer %s' '%s/v1/employees?limit=5'\n", plain, base)
	fmt.Fprintf(out, "  curl -s -H 'Authorization: Bearer %s' '%s/v1/employees?employment_status=terminated'\n", plain, base)
	fmt.Fprintf(out, "  curl -s -X POST -H 'Authorization: Bearer %s' '%s/v1/connections/%s/sync'   # queue a sync now\n", plain, base, conn.ID)
	fmt.Fprintf(out, "  curl -s -H 'Authorization: Bearer %s' '%s/v1/connections/%s'        # health and next syncs\n", plain, base, conn.ID)
	fmt.Fprintf(out, "  curl -s -X POST -H 'Authorization: Bearer %s' -H 'Content-Type: text/csv' --data-binary @census.csv '%s/v1/connections/%s/files?name=census.csv&wait=true'   # upload\n", plain, base, uploads.Name)
	fmt.Fprintf(out, "  curl -s -H 'Authorization: Bearer %s' '%s/v1/employees?limit=5'   # tenant %s, fed by an HRIS API: the same endpoints, the same shape\n", apiKey, base, apiTenant.Slug)
	fmt.Fprintf(out, "  curl -s '%s/v1/employees'            # no key: 401 problem+json\n", base)
	fmt.Fprintf(out, "  curl -s '%s/readyz'\nPress Ctrl-C to stop.\n", base)

	err = svc.run(ctx, apiL, dropL)
	fmt.Fprintln(out, "hrisbridge demo stopped")
	return err
}

// demoAPITenant creates the demo's second employer, globex, with a
// Gusto-shaped API connection to the mock (already authorized: the token
// a finished consent would store) pulled every minute, and a read key.
func demoAPITenant(ctx context.Context, a *app, b *bridge.Bridge, mock *mockhris.Server, base string) (schema.Tenant, schema.Connection, string, error) {
	t := schema.Tenant{Slug: "globex", Name: "Globex Corp."}
	if err := a.store.CreateTenant(ctx, &t); err != nil {
		return t, schema.Connection{}, "", err
	}
	access, refresh, exp := mock.Grant()
	conn, err := b.CreateConnection(ctx, t.ID, bridge.NewConnection{Name: "gusto", Kind: schema.ConnAPI, Layout: "gusto", Schedule: "@every 1m",
		Config: map[string]any{"params": map[string]any{"company_id": mockhris.CompanyID}, "base_url": base},
		Secret: map[string]string{"client_id": mockhris.ClientID, "client_secret": mockhris.ClientSecret,
			"access_token": access, "refresh_token": refresh, "expiry": exp.UTC().Format(time.RFC3339)}})
	if err != nil {
		return t, conn, "", err
	}
	plain, prefix, hash := api.NewKey()
	if err := a.store.CreateAPIKey(ctx, &schema.APIKey{TenantID: t.ID, Name: "demo", Prefix: prefix, Hash: hash, Scopes: []string{schema.ScopeRead}}); err != nil {
		return t, conn, "", err
	}
	return t, conn, plain, nil
}

// demoDropbox creates the demo's drop box connection (hr-uploads) and its
// login hr-admin with a fresh password.
func demoDropbox(ctx context.Context, a *app, tenantID string) (schema.Connection, string, error) {
	conn := schema.Connection{TenantID: tenantID, Name: "hr-uploads", Kind: schema.ConnDropbox, Layout: "census-csv", Enabled: true}
	if err := a.store.CreateConnection(ctx, &conn); err != nil {
		return conn, "", err
	}
	pw := make([]byte, 8)
	rand.Read(pw) //nolint:errcheck
	password := hex.EncodeToString(pw)
	hash, err := sftpd.HashPassword(password)
	if err != nil {
		return conn, "", err
	}
	acct := schema.DropboxAccount{TenantID: tenantID, ConnectionID: conn.ID, Username: "hr-admin", PasswordHash: hash, Rights: []string{schema.RightList}}
	return conn, password, a.store.CreateDropboxAccount(ctx, &acct)
}

// openDemo resets the demo directory and opens its embedded store.
func openDemo(ctx context.Context, dir string) (*app, string, error) {
	stores, _ := filepath.Glob(filepath.Join(dir, "hrisbridge*.db*")) // the store, its audit and jobs files
	for _, p := range append(stores, filepath.Join(dir, "sftp"), filepath.Join(dir, "spool"), filepath.Join(dir, "dropbox"), filepath.Join(dir, "files")) {
		if err := os.RemoveAll(p); err != nil {
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

// startDemoSFTP serves root on addr as user "hris" with a fresh host key
// and password: the sample employer's server the demo pulls from.
func startDemoSFTP(ctx context.Context, root, addr string) (net.Listener, ssh.PublicKey, string, error) {
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
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, "", fmt.Errorf("listen on %s: %w (choose another with --sftp-addr)", addr, err)
	}
	go srv.Serve(ctx, l) //nolint:errcheck // ends with ctx
	return l, signer.PublicKey(), password, nil
}
