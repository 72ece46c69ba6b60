package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"

	"github.com/hrisbridge/hrisbridge/api"
	"github.com/hrisbridge/hrisbridge/api/webhook"
	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/scheduler"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storage"
	"github.com/riverqueue/river"
)

func cmdServe(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("serve")
	addr := fs.String("addr", "", "listen address (overrides addr)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	a, err := open(ctx, *config)
	if err != nil {
		return err
	}
	defer a.store.Close()
	if *addr != "" {
		a.cfg.Addr = *addr
	}
	m := newMetrics()
	b, err := a.bridgeWith(m)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on addr %s: %w", a.cfg.Addr, err)
	}
	var dl net.Listener
	if a.cfg.SFTPAddr != "" {
		if dl, err = net.Listen("tcp", a.cfg.SFTPAddr); err != nil {
			l.Close()
			return fmt.Errorf("listen on sftp_addr %s: %w", a.cfg.SFTPAddr, err)
		}
	}
	s, err := a.services(ctx, b, m, a.cfg.WebhooksAllowPrivate)
	if err != nil {
		return err
	}
	a.log.InfoContext(ctx, "hrisbridge serving", "addr", a.cfg.Addr, "store", storeKind(a.cfg.DatabaseURL))
	err = s.run(ctx, l, dl)
	a.log.Info("hrisbridge stopped")
	return err
}

// services is everything a server runs: the API, the durable jobs, the
// drop box inbox (and its SFTP server when it listens), the webhook
// dispatcher. serve and demo both run all of it.
type services struct {
	a     *app
	api   *api.Server
	jobs  *scheduler.Jobs
	inbox *bridge.Inbox
	hooks *webhook.Dispatcher
}

func (a *app) services(ctx context.Context, b *bridge.Bridge, m *metrics, allowPrivate bool) (*services, error) {
	jobs, err := a.jobs(ctx, b)
	if err != nil {
		return nil, err
	}
	inbox := b.NewInbox(filepath.Join(a.cfg.DataDir, "dropbox"))
	if d, err := a.cfg.durations(); err == nil && d.fileRetention > 0 {
		inbox.Retention = d.fileRetention
	}
	hooks, err := webhook.New(webhook.Config{Store: a.store, Logger: a.log, AllowPrivate: allowPrivate, Observe: m.delivery})
	if err != nil {
		return nil, err
	}
	console, err := a.consoleConfig()
	if err != nil {
		return nil, err
	}
	srv, err := api.New(api.Config{Store: a.store, Logger: a.log, Files: heldFiles{b}, Uploads: inbox, Webhooks: hooks, Jobs: jobs,
		Connections: connections{b, filepath.Join(a.cfg.DataDir, "dropbox")},
		Metrics:     m.handler(), ObserveRequest: m.request, ObserveWebhook: m.providerWebhook,
		MaxUpload: int64(a.cfg.MaxUploadBytes), Console: console})
	if err != nil {
		return nil, err
	}
	return &services{a: a, api: srv, jobs: jobs, inbox: inbox, hooks: hooks}, nil
}

// run serves the API on l and, when dl is not nil, the drop box SFTP
// server on dl, with the jobs, inbox and webhooks, until ctx ends.
func (s *services) run(ctx context.Context, l, dl net.Listener) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.api.Serve(ctx, l) })
	g.Go(func() error { return s.jobs.Run(ctx) })
	g.Go(func() error { return s.inbox.Run(ctx) })
	g.Go(func() error { return s.hooks.Run(ctx) })
	if dl != nil {
		hk, err := bridge.HostKey(filepath.Join(s.a.cfg.DataDir, "ssh_host_ed25519_key"))
		if err != nil {
			return err
		}
		dropbox, err := s.inbox.DropboxServer(hk, s.a.log)
		if err != nil {
			return err
		}
		s.a.log.InfoContext(ctx, "drop box serving", "sftp_addr", dl.Addr().String(), "host_key", ssh.FingerprintSHA256(hk.PublicKey()))
		g.Go(func() error { return dropbox.Serve(ctx, dl) })
	}
	return g.Wait()
}

// consoleConfig configures the web console: where previewed uploads
// wait, the public address for magic links, the drop box address and
// host key to show employers, and mail when smtp_url is set.
func (a *app) consoleConfig() (*api.ConsoleConfig, error) {
	cc := &api.ConsoleConfig{SpoolDir: filepath.Join(a.cfg.DataDir, "spool"), BaseURL: a.cfg.PublicURL, DropboxAddr: a.cfg.SFTPAddr}
	if a.cfg.SFTPAddr != "" {
		hk, err := bridge.HostKey(filepath.Join(a.cfg.DataDir, "ssh_host_ed25519_key"))
		if err != nil {
			return nil, err
		}
		cc.DropboxHostKey = ssh.FingerprintSHA256(hk.PublicKey())
	}
	if a.cfg.SMTPURL != "" {
		m, err := newMailer(a.cfg.SMTPURL, a.cfg.SMTPFrom)
		if err != nil {
			return nil, err
		}
		cc.Mail = m.send
	}
	return cc, nil
}

// jobs builds the durable job system (River in the store's database).
func (a *app) jobs(ctx context.Context, b *bridge.Bridge) (*scheduler.Jobs, error) {
	d, err := a.cfg.durations()
	if err != nil {
		return nil, err
	}
	return scheduler.New(ctx, scheduler.Config{Store: a.store, Bridge: b, Queue: func(ctx context.Context, rc *river.Config) (scheduler.Queue, error) {
		return storage.NewJobQueue(ctx, a.store, rc)
	}, Logger: a.log,
		Workers: int(a.cfg.JobWorkers), LargeWorkers: int(a.cfg.JobLargeWorkers), MaxAttempts: int(a.cfg.JobMaxAttempts), RetryBase: d.retryBase, SyncTimeout: d.syncTimeout, RescueAfter: d.rescueAfter,
		FileRetention: d.fileRetention})
}

func storeKind(url string) string {
	if strings.HasPrefix(url, "sqlite://") {
		return "sqlite"
	}
	return "postgres"
}

func cmdMigrate(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("migrate")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	a, err := open(ctx, *config) // open migrates
	if err != nil {
		return err
	}
	defer a.store.Close()
	if err := a.store.Ready(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s store is migrated and ready\n", storeKind(a.cfg.DatabaseURL))
	return nil
}

// cmdHealthcheck probes /healthz; the exit status is the verdict, for a
// container HEALTHCHECK in an image without curl.
func cmdHealthcheck(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("healthcheck")
	url := fs.String("url", "", "URL to probe (default: /healthz on the configured addr)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *url == "" {
		cfg, err := loadConfig(*config)
		if err != nil {
			return err
		}
		host, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return fmt.Errorf("config: addr %q: %w", cfg.Addr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		*url = "http://" + net.JoinHostPort(host, port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", *url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck %s: %s", *url, resp.Status)
	}
	fmt.Fprintln(out, "ok")
	return nil
}

// heldFiles lets the API release and discard held files through the bridge.
type heldFiles struct{ b *bridge.Bridge }

func (h heldFiles) Release(ctx context.Context, tenantID, fileID string, overwrite bool) (api.Released, error) {
	res, err := h.b.Release(ctx, tenantID, fileID, overwrite)
	return api.Released{File: res.File, Missing: res.Missing, Events: res.Events}, err
}

func (h heldFiles) Discard(ctx context.Context, tenantID, fileID string) error {
	return h.b.Discard(ctx, tenantID, fileID)
}

func (h heldFiles) Ack999(ctx context.Context, tenantID, fileID string) ([]byte, error) {
	return h.b.Ack999(ctx, tenantID, fileID)
}

// connections lets the API update and delete connections through the
// bridge (which validates and seals), purging drop box directories under
// dropboxDir.
type connections struct {
	b          *bridge.Bridge
	dropboxDir string
}

func (c connections) CreateConnection(ctx context.Context, tenantID string, nc bridge.NewConnection) (schema.Connection, error) {
	return c.b.CreateConnection(ctx, tenantID, nc)
}

func (c connections) Test(ctx context.Context, conn schema.Connection) (bridge.Probe, error) {
	return c.b.Test(ctx, conn)
}

func (c connections) UpdateConnection(ctx context.Context, tenantID, idOrName string, ch bridge.ConnectionChange) (schema.Connection, error) {
	return c.b.UpdateConnection(ctx, tenantID, idOrName, ch)
}

func (c connections) DeleteConnection(ctx context.Context, tenantID, idOrName string, purgeFiles bool) (int, error) {
	return c.b.DeleteConnection(ctx, tenantID, idOrName, c.dropboxDir, purgeFiles)
}

func (c connections) AuthorizeURL(ctx context.Context, conn schema.Connection, redirect string) (string, error) {
	return c.b.AuthorizeURL(ctx, conn, redirect)
}

func (c connections) CompleteAuthorization(ctx context.Context, state, code, redirect string) (schema.Connection, error) {
	return c.b.CompleteAuthorization(ctx, state, code, redirect)
}

func (c connections) VerifyWebhook(ctx context.Context, conn schema.Connection, h http.Header, body io.Reader) error {
	return c.b.VerifyWebhook(ctx, conn, h, body)
}
