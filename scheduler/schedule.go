// Package scheduler decides when connections sync and runs every sync as
// a durable River job.
//
// Schedules are standard 5-field cron expressions or descriptors (@daily,
// @hourly, @every 15m) parsed by robfig/cron/v3 and read in each
// connection's time zone with wall-clock semantics: a nightly 02:30 runs
// once on DST days (at 03:30 when 02:30 does not exist, at its first
// occurrence when it happens twice). Enrollment windows supersede the base
// schedule while they are open. Every replica runs a Planner; a tick is
// enqueued as a unique job and taken with a compare-and-set on the
// connection, so each tick yields one sync however many replicas run, and
// a per-connection lease keeps two syncs of one connection from
// overlapping.
package scheduler

import (
	"cmp"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule returns the next fire time strictly after a given instant, or
// the zero time when there is none.
type Schedule interface{ Next(time.Time) time.Time }

// Parse parses a cron expression in time zone tz ("" means UTC).
func Parse(spec, tz string) (Schedule, error) {
	loc, err := time.LoadLocation(cmp.Or(tz, "UTC"))
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	if d, ok := s.(cron.ConstantDelaySchedule); ok {
		return interval(d), nil // @every: elapsed time, no calendar
	}
	return wallClock{s, loc}, nil
}

// interval fires every fixed duration of real time.
type interval cron.ConstantDelaySchedule

func (i interval) Next(t time.Time) time.Time { return cron.ConstantDelaySchedule(i).Next(t) }

// wallClock evaluates a calendar schedule on the local wall clock of loc.
// robfig/cron evaluates in the zone itself, which skips a day's 02:30
// when clocks spring forward and fires twice when they fall back. Here
// the schedule steps through "floating" wall times (local fields read as
// UTC, where there is no DST) and each maps to one instant: a wall time
// in a spring-forward gap moves forward by the gap (time.Date's rule), a
// repeated one maps to its first occurrence.
type wallClock struct {
	s   cron.Schedule
	loc *time.Location
}

func (w wallClock) Next(t time.Time) time.Time {
	f := floating(t.In(w.loc))
	for range 1000 {
		if f = w.s.Next(f); f.IsZero() {
			return f
		}
		if at := w.instant(f); at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// instant returns the first instant whose wall time in loc is f; a wall
// time that a spring-forward gap skips maps to the instant it would have
// been at the old offset (02:30 EST = 03:30 EDT).
func (w wallClock) instant(f time.Time) time.Time {
	at := time.Date(f.Year(), f.Month(), f.Day(), f.Hour(), f.Minute(), f.Second(), 0, w.loc)
	if d := f.Sub(floating(at)); d > 0 {
		return at.Add(d) // in a gap: the wall time read at the offset before it
	}
	for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		if e := at.Add(-d); floating(e).Equal(f) {
			return e
		}
	}
	return at
}

// floating returns t's wall-clock fields as a UTC time.
func floating(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
