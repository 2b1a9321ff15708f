-- browse_jobs.lua -- one page of jobs, newest first, with the total, for the dashboard.
-- ARGV: queue, state, name, series ('' = any), offset, count, error length, series cap,
-- list scan cap, intersection cap.
-- Sources, chosen so that no request walks every job (docs/dashboard.md):
--  * series: the series' index (idx:series:S, at most `series cap` newest jobs), each job
--    checked against the other filters;
--  * queue + state: the registry (queued: the queue's list); ZCARD/LLEN and one range;
--  * queue + state + name: ZINTERCARD of the registry and idx:name:NAME for the total; a
--    sparse result (total <= intersection cap) is read with ZINTER, a dense one by walking
--    the registry newest first until the page is full (at most page * registry / total
--    entries); a queued list is walked up to `list scan cap` entries.
-- Returns {total, exact (0 when the total was capped), rows...}, a row being {id, name,
-- queue, state, event, series, created, started, ended, attempts, error (cut)}; a job whose
-- hash expired but is still in a registry is a row with state 'expired'.
local q, st, name, series = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local offset, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local errlen, series_cap = tonumber(ARGV[7]), tonumber(ARGV[8])
local list_cap, inter_cap = tonumber(ARGV[9]), tonumber(ARGV[10])
local ids, total, exact = {}, 0, 1

local function take(id)
  total = total + 1
  if total > offset and #ids < count then ids[#ids + 1] = id end
end

if series ~= '' then
  local sk = P .. 'idx:series:' .. series
  local members = redis.call('ZREVRANGE', sk, 0, series_cap - 1)
  if #members >= series_cap and redis.call('ZCARD', sk) > series_cap then exact = 0 end
  for _, id in ipairs(members) do
    local h = redis.call('HMGET', jkey(id), 'name', 'queue', 'state')
    if h[1] and (q == '' or h[2] == q) and (st == '' or h[3] == st) and (name == '' or h[1] == name) then
      take(id)
    end
  end
elseif st == 'queued' then
  local lk = P .. 'queue:' .. q
  local len = redis.call('LLEN', lk)
  if name == '' then
    total = len
    ids = redis.call('LRANGE', lk, offset, offset + count - 1)
  else
    local pos = 0
    while pos < len and pos < list_cap do
      local chunk = redis.call('LRANGE', lk, pos, math.min(pos + 999, list_cap - 1))
      if #chunk == 0 then break end
      for _, id in ipairs(chunk) do
        if redis.call('HGET', jkey(id), 'name') == name then take(id) end
      end
      pos = pos + #chunk
    end
    if len > list_cap then exact = 0 end
  end
else
  local rk = reg(q, st)
  if name == '' then
    total = redis.call('ZCARD', rk)
    ids = redis.call('ZREVRANGE', rk, offset, offset + count - 1)
  else
    local nk = P .. 'idx:name:' .. name
    total = redis.call('ZINTERCARD', 2, rk, nk)
    if total <= inter_cap then
      -- scores are the registry's (weight 0 for the index): ascending, so read from the end
      local all = redis.call('ZINTER', 2, rk, nk, 'WEIGHTS', 1, 0)
      for i = #all - offset, math.max(1, #all - offset - count + 1), -1 do ids[#ids + 1] = all[i] end
    else
      local pos, found = 0, 0
      while #ids < count do
        local chunk = redis.call('ZREVRANGE', rk, pos, pos + 499)
        if #chunk == 0 then break end
        for _, id in ipairs(chunk) do
          if redis.call('HGET', jkey(id), 'name') == name then
            found = found + 1
            if found > offset and #ids < count then ids[#ids + 1] = id end
          end
        end
        pos = pos + #chunk
      end
    end
  end
end

local out = {total, exact}
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', jkey(id), 'name', 'queue', 'state', 'event', 'series', 'created',
    'started', 'ended', 'attempts', 'error')
  if not h[3] then
    out[#out + 1] = {id, '', q, 'expired', '', '', '', '', '', '', ''}
  else
    local row = {id}
    for k = 1, 9 do row[#row + 1] = h[k] or '' end
    row[#row + 1] = string.sub(h[10] or '', 1, errlen)
    out[#out + 1] = row
  end
end
return out
