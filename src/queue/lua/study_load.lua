-- study_load.lua -- what the scheduler knows of a study, for deciding it: the state's fields
-- and, for each series, whether its series event finished planning and whether every job of
-- that event has ended (finished, failed, canceled or blocked: nothing of it runs any more;
-- a job whose record expired ended long ago).
-- Keys: study:ID (study_series.lua), event:ID, job:ID.
-- ARGV: study id.
-- Returns {flat field/value list of study:ID, Redis' time (ms), {series id, planned '0'/'1',
-- ended '0'/'1'}...}.
-- The level's names come first (studies.c): 'study' (keys study:ID, studies:due below) or
-- 'patient' (patient:ID, patients:due).
local KIND, DUE = ARGV[1], P .. ARGV[2]
local K, ARGV = P .. KIND .. ':', {select(3, unpack(ARGV))}
local key = K .. ARGV[1]
local all = redis.call('HGETALL', key)
local out = {all, now_ms()}
for i = 1, #all, 2 do
  local f = all[i]
  if string.sub(f, 1, 2) == 's:' then
    local planned, ended = '0', '0'
    local ok, s = pcall(cjson.decode, all[i + 1])
    local ev = ok and type(s) == 'table' and type(s.event) == 'string' and s.event or ''
    local h = redis.call('HMGET', P .. 'event:' .. ev, 'state', 'plan')
    local st = h[1]
    if not st or st == 'ignored' or st == 'failed' then
      planned, ended = '1', '1'
    elseif st == 'planned' then
      planned, ended = '1', plan_ended(h[2]) and '1' or '0'
    end
    table.insert(out, {string.sub(f, 3), planned, ended})
  end
end
return out
