-- A first load writes one employee.hired event per new employee, and one
-- events row each was about 40% of the cost of onboarding an employer.
-- Hires are now stored a block at a time: one events row holds up to 4096
-- of them (n, and their employee id, external id and status in hires),
-- and the store expands it into one event each on every read (feed,
-- webhooks, lookup by id), so the events a consumer sees are unchanged.
--
-- Every row takes a block of 4096 sequence numbers: the i-th event of a
-- row is seq + i, so seqs stay unique and ordered, with gaps. The i-th
-- event's id is the row's id with its last three hex digits set to i
-- (the row's id ends in 000).
ALTER TABLE events ADD COLUMN n integer NOT NULL DEFAULT 1,
    ADD COLUMN hires bytea;
ALTER TABLE events ALTER COLUMN seq SET INCREMENT BY 4096;
-- The hires are ids and short strings: stored without trying to compress.
ALTER TABLE events ALTER COLUMN hires SET STORAGE EXTERNAL;
