-- study_stable.lua -- Orthanc calls the study stable: recorded with the series Orthanc has
-- (the study waits for each of them to be planned), and the study is due to be decided.
-- Keys: study:ID, studies:due (study_series.lua).
-- ARGV: study id, expected series ids (JSON list; '' when not known), study fields JSON
-- ('' when not known), ttl (s) of the state.
-- The level's names come first (studies.c): 'study' (keys study:ID, studies:due below) or
-- 'patient' (patient:ID, patients:due).
local KIND, DUE = ARGV[1], P .. ARGV[2]
local K, ARGV = P .. KIND .. ':', {select(3, unpack(ARGV))}
local study, expect, fields, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = K .. study
local t = now_ms()
redis.call('HSET', key, 'stable', '1')
if expect ~= '' then redis.call('HSET', key, 'expect', expect) end
if fields ~= '' then redis.call('HSETNX', key, 'fields', fields) end
redis.call('HSETNX', key, 'first', S(t))
redis.call('EXPIRE', key, ttl)
redis.call('ZADD', DUE, t, study)
return 1
