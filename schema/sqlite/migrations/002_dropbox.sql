-- Drop box accounts: HR admins and HRIS vendors who push files to us over
-- hrisbridge's own SFTP server. Each account delivers to one connection.
CREATE TABLE dropbox_accounts (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants(id),
    connection_id   text NOT NULL REFERENCES connections(id),
    username        text NOT NULL UNIQUE,
    password_hash   BLOB,
    authorized_keys text NOT NULL DEFAULT '',
    can_list        INTEGER NOT NULL DEFAULT 0,
    max_bytes       INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
-- Listing employees by tenant and id is served by employees_tenant_id;
-- updated_since filters ride on it too. One index fewer to maintain on
-- every ingested row.
DROP INDEX employees_tenant_updated;
