-- promote.lua -- jobs whose retry interval has passed go back to their queues.
-- Returns the number moved.
local t = now_ms()
local due = redis.call('ZRANGEBYSCORE', P .. 'scheduled', '-inf', t, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', P .. 'scheduled', id)
  local h = redis.call('HMGET', jkey(id), 'state', 'queue')
  if h[1] == 'scheduled' then push_queue(id, h[2], 'scheduled', t, false) end
end
return #due
