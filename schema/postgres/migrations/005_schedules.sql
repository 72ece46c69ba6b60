-- Scheduling: each connection's schedule is evaluated in its time zone;
-- last_tick_at is the last tick a replica enqueued (replicas advance it
-- with compare-and-set, so a tick is taken once); catch_up says what a
-- tick missed during downtime does (once | skip).
ALTER TABLE connections ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';
ALTER TABLE connections ADD COLUMN catch_up text NOT NULL DEFAULT 'once';
ALTER TABLE connections ADD COLUMN last_tick_at timestamptz;
-- The sync lease: two syncs of one connection never overlap.
ALTER TABLE connections ADD COLUMN sync_owner text NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN sync_lease_until timestamptz;
-- Computed health, stored so that a change emits one event.
ALTER TABLE connections ADD COLUMN health text NOT NULL DEFAULT 'healthy';
ALTER TABLE connections ADD COLUMN health_code text NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN health_reason text NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN health_since timestamptz;

-- Every sync is a durable job; its run row follows the job's attempts.
ALTER TABLE sync_runs ADD COLUMN job_id bigint;
ALTER TABLE sync_runs ADD COLUMN attempt integer NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN error_code text NOT NULL DEFAULT '';
ALTER TABLE sync_runs ADD COLUMN scheduled_for timestamptz;
ALTER TABLE sync_runs ADD COLUMN file_id text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX sync_runs_job ON sync_runs (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, id DESC);

-- Enrollment windows: date ranges (in the connection's time zone) with a
-- schedule that supersedes the base one while active.
CREATE TABLE enrollment_windows (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants(id),
    connection_id text REFERENCES connections(id),
    name          text NOT NULL,
    starts_on     date NOT NULL,
    ends_on       date NOT NULL,
    schedule      text NOT NULL,
    final_pull    boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    CHECK (ends_on >= starts_on)
);
CREATE INDEX enrollment_windows_tenant ON enrollment_windows (tenant_id, starts_on);
CREATE INDEX files_connection ON files (connection_id, received_at DESC);
