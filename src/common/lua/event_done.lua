-- event_done.lua -- a planned event: its job graph written and its record updated in one step,
-- and the event taken off the scheduler's processing list (so a scheduler killed before this
-- plans it again after its restart, and one killed after it does not).
-- ARGV: event id, processing list key, graph JSON ('' when no job), plan JSON, state
-- (planned, ignored, failed), error text, ttl (s) of the record.
-- Returns the number of jobs written.
local id, proc, graph, plan, state, err, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local n = 0
if graph ~= '' then
  local e
  n, e = write_graph(graph)
  if not n then return redis.error_reply(e) end
end
local t = now_ms()
redis.call('HSET', P .. 'event:' .. id, 'state', state, 'plan', plan, 'error', err, 'planned', S(t),
  'jobs', S(n))
redis.call('EXPIRE', P .. 'event:' .. id, ttl)
redis.call('ZREMRANGEBYSCORE', P .. 'events', '-inf', '(' .. S(t - ttl * 1000))
redis.call('LREM', proc, 0, id)
return n
