package bridge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Sync runs one pull of conn: lists its remote directory, ingests each new
// file and acknowledges it after commit. Every run is recorded as a sync
// run; the returned error is the run's failure, if any.
func (b *Bridge) Sync(ctx context.Context, conn schema.Connection, trigger string) (schema.SyncRun, []Result, error) {
	run := schema.SyncRun{TenantID: conn.TenantID, ConnectionID: conn.ID, Trigger: trigger}
	if err := b.cfg.Store.StartSyncRun(ctx, &run); err != nil {
		return run, nil, err
	}
	results, err := b.pullWithRetries(ctx, conn, &run)
	run.Status = schema.RunSucceeded
	if err != nil {
		run.Status, run.Error = schema.RunFailed, err.Error()
		b.cfg.Logger.ErrorContext(ctx, "sync failed", "tenant", conn.TenantID, "connection", conn.Name, "error", err)
	}
	if b.cfg.ObserveRun != nil {
		b.cfg.ObserveRun(run)
	}
	if ferr := b.cfg.Store.FinishSyncRun(context.WithoutCancel(ctx), &run); ferr != nil && err == nil {
		err = ferr
	}
	return run, results, err
}

// pullWithRetries retries a pull that failed for a transient reason
// (refused, reset, timed out, cut), with exponential backoff and jitter;
// permanent failures (host key, login, permission) are not retried. A
// retry is safe: what the failed attempt committed comes back as
// duplicates.
func (b *Bridge) pullWithRetries(ctx context.Context, conn schema.Connection, run *schema.SyncRun) ([]Result, error) {
	var all []Result
	for attempt := 0; ; attempt++ {
		results, err := b.pull(ctx, conn, run)
		all = append(all, results...)
		err = classify(err)
		var se *SyncError
		if err == nil || !errors.As(err, &se) || !se.Transient || attempt >= b.cfg.Retries {
			return all, err
		}
		wait := b.cfg.RetryBase << attempt
		wait += time.Duration(rand.Int64N(int64(wait)/2 + 1)) // jitter
		b.cfg.Logger.WarnContext(ctx, "pull failed, retrying", "connection", conn.Name, "attempt", attempt+1, "in", wait, "error", err)
		select {
		case <-ctx.Done():
			return all, err
		case <-time.After(wait):
		}
	}
}

func (b *Bridge) pull(ctx context.Context, conn schema.Connection, run *schema.SyncRun) ([]Result, error) {
	if conn.Kind != schema.ConnSFTP {
		return nil, fmt.Errorf("connection %s is %s; only sftp connections pull", conn.Name, conn.Kind)
	}
	cfg, sec, err := b.decodeConnection(conn)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // closes the SFTP client
	client, err := dialSFTP(ctx, cfg, sec, b.cfg.IdleTimeout)
	if err != nil {
		return nil, err
	}
	files, err := list(ctx, client, cfg)
	if err != nil {
		return nil, err
	}
	var results []Result
	for _, rf := range files {
		remote := fmt.Sprintf("%s|%d|%d", rf.Path, rf.Info.Size(), rf.Info.ModTime().Unix())
		if seen, err := b.cfg.Store.SeenRemote(ctx, conn.ID, remote); err != nil {
			return results, err
		} else if seen {
			// Taken before (ack: leave, or an acknowledgement that failed):
			// no download; acknowledge again in case that is what failed.
			if err := acknowledge(client, cfg, rf); err != nil {
				b.cfg.Logger.WarnContext(ctx, "acknowledge failed", "connection", conn.Name, "file", rf.Path, "error", err)
			}
			continue
		}
		f, err := client.Open(rf.Path)
		if err != nil {
			return results, fmt.Errorf("open %s: %w", rf.Path, err)
		}
		sp, err := spool(b.cfg.SpoolDir, f)
		f.Close()
		if err != nil {
			return results, fmt.Errorf("download %s: %w", rf.Path, err)
		}
		sp.Remote = remote
		res, err := b.ingestSpooled(ctx, conn, rf.Info.Name(), sp, false)
		os.Remove(sp.Path)
		if err != nil {
			return results, err
		}
		results = append(results, res)
		run.Files++
		run.Rows += res.File.Rows
		if res.File.Status == schema.FileRejected {
			continue // left in place for a person to look at
		}
		if err := acknowledge(client, cfg, rf); err != nil {
			// The data is committed; a failed archive never re-applies it
			// (the same bytes are a duplicate), so report and go on.
			b.cfg.Logger.WarnContext(ctx, "acknowledge failed", "connection", conn.Name, "file", rf.Path, "error", err)
		}
	}
	return results, nil
}

// Probe is what `hrisbridge connections test` reports.
type Probe struct {
	HostKey string   `json:"host_key"`
	Files   []string `json:"files"`
}

// Test dials a connection, checks its host key, logs in, lists its
// directory and returns the files a pull would consider, without taking
// anything (and without waiting out stable_for).
func (b *Bridge) Test(ctx context.Context, conn schema.Connection) (Probe, error) {
	cfg, sec, err := b.decodeConnection(conn)
	if err != nil {
		return Probe{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client, err := dialSFTP(ctx, cfg, sec, b.cfg.IdleTimeout)
	if err != nil {
		return Probe{}, classify(err)
	}
	files, _, err := listOnce(client, cfg)
	if err != nil {
		return Probe{}, classify(err)
	}
	p := Probe{HostKey: cfg.HostKey}
	for _, f := range files {
		p.Files = append(p.Files, f.Path)
	}
	return p, nil
}

// ScanHostKey connects to host:port and returns the server's host key
// without logging in, for an operator to confirm and pin.
func ScanHostKey(ctx context.Context, host string, port int) (ssh.PublicKey, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(cmp.Or(port, 22)))
	d := net.Dialer{Timeout: 15 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, classify(fmt.Errorf("dial %s: %w", addr, err))
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
	var key ssh.PublicKey
	_, _, _, err = ssh.NewClientConn(nc, addr, &ssh.ClientConfig{User: "hrisbridge-keyscan", Timeout: 15 * time.Second,
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			key = k
			return errScanned
		}})
	if key == nil {
		return nil, classify(fmt.Errorf("ssh %s: %w", addr, err))
	}
	return key, nil
}

var errScanned = errors.New("host key scanned")
