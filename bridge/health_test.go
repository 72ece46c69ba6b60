package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

func censusOf(n int) string {
	var b strings.Builder
	b.WriteString("Employee ID,First Name,Last Name,DOB,SSN,Status,Hire Date,Term Date\n")
	for i := range n {
		fmt.Fprintf(&b, "E%d,First,Last,12/10/1985,123-45-%04d,A,2020-01-06,\n", i, 1000+i)
	}
	return b.String()
}

// TestConnectionHealth walks a connection through each health finding and
// back, checking the state, code, fix and the events on both stores.
func TestConnectionHealth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		f := setup(t, s, SFTPConfig{Dir: "outbound", Ack: "delete", ExpectFileEvery: 2})
		check := func(step, state, code string) {
			t.Helper()
			c, err := s.Connection(ctx, f.conn.TenantID, f.conn.ID)
			if err != nil {
				t.Fatal(err)
			}
			h := c.Health
			if h.State != state || h.Code != code || (code != "" && (h.Fix == "" || h.Reason == "" || h.Since == nil)) {
				t.Fatalf("%s: health = %+v; want %s %s", step, h, state, code)
			}
		}
		sync := func(trigger string) {
			t.Helper()
			if _, _, err := f.bridge.Sync(ctx, f.conn, trigger); err != nil {
				t.Fatal(err)
			}
		}
		f.drop(t, "c1.csv", censusOf(10))
		sync(schema.TriggerScheduled)
		check("a good file", schema.HealthHealthy, "")

		sync(schema.TriggerScheduled)
		check("one empty scheduled run", schema.HealthHealthy, "")
		sync(schema.TriggerManual)
		check("a manual run does not count", schema.HealthHealthy, "")
		sync(schema.TriggerScheduled)
		check("two empty scheduled runs with expect_file_every 2", schema.HealthDegraded, schema.ECodeNoFile)

		f.drop(t, "c2.csv", censusOf(3)) // 10 -> 3 people: held
		sync(schema.TriggerScheduled)
		check("a snapshot that shrank", schema.HealthDegraded, schema.ECodeShrink)

		f.drop(t, "c3.csv", "Employee ID,First Name,Last Name,DOB,SSN,Status,Hire Date,Term Date\nE1,,X,12/10/1985,,A,2020-01-06,\nE2,,Y,12/10/1985,,A,2020-01-06,\n")
		sync(schema.TriggerScheduled)
		check("a rejected file", schema.HealthDegraded, schema.ECodeFileRejected)

		f.drop(t, "c4.csv", censusOf(10)+"E99,New,Hire,1/1/1990,123-45-9999,A,2026-11-01,\n")
		sync(schema.TriggerScheduled)
		check("a good file again", schema.HealthHealthy, "")

		// Failed runs: degraded, failing from the third in a row.
		var cfg SFTPConfig
		json.Unmarshal(f.conn.Config, &cfg)
		cfg.Port = closedPort(t)
		f.conn.Config, _ = json.Marshal(cfg)
		f.bridge.cfg.Retries = -1
		for i, state := range []string{schema.HealthDegraded, schema.HealthDegraded, schema.HealthFailing} {
			if _, _, err := f.bridge.Sync(ctx, f.conn, schema.TriggerScheduled); err == nil {
				t.Fatal("sync to a closed port succeeded")
			}
			check(fmt.Sprintf("failed run %d", i+1), state, schema.ECodeSFTPDial)
		}

		es, _ := s.Events(ctx, f.conn.TenantID, 0, 1000)
		var got []string
		for _, e := range es {
			if !strings.HasPrefix(e.Type, "connection.") {
				continue
			}
			var d struct{ State, Code, Fix string }
			json.Unmarshal(e.Data, &d)
			got = append(got, e.Type+"/"+d.State+"/"+d.Code)
			if d.State != schema.HealthHealthy && d.Fix == "" {
				t.Errorf("event %s has no fix", e.Data)
			}
		}
		want := []string{"connection.unhealthy/degraded/E_NO_FILE", "connection.unhealthy/degraded/E_SHRINK",
			"connection.unhealthy/degraded/E_FILE_REJECTED", "connection.recovered/healthy/",
			"connection.unhealthy/degraded/E_SFTP_DIAL", "connection.unhealthy/failing/E_SFTP_DIAL"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("connection events = %v\nwant %v", got, want)
		}
	})
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestHealthSchemaDrift: a delivery held for schema drift makes the
// connection degraded with E_SCHEMA_DRIFT, and the next good file
// recovers it.
func TestHealthSchemaDrift(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	f := newIngest(t, s, "census-csv", Policy{})
	s.PutLayout(ctx, f.conn.TenantID, "", "census-csv", []byte("checks: {expected_header: [Employee ID, First Name, Last Name, Status, Term Date, Department]}\n"))
	f.ingest(census("E1:A", "E2:A"))
	res := f.ingest(strings.Replace(census("E1:A", "E2:A"), "Department", "Cost Center", 1))
	if res.File.Status != schema.FileHeld {
		t.Fatalf("drifted file = %s", res.File.Status)
	}
	c, _ := s.Connection(ctx, f.conn.TenantID, f.conn.ID)
	if c.Health.State != schema.HealthDegraded || c.Health.Code != schema.ECodeSchemaDrift || !strings.Contains(c.Health.Reason, "Cost Center") {
		t.Fatalf("health = %+v", c.Health)
	}
	f.ingest(census("E1:A", "E2:A", "E3:A"))
	if c, _ := s.Connection(ctx, f.conn.TenantID, f.conn.ID); c.Health.State != schema.HealthHealthy {
		t.Fatalf("health after a good file = %+v", c.Health)
	}
	if evs := f.newEvents(); !slices.Contains(evs, "connection.unhealthy:") || !slices.Contains(evs, "connection.recovered:") {
		t.Fatalf("events = %v", evs)
	}
}
