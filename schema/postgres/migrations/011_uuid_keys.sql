-- The keys of the bulk tables are stored as uuid (16 bytes) instead of
-- their 36-character text: every employee row carries three of them and
-- each of its two unique indexes leads with tenant_id, so at 1M rows the
-- text keys made the rows 14% and the indexes about half wider than they
-- need be. A first load spent half of PostgreSQL's time in those indexes;
-- with uuid keys the employees COPY of a 1M-row load took 20-28% less
-- server time (README, Benchmark). Every id hrisbridge writes is a UUID;
-- the API still reads and writes them as strings, and the store turns an
-- id that is not one into "no such row" before it reaches a query.
--
-- dependents and enrollments reference employees by (tenant_id,
-- employee_id), so theirs change with them. Their tenant_id can no longer
-- reference tenants(id) (text): like employees and events since migration
-- 007 they keep it without that check (only an ingest that holds the
-- tenant writes it, and it must match their employee's).
ALTER TABLE dependents DROP CONSTRAINT dependents_tenant_id_employee_id_fkey,
    DROP CONSTRAINT dependents_tenant_id_fkey;
ALTER TABLE enrollments DROP CONSTRAINT enrollments_tenant_id_employee_id_fkey,
    DROP CONSTRAINT enrollments_tenant_id_fkey;

ALTER TABLE employees ALTER COLUMN id TYPE uuid USING id::uuid,
    ALTER COLUMN tenant_id TYPE uuid USING tenant_id::uuid,
    ALTER COLUMN connection_id TYPE uuid USING nullif(connection_id, '')::uuid;
ALTER TABLE dependents ALTER COLUMN tenant_id TYPE uuid USING tenant_id::uuid,
    ALTER COLUMN employee_id TYPE uuid USING employee_id::uuid;
ALTER TABLE enrollments ALTER COLUMN tenant_id TYPE uuid USING tenant_id::uuid,
    ALTER COLUMN employee_id TYPE uuid USING employee_id::uuid;

ALTER TABLE dependents ADD CONSTRAINT dependents_tenant_id_employee_id_fkey
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id);
ALTER TABLE enrollments ADD CONSTRAINT enrollments_tenant_id_employee_id_fkey
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id);
