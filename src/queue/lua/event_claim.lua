-- event_claim.lua -- a planner claims the series versions it is about to plan, as Orthanc
-- reported them (each seriesId and LastUpdate), so each version is planned by one event only,
-- whatever the bodies of the events said. A batch of events is claimed in one step, in order:
-- two events of one version in a batch are decided as if one after the other.
-- Keys: event:ID (its origin read; its version set), seen:SERIES:VERSION (the event id,
-- expires).
-- ARGV: seen ttl (s), then 4 per event: id, series id, version (Orthanc's LastUpdate),
-- stable ('1' when Orthanc calls the series stable).
-- Returns 2 per event: 'claimed', id (also when this event claimed it before: a retry);
-- 'duplicate', the id of the event that claimed it; or 'unstable', origin: Orthanc does not
-- call the series stable and the event came from outside (a webhook); only the scheduler's
-- own arrival watch and catch-up, which watched the series themselves, plan such a series.
local ttl = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV - 3, 4 do
  local id, series, version, stable = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local ev = P .. 'event:' .. id
  local origin = stable ~= '1' and (redis.call('HGET', ev, 'origin') or 'webhook')
  local seen = P .. 'seen:' .. series .. ':' .. version
  local prev
  if origin and origin ~= 'arrival' and origin ~= 'catch-up' then
    out[#out + 1], out[#out + 2] = 'unstable', origin
  else
    -- set when free, in one command with the read (Redis 7: NX with GET)
    prev = redis.call('SET', seen, id, 'NX', 'GET', 'EX', ttl)
    if prev and prev ~= id then
      out[#out + 1], out[#out + 2] = 'duplicate', prev
    else
      if prev then redis.call('SET', seen, id, 'EX', ttl) end -- ours already: its ttl anew
      redis.call('HSET', ev, 'version', version)
      out[#out + 1], out[#out + 2] = 'claimed', id
    end
  end
end
return out
