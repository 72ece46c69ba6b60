-- Every employee of a first load is one employees row and one
-- employee.hired event, so their width and their indexes set the speed of
-- onboarding an employer (see README, Benchmark).
--
-- Records and event payloads are stored as text, not jsonb: nothing
-- queries inside them, the API hands them out as they are, and parsing
-- each one into jsonb cost PostgreSQL a quarter of the load (checking it
-- as json still cost a tenth). hrisbridge's own encoder writes them, held
-- to encoding/json's output by fuzz tests.
ALTER TABLE employees ALTER COLUMN data TYPE text USING data::text;
ALTER TABLE events ALTER COLUMN data TYPE text USING data::text;

-- PostgreSQL checks a foreign key with one lookup per inserted row, which
-- cost more than the row itself on a first load. Tenants are never
-- deleted, every row is written by an ingest that holds its tenant, and
-- every read is scoped by tenant_id: the two bulk tables keep tenant_id
-- without the per-row check.
ALTER TABLE employees DROP CONSTRAINT employees_tenant_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_tenant_id_fkey;

-- One index instead of two for identity: employees are always reached
-- within their tenant, so (tenant_id, id) is the primary key, and
-- dependents and enrollments reference it with their own tenant_id (a
-- record can no longer point at another tenant's employee).
ALTER TABLE dependents DROP CONSTRAINT dependents_employee_id_fkey;
ALTER TABLE enrollments DROP CONSTRAINT enrollments_employee_id_fkey;
ALTER TABLE employees DROP CONSTRAINT employees_pkey;
DROP INDEX employees_tenant_id;

-- Keys are compared as bytes: under a linguistic collation every index
-- comparison of a text key went through the locale.
ALTER TABLE employees ALTER COLUMN id TYPE text COLLATE "C",
    ALTER COLUMN tenant_id TYPE text COLLATE "C",
    ALTER COLUMN external_id TYPE text COLLATE "C";
ALTER TABLE dependents ALTER COLUMN tenant_id TYPE text COLLATE "C",
    ALTER COLUMN employee_id TYPE text COLLATE "C";
ALTER TABLE enrollments ALTER COLUMN tenant_id TYPE text COLLATE "C",
    ALTER COLUMN employee_id TYPE text COLLATE "C";
ALTER TABLE events ALTER COLUMN id TYPE text COLLATE "C",
    ALTER COLUMN tenant_id TYPE text COLLATE "C";

ALTER TABLE employees ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE dependents ADD FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id);
ALTER TABLE enrollments ADD FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id);

-- Events are always read within their tenant, in seq order: (tenant_id,
-- seq) is their primary key, one index where there were two. A delivery
-- keeps its event's seq and id without a foreign key (it is a log of
-- attempts; the event outlives it).
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_seq_fkey;
ALTER TABLE events DROP CONSTRAINT events_pkey;
DROP INDEX events_tenant;
ALTER TABLE events ADD PRIMARY KEY (tenant_id, seq);
