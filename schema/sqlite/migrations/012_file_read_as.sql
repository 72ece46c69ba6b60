-- How each file was read: the encoding (and delimiter) its layout named,
-- or what the file showed under auto.
ALTER TABLE files ADD COLUMN read_as text NOT NULL DEFAULT '';
