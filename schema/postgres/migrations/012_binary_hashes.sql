-- An employee's content and raw-record hashes are stored as their 8
-- bytes instead of 16 hex digits (two text columns): 16 bytes less per
-- row and two fewer text values for PostgreSQL to check on every insert.
-- Change detection reads them back as hex (schema.Known), and compares
-- only those first 64 bits: a full 64-digit hash from an older row keeps
-- its first 16 digits, and '' ("write this row next time") stays empty.
ALTER TABLE employees
    ALTER COLUMN content_hash TYPE bytea USING decode(left(content_hash, 16), 'hex'),
    ALTER COLUMN source_hash DROP DEFAULT,
    ALTER COLUMN source_hash TYPE bytea USING decode(source_hash, 'hex'),
    ALTER COLUMN source_hash SET DEFAULT ''::bytea;
