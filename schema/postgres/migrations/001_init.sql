-- hrisbridge data model (PostgreSQL): the baseline later migrations build
-- on. Normalized records keep every field in a typed column (dates as
-- date, money as numeric, enums checked), custom fields as jsonb and the
-- SSN sealed in its own column, so SQL and BI tools read them as they
-- are. Content and raw-record hashes are 64-bit keyed digests (bigint).

CREATE TABLE tenants (
    id         text PRIMARY KEY,
    slug       text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    ingests    bigint NOT NULL DEFAULT 0 -- Ingest.Generation
);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    tenant_id    text REFERENCES tenants(id),
    name         text NOT NULL DEFAULT '',
    prefix       text NOT NULL UNIQUE,
    hash         bytea NOT NULL,
    scopes       text NOT NULL,
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    expires_at   timestamptz
);

CREATE TABLE connections (
    id               text PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants(id),
    name             text NOT NULL,
    kind             text NOT NULL,
    layout           text NOT NULL,
    schedule         text NOT NULL DEFAULT '',
    config           jsonb NOT NULL DEFAULT '{}',
    secret           bytea,
    enabled          boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    time_zone        text NOT NULL DEFAULT 'UTC',
    catch_up         text NOT NULL DEFAULT 'once',
    last_tick_at     timestamptz,
    sync_owner       text NOT NULL DEFAULT '',
    sync_lease_until timestamptz,
    health           text NOT NULL DEFAULT 'healthy',
    health_code      text NOT NULL DEFAULT '',
    health_reason    text NOT NULL DEFAULT '',
    health_since     timestamptz,
    deleted_at       timestamptz,
    UNIQUE (tenant_id, name)
);

CREATE TABLE layouts (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants(id),
    connection_id text REFERENCES connections(id),
    name          text NOT NULL,
    body          text NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX layouts_scope ON layouts (tenant_id, coalesce(connection_id, ''), name);

CREATE TABLE dropbox_accounts (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants(id),
    connection_id   text NOT NULL REFERENCES connections(id),
    username        text NOT NULL UNIQUE,
    password_hash   bytea,
    authorized_keys text NOT NULL DEFAULT '',
    rights          text NOT NULL DEFAULT 'upload',
    max_bytes       bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL
);

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

-- Employees, dependents, plans and enrollments are keyed by uuid (16
-- bytes: a million-row tenant's keys and indexes stay small).
CREATE TABLE employees (
    tenant_id             uuid NOT NULL,
    id                    uuid NOT NULL,
    external_id           text COLLATE "C" NOT NULL,
    connection_id         uuid,
    first_name            text NOT NULL DEFAULT '',
    middle_name           text NOT NULL DEFAULT '',
    last_name             text NOT NULL DEFAULT '',
    preferred_name        text NOT NULL DEFAULT '',
    date_of_birth         date,
    gender                text NOT NULL DEFAULT ''
        CHECK (gender IN ('', 'female', 'male', 'nonbinary', 'other', 'undisclosed')),
    ssn_sealed            bytea,
    work_email            text NOT NULL DEFAULT '',
    personal_email        text NOT NULL DEFAULT '',
    phone                 text NOT NULL DEFAULT '',
    address_line1         text NOT NULL DEFAULT '',
    address_line2         text NOT NULL DEFAULT '',
    city                  text NOT NULL DEFAULT '',
    state                 text NOT NULL DEFAULT '',
    postal_code           text NOT NULL DEFAULT '',
    country               text NOT NULL DEFAULT '',
    employment_status     text NOT NULL
        CHECK (employment_status IN ('active', 'leave', 'terminated', 'retired', 'deceased', 'prehire')),
    employment_type       text NOT NULL DEFAULT ''
        CHECK (employment_type IN ('', 'full_time', 'part_time', 'temporary', 'seasonal', 'contractor', 'intern')),
    hire_date             date,
    termination_date      date,
    termination_reason    text NOT NULL DEFAULT '',
    job_title             text NOT NULL DEFAULT '',
    department            text NOT NULL DEFAULT '',
    location              text NOT NULL DEFAULT '',
    manager_external_id   text NOT NULL DEFAULT '',
    pay_frequency         text NOT NULL DEFAULT ''
        CHECK (pay_frequency IN ('', 'weekly', 'biweekly', 'semimonthly', 'monthly', 'annual')),
    annual_salary         numeric,
    salary_currency       text NOT NULL DEFAULT '',
    hourly_rate           numeric,
    scheduled_hours       numeric,
    benefit_class         text NOT NULL DEFAULT '',
    custom_fields         jsonb,
    missing_from_snapshot boolean NOT NULL DEFAULT false,
    content_hash          bigint NOT NULL,
    source_hash           bigint NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, external_id)
);

-- Incremental reads (sort=updated_at, updated_since) page in this order.
CREATE INDEX employees_updated ON employees (tenant_id, updated_at, id);

CREATE TABLE benefit_plans (
    tenant_id       uuid NOT NULL,
    id              uuid NOT NULL,
    plan_code       text NOT NULL,
    name            text NOT NULL DEFAULT '',
    type            text NOT NULL
        CHECK (type IN ('medical', 'dental', 'vision', 'life', 'add', 'std', 'ltd', 'hsa', 'fsa', 'dcfsa', 'hra', 'retirement', 'other')),
    carrier         text NOT NULL DEFAULT '',
    group_number    text NOT NULL DEFAULT '',
    plan_year_start date,
    plan_year_end   date,
    custom_fields   jsonb,
    content_hash    bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, plan_code)
);

CREATE TABLE dependents (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    employee_id   uuid NOT NULL,
    external_id   text NOT NULL,
    first_name    text NOT NULL DEFAULT '',
    middle_name   text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    date_of_birth date,
    gender        text NOT NULL DEFAULT ''
        CHECK (gender IN ('', 'female', 'male', 'nonbinary', 'other', 'undisclosed')),
    relationship  text NOT NULL
        CHECK (relationship IN ('spouse', 'domestic_partner', 'child', 'stepchild', 'foster_child', 'ward', 'other')),
    ssn_sealed    bytea,
    is_student    boolean NOT NULL DEFAULT false,
    is_disabled   boolean NOT NULL DEFAULT false,
    custom_fields jsonb,
    content_hash  bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, employee_id, external_id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id)
);

CREATE TABLE enrollments (
    tenant_id             uuid NOT NULL,
    id                    uuid NOT NULL,
    employee_id           uuid NOT NULL,
    plan_id               uuid NOT NULL,
    coverage_tier         text NOT NULL
        CHECK (coverage_tier IN ('employee', 'employee_spouse', 'employee_children', 'family', 'waived')),
    status                text NOT NULL CHECK (status IN ('active', 'waived', 'terminated', 'pending')),
    effective_date        date NOT NULL,
    end_date              date,
    employee_contribution numeric,
    employer_contribution numeric,
    covered_dependent_ids text[] NOT NULL DEFAULT '{}',
    custom_fields         jsonb,
    content_hash          bigint NOT NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, employee_id, plan_id, effective_date),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, plan_id) REFERENCES benefit_plans (tenant_id, id)
);

CREATE TABLE files (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants(id),
    connection_id text NOT NULL REFERENCES connections(id),
    name          text NOT NULL,
    sha256        text NOT NULL,
    size          bigint NOT NULL,
    layout        text NOT NULL,
    status        text NOT NULL,
    rows          integer NOT NULL DEFAULT 0,
    valid         integer NOT NULL DEFAULT 0,
    invalid       integer NOT NULL DEFAULT 0,
    created       integer NOT NULL DEFAULT 0,
    updated       integer NOT NULL DEFAULT 0,
    unchanged     integer NOT NULL DEFAULT 0,
    detail        text NOT NULL DEFAULT '',
    received_at   timestamptz NOT NULL,
    applied_at    timestamptz,
    remote        text NOT NULL DEFAULT '',
    mapped        text NOT NULL DEFAULT '',
    read_as       text NOT NULL DEFAULT ''
);
-- A connection applies given bytes once: another copy is recorded as a
-- duplicate while the first is live.
CREATE UNIQUE INDEX files_once ON files (connection_id, sha256)
    WHERE status IN ('processing', 'applied', 'applied_with_errors', 'held');
CREATE INDEX files_tenant ON files (tenant_id, received_at DESC);
CREATE INDEX files_connection ON files (connection_id, received_at DESC);
CREATE INDEX files_remote ON files (connection_id, remote);

CREATE TABLE record_errors (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants(id),
    file_id   text NOT NULL REFERENCES files(id),
    line      integer NOT NULL,
    record_id text NOT NULL DEFAULT '',
    field     text NOT NULL DEFAULT '',
    code      text NOT NULL,
    message   text NOT NULL
);
CREATE INDEX record_errors_file ON record_errors (file_id, line);

CREATE TABLE sync_runs (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants(id),
    connection_id text NOT NULL REFERENCES connections(id),
    trigger       text NOT NULL,
    status        text NOT NULL,
    files         integer NOT NULL DEFAULT 0,
    rows          integer NOT NULL DEFAULT 0,
    error         text NOT NULL DEFAULT '',
    error_code    text NOT NULL DEFAULT '',
    file_id       text NOT NULL DEFAULT '',
    job_id        bigint,
    attempt       integer NOT NULL DEFAULT 0,
    scheduled_for timestamptz,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz
);
CREATE INDEX sync_runs_tenant ON sync_runs (tenant_id, started_at DESC);
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, id DESC);
CREATE UNIQUE INDEX sync_runs_job ON sync_runs (job_id) WHERE job_id IS NOT NULL;

-- The outbox: one row per change event. seq counts each tenant's events
-- from 1 without gaps, assigned under the tenant's advisory lock, so a
-- feed reader that has seen seq n has seen every event before it.
CREATE TABLE events (
    tenant_id   text NOT NULL REFERENCES tenants(id),
    seq         bigint NOT NULL,
    id          text NOT NULL UNIQUE,
    type        text NOT NULL,
    subject     text NOT NULL,
    data        jsonb NOT NULL,
    file_id     text,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE webhook_endpoints (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants(id),
    url             text NOT NULL,
    event_types     text NOT NULL DEFAULT '',
    secret          bytea NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL,
    last_seq        bigint NOT NULL DEFAULT 0,
    attempt         integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    failing_since   timestamptz,
    disabled_reason text NOT NULL DEFAULT '',
    lease_owner     text NOT NULL DEFAULT '',
    lease_until     timestamptz
);

-- The delivery log keeps its event's seq and id without a foreign key:
-- it is a log of what was sent.
CREATE TABLE webhook_deliveries (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL DEFAULT '',
    endpoint_id     text NOT NULL REFERENCES webhook_endpoints(id),
    event_seq       bigint NOT NULL,
    event_id        text NOT NULL DEFAULT '',
    attempt         integer NOT NULL,
    status          text NOT NULL,
    response_status integer,
    error           text NOT NULL DEFAULT '',
    duration_ms     integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, id);

CREATE TABLE audit_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    key_id    text NOT NULL DEFAULT '',
    actor     text NOT NULL DEFAULT '',
    action    text NOT NULL,
    resource  text NOT NULL,
    at        timestamptz NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, at DESC);
