-- Every employee of a first load is one employees row and one
-- employee.hired event, so their width and their indexes set the speed of
-- onboarding an employer (see README, Benchmarks).
--
-- Records and event payloads are stored as json (text, checked on the
-- way in), not jsonb: nothing queries inside them, the API hands them out
-- as they are, and parsing each one into jsonb cost PostgreSQL a quarter
-- of the load.
ALTER TABLE employees ALTER COLUMN data TYPE json USING data::json;
ALTER TABLE events ALTER COLUMN data TYPE json USING data::json;
-- One index instead of two for identity: employees are always reached
-- within their tenant, so (tenant_id, id) is the primary key, and
-- dependents and enrollments reference it with their own tenant_id (a
-- record can no longer point at another tenant's employee).
ALTER TABLE dependents DROP CONSTRAINT dependents_employee_id_fkey;
ALTER TABLE enrollments DROP CONSTRAINT enrollments_employee_id_fkey;
ALTER TABLE employees DROP CONSTRAINT employees_pkey;
DROP INDEX employees_tenant_id;
ALTER TABLE employees ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE dependents ADD FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id);
ALTER TABLE enrollments ADD FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id);
-- PostgreSQL checks a foreign key with one lookup per inserted row, which
-- cost more than the row itself on a first load. Tenants are never
-- deleted, every row is written by an ingest that holds its tenant, and
-- every read is scoped by tenant_id: the two bulk tables keep tenant_id
-- without the per-row check.
ALTER TABLE employees DROP CONSTRAINT employees_tenant_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_tenant_id_fkey;
