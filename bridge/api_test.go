package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge/connector/mockhris"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

type apiFixture struct {
	t    *testing.T
	s    schema.Store
	b    *Bridge
	mock *mockhris.Server
	url  string
	conn schema.Connection
}

// newAPI starts the mock HRIS with n employees and makes a tenant with an
// API connection of the connector named (bamboohr or gusto) to it.
func newAPI(t *testing.T, s schema.Store, connector string, n int) *apiFixture {
	t.Helper()
	mock := mockhris.New(n)
	srv := httptest.NewServer(mock)
	t.Cleanup(srv.Close)
	b, err := New(Config{Store: s, Box: storetest.Box(t), SpoolDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		RetryBase: time.Millisecond, Retries: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tn := schema.Tenant{Slug: "acme-" + connector, Name: "Acme"}
	if err := s.CreateTenant(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	nc := NewConnection{Name: connector, Kind: schema.ConnAPI, Layout: connector}
	switch connector {
	case "bamboohr":
		nc.Config = map[string]any{"params": map[string]any{"company": mockhris.Company}, "base_url": srv.URL + "/api/gateway.php/{company}/v1"}
		nc.Secret = map[string]string{"api_key": mockhris.APIKey}
	case "gusto":
		access, refresh, exp := mock.Grant()
		nc.Config = map[string]any{"params": map[string]any{"company_id": mockhris.CompanyID}, "base_url": srv.URL}
		nc.Secret = map[string]string{"client_id": mockhris.ClientID, "client_secret": mockhris.ClientSecret,
			"access_token": access, "refresh_token": refresh, "expiry": exp.UTC().Format(time.RFC3339)}
	}
	nc.Config["requests_per_second"] = 1000 // the definitions' budgets would slow the tests
	conn, err := b.CreateConnection(ctx, tn.ID, nc)
	if err != nil {
		t.Fatal(err)
	}
	return &apiFixture{t: t, s: s, b: b, mock: mock, url: srv.URL, conn: conn}
}

func (f *apiFixture) sync() (schema.SyncRun, []Result, error) {
	f.t.Helper()
	c, err := f.s.Connection(context.Background(), f.conn.TenantID, f.conn.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.b.Sync(context.Background(), c, schema.TriggerManual)
}

func (f *apiFixture) employees() map[string]schema.Employee {
	f.t.Helper()
	es, err := f.s.Employees(context.Background(), f.conn.TenantID, schema.EmployeeQuery{Limit: 100000})
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]schema.Employee{}
	for _, e := range es {
		out[e.ExternalID] = e
	}
	return out
}

func (f *apiFixture) secret() map[string]string {
	f.t.Helper()
	src, _, err := f.b.source(context.Background(), f.mustConn())
	if err != nil {
		f.t.Fatal(err)
	}
	return src.Secret
}

func (f *apiFixture) mustConn() schema.Connection {
	c, err := f.s.Connection(context.Background(), f.conn.TenantID, f.conn.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// TestAPIFullThenIncremental: the first sync of a BambooHR-shaped API
// stores everyone as the connection's baseline; the next asks only for
// what changed since (lastChanged) and writes just that.
func TestAPIFullThenIncremental(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := newAPI(t, s, "bamboohr", 25)
		run, res, err := f.sync()
		if err != nil || run.Status != schema.RunSucceeded || len(res) != 2 || res[0].File.Created != 25 || res[1].File.Created != 9+5 {
			t.Fatalf("first sync: %v %+v %+v", err, run, res)
		}
		deps, err := s.Dependents(context.Background(), f.conn.TenantID, schema.ListQuery{Limit: 100})
		if err != nil || len(deps) != 14 {
			t.Fatalf("dependents: %v, %d", err, len(deps))
		}
		e := f.employees()["E00003"]
		if e.FirstName != "First3" || e.HireDate == "" || e.EmploymentStatus != "active" || e.AnnualSalary == nil || e.CustomFields["division"] != "North" {
			t.Fatalf("E00003 = %+v", e)
		}
		f.mock.Update(2, func(e *mockhris.Employee) { e.Title = "Senior Analyst" })
		f.mock.Update(4, func(e *mockhris.Employee) { e.Status, e.Term = "terminated", "2026-11-30" })
		run, res, err = f.sync()
		if err != nil || run.Status != schema.RunSucceeded || res[0].File.Rows != 2 || res[0].File.Updated != 2 || res[0].Missing != 0 || res[1].File.Status != schema.FileDuplicate {
			t.Fatalf("incremental sync: %v %+v %+v", err, run, res)
		}
		got := f.employees()
		if got["E00003"].JobTitle != "Senior Analyst" || got["E00005"].EmploymentStatus != "terminated" || got["E00005"].TerminationDate != "2026-11-30" || len(got) != 25 {
			t.Fatalf("after the incremental sync: E00003 %q, E00005 %s %s, %d employees", got["E00003"].JobTitle, got["E00005"].EmploymentStatus, got["E00005"].TerminationDate, len(got))
		}
		evs, _ := s.Events(context.Background(), f.conn.TenantID, 0, 100)
		var types []string
		for _, ev := range evs {
			types = append(types, ev.Type)
		}
		// Each entity's first read is its baseline (employees, dependents);
		// per-record events follow.
		if fmt.Sprint(types) != "[sync.baseline sync.baseline sync.completed employee.updated employee.terminated sync.completed]" {
			t.Fatalf("events = %v", types)
		}
	})
}

// TestAPIOAuthRotatingRefresh: an access token that expired mid-life is
// refreshed once, the rotated refresh token is stored sealed before use,
// and eight syncs at once on two replicas refresh once between them
// (a rotated refresh token presented twice would lock the connection out).
func TestAPIOAuthRotatingRefresh(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := newAPI(t, s, "gusto", 250)
		before := f.secret()["refresh_token"]
		f.mock.ExpireTokens()
		run, res, err := f.sync()
		if err != nil || run.Status != schema.RunSucceeded || len(res) != 2 || res[1].File.Created != 250 {
			t.Fatalf("sync: %v %+v %+v", err, run, res)
		}
		if st := f.mock.Stats(); st.Refreshes != 1 || st.Reuses != 0 {
			t.Fatalf("refreshes = %+v, want 1", st)
		}
		if after := f.secret()["refresh_token"]; after == before || after == "" {
			t.Fatal("the rotated refresh token was not stored")
		}
		if plans := len(listPlans(t, s, f.conn.TenantID)); plans != 2 {
			t.Fatalf("%d plans, want 2", plans)
		}

		replica, err := New(Config{Store: s, Box: f.b.cfg.Box, SpoolDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), RetryBase: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		f.mock.ExpireTokens()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			b := f.b
			if i%2 == 1 {
				b = replica
			}
			wg.Go(func() {
				_, _, err := b.Sync(context.Background(), f.mustConn(), schema.TriggerManual)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		ran := 0
		for err := range errs {
			switch {
			case err == nil:
				ran++
			case !errors.Is(err, ErrBusy):
				t.Fatalf("concurrent sync: %v", err)
			}
		}
		if st := f.mock.Stats(); ran == 0 || st.Reuses != 0 || st.Refreshes < 2 || st.Refreshes > 1+ran {
			t.Fatalf("%d syncs ran; mock %+v: a refresh token was used twice or not refreshed", ran, st)
		}
	})
}

func listPlans(t *testing.T, s schema.Store, tenantID string) []schema.BenefitPlan {
	ps, err := s.BenefitPlans(context.Background(), tenantID, schema.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestAPIFaults: a 429 storm is waited out; a 500 on page 7 of 10 fails
// the run with its code and applies nothing; a renamed required field is
// drift; a revoked grant fails the run for good and the connection's
// health says the authorization expired.
func TestAPIFaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := newAPI(t, s, "gusto", 1000)
		f.mock.SetFaults(mockhris.Faults{FailPage: 7})
		run, _, err := f.sync()
		if err == nil || run.Status != schema.RunFailed || run.ErrorCode != schema.ECodeAPIUnavailable {
			t.Fatalf("a 500 on page 7: %v %+v", err, run)
		}
		if n := len(f.employees()); n != 0 {
			t.Fatalf("%d employees applied from a sync that missed a page", n)
		}

		f.mock.SetFaults(mockhris.Faults{RateLimited: 8})
		run, res, err := f.sync()
		if err != nil || run.Status != schema.RunSucceeded || res[1].File.Created != 1000 {
			t.Fatalf("after a 429 storm: %v %+v %+v", err, run, res)
		}

		f.mock.SetFaults(mockhris.Faults{Rename: map[string]string{"last_name": "surname"}})
		run, _, err = f.sync()
		if err == nil || run.ErrorCode != schema.ECodeAPIDrift {
			t.Fatalf("a renamed field: %v %+v", err, run)
		}
		if e := f.employees()[mockhris.GustoID("E00001")]; e.LastName != "Last1" {
			t.Fatalf("drift changed E00001: %+v", e)
		}
		// With policy.drift hold, the read waits for an operator instead.
		cfg := `{"params": {"company_id": "` + mockhris.CompanyID + `"}, "base_url": "` + f.url + `", "requests_per_second": 1000, "policy": {"drift": "hold"}}`
		if err := s.UpdateConnectionConfig(context.Background(), f.conn.TenantID, f.conn.ID, []byte(cfg)); err != nil {
			t.Fatal(err)
		}
		run, res, err = f.sync()
		if err != nil || run.Status != schema.RunSucceeded || len(res) != 2 || res[1].File.Status != schema.FileHeld || !strings.Contains(res[1].File.Detail, "last_name") {
			t.Fatalf("drift held: %v %+v %+v", err, run, res)
		}
		heldID := res[1].File.ID
		if _, res, err = f.sync(); err != nil || res[1].File.Status != schema.FileDuplicate {
			t.Fatalf("the same drifted read again: %v %+v", err, res)
		}
		// Its bytes were kept: an operator can release it.
		if rel, err := f.b.Release(context.Background(), f.conn.TenantID, heldID, false); err != nil {
			t.Fatalf("release the drifted read: %v %+v", err, rel)
		}

		f.mock.SetFaults(mockhris.Faults{})
		f.mock.Revoke()
		f.mock.ExpireTokens()
		run, _, err = f.sync()
		if err == nil || run.Status != schema.RunFailed || run.ErrorCode != schema.ECodeAPIAuth || run.Attempt > 1 {
			t.Fatalf("a revoked grant: %v %+v", err, run)
		}
		h, err := f.b.Health(context.Background(), f.mustConn())
		if err != nil || h.State != schema.HealthAuthExpired || h.Code != schema.ECodeAPIAuth || h.Fix == "" {
			t.Fatalf("health = %+v, %v", h, err)
		}
	})
}

// TestAPITokenDiesMidSyncAndShrinkHolds: an access token the provider
// kills after the third page is refreshed once and the sync completes;
// a full read that lost half the people is held like a shrunk file and
// changes nothing.
func TestAPITokenDiesMidSyncAndShrinkHolds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		f := newAPI(t, s, "gusto", 1000)
		f.mock.SetFaults(mockhris.Faults{ExpireAfter: 4}) // benefits, then pages 1-3
		run, res, err := f.sync()
		if err != nil || run.Status != schema.RunSucceeded || res[1].File.Created != 1000 {
			t.Fatalf("sync: %v %+v", err, run)
		}
		if st := f.mock.Stats(); st.Refreshes != 1 || st.Reuses != 0 {
			t.Fatalf("mock %+v, want one refresh", st)
		}
		f.mock.SetFaults(mockhris.Faults{})
		f.mock.Truncate(500)
		_, res, err = f.sync()
		if err != nil || len(res) != 2 || res[1].File.Status != schema.FileHeld || !strings.Contains(res[1].File.Detail, "shrank from 1000 to 500") {
			t.Fatalf("a read that lost half: %v %+v", err, res)
		}
		if n := len(f.employees()); n != 1000 {
			t.Fatalf("%d employees after a held read", n)
		}
		for _, e := range f.employees() {
			if e.MissingFromSnapshot {
				t.Fatalf("a held read flagged %s missing", e.ExternalID)
			}
		}
	})
}
