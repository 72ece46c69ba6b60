package scheduler

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
)

// SyncArgs is a sync job. Scheduled ticks are unique by connection and
// tick, so replicas enqueuing the same tick make one job.
type SyncArgs struct {
	TenantID     string     `json:"tenant_id"`
	ConnectionID string     `json:"connection_id" river:"unique"`
	Tick         *time.Time `json:"tick,omitempty" river:"unique"`
	Trigger      string     `json:"trigger"`
	Window       string     `json:"window,omitempty"`
}

// Kind names the job in river_job.
func (SyncArgs) Kind() string { return "hrisbridge.sync" }

// ReplayArgs re-runs the pipeline on a kept file.
type ReplayArgs struct {
	TenantID string `json:"tenant_id"`
	FileID   string `json:"file_id"`
}

// Kind names the job in river_job.
func (ReplayArgs) Kind() string { return "hrisbridge.replay" }

// Store is what the scheduler reads and writes: connections and their
// ticks, enrollment windows, sync runs and files.
type Store interface {
	Connection(ctx context.Context, tenantID, idOrName string) (schema.Connection, error)
	Connections(ctx context.Context, tenantID string) ([]schema.Connection, error)
	AdvanceTick(ctx context.Context, id string, from *time.Time, to time.Time) (bool, error)
	Windows(ctx context.Context, tenantID string) ([]schema.Window, error)
	QueueSyncRun(ctx context.Context, r *schema.SyncRun) error
	File(ctx context.Context, tenantID, id string) (schema.File, error)
	Files(ctx context.Context, tenantID string, q schema.ListQuery) ([]schema.File, error)
}

// Queue is a River client on the store's database. Whoever knows the
// concrete store builds it (with riverpgxv5 or riversqlite) from the
// River configuration the scheduler passes, River's tables migrated.
type Queue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// Config configures the job system.
type Config struct {
	Store  Store
	Bridge *bridge.Bridge
	// Queue builds the job queue for River's configuration (workers,
	// queues, timeouts).
	Queue  func(ctx context.Context, rc *river.Config) (Queue, error)
	Logger *slog.Logger
	// Workers is how many jobs run at once in this process; default 4.
	Workers int
	// LargeWorkers is how many of them may be syncs of a large drop (over
	// LargeDrop bytes) at once; default half of Workers, at least 1, so
	// that small employers' syncs always have workers of their own.
	LargeWorkers int
	// MaxAttempts a sync job gets before it is failed; default 5.
	MaxAttempts int
	// RetryBase is the wait before a failed job's second attempt, doubled
	// for each further attempt (with jitter, capped at 1 h); default 1 min.
	RetryBase time.Duration
	// SyncTimeout bounds one attempt; default 1 h.
	SyncTimeout time.Duration
	// RescueAfter is when a job whose process died (still "running") is
	// retried by another replica; default SyncTimeout + 5 min. River
	// checks every 30 s.
	RescueAfter time.Duration
	// FileRetention is how long kept file bytes stay; default 30 days,
	// negative keeps them forever.
	FileRetention time.Duration
	// PlanEvery is how often the planner looks for due ticks; default 1 s.
	PlanEvery time.Duration
	// Grace is how late a tick may be and still count as on time; older
	// ticks were missed and follow the connection's catch_up policy.
	// Default 2 min.
	Grace time.Duration
	// Now is the planner's clock; default time.Now.
	Now func() time.Time
	// Busy is how long a job waits when another sync of its connection
	// runs; default 5 s.
	Busy time.Duration
}

// Jobs runs syncs as durable River jobs in the store's database and plans
// scheduled ticks.
type Jobs struct {
	cfg     Config
	q       Queue
	planner *Planner
	sizes   sync.Map      // connection id -> connSize
	large   chan struct{} // a slot per large sync running
}

// connSize is a connection's last file's rows, as read at a time.
type connSize struct {
	rows int
	at   time.Time
}

// New returns the job system (not yet running).
func New(ctx context.Context, cfg Config) (*Jobs, error) {
	if cfg.Store == nil || cfg.Bridge == nil || cfg.Queue == nil {
		return nil, errors.New("scheduler: Store, Bridge and Queue are required")
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.Workers = cmp.Or(cfg.Workers, 4)
	cfg.LargeWorkers = cmp.Or(cfg.LargeWorkers, max(1, cfg.Workers/2))
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 5)
	cfg.RetryBase = cmp.Or(cfg.RetryBase, time.Minute)
	cfg.SyncTimeout = cmp.Or(cfg.SyncTimeout, time.Hour)
	cfg.RescueAfter = cmp.Or(cfg.RescueAfter, cfg.SyncTimeout+5*time.Minute)
	if cfg.RescueAfter <= cfg.SyncTimeout {
		return nil, fmt.Errorf("scheduler: job_rescue_after (%s) must be longer than sync_timeout (%s)", cfg.RescueAfter, cfg.SyncTimeout)
	}
	cfg.FileRetention = cmp.Or(cfg.FileRetention, 30*24*time.Hour)
	cfg.PlanEvery = cmp.Or(cfg.PlanEvery, time.Second)
	cfg.Grace = cmp.Or(cfg.Grace, 2*time.Minute)
	cfg.Busy = cmp.Or(cfg.Busy, 5*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	j := &Jobs{cfg: cfg, large: make(chan struct{}, cfg.LargeWorkers)}
	workers := river.NewWorkers()
	river.AddWorker(workers, &syncWorker{j: j})
	river.AddWorker(workers, &replayWorker{j: j})
	rc := &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:              workers,
		JobTimeout:           cfg.SyncTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		MaxAttempts:          cfg.MaxAttempts,
		Logger:               quiet(cfg.Logger),
	}
	var err error
	if j.q, err = cfg.Queue(ctx, rc); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	j.planner = &Planner{Store: cfg.Store, Enqueue: j.enqueueTick, Grace: cfg.Grace, Order: j.smallFirst, Logger: cfg.Logger}
	return j, nil
}

// quiet passes River's warnings and errors on; its info chatter is noise.
func quiet(l *slog.Logger) *slog.Logger {
	return slog.New(levelAtLeast{l.Handler(), slog.LevelWarn})
}

type levelAtLeast struct {
	slog.Handler
	min slog.Level
}

func (h levelAtLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelAtLeast) WithAttrs(as []slog.Attr) slog.Handler {
	return levelAtLeast{h.Handler.WithAttrs(as), h.min}
}

func (h levelAtLeast) WithGroup(name string) slog.Handler {
	return levelAtLeast{h.Handler.WithGroup(name), h.min}
}

// Run works jobs and plans ticks until ctx ends, then stops River,
// letting running jobs finish for up to 10 s (after which they are
// cancelled and later retried).
func (j *Jobs) Run(ctx context.Context) error {
	// River runs on a context of its own and is stopped below, so that
	// ctx ending stops it cleanly instead of cutting its maintenance
	// queries short.
	if err := j.q.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	t := time.NewTicker(j.cfg.PlanEvery)
	defer t.Stop()
	// Every replica prunes its own files_dir (shared or not): pruning is
	// idempotent, so replicas sharing one only repeat each other's work.
	if j.cfg.FileRetention > 0 {
		go j.prune(ctx)
	}
	for {
		if err := j.planner.Plan(ctx, j.cfg.Now()); err != nil && ctx.Err() == nil {
			j.cfg.Logger.ErrorContext(ctx, "planning scheduled syncs failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return j.stop(context.WithoutCancel(ctx))
		case <-t.C:
		}
	}
}

// stop lets running jobs finish for a few seconds, then cancels them: a
// cancelled sync rolls its file back and its job is retried later (by
// another replica, or this one after a restart), where waiting could
// outlast the process's stop (a pull retrying with backoff).
func (j *Jobs) stop(ctx context.Context) error {
	grace, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := j.q.Stop(grace); !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	hard, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return j.q.StopAndCancel(hard)
}

// tickOpts makes a tick's job unique by its args (connection and tick)
// in every state a job can be in until River cleans it out, so a tick is
// one job even when a replica that was slow to see it enqueues it again.
var tickOpts = &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateCompleted, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled, rivertype.JobStateCancelled, rivertype.JobStateDiscarded,
}}}

// largeSync is the size (rows of its last file) from which a
// connection's ticks wait for the small ones: a tick enqueues every due
// connection at once (most of a platform's employers share the nightly
// hour), and a few 60,000-person syncs taking the workers first would
// hold hundreds of 500-person employers behind them.
const largeSync = 10_000

// LargeDrop is the size in bytes from which a pull's files make a large
// sync: about largeSync rows of a census export.
const LargeDrop = 2 << 20

// Large syncs take one of LargeWorkers slots while small employers' syncs
// wait, so that those always have workers of their own; with none
// waiting, large syncs use every worker. Ordering ticks by the last
// file's size cannot do this alone: nothing is known before a
// connection's first listing, or when an employer's file grows. So a sync
// known to be large (its last file, or a listing here) asks before it
// dials, and waits (snoozed, its worker free) when refused; a sync not
// known to be large is asked after its listing (admit), and deferred the
// same way if its files pass LargeDrop; it is then known large here.
//
// largeSlot returns the release of a large sync allowed to run now.
func (j *Jobs) largeSlot(ctx context.Context) (release func(), ok bool) {
	select {
	case j.large <- struct{}{}:
		return func() { <-j.large }, true
	default:
	}
	if j.smallWaiting(ctx) {
		return nil, false
	}
	return func() {}, true
}

// smallWaiting reports whether a sync job of a connection not known here
// to be large is waiting for a worker (true when the queue cannot be read).
func (j *Jobs) smallWaiting(ctx context.Context) bool {
	res, err := j.q.JobList(ctx, river.NewJobListParams().Kinds(SyncArgs{}.Kind()).States(rivertype.JobStateAvailable).First(100))
	if err != nil {
		return true
	}
	for _, job := range res.Jobs {
		var a SyncArgs
		if json.Unmarshal(job.EncodedArgs, &a) != nil {
			return true
		}
		if v, ok := j.sizes.Load(a.ConnectionID); !ok || v.(connSize).rows <= largeSync {
			return true
		}
	}
	return false
}

// admit is a sync's bridge.SyncOptions.Admit.
func (j *Jobs) admit(ctx context.Context, c schema.Connection, bytes int64) (func(), bool) {
	if bytes <= LargeDrop {
		return func() {}, true
	}
	j.sizes.Store(c.ID, connSize{rows: largeSync + 1, at: time.Now()})
	return j.largeSlot(ctx)
}

// tickPriority is River's priority for a connection's tick: 1 (first)
// unless its last file was large; a connection with no file yet counts
// as small.
func (j *Jobs) tickPriority(ctx context.Context, c schema.Connection) int {
	if j.sizeOf(ctx, c) > largeSync {
		return 2
	}
	return 1
}

// smallFirst orders a planning pass's connections by the size of their
// last file, so that every replica inserts a tick's small syncs before
// its large ones: priorities alone do not hold when several planners
// insert one tick's jobs at once and idle workers take the first ones.
func (j *Jobs) smallFirst(ctx context.Context, conns []schema.Connection) {
	sizes := make(map[string]int, len(conns))
	for _, c := range conns {
		if Schedulable(c) {
			sizes[c.ID] = j.sizeOf(ctx, c)
		}
	}
	slices.SortStableFunc(conns, func(a, b schema.Connection) int { return cmp.Compare(sizes[a.ID], sizes[b.ID]) })
}

// sizeOf is the rows of a connection's last file, read from the store at
// most once a minute per connection (every planning pass needs it for
// every connection) and again after this process synced it.
func (j *Jobs) sizeOf(ctx context.Context, c schema.Connection) int {
	if v, ok := j.sizes.Load(c.ID); ok && time.Since(v.(connSize).at) < time.Minute {
		return v.(connSize).rows
	}
	files, err := j.cfg.Store.Files(ctx, c.TenantID, schema.ListQuery{ConnectionID: c.ID, Limit: 1})
	if err != nil {
		return 0
	}
	n := 0
	if len(files) > 0 {
		n = files[0].Rows
	}
	j.sizes.Store(c.ID, connSize{rows: n, at: time.Now()})
	return n
}

func (j *Jobs) enqueueTick(ctx context.Context, c schema.Connection, t Tick) error {
	at := t.At.UTC()
	opts := *tickOpts
	opts.Priority = j.tickPriority(ctx, c)
	_, err := j.enqueue(ctx, SyncArgs{TenantID: c.TenantID, ConnectionID: c.ID, Tick: &at, Trigger: t.Trigger, Window: t.Window}, &opts,
		schema.SyncRun{TenantID: c.TenantID, ConnectionID: c.ID, Trigger: t.Trigger, ScheduledFor: &at})
	return err
}

// enqueue inserts a job and records its run as queued, unless the job is
// a duplicate of one already there (a tick another replica enqueued).
func (j *Jobs) enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts, run schema.SyncRun) (schema.SyncRun, error) {
	res, err := j.q.Insert(ctx, args, opts)
	if err != nil || res.UniqueSkippedAsDuplicate {
		return run, err
	}
	run.JobID = res.Job.ID
	return run, j.cfg.Store.QueueSyncRun(ctx, &run)
}

// EnqueueSync queues a sync of a connection now (a manual trigger) and
// returns its run, queued until a worker takes it.
func (j *Jobs) EnqueueSync(ctx context.Context, c schema.Connection, trigger string) (schema.SyncRun, error) {
	if !Pulls(c) {
		return schema.SyncRun{}, fmt.Errorf("connection %s is %s; only sftp and api connections pull: %w", c.Name, c.Kind, schema.ErrState)
	}
	trigger = cmp.Or(trigger, schema.TriggerManual)
	return j.enqueue(ctx, SyncArgs{TenantID: c.TenantID, ConnectionID: c.ID, Trigger: trigger}, nil,
		schema.SyncRun{TenantID: c.TenantID, ConnectionID: c.ID, Trigger: trigger})
}

// EnqueueReplay queues a replay of a file and returns its run.
func (j *Jobs) EnqueueReplay(ctx context.Context, tenantID, fileID string) (schema.SyncRun, error) {
	f, err := j.cfg.Store.File(ctx, tenantID, fileID)
	if err != nil {
		return schema.SyncRun{}, err
	}
	if err := j.cfg.Bridge.CheckReplay(ctx, f); err != nil {
		return schema.SyncRun{}, err
	}
	return j.enqueue(ctx, ReplayArgs{TenantID: tenantID, FileID: fileID}, &river.InsertOpts{MaxAttempts: 3},
		schema.SyncRun{TenantID: tenantID, ConnectionID: f.ConnectionID, Trigger: schema.TriggerReplay, FileID: fileID})
}

// backoff is exponential in the attempt with jitter, capped at an hour.
func (j *Jobs) backoff(attempt int) time.Time {
	d := j.cfg.RetryBase << min(attempt-1, 10)
	d = min(d, time.Hour)
	d += time.Duration(rand.Int64N(int64(d)/4 + 1))
	return time.Now().Add(d)
}

type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	j *Jobs
}

func (w *syncWorker) NextRetry(job *river.Job[SyncArgs]) time.Time { return w.j.backoff(job.Attempt) }

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	a := job.Args
	c, err := w.j.cfg.Store.Connection(ctx, a.TenantID, a.ConnectionID)
	run := schema.SyncRun{TenantID: a.TenantID, ConnectionID: a.ConnectionID, Trigger: a.Trigger, JobID: job.ID, Attempt: job.Attempt, ScheduledFor: a.Tick}
	if errors.Is(err, schema.ErrNotFound) {
		return w.j.fail(ctx, &run, river.JobCancel(fmt.Errorf("connection %s no longer exists", a.ConnectionID)))
	}
	if err != nil {
		return err
	}
	if !c.Enabled && a.Tick != nil {
		return w.j.fail(ctx, &run, river.JobCancel(fmt.Errorf("connection %s is disabled", c.Name)))
	}
	opts := bridge.SyncOptions{Last: job.Attempt >= job.MaxAttempts, Admit: w.j.admit}
	if c.Kind == schema.ConnSFTP && w.j.sizeOf(ctx, c) > largeSync {
		release, ok := w.j.largeSlot(ctx)
		if !ok {
			return river.JobSnooze(w.j.cfg.Busy) // still queued; nothing dialled
		}
		defer release()
		opts.Admit = nil // allowed already
	}
	_, err = w.j.cfg.Bridge.RunSync(ctx, c, &run, opts)
	if !errors.Is(err, bridge.ErrDeferred) {
		w.j.sizes.Delete(c.ID) // its last file may have changed
	}
	return w.j.outcome(err)
}

// outcome turns a run's error into River's verdict: wait while the
// connection is busy, stop on a permanent error, else retry.
func (j *Jobs) outcome(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bridge.ErrBusy), errors.Is(err, bridge.ErrDeferred):
		return river.JobSnooze(j.cfg.Busy)
	case bridge.Permanent(err), errors.Is(err, schema.ErrState), errors.Is(err, schema.ErrNotFound):
		return river.JobCancel(err)
	}
	return err
}

// fail records a job's run as failed with err's reason (a job refused
// before its sync could start) and returns err.
func (j *Jobs) fail(ctx context.Context, run *schema.SyncRun, err error) error {
	return errors.Join(err, j.cfg.Bridge.FailRun(ctx, run, err))
}

type replayWorker struct {
	river.WorkerDefaults[ReplayArgs]
	j *Jobs
}

func (w *replayWorker) NextRetry(job *river.Job[ReplayArgs]) time.Time {
	return w.j.backoff(job.Attempt)
}

func (w *replayWorker) Work(ctx context.Context, job *river.Job[ReplayArgs]) error {
	run := schema.SyncRun{JobID: job.ID, Attempt: job.Attempt}
	_, err := w.j.cfg.Bridge.Replay(ctx, job.Args.TenantID, job.Args.FileID, &run)
	if err != nil && run.ID == "" && !errors.Is(err, bridge.ErrBusy) {
		// Refused before it started (file gone, wrong state): close the
		// queued run with the reason.
		if f, ferr := w.j.cfg.Store.File(ctx, job.Args.TenantID, job.Args.FileID); ferr == nil {
			run = schema.SyncRun{TenantID: f.TenantID, ConnectionID: f.ConnectionID, Trigger: schema.TriggerReplay, JobID: job.ID, Attempt: job.Attempt, FileID: f.ID}
			return w.j.fail(ctx, &run, w.j.outcome(err))
		}
	}
	return w.j.outcome(err)
}

// prune deletes kept file bytes past their retention at start and every
// 6 hours until ctx ends.
func (j *Jobs) prune(ctx context.Context) {
	t := time.NewTicker(6 * time.Hour)
	defer t.Stop()
	for {
		n, err := j.cfg.Bridge.PruneFiles(ctx, j.cfg.FileRetention)
		if err != nil && ctx.Err() == nil {
			j.cfg.Logger.WarnContext(ctx, "pruning kept files failed", "error", err)
		}
		if n > 0 {
			j.cfg.Logger.InfoContext(ctx, "kept files pruned", "removed", n, "retention", j.cfg.FileRetention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
