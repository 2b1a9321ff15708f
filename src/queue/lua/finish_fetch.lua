-- finish_fetch.lua -- finish.lua and fetch.lua in one round trip: a worker reports success and
-- takes its next job.
-- ARGV: worker, id, result, log tail, ttl_finished (s), queue1, queue2, ...
-- Returns {outcome ('ok' or 'stale'), the next job's hash as a flat list or nil}.
local outcome = finish_job(ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]))
local job, err = fetch_for(ARGV[1], ARGV, 6)
if job == nil then return redis.error_reply(err) end
return {outcome, job}
