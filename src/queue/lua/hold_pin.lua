-- hold_pin.lua -- a study (patient) event begins planning: pinned in its study's state (p:EVENT),
-- so no release of the study's held files begins until the event is over (hold_busy:
-- common.lua); refused while a release runs (hold_state.lua's 'releasing'): the event then
-- waits and is planned after it, from what is left on disk.
-- Keys: LEVEL:ID (study_series.lua).
-- ARGV: the level's name ('study', 'patient': level.c), its id, the event's id.
-- Returns 1 (pinned, or no state: nothing held for it), or 0 (a release runs).
local key = P .. ARGV[1] .. ':' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 1 end
if redis.call('HEXISTS', key, 'releasing') == 1 then return 0 end
redis.call('HSET', key, 'p:' .. ARGV[3], S(now_ms()))
return 1
