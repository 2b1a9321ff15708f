-- browse_queues.lua -- every queue with its number of jobs per state (the dashboard's overview
-- and `dcm-processor status`): LLEN and ZCARD only, so the cost does not grow with the jobs.
-- ARGV: max queues, then the registry states to count. Returns {number of queues, then per
-- queue (sorted by name, at most max): name, queued, one count per state given}.
local max = tonumber(ARGV[1])
local names = redis.call('SMEMBERS', P .. 'queues')
table.sort(names)
local out = {#names}
for i, q in ipairs(names) do
  if i > max then break end
  out[#out + 1] = q
  out[#out + 1] = redis.call('LLEN', P .. 'queue:' .. q)
  for k = 2, #ARGV do out[#out + 1] = redis.call('ZCARD', reg(q, ARGV[k])) end
end
return out
