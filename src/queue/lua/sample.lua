-- sample.lua -- one point of the dashboard's chart: job counts over every queue and how many
-- jobs finished and failed since the previous point, pushed on dashboard:samples (newest
-- first, at most `cap`). Several dashboards may run: a point closer than 0.9 interval to the
-- last one is not taken, so they do not double the samples.
-- ARGV: interval (ms), cap, max queues in the per-queue depth, then the registry states.
-- Returns 1 when a point was taken, 0 when the last one is too recent.
local interval, cap, maxq = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local key = P .. 'dashboard:samples'
local t = now_ms()
local since = t - interval
local last = redis.call('LINDEX', key, 0)
if last then
  local ok, prev = pcall(cjson.decode, last)
  if ok and type(prev) == 'table' and tonumber(prev.t) then
    if t - tonumber(prev.t) < interval * 0.9 then return 0 end
    since = math.max(tonumber(prev.t), t - 3600000)
  end
end
local s = {t = t, dt = t - since, queued = 0, done = 0, errors = 0, depth = {}}
for k = 4, #ARGV do s[ARGV[k]] = 0 end
local names = redis.call('SMEMBERS', P .. 'queues')
table.sort(names)
for i, q in ipairs(names) do
  local n = redis.call('LLEN', P .. 'queue:' .. q)
  s.queued = s.queued + n
  if i <= maxq then s.depth[q] = n end
  for k = 4, #ARGV do s[ARGV[k]] = s[ARGV[k]] + redis.call('ZCARD', reg(q, ARGV[k])) end
  s.done = s.done + redis.call('ZCOUNT', reg(q, 'finished'), '(' .. S(since), S(t))
  s.errors = s.errors + redis.call('ZCOUNT', reg(q, 'failed'), '(' .. S(since), S(t))
end
redis.call('LPUSH', key, cjson.encode(s))
redis.call('LTRIM', key, 0, cap - 1)
return 1
