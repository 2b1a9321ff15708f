-- hold_load.lua -- what is held for a study or patient (docs/planning.md, "Keeping files from the
-- cleaner"): its held paths, whether every study event planned for it has ended (each version
-- decided `plan` in d:JOBNAME names its event; the event ended when it was ignored or failed,
-- or planned with all its jobs finished, failed, canceled or blocked, or expired), and the
-- time its state has left to live.
-- Keys: holds:LEVEL:ID (hold_add.lua), LEVEL:ID (study_series.lua), event:ID, job:ID.
-- ARGV: the level's name ('study', 'patient': level.c), its id, since (Redis ms): only the
-- paths held at or before it are returned.
-- Returns {paths, ended '0'/'1', PTTL of LEVEL:ID}.
local key = P .. ARGV[1] .. ':' .. ARGV[2]
local paths = redis.call('ZRANGEBYSCORE', P .. 'holds:' .. ARGV[1] .. ':' .. ARGV[2], '-inf', ARGV[3])
local ended = '1'
if #paths > 0 then
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    if ended == '1' and string.sub(all[i], 1, 2) == 'd:' then
      local ok, list = pcall(cjson.decode, all[i + 1])
      if ok and type(list) == 'table' then
        for _, v in ipairs(list) do
          if type(v) == 'table' and v.decision == 'plan' and type(v.event) == 'string' then
            local h = redis.call('HMGET', P .. 'event:' .. v.event, 'state', 'plan')
            if h[1] == 'planned' then
              if not plan_ended(h[2]) then ended = '0' end
            elseif h[1] and h[1] ~= 'ignored' and h[1] ~= 'failed' then
              ended = '0' -- still being planned
            end
          end
        end
      end
    end
  end
end
return {paths, ended, redis.call('PTTL', key)}
