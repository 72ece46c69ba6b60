package scheduler

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Planner turns schedules and windows into sync jobs. Every replica runs
// one; they agree through the store: for each due tick a replica enqueues
// a job unique by (connection, tick), then advances the connection's
// last tick with compare-and-set. A replica that crashes between the two
// steps leaves the tick due, and the next pass enqueues it again, which
// River deduplicates.
type Planner struct {
	Store Store
	// Enqueue inserts the job of a tick; it must be idempotent per
	// (connection, tick).
	Enqueue func(ctx context.Context, c schema.Connection, t Tick) error
	// Grace: a due tick later than this was missed (downtime); default 2m.
	Grace time.Duration
	// Order, when set, sorts the connections before a pass enqueues their
	// due ticks (small employers first).
	Order  func(ctx context.Context, conns []schema.Connection)
	Logger *slog.Logger
}

// maxMissed bounds the walk over missed ticks after a long downtime.
const maxMissed = 100_000

// Plan enqueues every connection's due tick as of now. A connection with
// several due ticks (the process was down, or slow) gets one sync, not one
// per missed tick: the latest due tick, or with catch_up skip and nothing
// on time, none.
func (p *Planner) Plan(ctx context.Context, now time.Time) error {
	conns, err := p.Store.Connections(ctx, "")
	if err != nil {
		return err
	}
	windows, err := p.Store.Windows(ctx, "")
	if err != nil {
		return err
	}
	if p.Order != nil {
		p.Order(ctx, conns)
	}
	var errs []error
	for _, c := range conns {
		if !Schedulable(c) {
			continue
		}
		if err := p.planOne(ctx, c, windows, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *Planner) planOne(ctx context.Context, c schema.Connection, windows []schema.Window, now time.Time) error {
	log := cmp.Or(p.Logger, slog.Default())
	plan, err := PlanFor(c, windows)
	if err != nil {
		log.WarnContext(ctx, "connection not scheduled", "tenant", c.TenantID, "connection", c.Name, "error", err)
		return nil
	}
	if plan.Base == nil && len(plan.Windows) == 0 {
		return nil
	}
	if c.LastTickAt == nil { // newly scheduled: the clock starts now
		_, err := p.Store.AdvanceTick(ctx, c.ID, nil, now)
		return err
	}
	last := *c.LastTickAt
	tick, ok := plan.Next(last)
	if !ok || tick.At.After(now) {
		return nil
	}
	missed := 0
	for n := 0; n < maxMissed; n++ {
		next, ok := plan.Next(tick.At)
		if !ok || next.At.After(now) {
			break
		}
		tick = next
		missed++
	}
	if now.Sub(tick.At) > cmp.Or(p.Grace, 2*time.Minute) {
		// Nothing is on time: the process was down over these ticks.
		if c.CatchUp == schema.CatchUpSkip {
			log.InfoContext(ctx, "missed scheduled syncs skipped", "connection", c.Name, "missed", missed+1, "catch_up", c.CatchUp)
			_, err := p.Store.AdvanceTick(ctx, c.ID, &last, now)
			return err
		}
		log.InfoContext(ctx, "missed scheduled syncs caught up once", "connection", c.Name, "missed", missed+1, "tick", tick.At)
		tick.Trigger = schema.TriggerCatchUp
	} else if missed > 0 {
		log.InfoContext(ctx, "late scheduled syncs coalesced", "connection", c.Name, "coalesced", missed+1)
	}
	if err := p.Enqueue(ctx, c, tick); err != nil {
		return err
	}
	_, err = p.Store.AdvanceTick(ctx, c.ID, &last, tick.At)
	return err
}
