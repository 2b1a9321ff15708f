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

/* A .tags file: the header's string values (what the event's headerFields picked) with the
 * file's SeriesInstanceUID and SOPInstanceUID, as mercure's getdcmtags writes its tags. */
static char *input_tags(const cJSON *headers, const char *sop_uid)
{
    cJSON *t = cJSON_CreateObject();
    const cJSON *v;
    char *text;

    if (t == NULL)
        return NULL;
    cJSON_ArrayForEach(v, headers)
    {
        if (v->string && cJSON_IsString(v) &&
            !cJSON_AddStringToObject(t, v->string, v->valuestring))
            break;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(t, "SeriesInstanceUID");
    cJSON_DeleteItemFromObjectCaseSensitive(t, "SOPInstanceUID");
    if (!cJSON_AddStringToObject(t, "SeriesInstanceUID", series_uid(headers)) ||
        !cJSON_AddStringToObject(t, "SOPInstanceUID", sop_uid)) {
        cJSON_Delete(t);
        return NULL;
    }
    text = cJSON_PrintUnformatted(t);
    cJSON_Delete(t);
    return text;
}

/* mercure runs a module as its own uid:gid (user=getuid():getegid(), group_add getgid()) */
const dcmp_iface dcmp_iface_mercure = {"mercure",  DCMP_IFACE_WORKER, not_results, prepare,
                                       input_name, input_tags,        ".tags",     NULL};
