-- study_decided.lua -- a study event's decisions: for each entry planned or dropped, the
-- version decided appended to its list (the last max kept), written before the event's
-- graph, each version naming the event (a retry of the same event does not count its own).
-- Keys: study:ID (d:JOBNAME: JSON list of {key, uids, event, decision}; pending cleared when
-- it is this event, and its pin p:ID; quietAt removed when a version was decided:
-- hold_state.lua).
-- ARGV: study id, event id, (unused), max versions, ttl (s), then 2 per entry: job name,
-- version JSON.
-- The level's names come first (studies.c): 'study' (keys study:ID, studies:due below) or
-- 'patient' (patient:ID, patients:due).
local KIND, DUE = ARGV[1], P .. ARGV[2]
local K, ARGV = P .. KIND .. ':', {select(3, unpack(ARGV))}
local study, id, max, ttl = ARGV[1], ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5])
local key = K .. study
for i = 6, #ARGV - 1, 2 do
  local f = 'd:' .. ARGV[i]
  local ok, list = pcall(cjson.decode, redis.call('HGET', key, f) or '[]')
  if not ok or type(list) ~= 'table' then list = {} end
  local kept = {}
  for _, v in ipairs(list) do
    if type(v) == 'table' and v.event ~= id then table.insert(kept, v) end
  end
  table.insert(kept, cjson.decode(ARGV[i + 1]))
  while #kept > max do table.remove(kept, 1) end
  redis.call('HSET', key, f, cjson.encode(kept))
end
if redis.call('HGET', key, 'pending') == id then redis.call('HDEL', key, 'pending') end
redis.call('HDEL', key, 'p:' .. id) -- its pin (hold_pin.lua): its versions count now
if #ARGV >= 7 then redis.call('HDEL', key, 'quietAt') end -- a version decided: not quiet
redis.call('EXPIRE', key, ttl)
return 1
