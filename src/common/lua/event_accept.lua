-- event_accept.lua -- stores a webhook's event durably and queues it for planning, once per
-- series version: the same series with the same LastUpdate is a duplicate.
-- Keys: event:ID (hash: v, id, series, received, state, body, ...), events (zset by received
-- ms), inbox (list of event ids to plan), seen:SERIES:VERSION (the event id, expires).
-- ARGV: id, series id, version key, body (JSON text), seen ttl (s).
-- Returns {'accepted', id} or {'duplicate', id of the first event}.
local id, series, version, body, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local seen = P .. 'seen:' .. series .. ':' .. version
local prev = redis.call('GET', seen)
if prev then return {'duplicate', prev} end
local t = now_ms()
redis.call('HSET', P .. 'event:' .. id, 'v', WIRE, 'id', id, 'series', series, 'version', version,
  'received', S(t), 'state', 'received', 'body', body)
redis.call('ZADD', P .. 'events', t, id)
redis.call('SET', seen, id, 'EX', ttl)
redis.call('LPUSH', P .. 'inbox', id)
return {'accepted', id}
