-- dcm-processor.lua -- Orthanc's side of dcm-processor: posts every stable series to the
-- scheduler's webhook (POST /stable-series). It writes no DICOM: the scheduler fetches the
-- series through Orthanc's REST API.
--
-- Every stable study and patient is posted too (POST /stable-study {studyId, LastUpdate},
-- /stable-patient {patientId, LastUpdate}): the scheduler asks Orthanc itself whether it is
-- stable and decides its study- and patient-level services.
--
-- Settings, from the environment Orthanc runs in (the .env names):
--   SCHEDULER_HOST, SCHEDULER_PORT   where the scheduler listens (default 127.0.0.1:5000)
--   WEBHOOK_TOKEN                    sent as "Authorization: Bearer <token>" when set
--   MIN_INSTANCES                    series with fewer instances are not processed (default
--                                    4, the original's "more than 3"): posted as ignored
--   SUPPORTED_MODALITY               when set, a space or comma separated list of modalities
--                                    processed; others are posted as ignored
-- With the first instance of each series it posts /series-arriving {seriesId}: the scheduler
-- plans the series once it has been still for STABLE_AGE (EARLY_STABLE), before Orthanc's own
-- stable check; the webhook that follows is then a duplicate.
-- Results the pipeline stores back carry the private block DCM-PROCESSOR (group 0405, named in
-- the configuration's Dictionary): when their ActionDestination names one of Orthanc's
-- DicomModalities, they are forwarded there (an asynchronous Orthanc job); otherwise they stay.
-- What counts as the pipeline's is decided by how the instance reached Orthanc, never by its
-- tags alone (anyone can write the block into a file): it must have been stored through the
-- REST API (metadata Origin "RestApi", as storageManager uploads), and, when Orthanc has a
-- login (ORTHANC_REST_USERNAME), by that user. An instance with the block that came by C-STORE
-- (DicomProtocol), from Lua or a plugin, or from another REST user is an ordinary arrival:
-- planned like any other series, never forwarded.
-- Facts this relies on (../shared/ORTHANC.md): while HttpPost waits, Orthanc's REST API waits
-- too, so the scheduler answers at once and HttpTimeout must stay small; HttpPost returns nil
-- on a network error and "" on HTTP >= 300; DumpJson mangles values, so the series and tags
-- are embedded as the raw text RestApiGet returns; the script is loaded twice.

local function setting(name, default)
  local v = os.getenv(name)
  if v == nil or v == '' then return default end
  return v
end

local function modality_allowed(modality)
  local list = setting('SUPPORTED_MODALITY', '')
  if list == '' then return true end
  for m in string.gmatch(list, '[^%s,]+') do
    if string.upper(m) == string.upper(modality or '') then return true end
  end
  return false
end

-- True when an instance stored with this origin was stored by the pipeline: through the REST
-- API, by the configured login when there is one. `origin` is Orthanc's origin table of the
-- store (RequestOrigin, Username), `stored` the instance's metadata Origin: both must say
-- RestApi, since a REST upload of an instance already stored (by C-STORE) reports a RestApi
-- request for the file that came first.
local function stored_by_pipeline(request_origin, username, stored)
  if request_origin ~= 'RestApi' or stored ~= 'RestApi' then return false end
  local login = setting('ORTHANC_REST_USERNAME', '')
  return login == '' or username == login
end

-- An instance's metadata item, '' when it has none (an instance stored before a login was
-- configured has no HttpUsername: the REST call fails, which must not abort the callback).
local function metadata_of(instance, name)
  local ok, value = pcall(RestApiGet, '/instances/' .. instance .. '/metadata/' .. name)
  if not ok or value == nil then return '' end
  return value
end

-- Instances the pipeline sent back carry the private tag ActionSource = dcm-processor
-- (creator DCM-PROCESSOR, group 0405) and were stored through REST: they are not processed
-- again (the original's loop guard). The same block on an instance that came otherwise does
-- not keep its series from being processed.
local function from_pipeline(instance)
  local tags = RestApiGet('/instances/' .. instance .. '/tags?short')
  if string.find(tags, 'dcm%-processor') == nil or string.find(tags, '0405,') == nil then
    return false
  end
  local origin = metadata_of(instance, 'Origin')
  -- the user of a REST store is kept in the metadata HttpUsername (1.10.1: only when set)
  local user = ''
  if setting('ORTHANC_REST_USERNAME', '') ~= '' then user = metadata_of(instance, 'HttpUsername') end
  return stored_by_pipeline(origin, user, origin)
end

-- POSTs body to the scheduler's path; true when it answered with a 2xx (HttpPost: nil on a
-- network error or timeout, "" on HTTP >= 300).
local function post(path, body)
  local headers = { ['Content-Type'] = 'application/json', ['Expect'] = '' }
  local token = setting('WEBHOOK_TOKEN', '')
  if token ~= '' then headers['Authorization'] = 'Bearer ' .. token end
  local url = 'http://' .. setting('SCHEDULER_HOST', '127.0.0.1') .. ':' ..
              setting('SCHEDULER_PORT', '5000') .. path
  local answer = HttpPost(url, body, headers)
  return answer ~= nil and answer ~= ''
end

-- The series (by SeriesInstanceUID) whose first instance was announced (POST /series-arriving)
-- and that are not stable yet: the scheduler watches them and plans one as soon as it has been still for
-- STABLE_AGE, without waiting for Orthanc's stable check (0.3 to 1.1 s later on 1.10.1).
arriving = {}

function OnStableSeries(seriesId, tags, metadata)
  local series = RestApiGet('/series/' .. seriesId)
  local info = ParseJson(series)
  local instances = info['Instances'] or {}
  local minimum = tonumber(setting('MIN_INSTANCES', '4')) or 4
  local first = instances[1]
  if first ~= nil and from_pipeline(first) then
    print('dcm-processor: series ' .. seriesId .. ' came from the pipeline: not posted')
    return
  end
  -- A series left out is still posted, marked, so the scheduler records it as an ignored
  -- event with the reason (the dashboard then says why nothing ran); it fetches nothing.
  local ignored = nil
  if #instances < minimum then
    ignored = #instances .. ' instance(s), fewer than MIN_INSTANCES=' .. minimum
  elseif not modality_allowed(tags['Modality']) then
    ignored = 'modality ' .. tostring(tags['Modality']) .. ' is not in SUPPORTED_MODALITY'
  end
  local simplified = '{}'
  if first ~= nil then
    simplified = RestApiGet('/instances/' .. first .. '/simplified-tags')
  end
  local lastUpdate = metadata['LastUpdate'] or info['LastUpdate'] or ''
  local patientId = ''
  if info['ParentStudy'] then
    patientId = ParseJson(RestApiGet('/studies/' .. info['ParentStudy']))['ParentPatient'] or ''
  end
  -- ids and LastUpdate are letters, digits, '-' and 'T': safe to place in JSON as they are
  local body = '{"seriesId":"' .. seriesId .. '","studyId":"' .. (info['ParentStudy'] or '') ..
               '","patientId":"' .. patientId ..
               '","LastUpdate":"' .. lastUpdate .. '","series":' .. series ..
               ',"tags":' .. simplified
  if ignored ~= nil then
    -- the reason holds digits, letters, '=' and the modality: no quote or backslash in it
    body = body .. ',"ignoredBecause":"' .. string.gsub(ignored, '["\\]', '') .. '"'
    print('dcm-processor: series ' .. seriesId .. ': ' .. ignored .. ': posted as ignored')
  end
  body = body .. '}'
  if tags['SeriesInstanceUID'] ~= nil then arriving[tags['SeriesInstanceUID']] = nil end
  if not post('/stable-series', body) then
    print('dcm-processor: POST /stable-series for series ' .. seriesId ..
          ' failed; the scheduler catch-up will find it')
  end
end

-- A study (patient) is stable (no new instance for StableAge): the scheduler decides its
-- study-level (patient-level) entries once every series of it is planned. The body names the
-- resource and its LastUpdate (digits and 'T': safe in JSON as it is; absent when Orthanc gave
-- none). A failed post is found by the scheduler's catch-up (StableStudy, StablePatient in
-- /changes).
local function post_stable(path, key, id, metadata)
  local lastUpdate = metadata['LastUpdate'] or ''
  local body = '{"' .. key .. '":"' .. id .. '"'
  if lastUpdate ~= '' then body = body .. ',"LastUpdate":"' .. lastUpdate .. '"' end
  if not post(path, body .. '}') then
    print('dcm-processor: POST ' .. path .. ' for ' .. id ..
          ' failed; the scheduler catch-up will find it')
  end
end

function OnStableStudy(studyId, tags, metadata)
  post_stable('/stable-study', 'studyId', studyId, metadata)
end

function OnStablePatient(patientId, tags, metadata)
  post_stable('/stable-patient', 'patientId', patientId, metadata)
end

-- Announces a series' first instance to the scheduler, and forwards a result of the pipeline
-- to the modality its ActionDestination names.
function OnStoredInstance(instanceId, tags, metadata, origin)
  local marked = tags['ActionSource'] == 'dcm-processor'
  if marked and not stored_by_pipeline(origin['RequestOrigin'], origin['Username'],
                                       metadata['Origin']) then
    -- the block alone proves nothing: an instance sent by C-STORE (or by another REST user)
    -- is an arrival like any other, never forwarded
    print('dcm-processor: instance ' .. instanceId .. ' carries the DCM-PROCESSOR block but was ' ..
          'stored by ' .. tostring(origin['RequestOrigin']) .. ' from ' ..
          tostring(origin['RemoteAet'] or origin['Username'] or '?') .. '@' ..
          tostring(origin['RemoteIp'] or '?') .. ', not by the pipeline: not forwarded')
    marked = false
  end
  if not marked then
    -- keyed by SeriesInstanceUID (in the instance's tags): Orthanc's series id is asked for
    -- once per series, not for every instance
    local uid = tags['SeriesInstanceUID']
    if uid ~= nil and arriving[uid] == nil then
      arriving[uid] = true
      local parent = ParseJson(RestApiGet('/instances/' .. instanceId))['ParentSeries']
      -- a failure costs only the early start: Orthanc's own webhook still comes
      if parent ~= nil then post('/series-arriving', '{"seriesId":"' .. parent .. '"}') end
    end
    return
  end
  local destination = tags['ActionDestination'] or ''
  if destination == '' then return end
  local known = ParseJson(RestApiGet('/modalities'))
  for _, name in ipairs(known) do
    if name == destination then
      local job = RestApiPost('/modalities/' .. destination .. '/store',
                              '{"Resources":["' .. instanceId .. '"],"Asynchronous":true}')
      if job == nil or job == '' then
        print('dcm-processor: forwarding instance ' .. instanceId .. ' to ' .. destination ..
              ' failed to start')
      end
      return
    end
  end
  print('dcm-processor: instance ' .. instanceId .. ' names destination ' .. destination ..
        ', not one of DICOM_MODALITIES: kept in Orthanc')
end
