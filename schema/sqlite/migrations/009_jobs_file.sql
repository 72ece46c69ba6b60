-- The job queue's tables moved to a database file of their own
-- (hrisbridge-jobs.db), whose job ids start again at 1. Runs recorded
-- before keep their outcome but give up their job ids, so that a new job
-- never takes an old run over; runs the old queue still held (queued or
-- running) end as failed, to be queued again.
UPDATE sync_runs SET status = 'failed', error = 'the job queue moved to its own database file at an upgrade: queue the sync again',
    finished_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000000Z'
WHERE status IN ('queued', 'running');
UPDATE sync_runs SET job_id = NULL WHERE job_id IS NOT NULL;
