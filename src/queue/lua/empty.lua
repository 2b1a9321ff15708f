-- empty.lua -- deletes a batch of a queue's jobs in one state (queued: the queue itself, the
-- oldest first; failed, finished, canceled: the registry), as delete.lua does for one:
-- descendants that have not run are canceled. The caller repeats until nothing is left.
-- ARGV: queue, state, ttl_failed (s), batch size.
-- Returns {entries handled, descendants canceled}.
local q, st, ttl, batch = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local ids
if st == 'queued' then
  ids = redis.call('RPOP', P .. 'queue:' .. q, batch) or {}
else
  ids = redis.call('ZRANGE', reg(q, st), 0, batch - 1)
end
local t, canceled = now_ms(), 0
for _, id in ipairs(ids) do
  if st ~= 'queued' then redis.call('ZREM', reg(q, st), id) end
  if redis.call('HGET', jkey(id), 'state') == st then
    canceled = canceled + cancel_descendants(id, t, ttl)
    for _, d in ipairs(deps_of(id)) do redis.call('SREM', jkey(d) .. ':dependents', id) end
    unindex_job(id)
    redis.call('DEL', jkey(id), jkey(id) .. ':dependents')
  end
end
return {#ids, canceled}
