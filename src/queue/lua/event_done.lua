-- event_done.lua -- a planner's batch of events finished in one step: each event's job graph
-- written, its record updated and the event taken off the scheduler's processing list
-- together (so a scheduler killed before this plans them again after its restart, and one
-- killed after it does not); then, in the same step, up to N next events moved from the inbox
-- into that processing list (the planner's next batch).
-- ARGV: processing list key, ttl (s) of the records, N (events to take next), max takes of an
-- event (common.lua's take_event), then 5 values per event: id, graph JSON ('' when no job),
-- plan JSON, state (planned, ignored, failed; or
-- 'back': the event waits, it goes back to the inbox), error text.
-- An event no longer in the processing list is left alone: this step already ran for it (a
-- retry after a reply lost with the connection).
-- Returns {count, then 2 per event: jobs written and '' (-1 and why when Redis refused the
-- graph: the event is recorded failed with that reason; -2 and '' when it was not in the
-- list), then 4 per event taken: id, body, received ms, and '' (or why it was quarantined
-- instead: taken too often; recorded failed, not in the processing list)}.
-- An event finished or put back has its take count reset.
local proc, ttl, take, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {0}
local t = now_ms()
local n = 0
for i = 5, #ARGV - 4, 5 do
  local id, graph, plan, state, err = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local jobs, why = 0, ''
  n = n + 1
  if not redis.call('LPOS', proc, id) then
    jobs = -2
  elseif state == 'back' then
    redis.call('LREM', proc, 0, id)
    redis.call('LPUSH', P .. 'inbox', id)
    if redis.call('EXISTS', P .. 'event:' .. id) == 1 then
      redis.call('HSET', P .. 'event:' .. id, 'takes', '0')
    end
  else
    if graph ~= '' then
      local e
      jobs, e = write_graph(graph, t)
      if not jobs then
        jobs, why, state, err = -1, e, 'failed', e
      end
    end
    redis.call('HSET', P .. 'event:' .. id, 'state', state, 'plan', plan, 'error', err,
      'planned', S(t), 'jobs', S(jobs > 0 and jobs or 0), 'takes', '0')
    redis.call('EXPIRE', P .. 'event:' .. id, ttl)
    redis.call('LREM', proc, 0, id)
  end
  table.insert(out, jobs)
  table.insert(out, why)
end
out[1] = n
if n > 0 then
  redis.call('ZREMRANGEBYSCORE', P .. 'events', '-inf', '(' .. S(t - ttl * 1000))
end
for _ = 1, take do
  local id = redis.call('RPOPLPUSH', P .. 'inbox', proc)
  if not id then break end
  local h = take_event(proc, id, max, ttl)
  table.insert(out, id)
  table.insert(out, h[1])
  table.insert(out, h[2])
  table.insert(out, h[3])
end
return out
