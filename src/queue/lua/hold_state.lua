-- hold_state.lua -- the steps of a study's (patient's) release of its held files (docs/planning.md,
-- "Keeping files from the cleaner"), by mode:
-- 'quiet': the study was seen quiet in its state read at `since`: quietAt set to since, unless
--   set already or a series joined after that read. Returns quietAt (ms; 0: none).
-- 'unquiet': the study is not quiet: quietAt removed. Returns 0.
-- 'claim': the release begins, unless a study event of it is not over (hold_busy: common.lua)
--   or a series joined after `since`: 'releasing' set, so a planner's pin (hold_pin.lua) waits
--   until it ends. Returns 1, or 0 (not now).
-- 'done': the release ended: 'releasing' removed. Returns 1.
-- Keys: LEVEL:ID (study_series.lua), event:ID, job:ID.
-- ARGV: the level's name ('study', 'patient': level.c), its id, mode, since (Redis ms).
local key, mode, since = P .. ARGV[1] .. ':' .. ARGV[2], ARGV[3], tonumber(ARGV[4])
if redis.call('EXISTS', key) == 0 then
  return mode == 'claim' and 1 or 0 -- expired: nothing waits, nothing to note
end
local joined = tonumber(redis.call('HGET', key, 'joined') or '0')
if mode == 'quiet' then
  local q = tonumber(redis.call('HGET', key, 'quietAt') or '0')
  if q == 0 and joined <= since then
    redis.call('HSET', key, 'quietAt', S(since))
    q = since
  end
  return q
elseif mode == 'unquiet' then
  redis.call('HDEL', key, 'quietAt')
  return 0
elseif mode == 'claim' then
  if joined > since or hold_busy(key) then return 0 end
  redis.call('HSET', key, 'releasing', S(now_ms()))
  return 1
end
redis.call('HDEL', key, 'releasing')
return 1
