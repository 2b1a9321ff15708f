-- browse_jobs.lua -- one page of jobs, newest first, with the total, for the dashboard.
-- ARGV: queue, state, name, series ('' = any), offset, count, error length, series cap, window.
-- Sources, chosen so that no request walks more than a fixed number of jobs (docs/dashboard.md):
--  * series: the series' index (idx:series:S, at most `series cap` newest jobs), each job
--    checked against the other filters; exact up to the cap;
--  * queue + state: the registry (queued: the queue's list): ZCARD/LLEN and one range; exact;
--  * queue + state + name, when the name has at most `window` jobs and fewer than the
--    registry: every job of idx:name:NAME checked, ordered by its time in the registry; exact;
--  * queue + state + name otherwise: the newest `window` entries of the registry checked
--    against idx:name:NAME; the total counts the matches among them (exact only when the
--    registry is no larger). Jobs enqueued before the indexes existed are not found by name.
-- Returns {total, exact (1 or 0), scanned (registry entries looked at; 0 when the total is
-- exact by construction), rows...}, a row being {id, name, queue, state, event, series,
-- created, started, ended, attempts, error (cut)}; a job whose hash expired but is still in a
-- registry is a row with state 'expired'.
local q, st, name, series = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local offset, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local errlen, series_cap, window = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local ids, total, exact, scanned = {}, 0, 1, 0

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
else
  local is_list = st == 'queued'
  local rk = is_list and (P .. 'queue:' .. q) or reg(q, st)
  local nreg = is_list and redis.call('LLEN', rk) or redis.call('ZCARD', rk)
  local function range(from, to)
    if is_list then return redis.call('LRANGE', rk, from, to) end
    return redis.call('ZREVRANGE', rk, from, to)
  end
  if name == '' then
    total = nreg
    ids = range(offset, offset + count - 1)
  else
    local nk = P .. 'idx:name:' .. name
    local nidx = redis.call('ZCARD', nk)
    -- membership is tested 500 at a time with ZMSCORE: one call per chunk, not per job
    if nidx <= window and nidx < nreg then
      local hits, pos = {}, 0
      while pos < nidx do
        local chunk = redis.call('ZREVRANGE', nk, pos, pos + 499)
        if #chunk == 0 then break end
        if is_list then
          for _, id in ipairs(chunk) do
            local h = redis.call('HMGET', jkey(id), 'queue', 'state')
            if h[1] == q and h[2] == st then hits[#hits + 1] = {id, -#hits} end
          end
        else
          -- in the registry means in that queue and state; its score sorts newest first
          local scores = redis.call('ZMSCORE', rk, unpack(chunk))
          for i, id in ipairs(chunk) do
            if scores[i] then hits[#hits + 1] = {id, tonumber(scores[i])} end
          end
        end
        pos = pos + #chunk
      end
      table.sort(hits, function(a, b) return a[2] > b[2] end)
      for _, hit in ipairs(hits) do take(hit[1]) end
    else
      local limit = math.min(nreg, window)
      while scanned < limit do
        local chunk = range(scanned, math.min(scanned + 499, limit - 1))
        if #chunk == 0 then break end
        local scores = redis.call('ZMSCORE', nk, unpack(chunk))
        for i, id in ipairs(chunk) do
          if scores[i] then take(id) end
        end
        scanned = scanned + #chunk
      end
      if nreg > window then exact = 0 end
    end
  end
end

local out, series_of = {total, exact, scanned}, {}
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', jkey(id), 'name', 'queue', 'state', 'event', 'created',
    'started', 'ended', 'attempts', 'error')
  if not h[3] then
    out[#out + 1] = {id, '', q, 'expired', '', '', '', '', '', '', ''}
  else
    local ev = h[4] or ''
    if series_of[ev] == nil then series_of[ev] = job_series(ev) end
    out[#out + 1] = {id, h[1], h[2] or '', h[3], ev, series_of[ev], h[5] or '', h[6] or '',
      h[7] or '', h[8] or '', string.sub(h[9] or '', 1, errlen)}
  end
end
return out
