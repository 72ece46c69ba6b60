-- The hash of the raw record (and the layout that read it) each employee
-- was last written from: a re-delivered row with the same raw bytes is
-- recognised before it is parsed.
ALTER TABLE employees ADD COLUMN source_hash text NOT NULL DEFAULT '';
