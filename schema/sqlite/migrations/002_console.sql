-- The console: operator accounts, HR admins' magic links, and sessions.
-- Tokens are stored only as SHA-256 hashes.
CREATE TABLE console_operators (
    id            text PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    pii           integer NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

CREATE TABLE console_links (
    id         text PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants(id),
    hash       BLOB NOT NULL UNIQUE,
    email      text NOT NULL DEFAULT '',
    pii        integer NOT NULL DEFAULT 0,
    created_by text NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT
);
CREATE INDEX console_links_tenant ON console_links (tenant_id, created_at DESC);

CREATE TABLE console_sessions (
    hash        BLOB PRIMARY KEY,
    operator_id text NOT NULL DEFAULT '',
    link_id     text NOT NULL DEFAULT '',
    tenant_id   text NOT NULL DEFAULT '',
    actor       text NOT NULL,
    pii         integer NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX console_sessions_link ON console_sessions (link_id) WHERE link_id <> '';
