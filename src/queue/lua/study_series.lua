-- study_series.lua -- a series event of a study finished planning (or is about to be
-- finished): the series joins its study's state, and the study is due to be decided again.
-- Keys: study:ID (hash: first (ms of the first series), joined (ms a series last joined or
-- changed), asked (ms the study thread last asked Orthanc), n (series known), fields (the study's
-- own header fields, JSON, from its first series), s:SERIES (the series, JSON: event,
-- uid, dcmpath, fields, instances, lastUpdate, arrived (s), skip), stable, expect, pending,
-- quietAt (removed: hold_state.lua),
-- d:JOBNAME), studies:due (zset: study id by the ms it is to be decided at).
-- ARGV: study id, series id, series JSON (arrived is kept from the first time the series was
-- seen), study fields JSON, max series of a study, ttl (s) of the state.
-- A new series that Orthanc did not list when it last called the study stable (expect) makes
-- the study unstable again.
-- Returns 1, or an error reply when the study has max series already.
-- The level's names come first (studies.c): 'study' (keys study:ID, studies:due below) or
-- 'patient' (patient:ID, patients:due).
local KIND, DUE = ARGV[1], P .. ARGV[2]
local K, ARGV = P .. KIND .. ':', {select(3, unpack(ARGV))}
local study, series, json, fields, max, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  tonumber(ARGV[5]), tonumber(ARGV[6])
local key = K .. study
local t = now_ms()
local old = redis.call('HGET', key, 's:' .. series)
if old then
  local ok, o = pcall(cjson.decode, old)
  local ok2, n = pcall(cjson.decode, json)
  if ok and ok2 and type(o) == 'table' and type(n) == 'table' and o.arrived then
    n.arrived = o.arrived
    json = cjson.encode(n)
  end
else
  if tonumber(redis.call('HGET', key, 'n') or '0') >= max then
    return redis.error_reply('STATE ' .. KIND .. ' ' .. study .. ' has ' .. S(max) ..
      ' series already: series ' .. series .. ' is not added to it')
  end
  redis.call('HINCRBY', key, 'n', 1)
  -- a series Orthanc did not list when it called the study stable came after: the study is
  -- not stable since its last new instance until Orthanc says so again
  local expect = redis.call('HGET', key, 'expect')
  local listed = false
  if expect then
    local ok, e = pcall(cjson.decode, expect)
    if ok and type(e) == 'table' then
      for _, x in ipairs(e) do if x == series then listed = true end end
    end
  end
  if not listed then redis.call('HSET', key, 'stable', '0') end
end
redis.call('HSET', key, 's:' .. series, json, 'joined', S(t))
redis.call('HDEL', key, 'quietAt') -- news: a rerun window starts again once it is quiet
redis.call('HSETNX', key, 'first', S(t))
redis.call('HSETNX', key, 'fields', fields)
redis.call('EXPIRE', key, ttl)
redis.call('ZADD', DUE, t, study)
return 1
