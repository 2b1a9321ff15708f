-- event_accept.lua -- stores an event durably and queues it for planning, unless the series
-- version it names was claimed already. A webhook's version is only read here: the planner
-- claims the version Orthanc reports (event_claim.lua), so a body naming a version that was
-- never planned cannot make a later event of that version a duplicate. The scheduler's own
-- arrival watch and catch-up read the version from Orthanc themselves: their events claim it
-- at once, so Orthanc's webhook that follows is a duplicate here.
-- Keys: event:ID (hash: v, id, series, received, state, body, origin, ...), events (zset by
-- received ms), inbox (list of event ids to plan), seen:SERIES:VERSION (the claiming event's
-- id, expires).
-- ARGV: id, series id, version key, body (JSON text), seen ttl (s), origin (webhook, arrival,
-- catch-up).
-- Returns {'accepted', id} or {'duplicate', id of the event that claimed that version}.
local id, series, version, body, ttl, origin = ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  tonumber(ARGV[5]), ARGV[6] or 'webhook'
local seen = P .. 'seen:' .. series .. ':' .. version
local prev = redis.call('GET', seen)
if prev then return {'duplicate', prev} end
local t = now_ms()
redis.call('HSET', P .. 'event:' .. id, 'v', WIRE, 'id', id, 'series', series, 'version', version,
  'received', S(t), 'state', 'received', 'body', body, 'origin', origin)
redis.call('ZADD', P .. 'events', t, id)
if origin == 'arrival' or origin == 'catch-up' then
  redis.call('SET', seen, id, 'EX', ttl)
end
redis.call('LPUSH', P .. 'inbox', id)
return {'accepted', id}
