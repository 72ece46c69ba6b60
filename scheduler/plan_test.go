package scheduler

import (
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

func mustParse(t *testing.T, spec, tz string) Schedule {
	t.Helper()
	s, err := Parse(spec, tz)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fires lists a schedule's fire times in [from, to), as RFC 3339 in UTC.
func fires(s Schedule, from, to time.Time) []string {
	var out []string
	for t := s.Next(from.Add(-time.Nanosecond)); !t.IsZero() && t.Before(to); t = s.Next(t) {
		out = append(out, t.UTC().Format(time.RFC3339))
	}
	return out
}

func TestParseInZone(t *testing.T) {
	tests := []struct {
		spec, tz   string
		from, want string
	}{
		{"30 2 * * *", "America/Chicago", "2026-11-22T00:00:00Z", "2026-11-22T08:30:00Z"},
		{"@daily", "UTC", "2026-11-22T10:00:00Z", "2026-11-23T00:00:00Z"},
		{"@daily", "Asia/Kolkata", "2026-11-22T10:00:00Z", "2026-11-22T18:30:00Z"},
		{"*/15 * * * *", "", "2026-11-22T10:01:00Z", "2026-11-22T10:15:00Z"},
		{"0 9 * * 1-5", "Europe/London", "2026-11-21T12:00:00Z", "2026-11-23T09:00:00Z"}, // Saturday -> Monday
		{"@every 15m", "America/New_York", "2026-11-22T10:01:00Z", "2026-11-22T10:16:00Z"},
		{"0 0 1 * *", "UTC", "2026-11-22T10:00:00Z", "2026-12-01T00:00:00Z"},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.spec, tt.tz).Next(at(t, tt.from)).UTC().Format(time.RFC3339); got != tt.want {
			t.Errorf("Parse(%q, %q).Next(%s) = %s, want %s", tt.spec, tt.tz, tt.from, got, tt.want)
		}
	}
	for _, bad := range []string{"", "61 * * * *", "* * *", "@fortnightly", "* * * * * *"} {
		if _, err := Parse(bad, ""); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if _, err := Parse("@daily", "Mars/Olympus"); err == nil {
		t.Error("unknown time zone accepted")
	}
}

// TestNightlyRunsOnceOnDSTDays: a nightly run fires exactly once on every
// day around both DST changes, in zones where the changes happen at
// different wall times (New York at 02:00 local both ways; Berlin skips
// 02:00-03:00 in March and repeats it in October).
func TestNightlyRunsOnceOnDSTDays(t *testing.T) {
	tests := []struct {
		name, spec, tz string
		from, to       string
		want           []string
	}{
		{"new york spring forward: 02:30 does not exist, runs at 03:30 EDT", "30 2 * * *", "America/New_York",
			"2026-03-07T00:00:00-05:00", "2026-03-10T00:00:00-04:00",
			[]string{"2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"}},
		{"new york fall back: 01:30 happens twice, runs at the first", "30 1 * * *", "America/New_York",
			"2026-10-31T00:00:00-04:00", "2026-11-03T00:00:00-05:00",
			[]string{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"new york fall back: 02:30 once", "30 2 * * *", "America/New_York",
			"2026-10-31T00:00:00-04:00", "2026-11-03T00:00:00-05:00",
			[]string{"2026-10-31T06:30:00Z", "2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"}},
		{"berlin spring forward: 02:30 skipped by the clock, runs at 03:30 CEST", "30 2 * * *", "Europe/Berlin",
			"2026-03-28T00:00:00+01:00", "2026-03-31T00:00:00+02:00",
			[]string{"2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"}},
		{"berlin fall back: 02:30 happens twice, runs once", "30 2 * * *", "Europe/Berlin",
			"2026-10-24T00:00:00+02:00", "2026-10-27T00:00:00+01:00",
			[]string{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"hourly through the repeated hour fires once per wall hour", "0 * * * *", "America/New_York",
			"2026-11-01T00:00:00-04:00", "2026-11-01T04:00:00-05:00",
			[]string{"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"}},
		{"hourly through the missing hour", "0 * * * *", "America/New_York",
			"2026-03-08T00:00:00-05:00", "2026-03-08T05:00:00-04:00",
			[]string{"2026-03-08T05:00:00Z", "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}},
		{"every 15m counts real time across the change", "@every 15m", "America/New_York",
			"2026-11-01T01:40:00.000000001-04:00", "2026-11-01T01:20:00-05:00",
			[]string{"2026-11-01T05:55:00Z", "2026-11-01T06:10:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fires(mustParse(t, tt.spec, tt.tz), at(t, tt.from), at(t, tt.to))
			if len(got) != len(tt.want) {
				t.Fatalf("fires = %v\nwant    %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("fires = %v\nwant    %v", got, tt.want)
				}
			}
		})
	}
}

func plan(t *testing.T, c schema.Connection, ws ...schema.Window) Plan {
	t.Helper()
	for i := range ws {
		ws[i].TenantID = c.TenantID
	}
	p, err := PlanFor(c, ws)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWindowSupersedesBaseSchedule: inside open enrollment the window's
// 15-minute schedule replaces the nightly one; a final pull runs at the
// close; the nightly run resumes after.
func TestWindowSupersedesBaseSchedule(t *testing.T) {
	c := schema.Connection{ID: "c1", TenantID: "t1", Schedule: "30 2 * * *", TimeZone: "America/New_York"}
	p := plan(t, c, schema.Window{Name: "open enrollment", StartsOn: "2026-11-02", EndsOn: "2026-11-03", Schedule: "0 */6 * * *", FinalPull: true})
	got := p.Upcoming(at(t, "2026-11-01T00:00:00-04:00"), 12)
	want := []Tick{
		{At: at(t, "2026-11-01T02:30:00-05:00"), Trigger: schema.TriggerScheduled}, // DST day, once
		{At: at(t, "2026-11-02T00:00:00-05:00"), Trigger: schema.TriggerWindow, Window: "open enrollment"},
		{At: at(t, "2026-11-02T06:00:00-05:00"), Trigger: schema.TriggerWindow, Window: "open enrollment"},
		{At: at(t, "2026-11-02T12:00:00-05:00"), Trigger: schema.TriggerWindow, Window: "open enrollment"},
		{At: at(t, "2026-11-02T18:00:00-05:00"), Trigger: schema.TriggerWindow, Window: "open enrollment"},
		{At: at(t, "2026-11-03T00:00:00-05:00"), Trigger: schema.TriggerWindow, Window: "open enrollment"},
		{At: at(t, "2026-11-03T06:00:00-05:00"), Trigger: schema.TriggerWindow, Window: "open enrollment"},
		{At: at(t, "2026-11-03T12:00:00-05:00"), Trigger: schema.TriggerWindow, Window: "open enrollment"},
		{At: at(t, "2026-11-03T18:00:00-05:00"), Trigger: schema.TriggerWindow, Window: "open enrollment"},
		{At: at(t, "2026-11-04T00:00:00-05:00"), Trigger: schema.TriggerFinalPull, Window: "open enrollment"},
		{At: at(t, "2026-11-04T02:30:00-05:00"), Trigger: schema.TriggerScheduled},
		{At: at(t, "2026-11-05T02:30:00-05:00"), Trigger: schema.TriggerScheduled},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d ticks: %v", len(got), got)
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) || got[i].Trigger != want[i].Trigger || got[i].Window != want[i].Window {
			t.Errorf("tick %d = %s %s %q; want %s %s %q", i, got[i].At, got[i].Trigger, got[i].Window, want[i].At, want[i].Trigger, want[i].Window)
		}
	}
	if p.Active(at(t, "2026-11-03T23:59:59-05:00")) != "open enrollment" || p.Active(at(t, "2026-11-04T00:00:00-05:00")) != "" {
		t.Error("window open/close boundaries are wrong")
	}
}

func TestWindowEdges(t *testing.T) {
	t.Run("a connection without a base schedule syncs only in its windows", func(t *testing.T) {
		c := schema.Connection{ID: "c1", TenantID: "t1", TimeZone: "UTC"}
		p := plan(t, c, schema.Window{ConnectionID: "c1", Name: "w", StartsOn: "2026-11-10", EndsOn: "2026-11-10", Schedule: "0 12 * * *"})
		got := p.Upcoming(at(t, "2026-11-01T00:00:00Z"), 5)
		if len(got) != 1 || !got[0].At.Equal(at(t, "2026-11-10T12:00:00Z")) {
			t.Fatalf("ticks = %v", got)
		}
	})
	t.Run("another connection's window does not apply", func(t *testing.T) {
		c := schema.Connection{ID: "c1", TenantID: "t1", Schedule: "@daily"}
		p := plan(t, c, schema.Window{ConnectionID: "c2", Name: "w", StartsOn: "2026-11-01", EndsOn: "2026-11-30", Schedule: "*/15 * * * *"})
		if len(p.Windows) != 0 {
			t.Fatal("window of another connection applied")
		}
	})
	t.Run("a final pull on the base schedule's instant is one tick", func(t *testing.T) {
		c := schema.Connection{ID: "c1", TenantID: "t1", Schedule: "@daily"}
		p := plan(t, c, schema.Window{Name: "w", StartsOn: "2026-11-01", EndsOn: "2026-11-01", Schedule: "0 */12 * * *", FinalPull: true})
		got := p.Upcoming(at(t, "2026-11-01T00:00:00Z"), 3)
		want := []string{"2026-11-01T12:00:00Z/window", "2026-11-02T00:00:00Z/window_close", "2026-11-03T00:00:00Z/scheduled"}
		for i, w := range want {
			if g := got[i].At.UTC().Format(time.RFC3339) + "/" + got[i].Trigger; g != w {
				t.Errorf("tick %d = %s; want %s", i, g, w)
			}
		}
	})
	t.Run("a window's dates are read in the connection's zone", func(t *testing.T) {
		c := schema.Connection{ID: "c1", TenantID: "t1", TimeZone: "Asia/Tokyo"}
		p := plan(t, c, schema.Window{Name: "w", StartsOn: "2026-11-10", EndsOn: "2026-11-10", Schedule: "@hourly"})
		if got, _ := p.Next(at(t, "2026-11-01T00:00:00Z")); !got.At.Equal(at(t, "2026-11-09T15:00:00Z")) {
			t.Fatalf("first window tick = %s; want local midnight in Tokyo", got.At.UTC())
		}
	})
	t.Run("bad windows are refused with their name", func(t *testing.T) {
		c := schema.Connection{ID: "c1", TenantID: "t1"}
		for _, w := range []schema.Window{
			{Name: "backwards", StartsOn: "2026-11-10", EndsOn: "2026-11-01", Schedule: "@daily"},
			{Name: "bad date", StartsOn: "11/10/2026", EndsOn: "2026-11-11", Schedule: "@daily"},
			{Name: "bad cron", StartsOn: "2026-11-10", EndsOn: "2026-11-11", Schedule: "every day"},
		} {
			w.TenantID = "t1"
			if _, err := PlanFor(c, []schema.Window{w}); err == nil {
				t.Errorf("window %q accepted", w.Name)
			}
		}
	})
}
