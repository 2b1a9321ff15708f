-- enqueue.lua -- writes a whole event's job graph at once.
-- ARGV[1]: {"v":1,"event":ID,"jobs":[{"id","name","func","queue","kwargs" (JSON text),
--            "timeout" (s, -1 none),"deps":[ids],"retry_max","retry_interval"}]}
-- A dependency is a job earlier in the list or a job already in Redis. Nothing is written
-- unless the whole graph is valid. Returns the number of jobs written.
local g = cjson.decode(ARGV[1])
if tostring(g.v) ~= WIRE then return redis.error_reply('ERR wire version ' .. tostring(g.v) .. ', expected ' .. WIRE) end
if type(g.jobs) ~= 'table' then return redis.error_reply('ERR graph has no jobs list') end
local ids = {}
for i, j in ipairs(g.jobs) do
  for _, f in ipairs({'id', 'name', 'func', 'queue', 'kwargs'}) do
    if type(j[f]) ~= 'string' or j[f] == '' then
      return redis.error_reply('ERR job ' .. i .. ': field ' .. f .. ' missing')
    end
  end
  if ids[j.id] or redis.call('EXISTS', jkey(j.id)) == 1 then
    return redis.error_reply('ERR job ' .. i .. ': id ' .. j.id .. ' already exists')
  end
  local seen = {}
  for _, d in ipairs(j.deps or {}) do
    if seen[d] then return redis.error_reply('ERR job ' .. i .. ': dependency ' .. tostring(d) .. ' named twice') end
    seen[d] = true
    if not ids[d] and redis.call('EXISTS', jkey(d)) == 0 then
      return redis.error_reply('ERR job ' .. i .. ': dependency ' .. tostring(d) .. ' is not earlier in the graph nor in Redis')
    end
  end
  ids[j.id] = true
end
local t = now_ms()
for _, j in ipairs(g.jobs) do
  local deps = j.deps or {}
  local pending, blocked = 0, false
  for _, d in ipairs(deps) do
    local st = redis.call('HGET', jkey(d), 'state')
    if st ~= 'finished' then pending = pending + 1 end
    if st == 'failed' or st == 'blocked' or st == 'canceled' then blocked = true end
    redis.call('SADD', jkey(d) .. ':dependents', j.id)
    redis.call('PERSIST', jkey(d) .. ':dependents')
  end
  redis.call('HSET', jkey(j.id), 'v', WIRE, 'id', j.id, 'event', g.event or '', 'name', j.name,
    'func', j.func, 'queue', j.queue, 'kwargs', j.kwargs, 'timeout', S(j.timeout or 3600),
    'deps', #deps > 0 and cjson.encode(deps) or '[]', 'created', S(t), 'attempts', '0',
    'crashes', '0', 'retry_max', S(j.retry_max or 0), 'retry_interval', S(j.retry_interval or 0),
    'pending', S(pending), 'error', '')
  redis.call('SADD', P .. 'queues', j.queue)
  if blocked then
    redis.call('HSET', jkey(j.id), 'state', 'blocked')
    set_state(j.id, j.queue, nil, 'blocked', t)
  elseif pending > 0 then
    set_state(j.id, j.queue, nil, 'deferred', t)
  else
    push_queue(j.id, j.queue, nil, t, false)
  end
end
return #g.jobs
