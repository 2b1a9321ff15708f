-- browse_events.lua -- received series (the scheduler's event records) for the dashboard:
-- a page of them newest first, or one with its plan and the state of each of its jobs.
-- ARGV: 'list', offset, count, max body bytes, reason length
--    or 'one', id, max body bytes.
-- list returns {total, rows...}, a row being {id, series, version, received, state, error,
-- jobs, planned, patient, study, description, modality, decisions JSON}, where decisions is
-- [{"jobName","decision","reason","jobId","state"}] (reason cut, state of the job now).
-- one returns nil when there is no such record, else {series, version, received, state,
-- error, jobs, planned, patient, study, description, modality, body ('' when larger than
-- max), plan JSON, {job id, state, ...}}.
-- Patient, study, description and modality come from the webhook body: its own keys
-- (patientId, studyId), its tags, or the flat tags the original's Lua script posted.
local function body_info(body, max)
  local info = {'', '', '', ''}
  if not body or #body == 0 or #body > max then return info end
  local ok, b = pcall(cjson.decode, body)
  if not ok or type(b) ~= 'table' then return info end
  local tags = type(b.tags) == 'table' and b.tags or {}
  local main = type(b.series) == 'table' and type(b.series.MainDicomTags) == 'table' and b.series.MainDicomTags or {}
  local function pick(...)
    for i = 1, select('#', ...) do
      local v = select(i, ...)
      if type(v) == 'string' and v ~= '' then return v end
    end
    return ''
  end
  info[1] = pick(tags.PatientID, b.PatientID, b.patientId)
  info[2] = pick(tags.StudyID, b.StudyID, tags.StudyInstanceUID, b.studyId)
  info[3] = pick(tags.SeriesDescription, b.SeriesDescription, main.SeriesDescription)
  info[4] = pick(tags.Modality, b.Modality, main.Modality)
  return info
end

local FIELDS = {'series', 'version', 'received', 'state', 'error', 'jobs', 'planned'}

local function record(id)
  return redis.call('HMGET', P .. 'event:' .. id, 'series', 'version', 'received', 'state',
    'error', 'jobs', 'planned', 'body', 'plan')
end

local function decode_plan(text)
  if not text or text == '' then return nil end
  local ok, p = pcall(cjson.decode, text)
  if ok and type(p) == 'table' then return p end
  return nil
end

if ARGV[1] == 'list' then
  local offset, count, max, rlen = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  local out = {redis.call('ZCARD', P .. 'events')}
  for _, id in ipairs(redis.call('ZREVRANGE', P .. 'events', offset, offset + count - 1)) do
    local h = record(id)
    local row = {id}
    if not h[4] then
      row = {id, '', '', '', 'expired', '', '', '', '', '', '', '', '[]'}
    else
      for k = 1, #FIELDS do row[#row + 1] = h[k] or '' end
      for _, v in ipairs(body_info(h[8], max)) do row[#row + 1] = v end
      local plan, list = decode_plan(h[9]), {}
      if plan and type(plan.decisions) == 'table' then
        for _, d in ipairs(plan.decisions) do
          if type(d) == 'table' then
            local st = ''
            if type(d.jobId) == 'string' then st = redis.call('HGET', jkey(d.jobId), 'state') or 'expired' end
            list[#list + 1] = {jobName = tostring(d.jobName or ''), decision = tostring(d.decision or ''),
              reason = string.sub(tostring(d.reason or ''), 1, rlen), jobId = d.jobId or cjson.null, state = st}
          end
        end
      end
      row[#row + 1] = #list > 0 and cjson.encode(list) or '[]'
    end
    out[#out + 1] = row
  end
  return out
end

local id, max = ARGV[2], tonumber(ARGV[3])
local h = record(id)
if not h[4] then return false end
local out = {}
for k = 1, #FIELDS do out[#out + 1] = h[k] or '' end
for _, v in ipairs(body_info(h[8], max)) do out[#out + 1] = v end
out[#out + 1] = (h[8] and #h[8] <= max) and h[8] or ''
out[#out + 1] = h[9] or ''
local states, plan = {}, decode_plan(h[9])
if plan and type(plan.jobs) == 'table' then
  for _, j in ipairs(plan.jobs) do
    if type(j) == 'table' and type(j.id) == 'string' then
      states[#states + 1] = j.id
      states[#states + 1] = redis.call('HGET', jkey(j.id), 'state') or 'expired'
    end
  end
end
out[#out + 1] = states
return out
