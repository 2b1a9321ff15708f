-- hold_load.lua -- what is held for a study or patient (docs/planning.md, "Keeping files from the
-- cleaner"): its held paths, whether every study event of it is over (hold_busy: common.lua),
-- the time its state has left to live, whether a release of it runs, and since when it was
-- seen quiet (hold_state.lua).
-- Keys: holds:LEVEL:ID (hold_add.lua), LEVEL:ID (study_series.lua), event:ID, job:ID.
-- ARGV: the level's name ('study', 'patient': level.c), its id, since (Redis ms): only the
-- paths held at or before it are returned.
-- Returns {paths, ended '0'/'1', PTTL of LEVEL:ID, releasing '0'/'1', quietAt (ms, '0')}.
local key = P .. ARGV[1] .. ':' .. ARGV[2]
local paths = redis.call('ZRANGEBYSCORE', P .. 'holds:' .. ARGV[1] .. ':' .. ARGV[2], '-inf', ARGV[3])
local ended = '1'
if #paths > 0 and hold_busy(key) then ended = '0' end
local h = redis.call('HMGET', key, 'releasing', 'quietAt')
return {paths, ended, redis.call('PTTL', key), h[1] and '1' or '0', h[2] or '0'}
