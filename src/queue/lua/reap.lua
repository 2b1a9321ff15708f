-- reap.lua -- finds workers whose heartbeat expired and puts their jobs back (at least
-- once), failing a job for good with "worker died" once it has crashed max_crashes times.
-- ARGV: max_crashes, ttl_failed (s). Returns {workers reaped, jobs put back, jobs failed}.
local max, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local nw, nback, nfail, t = 0, 0, 0, now_ms()
for _, w in ipairs(redis.call('SMEMBERS', P .. 'workers')) do
  if redis.call('EXISTS', P .. 'worker:' .. w .. ':hb') == 0 then
    local proc = P .. 'worker:' .. w .. ':processing'
    for _, id in ipairs(redis.call('LRANGE', proc, 0, -1)) do
      local h = redis.call('HMGET', jkey(id), 'state', 'queue', 'log')
      if h[1] == 'started' then
        local crashes = redis.call('HINCRBY', jkey(id), 'crashes', 1)
        if crashes >= max then
          fail_final(id, h[2], w, 'worker died while running it (' .. crashes .. ' times): giving up', h[3] or '', t, ttl)
          nfail = nfail + 1
        else
          return_started(id, t)
          nback = nback + 1
        end
      end
    end
    redis.call('DEL', proc, P .. 'worker:' .. w)
    redis.call('SREM', P .. 'workers', w)
    nw = nw + 1
  end
end
return {nw, nback, nfail}
