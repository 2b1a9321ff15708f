-- study_due.lua -- when a study is to be decided next, as a decision made from its state read
-- at `since` says; news that came after that read (a series joined, the study stable: their
-- scripts set the study due at the time they ran) is kept, so it is decided again.
-- Keys: studies:due (study id by ms).
-- ARGV: study id, due ms (0: not due until news), since (Redis ms the state was read at).
-- The level's names come first (studies.c): 'study' (keys study:ID, studies:due below) or
-- 'patient' (patient:ID, patients:due).
local KIND, DUE = ARGV[1], P .. ARGV[2]
local K, ARGV = P .. KIND .. ':', {select(3, unpack(ARGV))}
local study, due, since = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local key = DUE
local cur = tonumber(redis.call('ZSCORE', key, study) or '')
if cur and cur >= since then
  if due > 0 and due < cur then redis.call('ZADD', key, due, study) end
  return 0
end
if due > 0 then
  redis.call('ZADD', key, due, study)
else
  redis.call('ZREM', key, study)
end
return 1
