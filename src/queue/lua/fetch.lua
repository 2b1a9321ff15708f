-- fetch.lua -- moves the next job of the first non-empty queue (in the order given) to the
-- worker's processing list and marks it started, in one step.
-- ARGV: worker, queue1, queue2, ... Returns the job hash as a flat list, or nil when every
-- queue is empty (then the queues' wake-up tokens are cleared: they are stale).
local job, err = fetch_for(ARGV[1], ARGV, 2)
if job == nil then return redis.error_reply(err) end
if job == false then return nil end
return job
