// Package scheduler fires named jobs on cron schedules. Schedules are
// standard 5-field cron expressions or descriptors (@daily, @hourly,
// @every 15m) parsed by robfig/cron/v3, evaluated in each job's time zone.
// A job's runs never overlap: the next fire time is computed after a run
// ends, so a run that outlasts its interval skips the ticks it covered.
package scheduler

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule returns the next fire time after a given time.
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
	return inZone{s, loc}, nil
}

// inZone evaluates a schedule in a location.
type inZone struct {
	s   cron.Schedule
	loc *time.Location
}

func (z inZone) Next(t time.Time) time.Time { return z.s.Next(t.In(z.loc)) }

// Job is one named, scheduled function.
type Job struct {
	Name     string
	Schedule Schedule
	Run      func(ctx context.Context) error
	// Timeout bounds one run; default 1 hour.
	Timeout time.Duration
}

// Scheduler runs jobs until its context ends.
type Scheduler struct {
	Logger *slog.Logger
	// Now is the clock; default time.Now. Tests replace it.
	Now func() time.Time
	// After waits; default time.After. Tests replace it.
	After func(time.Duration) <-chan time.Time
}

// Run fires every job on its schedule until ctx ends, then waits for
// running jobs to return (their contexts are cancelled).
func (s *Scheduler) Run(ctx context.Context, jobs []Job) error {
	log := cmp.Or(s.Logger, slog.Default())
	now := s.Now
	if now == nil {
		now = time.Now
	}
	after := s.After
	if after == nil {
		after = time.After
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next := j.Schedule.Next(now())
				if next.IsZero() {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-after(next.Sub(now())):
				}
				if ctx.Err() != nil {
					return
				}
				runCtx, cancel := context.WithTimeout(ctx, cmp.Or(j.Timeout, time.Hour))
				start := now()
				err := j.Run(runCtx)
				cancel()
				if err != nil {
					log.ErrorContext(ctx, "scheduled job failed", "job", j.Name, "error", err)
				} else {
					log.InfoContext(ctx, "scheduled job done", "job", j.Name, "duration_ms", now().Sub(start).Milliseconds())
				}
			}
		}()
	}
	wg.Wait()
	return nil
}
