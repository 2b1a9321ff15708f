-- event_accept.lua -- stores an event durably and queues it for planning, unless the series
-- version it names was planned already: seen:SERIES:VERSION is set by the planner
-- (event_claim.lua) from what Orthanc says of the series, never here, so a body naming a
-- version that was never planned cannot make a later event of that version a duplicate.
-- Keys: event:ID (hash: v, id, series, received, state, body, origin, ...), events (zset by
-- received ms), inbox (list of event ids to plan), seen:SERIES:VERSION (read only).
-- ARGV: id, series id, version key, body (JSON text), seen ttl (s, unused here), origin
-- (webhook, arrival, catch-up).
-- Returns {'accepted', id} or {'duplicate', id of the event that planned that version}.
local id, series, version, body, origin = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[6]
local prev = redis.call('GET', P .. 'seen:' .. series .. ':' .. version)
if prev then return {'duplicate', prev} end
local t = now_ms()
redis.call('HSET', P .. 'event:' .. id, 'v', WIRE, 'id', id, 'series', series, 'version', version,
  'received', S(t), 'state', 'received', 'body', body, 'origin', origin or 'webhook')
redis.call('ZADD', P .. 'events', t, id)
redis.call('LPUSH', P .. 'inbox', id)
return {'accepted', id}
