package scheduler

import (
	"cmp"
	"fmt"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Tick is one planned sync of a connection.
type Tick struct {
	At      time.Time `json:"at"`
	Trigger string    `json:"trigger"` // scheduled, window, window_close
	Window  string    `json:"window,omitempty"`
}

// Plan is a connection's base schedule and the enrollment windows that
// apply to it.
type Plan struct {
	Base    Schedule // nil: the connection syncs only inside windows
	Windows []WindowPlan
}

// WindowPlan is an enrollment window resolved to instants: it is open in
// [Start, End), End being midnight after its last day.
type WindowPlan struct {
	Name       string
	Start, End time.Time
	Schedule   Schedule
	FinalPull  bool
}

// PlanFor builds a connection's plan from its schedule and the windows
// that apply to it, all read in the connection's time zone.
func PlanFor(c schema.Connection, windows []schema.Window) (Plan, error) {
	var p Plan
	tz := cmp.Or(c.TimeZone, "UTC")
	if c.Schedule != "" {
		s, err := Parse(c.Schedule, tz)
		if err != nil {
			return p, err
		}
		p.Base = s
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return p, fmt.Errorf("time zone %q: %w", tz, err)
	}
	for _, w := range windows {
		if !w.AppliesTo(c) {
			continue
		}
		wp, err := ResolveWindow(w, loc)
		if err != nil {
			return p, err
		}
		p.Windows = append(p.Windows, wp)
	}
	return p, nil
}

// CheckSchedule explains what is wrong with a connection's schedule
// settings: a cron spec (empty: windows and manual syncs only), an IANA
// time zone and a catch-up policy.
func CheckSchedule(spec, tz, catchUp string) error {
	if catchUp != schema.CatchUpOnce && catchUp != schema.CatchUpSkip {
		return fmt.Errorf("catch_up %q must be once or skip", catchUp)
	}
	if spec == "" {
		if _, err := time.LoadLocation(tz); err != nil {
			return fmt.Errorf("time zone %q: %w", tz, err)
		}
		return nil
	}
	_, err := Parse(spec, tz)
	return err
}

// CheckWindow explains what is wrong with a window whose dates are read in
// time zone tz.
func CheckWindow(w schema.Window, tz string) error {
	if w.Name == "" {
		return fmt.Errorf("a window needs a name")
	}
	loc, err := time.LoadLocation(cmp.Or(tz, "UTC"))
	if err != nil {
		return fmt.Errorf("time zone %q: %w", tz, err)
	}
	_, err = ResolveWindow(w, loc)
	return err
}

// Schedulable reports whether the planner schedules a connection: it is
// enabled and pulls (sftp).
func Schedulable(c schema.Connection) bool { return c.Enabled && Pulls(c) }

// Pulls reports whether a connection's syncs pull (SFTP, API); a drop box
// is pushed to.
func Pulls(c schema.Connection) bool { return c.Kind == schema.ConnSFTP || c.Kind == schema.ConnAPI }

// Preview is what a connection's schedule does next, as of a time.
type Preview struct {
	ActiveWindow string `json:"active_window,omitempty"`
	NextSyncs    []Tick `json:"next_syncs"`
}

// PreviewOf returns the window open at now and the next n syncs the
// planner will make for c, with the given windows (none for a connection
// the planner does not schedule, or whose schedule does not parse).
func PreviewOf(c schema.Connection, windows []schema.Window, now time.Time, n int) Preview {
	p := Preview{NextSyncs: []Tick{}}
	if plan, err := PlanFor(c, windows); err == nil && Schedulable(c) {
		p.ActiveWindow, p.NextSyncs = plan.Active(now), append(p.NextSyncs, plan.Upcoming(now, n)...)
	}
	return p
}

// ResolveWindow reads a window's dates and schedule in loc.
func ResolveWindow(w schema.Window, loc *time.Location) (WindowPlan, error) {
	from, err := time.ParseInLocation(time.DateOnly, w.StartsOn, loc)
	if err != nil {
		return WindowPlan{}, fmt.Errorf("window %q: starts_on %q: want YYYY-MM-DD", w.Name, w.StartsOn)
	}
	to, err := time.ParseInLocation(time.DateOnly, w.EndsOn, loc)
	if err != nil {
		return WindowPlan{}, fmt.Errorf("window %q: ends_on %q: want YYYY-MM-DD", w.Name, w.EndsOn)
	}
	if to.Before(from) {
		return WindowPlan{}, fmt.Errorf("window %q ends (%s) before it starts (%s)", w.Name, w.EndsOn, w.StartsOn)
	}
	s, err := Parse(w.Schedule, loc.String())
	if err != nil {
		return WindowPlan{}, fmt.Errorf("window %q: %w", w.Name, err)
	}
	end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
	return WindowPlan{Name: w.Name, Start: from, End: end, Schedule: s, FinalPull: w.FinalPull}, nil
}

// open returns the window open at t, if any.
func (p Plan) open(t time.Time) *WindowPlan {
	for i := range p.Windows {
		if w := &p.Windows[i]; !t.Before(w.Start) && t.Before(w.End) {
			return w
		}
	}
	return nil
}

// Active returns the name of the window open at t ("" when none).
func (p Plan) Active(t time.Time) string {
	if w := p.open(t); w != nil {
		return w.Name
	}
	return ""
}

// Next returns the first tick strictly after t: the base schedule's,
// except while a window is open, where the window's schedule fires
// instead, plus a final pull at the close of windows that ask for one.
// Ticks falling on the same instant are one tick. ok is false when the
// plan never fires again.
func (p Plan) Next(t time.Time) (tick Tick, ok bool) {
	consider := func(c Tick) {
		// Earliest wins; on a tie a window close beats a window tick,
		// which beats a base tick.
		if !ok || c.At.Before(tick.At) || c.At.Equal(tick.At) && rank(c.Trigger) > rank(tick.Trigger) {
			tick, ok = c, true
		}
	}
	if p.Base != nil {
		at := t
		for range 10000 {
			at = p.Base.Next(at)
			if at.IsZero() {
				break
			}
			w := p.open(at)
			if w == nil {
				consider(Tick{At: at, Trigger: schema.TriggerScheduled})
				break
			}
			at = w.End.Add(-time.Nanosecond) // superseded: resume at its close
		}
	}
	for _, w := range p.Windows {
		from := t
		if w.Start.After(from) {
			from = w.Start.Add(-time.Nanosecond)
		}
		if at := w.Schedule.Next(from); !at.IsZero() && at.Before(w.End) {
			consider(Tick{At: at, Trigger: schema.TriggerWindow, Window: w.Name})
		}
		if w.FinalPull && w.End.After(t) {
			consider(Tick{At: w.End, Trigger: schema.TriggerFinalPull, Window: w.Name})
		}
	}
	return tick, ok
}

func rank(trigger string) int {
	switch trigger {
	case schema.TriggerFinalPull:
		return 2
	case schema.TriggerWindow:
		return 1
	}
	return 0
}

// Upcoming lists the next n ticks after t.
func (p Plan) Upcoming(t time.Time, n int) []Tick {
	var out []Tick
	for len(out) < n {
		tick, ok := p.Next(t)
		if !ok {
			break
		}
		out = append(out, tick)
		t = tick.At
	}
	return out
}
