-- hrisbridge data model (PostgreSQL). Forward-only; see PRODUCT.md.
CREATE TABLE tenants (
    id         text PRIMARY KEY,
    slug       text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL
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
    last_used_at timestamptz
);

CREATE TABLE connections (
    id         text PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants(id),
    name       text NOT NULL,
    kind       text NOT NULL,
    layout     text NOT NULL,
    schedule   text NOT NULL DEFAULT '',
    config     jsonb NOT NULL DEFAULT '{}',
    secret     bytea,
    enabled    boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
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

CREATE TABLE employees (
    id                    text PRIMARY KEY,
    tenant_id             text NOT NULL REFERENCES tenants(id),
    external_id           text NOT NULL,
    connection_id         text,
    employment_status     text NOT NULL,
    employment_type       text NOT NULL DEFAULT '',
    department            text NOT NULL DEFAULT '',
    location              text NOT NULL DEFAULT '',
    hire_date             text NOT NULL DEFAULT '',
    termination_date      text NOT NULL DEFAULT '',
    missing_from_snapshot boolean NOT NULL DEFAULT false,
    content_hash          text NOT NULL,
    data                  jsonb NOT NULL,
    ssn_sealed            bytea,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    UNIQUE (tenant_id, external_id)
);
CREATE INDEX employees_tenant_id ON employees (tenant_id, id);
CREATE INDEX employees_tenant_updated ON employees (tenant_id, updated_at, id);

CREATE TABLE dependents (
    id           text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id),
    employee_id  text NOT NULL REFERENCES employees(id),
    external_id  text NOT NULL,
    relationship text NOT NULL,
    content_hash text NOT NULL,
    data         jsonb NOT NULL,
    ssn_sealed   bytea,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (tenant_id, employee_id, external_id)
);

CREATE TABLE benefit_plans (
    id           text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id),
    plan_code    text NOT NULL,
    type         text NOT NULL,
    content_hash text NOT NULL,
    data         jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (tenant_id, plan_code)
);

CREATE TABLE enrollments (
    id             text PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants(id),
    employee_id    text NOT NULL REFERENCES employees(id),
    plan_id        text NOT NULL REFERENCES benefit_plans(id),
    status         text NOT NULL,
    effective_date text NOT NULL,
    end_date       text NOT NULL DEFAULT '',
    content_hash   text NOT NULL,
    data           jsonb NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (tenant_id, employee_id, plan_id, effective_date)
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
    applied_at    timestamptz
);
-- A file's bytes apply once per connection; duplicates, rejections and
-- failures are recorded beside the one that counts.
CREATE UNIQUE INDEX files_once ON files (connection_id, sha256)
    WHERE status IN ('processing', 'applied', 'applied_with_errors', 'held');
CREATE INDEX files_tenant ON files (tenant_id, received_at DESC);

CREATE TABLE sync_runs (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants(id),
    connection_id text NOT NULL REFERENCES connections(id),
    trigger       text NOT NULL,
    status        text NOT NULL,
    files         integer NOT NULL DEFAULT 0,
    rows          integer NOT NULL DEFAULT 0,
    error         text NOT NULL DEFAULT '',
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz
);
CREATE INDEX sync_runs_tenant ON sync_runs (tenant_id, started_at DESC);

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

CREATE TABLE events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    tenant_id   text NOT NULL REFERENCES tenants(id),
    type        text NOT NULL,
    subject     text NOT NULL,
    data        jsonb NOT NULL,
    file_id     text,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, seq);

CREATE TABLE webhook_endpoints (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id),
    url         text NOT NULL,
    event_types text NOT NULL DEFAULT '',
    secret      bytea NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              text PRIMARY KEY,
    endpoint_id     text NOT NULL REFERENCES webhook_endpoints(id),
    event_seq       bigint NOT NULL REFERENCES events(seq),
    attempt         integer NOT NULL,
    status          text NOT NULL,
    response_status integer,
    error           text NOT NULL DEFAULT '',
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL
);

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
