-- The remote path, size and mtime a pulled file came from: a pull skips
-- downloading what it already took, even when the file was left in place.
ALTER TABLE files ADD COLUMN remote text NOT NULL DEFAULT '';
CREATE INDEX files_remote ON files (connection_id, remote);
