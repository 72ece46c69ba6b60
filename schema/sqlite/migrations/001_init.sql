-- hrisbridge data model (SQLite): the baseline later migrations build on,
-- with the tables and constraints of the PostgreSQL store. Normalized
-- records keep every field in a typed column (dates as text checked as
-- YYYY-MM-DD, money as exact decimal text, enums
-- checked), custom fields as JSON and the SSN sealed in its own column.
-- Content and raw-record hashes are 64-bit keyed digests (integer).

CREATE TABLE tenants (
    id         text PRIMARY KEY,
    slug       text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at TEXT NOT NULL,
    ingests    integer NOT NULL DEFAULT 0 -- Ingest.Generation
);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    tenant_id    text REFERENCES tenants(id),
    name         text NOT NULL DEFAULT '',
    prefix       text NOT NULL UNIQUE,
    hash         BLOB NOT NULL,
    scopes       text NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT,
    expires_at   TEXT
);

CREATE TABLE connections (
    id               text PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants(id),
    name             text NOT NULL,
    kind             text NOT NULL,
    layout           text NOT NULL,
    schedule         text NOT NULL DEFAULT '',
    config           TEXT NOT NULL DEFAULT '{}',
    secret           BLOB,
    enabled          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    time_zone        text NOT NULL DEFAULT 'UTC',
    catch_up         text NOT NULL DEFAULT 'once',
    last_tick_at     TEXT,
    sync_owner       text NOT NULL DEFAULT '',
    sync_lease_until TEXT,
    health           text NOT NULL DEFAULT 'healthy',
    health_code      text NOT NULL DEFAULT '',
    health_reason    text NOT NULL DEFAULT '',
    health_since     TEXT,
    deleted_at       TEXT,
    UNIQUE (tenant_id, name)
);

CREATE TABLE layouts (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants(id),
    connection_id text REFERENCES connections(id),
    name          text NOT NULL,
    body          text NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX layouts_scope ON layouts (tenant_id, coalesce(connection_id, ''), name);

CREATE TABLE dropbox_accounts (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants(id),
    connection_id   text NOT NULL REFERENCES connections(id),
    username        text NOT NULL UNIQUE,
    password_hash   BLOB,
    authorized_keys text NOT NULL DEFAULT '',
    rights          text NOT NULL DEFAULT 'upload',
    max_bytes       INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);

CREATE TABLE enrollment_windows (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants(id),
    connection_id text REFERENCES connections(id),
    name          text NOT NULL,
    starts_on     TEXT NOT NULL,
    ends_on       TEXT NOT NULL,
    schedule      text NOT NULL,
    final_pull    INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    CHECK (ends_on >= starts_on)
);
CREATE INDEX enrollment_windows_tenant ON enrollment_windows (tenant_id, starts_on);

-- Employees, dependents, plans and enrollments are keyed by text (16
-- bytes: a million-row tenant's keys and indexes stay small).
CREATE TABLE employees (
    tenant_id             text NOT NULL,
    id                    text NOT NULL,
    external_id           text NOT NULL,
    connection_id         text,
    first_name            text NOT NULL DEFAULT '',
    middle_name           text NOT NULL DEFAULT '',
    last_name             text NOT NULL DEFAULT '',
    preferred_name        text NOT NULL DEFAULT '',
    date_of_birth         TEXT CHECK (date_of_birth IS NULL OR date(date_of_birth) IS date_of_birth),
    gender                text NOT NULL DEFAULT ''
        CHECK (gender IN ('', 'female', 'male', 'nonbinary', 'other', 'undisclosed')),
    ssn_sealed            BLOB,
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
    hire_date             TEXT CHECK (hire_date IS NULL OR date(hire_date) IS hire_date),
    termination_date      TEXT CHECK (termination_date IS NULL OR date(termination_date) IS termination_date),
    termination_reason    text NOT NULL DEFAULT '',
    job_title             text NOT NULL DEFAULT '',
    department            text NOT NULL DEFAULT '',
    location              text NOT NULL DEFAULT '',
    manager_external_id   text NOT NULL DEFAULT '',
    pay_frequency         text NOT NULL DEFAULT ''
        CHECK (pay_frequency IN ('', 'weekly', 'biweekly', 'semimonthly', 'monthly', 'annual')),
    annual_salary         text,
    salary_currency       text NOT NULL DEFAULT '',
    hourly_rate           text,
    scheduled_hours       text,
    benefit_class         text NOT NULL DEFAULT '',
    custom_fields         TEXT,
    missing_from_snapshot INTEGER NOT NULL DEFAULT 0,
    content_hash          INTEGER NOT NULL,
    source_hash           INTEGER NOT NULL DEFAULT 0,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, external_id)
);

-- Incremental reads (sort=updated_at, updated_since) page in this order.
CREATE INDEX employees_updated ON employees (tenant_id, updated_at, id);

CREATE TABLE benefit_plans (
    tenant_id       text NOT NULL,
    id              text NOT NULL,
    plan_code       text NOT NULL,
    name            text NOT NULL DEFAULT '',
    type            text NOT NULL
        CHECK (type IN ('medical', 'dental', 'vision', 'life', 'add', 'std', 'ltd', 'hsa', 'fsa', 'dcfsa', 'hra', 'retirement', 'other')),
    carrier         text NOT NULL DEFAULT '',
    group_number    text NOT NULL DEFAULT '',
    plan_year_start TEXT CHECK (plan_year_start IS NULL OR date(plan_year_start) IS plan_year_start),
    plan_year_end   TEXT CHECK (plan_year_end IS NULL OR date(plan_year_end) IS plan_year_end),
    custom_fields   TEXT,
    content_hash    INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, plan_code)
);

CREATE TABLE dependents (
    tenant_id     text NOT NULL,
    id            text NOT NULL,
    employee_id   text NOT NULL,
    external_id   text NOT NULL,
    first_name    text NOT NULL DEFAULT '',
    middle_name   text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    date_of_birth TEXT CHECK (date_of_birth IS NULL OR date(date_of_birth) IS date_of_birth),
    gender        text NOT NULL DEFAULT ''
        CHECK (gender IN ('', 'female', 'male', 'nonbinary', 'other', 'undisclosed')),
    relationship  text NOT NULL
        CHECK (relationship IN ('spouse', 'domestic_partner', 'child', 'stepchild', 'foster_child', 'ward', 'other')),
    ssn_sealed    BLOB,
    is_student    INTEGER NOT NULL DEFAULT 0,
    is_disabled   INTEGER NOT NULL DEFAULT 0,
    custom_fields TEXT,
    content_hash  INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, employee_id, external_id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id)
);

CREATE TABLE enrollments (
    tenant_id             text NOT NULL,
    id                    text NOT NULL,
    employee_id           text NOT NULL,
    plan_id               text NOT NULL,
    coverage_tier         text NOT NULL
        CHECK (coverage_tier IN ('employee', 'employee_spouse', 'employee_children', 'family', 'waived')),
    status                text NOT NULL CHECK (status IN ('active', 'waived', 'terminated', 'pending')),
    effective_date        TEXT NOT NULL CHECK (date(effective_date) IS effective_date),
    end_date              TEXT CHECK (end_date IS NULL OR date(end_date) IS end_date),
    employee_contribution text,
    employer_contribution text,
    covered_dependent_ids TEXT NOT NULL DEFAULT '[]',
    custom_fields         TEXT,
    content_hash          INTEGER NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
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
    size          INTEGER NOT NULL,
    layout        text NOT NULL,
    status        text NOT NULL,
    rows          integer NOT NULL DEFAULT 0,
    valid         integer NOT NULL DEFAULT 0,
    invalid       integer NOT NULL DEFAULT 0,
    created       integer NOT NULL DEFAULT 0,
    updated       integer NOT NULL DEFAULT 0,
    unchanged     integer NOT NULL DEFAULT 0,
    detail        text NOT NULL DEFAULT '',
    received_at   TEXT NOT NULL,
    applied_at    TEXT,
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
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
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
    job_id        INTEGER,
    attempt       integer NOT NULL DEFAULT 0,
    scheduled_for TEXT,
    started_at    TEXT NOT NULL,
    finished_at   TEXT
);
CREATE INDEX sync_runs_tenant ON sync_runs (tenant_id, started_at DESC);
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, id DESC);
CREATE UNIQUE INDEX sync_runs_job ON sync_runs (job_id) WHERE job_id IS NOT NULL;

-- The outbox: one row per change event. seq counts each tenant's events
-- from 1 without gaps, assigned under the tenant's advisory lock, so a
-- feed reader that has seen seq n has seen every event before it.
CREATE TABLE events (
    tenant_id   text NOT NULL REFERENCES tenants(id),
    seq         INTEGER NOT NULL,
    id          text NOT NULL UNIQUE,
    type        text NOT NULL,
    subject     text NOT NULL,
    data        TEXT NOT NULL,
    file_id     text,
    occurred_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE webhook_endpoints (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants(id),
    url             text NOT NULL,
    event_types     text NOT NULL DEFAULT '',
    secret          BLOB NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    last_seq        INTEGER NOT NULL DEFAULT 0,
    attempt         integer NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    failing_since   TEXT,
    disabled_reason text NOT NULL DEFAULT '',
    lease_owner     text NOT NULL DEFAULT '',
    lease_until     TEXT
);

-- The delivery log keeps its event's seq and id without a foreign key:
-- it is a log of what was sent.
CREATE TABLE webhook_deliveries (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL DEFAULT '',
    endpoint_id     text NOT NULL REFERENCES webhook_endpoints(id),
    event_seq       INTEGER NOT NULL,
    event_id        text NOT NULL DEFAULT '',
    attempt         integer NOT NULL,
    status          text NOT NULL,
    response_status integer,
    error           text NOT NULL DEFAULT '',
    duration_ms     integer NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, id);
