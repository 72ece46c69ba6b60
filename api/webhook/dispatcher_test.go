package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge/faultproxy"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
	"github.com/hrisbridge/hrisbridge/schema/sqlite"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestSignMatchesSpecVector checks Sign against the Standard Webhooks
// example signature.
func TestSignMatchesSpecVector(t *testing.T) {
	got, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; err != nil || got != want {
		t.Fatalf("Sign = %q, %v; want %q", got, err, want)
	}
}

// verify is an independent receiver-side check of the Standard Webhooks
// scheme, written from the spec: HMAC-SHA256 over "id.timestamp.body" with
// the base64-decoded secret, compared in constant time, within 5 minutes.
func verify(secret string, h http.Header, body []byte) error {
	return verifyAt(secret, h, body, time.Now())
}

// verifyAt is verify by a receiver whose clock reads now.
func verifyAt(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return fmt.Errorf("timestamp %q out of tolerance", h.Get("webhook-timestamp"))
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		v, b64, _ := strings.Cut(sig, ",")
		got, _ := base64.StdEncoding.DecodeString(b64)
		if v == "v1" && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no valid signature")
}

// receiver is a real HTTP endpoint that verifies and records deliveries,
// and can be told to fail.
type receiver struct {
	mu     sync.Mutex
	secret string
	down   bool
	status int
	failAt int      // when > 0, the delivery that would be accepted as this many-th fails once
	ids    []string // webhook-id of each accepted delivery, in order
	types  []string
	bad    int
	srv    *httptest.Server
	// now is the receiver's clock (the dispatcher's, when a test moves
	// it); default time.Now.
	now func() time.Time
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.down || r.failAt > 0 && len(r.ids)+1 == r.failAt {
			r.failAt = 0
			w.WriteHeader(cmpOr(r.status, http.StatusServiceUnavailable))
			return
		}
		now := time.Now()
		if r.now != nil {
			now = r.now()
		}
		if err := verifyAt(r.secret, req.Header, body, now); err != nil {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		json.Unmarshal(body, &m)
		r.ids = append(r.ids, req.Header.Get("webhook-id"))
		r.types = append(r.types, m.Type)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func (r *receiver) set(down bool, status int) {
	r.mu.Lock()
	r.down, r.status = down, status
	r.mu.Unlock()
}
func (r *receiver) got() ([]string, []string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...), append([]string(nil), r.types...), r.bad
}

type fixture struct {
	s     schema.Store
	d     *Dispatcher
	ep    schema.WebhookEndpoint
	r     *receiver
	clock time.Time
}

func setup(t *testing.T, s schema.Store, types []string) *fixture {
	ctx := context.Background()
	tn := schema.Tenant{Slug: "acme", Name: "Acme"}
	s.CreateTenant(ctx, &tn)
	r := newReceiver(t)
	f := &fixture{s: s, r: r, clock: time.Now()}
	f.ep = schema.WebhookEndpoint{TenantID: tn.ID, URL: r.srv.URL + "/hooks", EventTypes: types, Secret: NewSecret()}
	r.secret = f.ep.Secret
	if err := s.CreateWebhookEndpoint(ctx, &f.ep); err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Store: s, AllowPrivate: true, Now: func() time.Time { return f.clock },
		Schedule: []time.Duration{time.Minute, time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	f.d = d
	return f
}

func (f *fixture) emit(t *testing.T, typ string) schema.Event {
	e := schema.Event{TenantID: f.ep.TenantID, Type: typ, Subject: "x", Data: []byte(`{"n":1}`)}
	if err := f.s.AppendEvent(context.Background(), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestDeliveryIsSignedOrderedAndFiltered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := setup(t, s, []string{"employee.*"})
		var want []string
		for i := range 5 {
			e := f.emit(t, "employee.hired")
			want = append(want, e.ID)
			if i == 2 {
				f.emit(t, "enrollment.added") // filtered out
			}
		}
		if n, err := f.d.DeliverDue(context.Background()); err != nil || n != 5 {
			t.Fatalf("DeliverDue = %d, %v", n, err)
		}
		ids, types, bad := f.r.got()
		if fmt.Sprint(ids) != fmt.Sprint(want) || bad != 0 || types[0] != "employee.hired" {
			t.Fatalf("received %v (bad signatures %d), want %v in order", ids, bad, want)
		}
		if n, _ := f.d.DeliverDue(context.Background()); n != 0 {
			t.Fatalf("a second round re-sent %d events", n)
		}
		dels, _ := s.WebhookDeliveries(context.Background(), f.ep.TenantID, schema.ListQuery{Limit: 100})
		if len(dels) != 5 || dels[0].Status != "succeeded" || dels[0].ResponseStatus != 204 {
			t.Fatalf("delivery log = %+v", dels)
		}
	})
}

func TestRetriesAfterDowntimeLoseNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		f := setup(t, s, nil)
		f.r.set(true, 503)
		a, b := f.emit(t, "employee.hired"), f.emit(t, "employee.updated")
		f.d.DeliverDue(ctx)
		if ids, _, _ := f.r.got(); len(ids) != 0 {
			t.Fatal("delivered while the receiver was down")
		}
		// Not due yet: nothing is tried.
		f.r.set(false, 0)
		f.d.DeliverDue(ctx)
		if ids, _, _ := f.r.got(); len(ids) != 0 {
			t.Fatal("retried before the backoff elapsed")
		}
		f.clock = f.clock.Add(2 * time.Minute)
		c := f.emit(t, "employee.terminated")
		f.d.DeliverDue(ctx)
		ids, _, _ := f.r.got()
		if fmt.Sprint(ids) != fmt.Sprint([]string{a.ID, b.ID, c.ID}) {
			t.Fatalf("after recovery received %v, want all three in order", ids)
		}
		dels, _ := s.WebhookDeliveries(ctx, f.ep.TenantID, schema.ListQuery{Limit: 10})
		if len(dels) != 4 || dels[3].Status != "failed" || dels[3].ResponseStatus != 503 {
			t.Fatalf("log = %+v", dels)
		}
	})
}

func TestSustainedFailureDisables(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	f := setup(t, s, nil)
	f.r.set(true, 500)
	f.emit(t, "employee.hired")
	for range 3 { // the first attempt and two retries of the schedule
		f.d.DeliverDue(ctx)
		f.clock = f.clock.Add(2 * time.Hour)
	}
	eps, _ := s.WebhookEndpoints(ctx, f.ep.TenantID)
	if eps[0].Enabled || eps[0].DisabledReason == "" {
		t.Fatalf("endpoint after the schedule = %+v, want disabled", eps[0])
	}
	evs, _ := s.Events(ctx, f.ep.TenantID, 0, 10)
	if last := evs[len(evs)-1]; last.Type != "webhook.endpoint_disabled" {
		t.Fatalf("no notice event: last is %s", last.Type)
	}
	f.r.set(false, 0)
	f.clock = f.clock.Add(time.Hour)
	f.d.DeliverDue(ctx)
	if ids, _, _ := f.r.got(); len(ids) != 0 {
		t.Fatal("a disabled endpoint got deliveries")
	}
}

func TestGoneDisablesAtOnce(t *testing.T) {
	s := openSQLite(t)
	f := setup(t, s, nil)
	f.r.set(true, http.StatusGone)
	f.emit(t, "employee.hired")
	f.d.DeliverDue(context.Background())
	if eps, _ := s.WebhookEndpoints(context.Background(), f.ep.TenantID); eps[0].Enabled {
		t.Fatal("410 Gone did not disable the endpoint")
	}
}

func TestPrivateAddressesRefusedByDefault(t *testing.T) {
	s := openSQLite(t)
	f := setup(t, s, nil)
	d, _ := New(Config{Store: s, Now: func() time.Time { return f.clock }})
	f.emit(t, "employee.hired")
	d.DeliverDue(context.Background())
	dels, _ := s.WebhookDeliveries(context.Background(), f.ep.TenantID, schema.ListQuery{Limit: 10})
	if len(dels) != 1 || !strings.Contains(dels[0].Error, "private") {
		t.Fatalf("delivery to 127.0.0.1 = %+v, want refused", dels)
	}
}

// BenchmarkDeliver measures signed deliveries per second from the outbox
// to a local receiver that verifies every signature, in order, on one
// endpoint (each b.N iteration delivers 500 events).
func BenchmarkDeliver(b *testing.B) {
	dir := b.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "hb.db"), storetest.Box(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Migrate(context.Background())
	tn := schema.Tenant{Slug: "acme", Name: "Acme"}
	s.CreateTenant(context.Background(), &tn)
	secret := NewSecret()
	var got int
	var mu sync.Mutex
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if verify(secret, r.Header, body) != nil {
			w.WriteHeader(401)
			return
		}
		mu.Lock()
		got++
		mu.Unlock()
	}))
	defer rcv.Close()
	ep := schema.WebhookEndpoint{TenantID: tn.ID, URL: rcv.URL, Secret: secret}
	s.CreateWebhookEndpoint(context.Background(), &ep)
	d, _ := New(Config{Store: s, AllowPrivate: true})
	const perIter = 500
	var sent int
	for b.Loop() {
		b.StopTimer()
		for range perIter {
			s.AppendEvent(context.Background(), &schema.Event{TenantID: tn.ID, Type: "employee.updated", Subject: "x", Data: []byte(`{"employee_id":"x"}`)})
		}
		b.StartTimer()
		n, err := d.DeliverDue(context.Background())
		if err != nil || n != perIter {
			b.Fatalf("delivered %d, %v", n, err)
		}
		sent += n
	}
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "deliveries/s")
	if got != sent {
		b.Fatalf("receiver verified %d of %d", got, sent)
	}
}

// TestHiresOfALoadDeliveredOnce: the hires of one file (which the
// PostgreSQL store keeps in blocks) are delivered one webhook each, in
// feed order, once, also across a failure in the middle of a block.
func TestHiresOfALoadDeliveredOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		f := setup(t, s, []string{"employee.hired"})
		conn := schema.Connection{TenantID: f.ep.TenantID, Name: "payroll", Kind: schema.ConnDropbox, Layout: "census-csv", Enabled: true}
		if err := s.CreateConnection(ctx, &conn); err != nil {
			t.Fatal(err)
		}
		const hires = 250
		emps := make([]*schema.Employee, hires)
		for i := range hires {
			emps[i] = &schema.Employee{TenantID: conn.TenantID, ConnectionID: conn.ID, ExternalID: fmt.Sprintf("E%03d", i),
				FirstName: "A", LastName: "B", EmploymentStatus: schema.StatusActive}
		}
		storetest.Apply(t, s, conn, "sha-hires", emps...)
		feed, err := s.Events(ctx, conn.TenantID, 0, 1000)
		if err != nil || len(feed) != hires {
			t.Fatalf("feed: %d events, %v", len(feed), err)
		}
		var want []string
		for _, e := range feed {
			want = append(want, e.ID)
		}
		f.r.failAt = 130    // past the first page of 100, inside the block
		f.d.DeliverDue(ctx) //nolint:errcheck
		if ids, _, _ := f.r.got(); len(ids) != 129 {
			t.Fatalf("before the failure: %d delivered, want 129", len(ids))
		}
		f.clock = f.clock.Add(2 * time.Minute)
		if _, err := f.d.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		ids, types, bad := f.r.got()
		if fmt.Sprint(ids) != fmt.Sprint(want) || bad != 0 || types[hires-1] != "employee.hired" {
			t.Fatalf("received %d (bad signatures %d), want the feed's %d hires, in order, once", len(ids), bad, hires)
		}
	})
}

// busyLog refuses the first writes to the delivery log, as an embedded
// store whose write lock an ingest holds does.
type busyLog struct {
	schema.Store
	refuse int
}

func (b *busyLog) RecordDelivery(ctx context.Context, d *schema.WebhookDelivery) error {
	if b.refuse > 0 {
		b.refuse--
		return errors.New("database is locked (SQLITE_BUSY)")
	}
	return b.Store.RecordDelivery(ctx, d)
}

// TestDeliveryLogSurvivesABusyStore: a delivery whose log write is
// refused for a while is still in the log.
func TestDeliveryLogSurvivesABusyStore(t *testing.T) {
	s := storetest.SQLite(t)
	f := setup(t, s, nil)
	busy := &busyLog{Store: s, refuse: 2}
	d, err := New(Config{Store: busy, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	ev := f.emit(t, "employee.updated")
	if n, err := d.DeliverDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("delivered %d, %v", n, err)
	}
	dels, _ := s.WebhookDeliveries(context.Background(), f.ep.TenantID, schema.ListQuery{Limit: 10})
	if len(dels) != 1 || dels[0].EventID != ev.ID || dels[0].Status != "succeeded" {
		t.Fatalf("delivery log = %+v", dels)
	}
}

// TestSlowReceiversDoNotHoldOthers: 200 endpoints, 10 of which hang: the
// 190 others get every event, in order, while the 10 are still hanging;
// once they answer, they get theirs too, in order.
func TestSlowReceiversDoNotHoldOthers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		release := make(chan struct{})
		var mu sync.Mutex
		got := map[string][]string{} // endpoint path -> event ids in arrival order
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/slow/") {
				<-release
			}
			mu.Lock()
			got[r.URL.Path] = append(got[r.URL.Path], r.Header.Get("webhook-id"))
			mu.Unlock()
		}))
		defer srv.Close()
		defer func() {
			select {
			case <-release:
			default:
				close(release)
			}
		}()
		var tenants []schema.Tenant
		for i := range 200 {
			tn := schema.Tenant{Slug: fmt.Sprintf("t%03d", i), Name: "t"}
			if err := s.CreateTenant(ctx, &tn); err != nil {
				t.Fatal(err)
			}
			path := fmt.Sprintf("/fast/%d", i)
			if i%20 == 0 {
				path = fmt.Sprintf("/slow/%d", i)
			}
			ep := schema.WebhookEndpoint{TenantID: tn.ID, URL: srv.URL + path, Secret: NewSecret()}
			if err := s.CreateWebhookEndpoint(ctx, &ep); err != nil {
				t.Fatal(err)
			}
			tenants = append(tenants, tn)
		}
		want := map[string][]string{}
		for i, tn := range tenants {
			for range 3 {
				e := schema.Event{TenantID: tn.ID, Type: "employee.hired", Subject: "x", Data: []byte(`{}`)}
				if err := s.AppendEvent(ctx, &e); err != nil {
					t.Fatal(err)
				}
				path := fmt.Sprintf("/fast/%d", i)
				if i%20 == 0 {
					path = fmt.Sprintf("/slow/%d", i)
				}
				want[path] = append(want[path], e.ID)
			}
		}
		d, err := New(Config{Store: s, AllowPrivate: true, Interval: 10 * time.Millisecond, Concurrency: 16})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- d.Run(runCtx) }()
		complete := func(prefix string) bool {
			mu.Lock()
			defer mu.Unlock()
			for path, ids := range want {
				if strings.HasPrefix(path, prefix) && len(got[path]) < len(ids) {
					return false
				}
			}
			return true
		}
		storetest.WaitUntil(t, 60*time.Second, func() bool { return complete("/fast/") }, "the fast receivers did not get their events while the slow ones hung")
		t.Logf("570 events to 190 receivers in %s while 10 hung", time.Since(start).Round(time.Millisecond))
		mu.Lock()
		slowSoFar := 0
		for path := range got {
			if strings.HasPrefix(path, "/slow/") {
				slowSoFar++
			}
		}
		mu.Unlock()
		if slowSoFar != 0 {
			t.Fatalf("a hanging receiver answered")
		}
		close(release)
		storetest.WaitUntil(t, 60*time.Second, func() bool { return complete("/slow/") }, "the slow receivers did not get their events once they answered")
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for path, ids := range want {
			if fmt.Sprint(got[path][:len(ids)]) != fmt.Sprint(ids) {
				t.Fatalf("%s got %v, want %v in order", path, got[path], ids)
			}
		}
	})
}

// TestFaultReceiverDownSixHours: the receiver's host is unreachable
// (connections reset, through a fault proxy) for six hours of the
// dispatcher's clock while events keep coming; back, it receives every
// event, in order, and a receiver that dedupes by webhook-id sees each
// once.
func TestFaultReceiverDownSixHours(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		f := setup(t, s, nil)
		// The receiver, reached through the proxy.
		p := faultproxy.Start(t, strings.TrimPrefix(f.r.srv.URL, "http://"))
		if err := s.DeleteWebhookEndpoint(ctx, f.ep.TenantID, f.ep.ID); err != nil {
			t.Fatal(err)
		}
		f.ep = schema.WebhookEndpoint{TenantID: f.ep.TenantID, URL: "http://" + p.Addr + "/hooks", Secret: NewSecret()}
		f.r.mu.Lock()
		f.r.secret, f.r.now = f.ep.Secret, func() time.Time { return f.clock }
		f.r.mu.Unlock()
		if err := s.CreateWebhookEndpoint(ctx, &f.ep); err != nil {
			t.Fatal(err)
		}
		d, err := New(Config{Store: s, AllowPrivate: true, Now: func() time.Time { return f.clock }}) // the production schedule
		if err != nil {
			t.Fatal(err)
		}
		p.Down(true)
		var want []string
		start := f.clock
		for f.clock.Sub(start) < 6*time.Hour {
			if f.clock.Sub(start)%(30*time.Minute) == 0 {
				want = append(want, f.emit(t, "employee.updated").ID)
			}
			d.DeliverDue(ctx)
			f.clock = f.clock.Add(time.Minute)
		}
		if ids, _, _ := f.r.got(); len(ids) != 0 {
			t.Fatalf("delivered through a dead link: %v", ids)
		}
		p.Down(false)
		for range 24 * 60 { // at most a day more of the clock
			d.DeliverDue(ctx)
			if ids, _, _ := f.r.got(); len(ids) >= len(want) {
				break
			}
			f.clock = f.clock.Add(time.Minute)
		}
		ids, _, _ := f.r.got()
		seen := map[string]bool{}
		var unique []string
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				unique = append(unique, id)
			}
		}
		if fmt.Sprint(unique) != fmt.Sprint(want) {
			t.Fatalf("after the outage the receiver has %d events %v, want the %d in order %v", len(unique), unique, len(want), want)
		}
		eps, _ := s.WebhookEndpoints(ctx, f.ep.TenantID)
		if !eps[0].Enabled || eps[0].FailingSince != nil {
			t.Fatalf("endpoint after recovery = %+v", eps[0])
		}
	})
}
