package webhook

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Schedule is the wait before each retry of an event, after the first
// attempt: about 27 hours in all, then the endpoint is disabled.
var Schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 10 * time.Hour}

// Store is what the dispatcher needs of a store (schema.Store has it):
// the endpoints and their delivery state, the event feed and the
// delivery log.
type Store interface {
	WebhookEndpoints(ctx context.Context, tenantID string) ([]schema.WebhookEndpoint, error)
	ClaimWebhookEndpoint(ctx context.Context, id, owner string, until time.Time) (bool, error)
	SaveWebhookState(ctx context.Context, w *schema.WebhookEndpoint) error
	Events(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]schema.Event, error)
	AppendEvent(ctx context.Context, e *schema.Event) error
	RecordDelivery(ctx context.Context, d *schema.WebhookDelivery) error
}

// Config configures a Dispatcher.
type Config struct {
	// Store holds endpoints, events and the delivery log. Required.
	Store Store
	// Owner names this replica for the delivery lease; default the host
	// name and process id.
	Owner string
	// Client sends the requests; default a 15 s timeout client that
	// refuses private and loopback addresses unless AllowPrivate.
	Client       *http.Client
	AllowPrivate bool
	// Interval between delivery rounds; default 1 s.
	Interval time.Duration
	// Concurrency is how many endpoints are delivered to at once, each
	// still in event order; default 16. A slow or dead receiver holds one
	// of them, not every other tenant's deliveries.
	Concurrency int
	// Schedule overrides the retry schedule (tests).
	Schedule []time.Duration
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Observe, when set, is told every delivery attempt (metrics).
	Observe func(d schema.WebhookDelivery)
}

// Dispatcher delivers the events outbox to webhook endpoints.
type Dispatcher struct {
	cfg   Config
	slots chan struct{} // Concurrency tokens
	mu    sync.Mutex
	busy  map[string]bool // endpoints being delivered to
	wg    sync.WaitGroup  // deliveries in flight
}

// New returns a Dispatcher.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, errors.New("webhook: Store is required")
	}
	host, _ := os.Hostname()
	cfg.Owner = cmp.Or(cfg.Owner, fmt.Sprintf("%s-%d", host, os.Getpid()))
	cfg.Interval = cmp.Or(cfg.Interval, time.Second)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Schedule == nil {
		cfg.Schedule = Schedule
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = safeClient(cfg.AllowPrivate)
	}
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 16)
	return &Dispatcher{cfg: cfg, slots: make(chan struct{}, cfg.Concurrency), busy: map[string]bool{}}, nil
}

// ErrPrivateURL is a webhook URL whose host is, or resolves to, a
// loopback, private, link-local or unspecified address.
var ErrPrivateURL = errors.New("webhook URL reaches a private address")

// privateIP reports whether a webhook may not reach ip.
func privateIP(ip net.IP) bool {
	return ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()
}

// CheckURL refuses, at registration, a URL whose host is or resolves to a
// private address (unless AllowPrivate): a tenant's webhook must not reach
// the appliance's neighbours. Delivery checks again after each DNS
// resolution, as a name may resolve elsewhere later.
func (d *Dispatcher) CheckURL(ctx context.Context, raw string) error {
	if d.cfg.AllowPrivate {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if privateIP(ip) {
			return fmt.Errorf("%w: %s (set webhooks_allow_private for receivers inside your network)", ErrPrivateURL, host)
		}
		return nil
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("webhook host %s does not resolve: %w", host, err)
	}
	for _, ip := range ips {
		if privateIP(ip) {
			return fmt.Errorf("%w: %s resolves to %s (set webhooks_allow_private for receivers inside your network)", ErrPrivateURL, host, ip)
		}
	}
	return nil
}

// safeClient refuses, at connect time (so DNS tricks do not help),
// addresses inside the appliance's networks: webhook URLs are tenant input.
func safeClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, _ := net.SplitHostPort(address)
		ip := net.ParseIP(host)
		if !allowPrivate && privateIP(ip) {
			return fmt.Errorf("webhook address %s is private; refused", host)
		}
		return nil
	}}
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Run delivers until ctx ends. Each round starts the due endpoints that
// are not already being delivered to, up to Concurrency at once, without
// waiting for the slow ones of the rounds before; when ctx ends it waits
// for the deliveries in flight.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	defer d.wg.Wait()
	for {
		if _, err := d.round(ctx, false); err != nil && ctx.Err() == nil {
			d.cfg.Logger.ErrorContext(ctx, "webhook round failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// DeliverDue makes one round and waits for it: for each enabled endpoint
// whose next attempt is due, and whose lease this replica holds, it sends
// the events after the last delivered one, in order, stopping at the
// first failure; endpoints are served concurrently (Concurrency). It
// returns the number of events delivered.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) { return d.round(ctx, true) }

func (d *Dispatcher) round(ctx context.Context, wait bool) (int, error) {
	eps, err := d.cfg.Store.WebhookEndpoints(ctx, "")
	if err != nil {
		return 0, err
	}
	var sent atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for i := range eps {
		ep := &eps[i]
		if !ep.Enabled || ep.NextAttemptAt != nil && ep.NextAttemptAt.After(d.cfg.Now()) {
			continue
		}
		d.mu.Lock()
		busy := d.busy[ep.ID]
		d.mu.Unlock()
		if busy {
			continue // still draining from an earlier round
		}
		ok, err := d.cfg.Store.ClaimWebhookEndpoint(ctx, ep.ID, d.cfg.Owner, d.cfg.Now().Add(time.Minute))
		if err != nil || !ok {
			continue
		}
		select {
		case d.slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return int(sent.Load()), ctx.Err()
		}
		d.mu.Lock()
		d.busy[ep.ID] = true
		d.mu.Unlock()
		wg.Add(1)
		d.wg.Add(1)
		go func() {
			defer func() {
				d.mu.Lock()
				delete(d.busy, ep.ID)
				d.mu.Unlock()
				<-d.slots
				wg.Done()
				d.wg.Done()
			}()
			n, err := d.drain(ctx, ep)
			sent.Add(int64(n))
			if err != nil && !wait && ctx.Err() == nil {
				d.cfg.Logger.ErrorContext(ctx, "webhook delivery failed", "endpoint", ep.ID, "error", err)
			}
			if err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		}()
	}
	if !wait {
		return 0, nil // the deliveries report through the log and the delivery log
	}
	wg.Wait()
	return int(sent.Load()), first
}

// drain sends an endpoint's pending events in order.
func (d *Dispatcher) drain(ctx context.Context, ep *schema.WebhookEndpoint) (int, error) {
	sent := 0
	for {
		events, err := d.cfg.Store.Events(ctx, ep.TenantID, ep.LastSeq, 100)
		if err != nil || len(events) == 0 {
			return sent, err
		}
		for _, ev := range events {
			if !ep.Wants(ev.Type) {
				ep.LastSeq = ev.Seq
				continue
			}
			if ok := d.attempt(ctx, ep, ev); !ok {
				return sent, d.cfg.Store.SaveWebhookState(ctx, ep)
			}
			sent++
		}
		if err := d.cfg.Store.SaveWebhookState(ctx, ep); err != nil {
			return sent, err
		}
	}
}

// message is the Standard Webhooks payload: thin, with ids to fetch the
// rest through the (audited) API.
type message struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// attempt sends one event and updates the endpoint's state: on success it
// advances past the event; on failure it schedules the next attempt, or
// disables the endpoint when the schedule is spent or it answered 410.
func (d *Dispatcher) attempt(ctx context.Context, ep *schema.WebhookEndpoint, ev schema.Event) bool {
	status, dur, err := d.send(ctx, ep, ev)
	ep.Attempt++
	del := schema.WebhookDelivery{TenantID: ep.TenantID, EndpointID: ep.ID, EventSeq: ev.Seq, EventID: ev.ID, Attempt: ep.Attempt,
		Status: "succeeded", ResponseStatus: status, DurationMS: int(dur.Milliseconds())}
	if err != nil {
		del.Status, del.Error = "failed", err.Error()
	}
	if rerr := d.recordDelivery(ctx, &del); rerr != nil {
		d.cfg.Logger.ErrorContext(ctx, "webhook delivery log failed", "error", rerr)
	}
	if d.cfg.Observe != nil {
		d.cfg.Observe(del)
	}
	now := d.cfg.Now()
	if err == nil {
		ep.LastSeq, ep.Attempt, ep.NextAttemptAt, ep.FailingSince = ev.Seq, 0, nil, nil
		return true
	}
	if ep.FailingSince == nil {
		ep.FailingSince = &now
	}
	if status == http.StatusGone || ep.Attempt > len(d.cfg.Schedule) {
		d.disable(ctx, ep, fmt.Sprintf("%d attempts at event %s failed since %s; last: %v", ep.Attempt, ev.ID, ep.FailingSince.Format(time.RFC3339), err))
		return false
	}
	next := now.Add(d.cfg.Schedule[ep.Attempt-1])
	ep.NextAttemptAt = &next
	d.cfg.Logger.WarnContext(ctx, "webhook delivery failed", "endpoint", ep.ID, "event", ev.ID, "attempt", ep.Attempt, "next", next, "error", err)
	return false
}

func (d *Dispatcher) disable(ctx context.Context, ep *schema.WebhookEndpoint, reason string) {
	ep.Enabled, ep.DisabledReason, ep.NextAttemptAt = false, reason, nil
	data, _ := json.Marshal(map[string]string{"endpoint_id": ep.ID, "url": ep.URL, "reason": reason})
	if err := d.cfg.Store.AppendEvent(ctx, &schema.Event{TenantID: ep.TenantID, Type: "webhook.endpoint_disabled", Subject: ep.ID, Data: data}); err != nil {
		d.cfg.Logger.ErrorContext(ctx, "webhook notice failed", "error", err)
	}
	d.cfg.Logger.ErrorContext(ctx, "webhook endpoint disabled", "endpoint", ep.ID, "reason", reason)
}

// send POSTs one event; only a 2xx answer is a success.
func (d *Dispatcher) send(ctx context.Context, ep *schema.WebhookEndpoint, ev schema.Event) (int, time.Duration, error) {
	start := time.Now()
	body, _ := json.Marshal(message{Type: ev.Type, Timestamp: ev.OccurredAt.UTC(), Data: ev.Data})
	ts := d.cfg.Now().Unix()
	sig, err := Sign(ep.Secret, ev.ID, ts, body)
	if err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hrisbridge-webhooks/1")
	req.Header.Set("webhook-id", ev.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return 0, time.Since(start), err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, time.Since(start), fmt.Errorf("endpoint answered %s", resp.Status)
	}
	return resp.StatusCode, time.Since(start), nil
}

// Replay sends one event to an endpoint now, out of band (its place in the
// ordered stream is unchanged), and logs the attempt.
func (d *Dispatcher) Replay(ctx context.Context, ep schema.WebhookEndpoint, ev schema.Event) (schema.WebhookDelivery, error) {
	status, dur, err := d.send(ctx, &ep, ev)
	del := schema.WebhookDelivery{TenantID: ep.TenantID, EndpointID: ep.ID, EventSeq: ev.Seq, EventID: ev.ID, Status: "succeeded",
		ResponseStatus: status, DurationMS: int(dur.Milliseconds())}
	if err != nil {
		del.Status, del.Error = "failed", err.Error()
	}
	if rerr := d.recordDelivery(ctx, &del); rerr != nil {
		return del, rerr
	}
	return del, err
}

// recordDelivery writes a delivery to the log, retrying for up to a
// minute: the delivery happened, and the log must say so even while the
// embedded store is busy with a long ingest (its write lock outlasts one
// busy timeout).
func (d *Dispatcher) recordDelivery(ctx context.Context, del *schema.WebhookDelivery) error {
	wait := 500 * time.Millisecond
	deadline := time.Now().Add(time.Minute)
	for {
		err := d.cfg.Store.RecordDelivery(ctx, del)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 8*time.Second)
	}
}
