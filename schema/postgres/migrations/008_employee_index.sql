-- The change index an ingest ends with (schema.Known, in chunks of about
-- a megabyte), so the next file of the tenant reads a few megabytes
-- instead of every employee row. An ingest that writes employees either
-- replaces it or deletes it in the same transaction. The chunks are
-- hashes and ids that do not compress: stored without trying.
CREATE TABLE employee_index (
    tenant_id text NOT NULL,
    chunk     integer NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (tenant_id, chunk)
);
ALTER TABLE employee_index ALTER COLUMN data SET STORAGE EXTERNAL;
