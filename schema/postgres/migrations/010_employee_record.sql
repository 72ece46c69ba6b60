-- Employees are written in a compact record (bytea, schema/internal/codec
-- record.go) instead of JSON text: the fields without a column of their
-- own, length-prefixed in a fixed order, about a third of the bytes. Rows
-- written before keep their JSON in data (record is NULL) and are read as
-- before until their next update; every employee row has one or the
-- other. The columns (status, dates, department, ...) are authoritative
-- for the fields they hold.
ALTER TABLE employees ADD COLUMN record bytea,
    ALTER COLUMN data DROP NOT NULL;
