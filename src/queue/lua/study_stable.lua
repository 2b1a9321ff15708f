-- study_stable.lua -- Orthanc calls the study stable: recorded with the series Orthanc has
-- (the study waits for each of them to be planned), and the study is due to be decided.
-- Keys: study:ID, studies:due (study_series.lua).
-- ARGV: study id, expected series ids (JSON list; '' when not known), study fields JSON
-- ('' when not known), ttl (s) of the state.
local study, expect, fields, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = P .. 'study:' .. study
local t = now_ms()
redis.call('HSET', key, 'stable', '1')
if expect ~= '' then redis.call('HSET', key, 'expect', expect) end
if fields ~= '' then redis.call('HSETNX', key, 'fields', fields) end
redis.call('HSETNX', key, 'first', S(t))
redis.call('EXPIRE', key, ttl)
redis.call('ZADD', P .. 'studies:due', t, study)
return 1
