-- study_asked.lua -- the study thread asked Orthanc whether the study is stable: when, so it
-- asks again no sooner than STABLE_AGE later. A study without state (expired) is left alone.
-- Keys: study:ID (asked: ms).
-- ARGV: study id, ms.
-- The level's names come first (studies.c): 'study' (keys study:ID, studies:due below) or
-- 'patient' (patient:ID, patients:due).
local KIND, DUE = ARGV[1], P .. ARGV[2]
local K, ARGV = P .. KIND .. ':', {select(3, unpack(ARGV))}
local key = K .. ARGV[1]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'asked', ARGV[2])
return 1
