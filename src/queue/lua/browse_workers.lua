-- browse_workers.lua -- the registered workers, for the dashboard and `dcm-processor status`.
-- ARGV: max workers. Returns {number of workers, then per worker (sorted by name, at most
-- max): name, queues, pid, host, birth, beat, state, current, processed, failed, alive (1 when
-- its heartbeat has not expired; 0: dead, waiting for the reaper)}.
local max = tonumber(ARGV[1])
local names = redis.call('SMEMBERS', P .. 'workers')
table.sort(names)
local out = {#names}
for i, w in ipairs(names) do
  if i > max then break end
  local h = redis.call('HMGET', P .. 'worker:' .. w, 'queues', 'pid', 'host', 'birth', 'beat',
    'state', 'current', 'processed', 'failed')
  out[#out + 1] = w
  for k = 1, 9 do out[#out + 1] = h[k] or '' end
  out[#out + 1] = redis.call('EXISTS', P .. 'worker:' .. w .. ':hb')
end
return out
