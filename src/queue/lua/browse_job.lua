-- browse_job.lua -- one job with its dependencies and dependents and their states (the
-- dashboard's job page).
-- ARGV: id, max links. Returns nil when there is no such job, else {the job hash as a flat
-- list, dependencies, dependents, series (its event's, '' when none)}, each link being {id,
-- name, state} (state 'expired' when that job is gone), dependents sorted by name then id,
-- at most `max links` of each.
local id, max = ARGV[1], tonumber(ARGV[2])
local h = redis.call('HGETALL', jkey(id))
if #h == 0 then return false end
local function link(d)
  local x = redis.call('HMGET', jkey(d), 'name', 'state')
  return {d, x[1] or '', x[2] or 'expired'}
end
local deps, dependents = {}, {}
for i, d in ipairs(deps_of(id)) do
  if i > max then break end
  deps[#deps + 1] = link(d)
end
local ds = redis.call('SMEMBERS', jkey(id) .. ':dependents')
for i, d in ipairs(ds) do
  if i > max then break end
  dependents[#dependents + 1] = link(d)
end
table.sort(dependents, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  return a[1] < b[1]
end)
return {h, deps, dependents, job_series(redis.call('HGET', jkey(id), 'event'))}
