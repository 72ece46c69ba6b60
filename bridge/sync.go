package bridge

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Sync runs one pull of conn now, recorded as a sync run with trigger.
// It returns ErrBusy when another sync of the connection is running.
func (b *Bridge) Sync(ctx context.Context, conn schema.Connection, trigger string) (schema.SyncRun, []Result, error) {
	run := schema.SyncRun{TenantID: conn.TenantID, ConnectionID: conn.ID, Trigger: trigger}
	results, err := b.RunSync(ctx, conn, &run, SyncOptions{Last: true})
	return run, results, err
}

// ErrBusy means another sync of the connection holds its lease.
var ErrBusy = errors.New("another sync of this connection is running")

// ErrDeferred means SyncOptions.Admit refused a pull after listing: nothing was
// downloaded and the run is queued again.
var ErrDeferred = errors.New("the pull waits for a large-sync slot")

// SyncOptions tune one RunSync.
type SyncOptions struct {
	// Last marks a job's last attempt: a failure is then final.
	Last bool
	// Admit, when set, is asked after an SFTP pull has listed its files
	// (bytes: their total size) and before it downloads any. A pull it
	// refuses ends with ErrDeferred, its run queued again: the job system
	// bounds with it how many large syncs hold its workers. The release
	// it returns is called when the pull ends.
	Admit func(ctx context.Context, conn schema.Connection, bytes int64) (release func(), ok bool)
}

// RunSync pulls conn as run, which a job fills with its id and attempt.
// It holds the connection's lease for the whole run (ErrBusy when another
// sync holds it, and then records nothing). Every file new on the server
// is ingested and acknowledged after commit. A failure leaves the run
// failed on the last attempt or when the error is permanent (host key,
// login, permission: retrying cannot help), otherwise retrying. The
// connection's health is updated after the run.
func (b *Bridge) RunSync(ctx context.Context, conn schema.Connection, run *schema.SyncRun, opts SyncOptions) ([]Result, error) {
	var results []Result
	err := b.recordRun(ctx, conn, run, opts.Last, func(ctx context.Context) (err error) {
		results, err = b.pullWithRetries(ctx, conn, run, opts.Admit)
		return err
	})
	return results, err
}

// recordRun does work as run under conn's sync lease: the run is started,
// settled from work's error (see settle), stored with its final event, and
// the connection's health is updated.
func (b *Bridge) recordRun(ctx context.Context, conn schema.Connection, run *schema.SyncRun, last bool, work func(context.Context) error) error {
	return b.withLease(ctx, conn, func(ctx context.Context) error {
		if err := b.cfg.Store.StartSyncRun(ctx, run); err != nil {
			return err
		}
		err := work(ctx)
		if errors.Is(err, ErrDeferred) {
			run.Status, run.Error, run.ErrorCode = schema.RunQueued, "", ""
			return errors.Join(err, b.persist(ctx, func(ctx context.Context) error { return b.cfg.Store.FinishSyncRun(ctx, run) }))
		}
		b.settle(ctx, conn.Name, run, err, last)
		if ferr := b.persist(ctx, func(ctx context.Context) error { return b.FinishRun(ctx, run) }); ferr != nil && err == nil {
			err = ferr
		}
		b.persist(ctx, func(ctx context.Context) error { return b.updateHealth(ctx, conn) }) //nolint:errcheck // logged there
		return err
	})
}

// FailRun records a job's run that was refused before it could start
// (its connection or file is gone) as failed with err.
func (b *Bridge) FailRun(ctx context.Context, run *schema.SyncRun, err error) error {
	if serr := b.cfg.Store.StartSyncRun(ctx, run); serr != nil {
		return serr
	}
	b.settle(ctx, run.ConnectionID, run, err, true)
	return b.FinishRun(ctx, run)
}

// FinishRun stores a run's outcome and, once it is final (succeeded, or
// failed with no attempt left), announces it as a sync.completed or
// sync.failed event.
func (b *Bridge) FinishRun(ctx context.Context, run *schema.SyncRun) error {
	if err := b.cfg.Store.FinishSyncRun(ctx, run); err != nil {
		return err
	}
	typ := map[string]string{schema.RunSucceeded: "sync.completed", schema.RunFailed: "sync.failed"}[run.Status]
	if typ == "" {
		return nil
	}
	data, _ := json.Marshal(map[string]any{"sync_run_id": run.ID, "connection_id": run.ConnectionID, "trigger": run.Trigger, "status": run.Status,
		"files": run.Files, "rows": run.Rows, "attempt": run.Attempt, "error": run.Error, "error_code": run.ErrorCode, "file_id": run.FileID})
	return b.cfg.Store.AppendEvent(ctx, &schema.Event{TenantID: run.TenantID, Type: typ, Subject: run.ID, Data: data})
}

// updateHealth updates a connection's health after a run or delivery; a
// failure is logged (the data is committed already) and returned for
// persist to retry.
func (b *Bridge) updateHealth(ctx context.Context, conn schema.Connection) error {
	_, err := b.UpdateHealth(ctx, conn)
	if err != nil {
		b.cfg.Logger.WarnContext(ctx, "connection health not updated", "connection", conn.Name, "error", err)
	}
	return err
}

// persist runs a sync's bookkeeping write (its run's outcome, the
// connection's health, the lease's release), retrying for up to half a
// minute while the database is unreachable: after a restart of the
// database these writes would otherwise be lost, leaving the run shown
// running and the connection busy until its lease ran out. It runs even
// when ctx is cancelled (the work is over; its record is still owed).
func (b *Bridge) persist(ctx context.Context, fn func(context.Context) error) error {
	ctx = context.WithoutCancel(ctx)
	wait := 250 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := fn(ctx)
		if err == nil || !unavailable(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, 4*time.Second)
	}
}

// settle sets a run's outcome from its error: succeeded, retrying, or
// failed when last is set or the error is permanent.
func (b *Bridge) settle(ctx context.Context, connection string, run *schema.SyncRun, err error, last bool) {
	run.Status, run.Error, run.ErrorCode = schema.RunSucceeded, "", ""
	if err != nil {
		run.Status, run.Error = schema.RunRetrying, err.Error()
		var se *SyncError
		if errors.As(err, &se) {
			run.ErrorCode = se.Code
		}
		if last || Permanent(err) {
			run.Status = schema.RunFailed
		}
		b.cfg.Logger.ErrorContext(ctx, "sync failed", "tenant", run.TenantID, "connection", connection, "trigger", run.Trigger,
			"attempt", run.Attempt, "final", run.Status == schema.RunFailed, "error", err)
	}
	if b.cfg.ObserveRun != nil {
		b.cfg.ObserveRun(*run)
	}
}

// Permanent reports whether a sync error needs a person: retrying a
// changed host key, a refused login or a denied directory cannot help.
func Permanent(err error) bool {
	var se *SyncError
	return errors.As(err, &se) && !se.Transient
}

// withLease runs fn while holding conn's sync lease, renewing it; fn's
// context ends if the lease is lost (another process took it over after
// this one stalled past LeaseTTL).
func (b *Bridge) withLease(ctx context.Context, conn schema.Connection, fn func(context.Context) error) error {
	ttl := b.cfg.LeaseTTL
	owner := b.cfg.Owner + "/" + uuid.NewString() // one per sync, also within a process
	ok, err := b.cfg.Store.ClaimConnection(ctx, conn.ID, owner, time.Now().Add(ttl))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("connection %s: %w", conn.Name, ErrBusy)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ok, err := b.cfg.Store.ClaimConnection(ctx, conn.ID, owner, time.Now().Add(ttl))
				if err == nil && !ok {
					cancel(fmt.Errorf("connection %s: sync lease lost", conn.Name))
					return
				}
			}
		}
	}()
	err = fn(ctx)
	close(done)
	if rerr := b.persist(ctx, func(ctx context.Context) error { return b.cfg.Store.ReleaseConnection(ctx, conn.ID, owner) }); rerr != nil {
		b.cfg.Logger.WarnContext(ctx, "sync lease not released", "connection", conn.Name, "error", rerr)
	}
	return err
}

// pullWithRetries retries a pull that failed for a transient reason
// (refused, reset, timed out, cut), with exponential backoff and jitter;
// permanent failures (host key, login, permission) are not retried. A
// retry is safe: what the failed attempt committed comes back as
// duplicates.
func (b *Bridge) pullWithRetries(ctx context.Context, conn schema.Connection, run *schema.SyncRun, admit admitFunc) ([]Result, error) {
	var all []Result
	for attempt := 0; ; attempt++ {
		results, err := b.pull(ctx, conn, run, admit)
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

type admitFunc = func(ctx context.Context, conn schema.Connection, bytes int64) (release func(), ok bool)

func (b *Bridge) pull(ctx context.Context, conn schema.Connection, run *schema.SyncRun, admit admitFunc) ([]Result, error) {
	if conn.Kind == schema.ConnAPI {
		return b.pullAPI(ctx, conn, run)
	}
	if conn.Kind != schema.ConnSFTP {
		return nil, fmt.Errorf("connection %s is %s; only sftp and api connections pull", conn.Name, conn.Kind)
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
	if admit != nil {
		var size int64
		for _, rf := range files {
			size += rf.Info.Size()
		}
		release, ok := admit(ctx, conn, size)
		if !ok {
			return nil, ErrDeferred
		}
		defer release()
	}
	var results []Result
	for _, rf := range files {
		remote := fmt.Sprintf("%s|%d|%d", rf.Path, rf.Info.Size(), rf.Info.ModTime().Unix())
		if seen, err := b.cfg.Store.SeenRemote(ctx, conn.ID, remote); err != nil {
			return results, storeErr(err)
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
		sp.sync() //nolint:errcheck // the bytes were kept (or not) by then; this only ends the sync
		os.Remove(sp.Path)
		if err != nil {
			return results, storeErr(err)
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
	if conn.Kind == schema.ConnAPI {
		return b.testAPI(ctx, conn)
	}
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
