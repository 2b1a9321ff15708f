-- study_accept.lua -- stores a study event durably and queues it for planning, as
-- event_accept.lua does a series event, unless one for the same study waits in the inbox
-- still (its record says 'received'): that one decides the study with everything known (but
-- a waiting 'watch' event does not take the place of Orthanc's StableStudy, nor of the study
-- thread's 'check' that Orthanc now calls the study stable); or
-- unless an event of the same study version (Orthanc's LastUpdate of the study, when known)
-- was accepted before (Orthanc's webhook, then the catch-up reading the same StableStudy).
-- Keys: event:ID (level 'study', study), events, inbox, study:ID (pending: the waiting event;
-- seen: the last version accepted, seen_by: its event).
-- ARGV: id, study id, body (JSON text), origin (webhook, watch, check, catch-up), ttl (s) of the
-- study state, version ('' when not known).
-- Returns {'accepted', id} or {'duplicate', id of the event that waits or came before}.
-- The level's names come first (studies.c): 'study' (keys study:ID, studies:due below) or
-- 'patient' (patient:ID, patients:due).
local KIND, DUE = ARGV[1], P .. ARGV[2]
local K, ARGV = P .. KIND .. ':', {select(3, unpack(ARGV))}
local id, study, body, origin, ttl, version = ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  tonumber(ARGV[5]), ARGV[6] or ''
local key = K .. study
local prev = redis.call('HGET', key, 'pending')
if prev then
  -- only Orthanc's word (webhook, catch-up) makes the planner ask Orthanc whether the study
  -- is stable: a waiting event of the study thread ('watch') does not stand for it, or the
  -- news that the study became stable would be lost until the next series
  local h = redis.call('HMGET', P .. 'event:' .. prev, 'state', 'origin')
  if h[1] == 'received' and (origin == 'watch' or h[2] ~= 'watch') then
    return {'duplicate', prev}
  end
end
if version ~= '' then
  local h = redis.call('HMGET', key, 'seen', 'seen_by')
  if h[1] == version then return {'duplicate', h[2] or ''} end
  redis.call('HSET', key, 'seen', version, 'seen_by', id)
end
local t = now_ms()
redis.call('HSET', P .. 'event:' .. id, 'v', WIRE, 'id', id, 'series', '', 'level', KIND,
  KIND, study, 'version', version, 'received', S(t), 'state', 'received', 'body', body,
  'origin', origin)
redis.call('ZADD', P .. 'events', t, id)
redis.call('HSET', key, 'pending', id)
redis.call('HSETNX', key, 'first', S(t))
redis.call('EXPIRE', key, ttl)
redis.call('LPUSH', P .. 'inbox', id)
return {'accepted', id}
