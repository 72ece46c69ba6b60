-- The layout fields each file's header had a column for (comma-separated):
-- a full snapshot whose header lost one of them is held for schema drift.
ALTER TABLE files ADD COLUMN mapped text NOT NULL DEFAULT '';
