-- common.lua -- helpers shared by every job-protocol script (prepended to each).
-- Keys (prefix dcmp:): job:ID (hash), job:ID:dependents (set), queue:Q (list, LPUSH in, RPOP
-- out), signal:Q (wake-up tokens), reg:Q:STATE (zset, score = ms the job entered STATE),
-- queues (set), scheduled (zset, score = due ms), workers (set), worker:W (hash),
-- worker:W:hb (heartbeat, PX), worker:W:processing (list of the ids W is running).
local P = 'dcmp:'
local WIRE = '1'

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function S(n) return string.format('%d', n) end
local function jkey(id) return P .. 'job:' .. id end
local function reg(q, st) return P .. 'reg:' .. q .. ':' .. st end

-- Moves job id of queue q from state `from` to `to` in the registries and its hash.
-- Queued jobs are counted by their list, so they have no registry.
local function set_state(id, q, from, to, t)
  if from and from ~= 'queued' then redis.call('ZREM', reg(q, from), id) end
  if to ~= 'queued' then redis.call('ZADD', reg(q, to), t, id) end
  redis.call('HSET', jkey(id), 'state', to)
end

-- Puts a job on its queue (at the front, to be fetched next, when front) and wakes a worker.
local function push_queue(id, q, from, t, front)
  if front then
    redis.call('RPUSH', P .. 'queue:' .. q, id)
  else
    redis.call('LPUSH', P .. 'queue:' .. q, id)
  end
  redis.call('RPUSH', P .. 'signal:' .. q, '1')
  redis.call('LTRIM', P .. 'signal:' .. q, 0, 1023)
  redis.call('HSET', jkey(id), 'enqueued', S(t))
  set_state(id, q, from, 'queued', t)
end

local function expire_job(id, ttl)
  redis.call('EXPIRE', jkey(id), ttl)
  redis.call('EXPIRE', jkey(id) .. ':dependents', ttl)
end

local function persist_job(id)
  redis.call('PERSIST', jkey(id))
  redis.call('PERSIST', jkey(id) .. ':dependents')
end

-- Drops registry entries older than ttl seconds (their hashes have expired).
local function trim_registry(q, st, t, ttl)
  redis.call('ZREMRANGEBYSCORE', reg(q, st), '-inf', '(' .. S(t - ttl * 1000))
end

local function deps_of(id)
  local d = redis.call('HGET', jkey(id), 'deps')
  if not d or d == '' then return {} end
  return cjson.decode(d)
end

-- Every deferred descendant of id becomes blocked (it can never run until id is requeued).
local function block_descendants(id, t, ttl_failed)
  local stack = {id}
  while #stack > 0 do
    local cur = table.remove(stack)
    for _, d in ipairs(redis.call('SMEMBERS', jkey(cur) .. ':dependents')) do
      local h = redis.call('HMGET', jkey(d), 'state', 'queue')
      if h[1] == 'deferred' then
        set_state(d, h[2], 'deferred', 'blocked', t)
        expire_job(d, ttl_failed)
        table.insert(stack, d)
      end
    end
  end
end

-- Blocked descendants of id whose dependencies are no longer failed, blocked or canceled
-- become deferred again; repeated until nothing changes, so the order of the graph walk
-- does not matter.
local function unblock_descendants(id, t)
  local seen, list, stack = {}, {}, {id}
  while #stack > 0 do
    local cur = table.remove(stack)
    for _, d in ipairs(redis.call('SMEMBERS', jkey(cur) .. ':dependents')) do
      if not seen[d] and redis.call('HGET', jkey(d), 'state') == 'blocked' then
        seen[d] = true
        table.insert(list, d)
        table.insert(stack, d)
      end
    end
  end
  local changed = true
  while changed do
    changed = false
    for _, d in ipairs(list) do
      local h = redis.call('HMGET', jkey(d), 'state', 'queue')
      if h[1] == 'blocked' then
        local stuck = false
        for _, dep in ipairs(deps_of(d)) do
          local st = redis.call('HGET', jkey(dep), 'state')
          if st == 'failed' or st == 'blocked' or st == 'canceled' then stuck = true end
        end
        if not stuck then
          set_state(d, h[2], 'blocked', 'deferred', t)
          persist_job(d)
          changed = true
        end
      end
    end
  end
end

-- Takes a not-running job out of wherever it waits (queue list, scheduled set).
local function unlink_waiting(id, q, st)
  if st == 'queued' then
    redis.call('LREM', P .. 'queue:' .. q, 0, id)
  elseif st == 'scheduled' then
    redis.call('ZREM', P .. 'scheduled', id)
  end
end

local CANCELABLE = {queued = true, deferred = true, blocked = true, scheduled = true, failed = true}

-- Cancels every descendant of id that has not run yet. Returns how many.
local function cancel_descendants(id, t, ttl_failed)
  local n, stack = 0, {id}
  while #stack > 0 do
    local cur = table.remove(stack)
    for _, d in ipairs(redis.call('SMEMBERS', jkey(cur) .. ':dependents')) do
      local h = redis.call('HMGET', jkey(d), 'state', 'queue')
      if h[1] and CANCELABLE[h[1]] then
        unlink_waiting(d, h[2], h[1])
        set_state(d, h[2], h[1], 'canceled', t)
        redis.call('HSET', jkey(d), 'ended', S(t), 'error', 'canceled: dependency ' .. id .. ' was canceled or deleted')
        expire_job(d, ttl_failed)
        n = n + 1
        table.insert(stack, d)
      end
    end
  end
  return n
end

-- A started job fails for good: recorded, expired after ttl_failed, dependents blocked.
local function fail_final(id, q, w, err, log, t, ttl_failed)
  redis.call('HSET', jkey(id), 'ended', S(t), 'error', err, 'log', log)
  set_state(id, q, 'started', 'failed', t)
  expire_job(id, ttl_failed)
  trim_registry(q, 'failed', t, ttl_failed)
  trim_registry(q, 'blocked', t, ttl_failed)
  if w and w ~= '' then redis.call('HINCRBY', P .. 'worker:' .. w, 'failed', 1) end
  block_descendants(id, t, ttl_failed)
end

-- Puts back a started job of a worker that died or stopped (front of its queue).
local function return_started(id, t)
  local q = redis.call('HGET', jkey(id), 'queue')
  if not q then return end
  redis.call('HDEL', jkey(id), 'worker')
  push_queue(id, q, 'started', t, true)
end

-- The dashboard's indexes, written at enqueue so that filtering jobs by name or by series
-- never walks every job (docs/dashboard.md): idx:name:NAME and idx:series:SERIES are sorted
-- sets of job ids by creation ms, idx:names the set of job names, idx:series the series by
-- their last enqueue ms. Entries of jobs that expired are dropped by sampling, once per graph
-- of k jobs: one of its jobs' name index, picked from the first job's id (random: a different
-- one each graph), gets 2k random entries looked at (with replacement: cheaper), and those
-- whose job is gone are removed. Each index so gets two looks per job written, on average, as
-- if each job sampled two of its own: an index stays within about twice its live jobs at O(1)
-- cost per job, in two commands per graph rather than two per job (docs/performance.md).
local function sweep_names(g)
  local k, pick = #g.jobs, 0
  for c in string.gmatch(g.jobs[1].id, '.') do pick = pick + string.byte(c) end
  local nk = P .. 'idx:name:' .. g.jobs[pick % k + 1].name
  local old = redis.call('ZRANDMEMBER', nk, -2 * k)
  if #old == 0 then return end
  local keys = {}
  for i, o in ipairs(old) do keys[i] = jkey(o) end
  if redis.call('EXISTS', unpack(keys)) < #keys then -- one call when all live
    for _, o in ipairs(old) do
      if redis.call('EXISTS', jkey(o)) == 0 then redis.call('ZREM', nk, o) end
    end
  end
end

-- The series of a graph: its own "series" field, else the series of its event's record.
local function graph_series(g)
  if type(g.series) == 'string' then return g.series end
  if type(g.event) == 'string' and g.event ~= '' then
    return redis.call('HGET', P .. 'event:' .. g.event, 'series') or ''
  end
  return ''
end

-- Indexes the jobs of a graph under its series (one ZADD for all), stamps the series in
-- idx:series, and drops two random series there, index and all, when none of their jobs is
-- left: at most 64 jobs checked in one EXISTS (the sampling of index_job, per series).
local function index_series(series, ids, t)
  if series == '' or #ids == 0 then return end
  local args = {}
  for _, id in ipairs(ids) do
    args[#args + 1] = t
    args[#args + 1] = id
  end
  redis.call('ZADD', P .. 'idx:series:' .. series, unpack(args))
  for _, s in ipairs(redis.call('ZRANDMEMBER', P .. 'idx:series', -2)) do
    local sk = P .. 'idx:series:' .. s
    local keys = {}
    for _, id in ipairs(redis.call('ZRANGE', sk, 0, 64)) do keys[#keys + 1] = jkey(id) end
    -- a series of more than 64 jobs is left alone: it is rare, and checking it costs
    if #keys <= 64 and (#keys == 0 or redis.call('EXISTS', unpack(keys)) == 0) then
      redis.call('DEL', sk)
      redis.call('ZREM', P .. 'idx:series', s)
    end
  end
  redis.call('ZADD', P .. 'idx:series', t, series)
end

-- The series of a job: its event's (jobs carry no series of their own), '' when none.
local function job_series(event)
  if not event or event == '' then return '' end
  return redis.call('HGET', P .. 'event:' .. event, 'series') or ''
end

-- Indexes the jobs of a graph just written (write_graph's last step): each in its name's
-- index, every name in idx:names (one SADD: a name new, or again new, to the index), the
-- sweep of sweep_names, then the series.
local function index_graph(g, t)
  local ids, names = {}, {}
  if #g.jobs == 0 then return end
  sweep_names(g)
  for i, j in ipairs(g.jobs) do
    redis.call('ZADD', P .. 'idx:name:' .. j.name, t, j.id)
    ids[i] = j.id
    names[i] = j.name
  end
  redis.call('SADD', P .. 'idx:names', unpack(names))
  index_series(graph_series(g), ids, t)
end

-- Takes a job out of the dashboard's indexes (before its hash is deleted).
local function unindex_job(id)
  local h = redis.call('HMGET', jkey(id), 'name', 'event')
  if h[1] then redis.call('ZREM', P .. 'idx:name:' .. h[1], id) end
  local series = job_series(h[2])
  if series ~= '' then redis.call('ZREM', P .. 'idx:series:' .. series, id) end
end

-- Writes a whole job graph (see enqueue.lua for its form) in one step, or nothing: every check
-- comes before the first write. t: the time to stamp (ms; nil: Redis' clock now). Returns the
-- number of jobs, or nil and an error message.
local function write_graph(text, t)
  local g = cjson.decode(text)
  if tostring(g.v) ~= WIRE then return nil, ('ERR wire version ' .. tostring(g.v) .. ', expected ' .. WIRE) end
  if type(g.jobs) ~= 'table' then return nil, ('ERR graph has no jobs list') end
  local ids, keys = {}, {}
  -- one EXISTS for every id; only when one is taken is each asked again, to name it
  for _, j in ipairs(g.jobs) do
    if type(j) == 'table' and type(j.id) == 'string' and j.id ~= '' then keys[#keys + 1] = jkey(j.id) end
  end
  local taken = #keys > 0 and redis.call('EXISTS', unpack(keys)) > 0
  for i, j in ipairs(g.jobs) do
    for _, f in ipairs({'id', 'name', 'func', 'queue', 'kwargs'}) do
      if type(j[f]) ~= 'string' or j[f] == '' then
        return nil, ('ERR job ' .. i .. ': field ' .. f .. ' missing')
      end
    end
    if ids[j.id] or (taken and redis.call('EXISTS', jkey(j.id)) == 1) then
      return nil, ('ERR job ' .. i .. ': id ' .. j.id .. ' already exists')
    end
    local seen = {}
    for _, d in ipairs(j.deps or {}) do
      if seen[d] then return nil, ('ERR job ' .. i .. ': dependency ' .. tostring(d) .. ' named twice') end
      seen[d] = true
      if not ids[d] and redis.call('EXISTS', jkey(d)) == 0 then
        return nil, ('ERR job ' .. i .. ': dependency ' .. tostring(d) .. ' is not earlier in the graph nor in Redis')
      end
    end
    ids[j.id] = true
  end
  t = t or now_ms()
  local states, queues = {}, {}
  for _, j in ipairs(g.jobs) do
    local deps = j.deps or {}
    local pending, blocked = 0, false
    for _, d in ipairs(deps) do
      -- a dependency of this graph was written just above: not finished, state known, and
      -- its dependents set is new (no expiry to remove)
      local st = states[d] or redis.call('HGET', jkey(d), 'state')
      if st ~= 'finished' then pending = pending + 1 end
      if st == 'failed' or st == 'blocked' or st == 'canceled' then blocked = true end
      redis.call('SADD', jkey(d) .. ':dependents', j.id)
      if not states[d] then redis.call('PERSIST', jkey(d) .. ':dependents') end
    end
    local st = blocked and 'blocked' or (pending > 0 and 'deferred' or 'queued')
    -- the whole hash in one HSET, its state (and enqueue time) last, as set_state and
    -- push_queue would add them
    local fields = {'v', WIRE, 'id', j.id, 'event', g.event or '', 'name', j.name,
      'func', j.func, 'queue', j.queue, 'kwargs', j.kwargs, 'timeout', S(j.timeout or 3600),
      'deps', #deps > 0 and cjson.encode(deps) or '[]', 'created', S(t), 'attempts', '0',
      'crashes', '0', 'retry_max', S(j.retry_max or 0), 'retry_interval', S(j.retry_interval or 0),
      'pending', S(pending), 'error', ''}
    if st == 'queued' then
      table.insert(fields, 'enqueued')
      table.insert(fields, S(t))
    end
    table.insert(fields, 'state')
    table.insert(fields, st)
    redis.call('HSET', jkey(j.id), unpack(fields))
    states[j.id] = st
    if not queues[j.queue] then
      redis.call('SADD', P .. 'queues', j.queue)
      queues[j.queue] = true
    end
    if st == 'queued' then
      redis.call('LPUSH', P .. 'queue:' .. j.queue, j.id)
      redis.call('RPUSH', P .. 'signal:' .. j.queue, '1')
      redis.call('LTRIM', P .. 'signal:' .. j.queue, 0, 1023)
    else
      redis.call('ZADD', reg(j.queue, st), t, j.id)
    end
  end
  index_graph(g, t)
  return #g.jobs
end

-- What the finished dependencies of job id gave (docs/job-engine.md, "Results to dependents"):
-- a flat list of id, name, result, size for each dependency, in deps order, that finished with
-- a result naming "added_params", "storage" or "deleted" (others give nothing: not sent); a result over
-- INPUT_MAX bytes, or past INPUTS_MAX bytes in all, comes with result '' (the worker logs it
-- ignored). Raw strings, not JSON: encoding megabytes here would hold Redis up (queue.c
-- makes the JSON that dcmp_inputs_merge reads, in the worker). nil when none.
local INPUT_MAX = 1048576 -- as the executor's largest result (DCMP_EXECUTOR_RESULT_MAX)
local INPUTS_MAX = 4194304
local function job_inputs(id)
  local list, total = {}, 0
  for _, d in ipairs(deps_of(id)) do
    local h = redis.call('HMGET', jkey(d), 'state', 'name')
    if h[1] == 'finished' then
      local n = redis.call('HSTRLEN', jkey(d), 'result')
      local r = ''
      if n > 0 and n <= INPUT_MAX and total + n <= INPUTS_MAX then
        r = redis.call('HGET', jkey(d), 'result')
        if not (string.find(r, '"added_params"', 1, true) or string.find(r, '"storage"', 1, true)
            or string.find(r, '"deleted"', 1, true)) then
          n = 0 -- a plain result: nothing for the dependents
        end
      end
      if n > 0 then
        if r ~= '' then total = total + n end
        for _, v in ipairs({d, h[2] or '', r, S(n)}) do list[#list + 1] = v end
      end
    end
  end
  if #list == 0 then return nil end
  return list
end

-- Moves the next job of the first non-empty queue among args[first..] to worker w's processing
-- list and marks it started. Returns the job's hash as a flat list (with 'inputs', its
-- dependencies' results, when any: job_inputs), false when every queue is empty (their
-- wake-up tokens are then stale and cleared), or nil and an error.
local function fetch_for(w, args, first)
  if redis.call('EXISTS', P .. 'worker:' .. w .. ':hb') == 0 then
    return nil, 'NOWORKER worker ' .. w .. ' is not registered'
  end
  local proc = P .. 'worker:' .. w .. ':processing'
  for i = first, #args do
    local q = args[i]
    while true do
      local id = redis.call('RPOPLPUSH', P .. 'queue:' .. q, proc)
      if not id then break end
      if redis.call('EXISTS', jkey(id)) == 1 then
        local t = now_ms()
        redis.call('HSET', jkey(id), 'started', S(t), 'worker', w, 'ended', '')
        redis.call('HINCRBY', jkey(id), 'attempts', 1)
        set_state(id, q, 'queued', 'started', t)
        redis.call('HSET', P .. 'worker:' .. w, 'current', id, 'state', 'busy')
        local job = redis.call('HGETALL', jkey(id))
        local inputs = job_inputs(id)
        if inputs then
          job[#job + 1] = 'inputs'
          job[#job + 1] = inputs
        end
        return job
      end
      redis.call('LREM', proc, 1, id) -- the job was deleted while queued
    end
  end
  for i = first, #args do redis.call('DEL', P .. 'signal:' .. args[i]) end
  redis.call('HSET', P .. 'worker:' .. w, 'current', '', 'state', 'idle')
  return false
end

-- A worker's report of success: the job is finished and its dependents whose last dependency
-- it was are queued. Returns 'ok', or 'stale' when the job is no longer in w's processing list.
local function finish_job(w, id, result, log, ttl)
  if redis.call('LREM', P .. 'worker:' .. w .. ':processing', 1, id) == 0 then return 'stale' end
  local q = redis.call('HGET', jkey(id), 'queue')
  if not q then return 'stale' end
  local t = now_ms()
  redis.call('HSET', jkey(id), 'ended', S(t), 'result', result, 'log', log, 'error', '')
  set_state(id, q, 'started', 'finished', t)
  redis.call('HINCRBY', P .. 'worker:' .. w, 'processed', 1)
  redis.call('HSET', P .. 'worker:' .. w, 'current', '', 'state', 'idle')
  for _, d in ipairs(redis.call('SMEMBERS', jkey(id) .. ':dependents')) do
    local h = redis.call('HMGET', jkey(d), 'state', 'queue')
    if h[1] == 'deferred' or h[1] == 'blocked' then
      local left = redis.call('HINCRBY', jkey(d), 'pending', -1)
      if left <= 0 and h[1] == 'deferred' then push_queue(d, h[2], 'deferred', t, false) end
    end
  end
  expire_job(id, ttl)
  trim_registry(q, 'finished', t, ttl)
  return 'ok'
end

-- A planner takes event id into its processing list `proc` (moved there already): counts the
-- take in the record ('takes'), and returns {body, received ms, ''}; or, when the event was
-- taken `max` times already without being finished (the scheduler was killed, crashed or hung
-- while planning it each time: a poison event), records it failed with the reason, takes it
-- off `proc` (so it never blocks the inbox again) and returns {'', '0', reason}. Finishing an
-- event, or putting it back to wait, ends the count (event_done.lua).
local function take_event(proc, id, max, ttl)
  local key = P .. 'event:' .. id
  -- read first (every record has both), so the common path needs no EXISTS before HINCRBY
  local h = redis.call('HMGET', key, 'body', 'received')
  if not h[1] and not h[2] and redis.call('EXISTS', key) == 0 then return {'', '0', ''} end
  local n = redis.call('HINCRBY', key, 'takes', 1)
  if max > 0 and n > max then
    local why = 'taken ' .. S(n - 1) .. ' times without being finished (the scheduler ' ..
      'stopped, crashed or hung while planning it each time): quarantined, not planned'
    redis.call('HSET', key, 'state', 'failed', 'error', why, 'plan', '{}', 'planned',
      S(now_ms()), 'jobs', '0')
    redis.call('EXPIRE', key, ttl)
    redis.call('LREM', proc, 0, id)
    return {'', '0', why}
  end
  return {h[1] or '', h[2] or '0', ''}
end

-- Whether every job of an event's plan (its JSON text) has ended: finished, failed, canceled
-- or blocked, so nothing of it runs any more; a job whose record expired ended long ago.
local function plan_ended(text)
  local ENDED = {finished = true, failed = true, canceled = true, blocked = true}
  local ok, plan = pcall(cjson.decode, text or '')
  if ok and type(plan) == 'table' and type(plan.jobs) == 'table' then
    for _, j in ipairs(plan.jobs) do
      if type(j) == 'table' and type(j.id) == 'string' then
        local js = redis.call('HGET', jkey(j.id), 'state')
        if js and not ENDED[js] then return false end
      end
    end
  end
  return true
end

-- Whether a study event of a study's (patient's) state (hash `key`) is not over: a version it
-- decided 'plan' whose event is still being planned or has a job that has not ended, or an
-- event its planner pinned (hold_pin.lua) that is not planned, ignored or failed yet (the pins
-- of those are removed: a planned one counts through its versions).
local function hold_busy(key)
  local all = redis.call('HGETALL', key)
  local busy = false
  for i = 1, #all, 2 do
    local f = all[i]
    if string.sub(f, 1, 2) == 'p:' then
      local st = redis.call('HGET', P .. 'event:' .. string.sub(f, 3), 'state')
      if st and st ~= 'planned' and st ~= 'ignored' and st ~= 'failed' then
        busy = true
      else
        redis.call('HDEL', key, f)
      end
    elseif not busy and string.sub(f, 1, 2) == 'd:' then
      local ok, list = pcall(cjson.decode, all[i + 1])
      if ok and type(list) == 'table' then
        for _, v in ipairs(list) do
          if type(v) == 'table' and v.decision == 'plan' and type(v.event) == 'string' then
            local h = redis.call('HMGET', P .. 'event:' .. v.event, 'state', 'plan')
            if h[1] == 'planned' then
              if not plan_ended(h[2]) then busy = true end
            elseif h[1] and h[1] ~= 'ignored' and h[1] ~= 'failed' then
              busy = true -- still being planned
            end
          end
        end
      end
    end
  end
  return busy
end
