/* iface_mercure.c -- the `mercure` container interface: a mercure module's contract (the
 * series' files as `<SeriesInstanceUID>#<name>.dcm` with `.tags` beside them and task.json
 * in MERCURE_IN_DIR, its outputs in MERCURE_OUT_DIR; docs/containers.md). Pure. */
#include "iface.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* where mercure's processor binds them (app/process/process_series.py, docker_runtime) */
#define IN_MOUNT  "/tmp/data"
#define OUT_MOUNT "/tmp/output"

/* mercure copies task.json to the output folder itself; result.json is the module's result */
static const char *const not_results[] = {"result.json", "task.json", NULL};

/* The series' UID as mercure's file names carry it: SeriesInstanceUID, else the event's
 * seriesId (Orthanc's id), else "series". */
static const char *series_uid(const cJSON *headers)
{
    const char *uid = dcmp_iface_header(headers, "SeriesInstanceUID");

    if (uid == NULL)
        uid = dcmp_iface_header(headers, "seriesId");
    return uid ? uid : "series";
}

/* task.json: mercure's task with the job's params as process.settings. */
static char *task_json(const dcmp_iface_job *job)
{
    cJSON *t = cJSON_CreateObject(), *info, *proc, *settings;
    char *text;
    int ok;

    settings = job->params && !cJSON_IsNull(job->params) ? cJSON_Duplicate(job->params, 1)
                                                         : cJSON_CreateObject();
    proc = t ? cJSON_AddObjectToObject(t, "process") : NULL;
    if (proc == NULL || settings == NULL || !cJSON_AddItemToObject(proc, "settings", settings)) {
        cJSON_Delete(settings);
        cJSON_Delete(t);
        return NULL;
    }
    ok = cJSON_AddStringToObject(proc, "module_name", job->job_name ? job->job_name : "") &&
         cJSON_AddFalseToObject(proc, "retain_input_images") &&
         cJSON_AddStringToObject(t, "id", job->job_id) &&
         (info = cJSON_AddObjectToObject(t, "info")) != NULL &&
         cJSON_AddStringToObject(info, "action", "process") &&
         cJSON_AddStringToObject(info, "uid", series_uid(job->headers)) &&
         cJSON_AddStringToObject(info, "uid_type", "series") &&
         cJSON_AddObjectToObject(info, "triggered_rules");
    text = ok ? cJSON_PrintUnformatted(t) : NULL;
    cJSON_Delete(t);
    return text;
}

static int prepare(const dcmp_iface_job *job, dcmp_iface_setup *s, char *err)
{
    if (dcmp_iface_folders(job, s, 1, err) < 0 ||
        dcmp_iface_add_bind(s, s->in, NULL, IN_MOUNT, 0, err) < 0 ||
        dcmp_iface_add_bind(s, s->out, NULL, OUT_MOUNT, 1, err) < 0 ||
        dcmp_iface_add_env(s, "MERCURE_IN_DIR", IN_MOUNT, err) < 0 ||
        dcmp_iface_add_env(s, "MERCURE_OUT_DIR", OUT_MOUNT, err) < 0)
        return -1;
    s->file[0].name = "in/task.json";
    if ((s->file[0].text = task_json(job)) == NULL)
        return dcmp_seterr(err, "out of memory");
    s->nfile = 1;
    return 0;
}

static int input_name(const cJSON *headers, const char *sop_uid, char *out, size_t size)
{
    int n = snprintf(out, size, "%s#%s.dcm", series_uid(headers), sop_uid);

    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The tags getdcmtags writes (its tags_list.h, in its order, each once). */
static const char *const getdcmtags[] = {"Modality",
                                         "BodyPartExamined",
                                         "ProtocolName",
                                         "RetrieveAETitle",
                                         "StationAETitle",
                                         "Manufacturer",
                                         "ManufacturerModelName",
                                         "StudyDescription",
                                         "CodeValue",
                                         "CodeMeaning",
                                         "SeriesDescription",
                                         "PatientName",
                                         "PatientID",
                                         "PatientBirthDate",
                                         "PatientSex",
                                         "AccessionNumber",
                                         "ReferringPhysicianName",
                                         "StudyID",
                                         "SeriesNumber",
                                         "StudyInstanceUID",
                                         "SeriesDate",
                                         "SeriesTime",
                                         "AcquisitionDate",
                                         "AcquisitionTime",
                                         "SequenceName",
                                         "ScanningSequence",
                                         "SequenceVariant",
                                         "MagneticFieldStrength",
                                         "StationName",
                                         "DeviceSerialNumber",
                                         "DeviceUID",
                                         "SoftwareVersions",
                                         "ContrastBolusAgent",
                                         "ImageComments",
                                         "SliceThickness",
                                         "InstanceNumber",
                                         "AcquisitionNumber",
                                         "InstitutionName",
                                         "AcquisitionType",
                                         "ImageType",
                                         NULL};

/* Those of them that differ between a series' instances: written only from the file's own
 * header (the series' header, read from one instance, would be wrong for the others). */
static const char *const per_instance[] = {"AcquisitionDate", "AcquisitionTime",   "ImageComments",
                                           "InstanceNumber",  "AcquisitionNumber", NULL};

/* Keys getdcmtags writes itself: not copied from the header as extra tags. */
static const char *const own_keys[] = {
    "SpecificCharacterSet",    "SeriesInstanceUID", "SOPInstanceUID",
    "SenderAddress",           "SenderAET",         "ReceiverAET",
    "MediaStorageSOPClassUID", "Filename",          NULL};

static int listed(const char *const *names, const char *name)
{
    for (; *names; names++)
        if (strcmp(*names, name) == 0)
            return 1;
    return 0;
}

/* Adds name: value as getdcmtags writes a value: CR as ';', LF as ' ', '"' as '\''. */
static int add(cJSON *t, const char *name, const char *value)
{
    cJSON *v = cJSON_AddStringToObject(t, name, value ? value : "");
    char *p;

    for (p = v ? v->valuestring : NULL; p && *p; p++)
        *p = *p == '\r' ? ';' : *p == '\n' ? ' ' : *p == '"' ? '\'' : *p;
    return v != NULL;
}

/* A tag's value: the file's own when its header was read, else the series header's. */
static const char *value(const cJSON *headers, const cJSON *file, const char *name)
{
    const cJSON *v = file ? cJSON_GetObjectItemCaseSensitive(file, name) : NULL;

    if (file)
        return cJSON_IsString(v) ? v->valuestring : NULL;
    return dcmp_iface_header(headers, name);
}

/* A .tags file as getdcmtags writes one: SpecificCharacterSet, the file's SeriesInstanceUID and
 * SOPInstanceUID, the sender's fields (empty: a job has no DICOM sender), getdcmtags' tags ("",
 * as getdcmtags writes a missing tag), MediaStorageSOPClassUID (SOPClassUID), the series
 * header's other string values (what headerFields picked, as getdcmtags' extra tags), and
 * Filename. The values are the file's own header's when it was read (file), else the series
 * header's, without the per-instance tags. */
static char *input_tags(const cJSON *headers, const cJSON *file, const char *sop_uid,
                        const char *file_name)
{
    cJSON *t = cJSON_CreateObject();
    const cJSON *v;
    char *text = NULL;
    int ok, i;

    ok = t && add(t, "SpecificCharacterSet", value(headers, file, "SpecificCharacterSet")) &&
         add(t, "SeriesInstanceUID", series_uid(headers)) && add(t, "SOPInstanceUID", sop_uid) &&
         add(t, "SenderAddress", "") && add(t, "SenderAET", "") && add(t, "ReceiverAET", "");
    for (i = 0; ok && getdcmtags[i]; i++)
        if (file || !listed(per_instance, getdcmtags[i]))
            ok = add(t, getdcmtags[i], value(headers, file, getdcmtags[i]));
    ok = ok && add(t, "MediaStorageSOPClassUID", value(headers, file, "SOPClassUID"));
    cJSON_ArrayForEach(v, headers)
    {
        if (ok && v->string && cJSON_IsString(v) && !listed(getdcmtags, v->string) &&
            !listed(own_keys, v->string))
            ok = add(t, v->string, v->valuestring);
    }
    if (ok && add(t, "Filename", file_name))
        text = cJSON_Print(t);
    cJSON_Delete(t);
    return text;
}

/* mercure runs a module as its own uid:gid (user=getuid():getegid(), group_add getgid()) */
const dcmp_iface dcmp_iface_mercure = {"mercure",  DCMP_IFACE_WORKER, not_results, prepare,
                                       input_name, input_tags,        ".tags",     NULL};
