-- event_claim.lua -- a planner claims the series version it is about to plan, as Orthanc
-- reported it (its seriesId and LastUpdate), so each version is planned by one event only,
-- whatever the bodies of the events said.
-- Keys: event:ID (its origin read; its version set), seen:SERIES:VERSION (the event id,
-- expires).
-- ARGV: id, series id, version (Orthanc's LastUpdate), seen ttl (s), stable ('1' when Orthanc
-- calls the series stable).
-- Returns {'claimed', id} (also when this event claimed it before: a retry),
-- {'duplicate', id of the event that claimed it}, or {'unstable', origin}: Orthanc does not
-- call the series stable and the event came from outside (a webhook); only the scheduler's
-- own arrival watch and catch-up, which watched the series themselves, plan such a series.
local id, series, version, ttl, stable = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local ev = P .. 'event:' .. id
if stable ~= '1' then
  local origin = redis.call('HGET', ev, 'origin') or 'webhook'
  if origin ~= 'arrival' and origin ~= 'catch-up' then return {'unstable', origin} end
end
local seen = P .. 'seen:' .. series .. ':' .. version
local prev = redis.call('GET', seen)
if prev and prev ~= id then return {'duplicate', prev} end
redis.call('SET', seen, id, 'EX', ttl)
redis.call('HSET', ev, 'version', version)
return {'claimed', id}
