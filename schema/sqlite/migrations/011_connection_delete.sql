-- A deleted connection stays as the history of its files, runs and
-- records, unlisted and unscheduled, its name free for a new one.
ALTER TABLE connections ADD COLUMN deleted_at TEXT;
