-- finish.lua -- a worker reports success: the job is finished and its dependents whose last
-- dependency this was are queued.
-- ARGV: worker, id, result (JSON text or ''), log tail, ttl_finished (s).
-- Returns 'ok', or 'stale' when the job is no longer in the worker's processing list (it
-- was reaped and put back; the other run's report counts).
return finish_job(ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]))
