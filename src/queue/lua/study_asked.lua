-- study_asked.lua -- the study thread asked Orthanc whether the study is stable: when, so it
-- asks again no sooner than STABLE_AGE later. A study without state (expired) is left alone.
-- Keys: study:ID (asked: ms).
-- ARGV: study id, ms.
local key = P .. 'study:' .. ARGV[1]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'asked', ARGV[2])
return 1
