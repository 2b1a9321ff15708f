/* systemcleaner.c -- the last post service: removes the paths jobs injected as `deleted`. */
/* A path held for a study or patient event (DATA/.holds, written by the scheduler) is left in
 * place and reported held; inside a held folder it is recorded there, and the scheduler
 * removes it once no pending event needs it. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dcmp/service.h"
#include "svc.h"

#define MAX_PATHS 10000

/* Removes one injected path, only inside DATA. Returns 1 removed, 0 already gone, 2 held for a
 * study or patient event (left), -1 refused or failed (logged). */
static int clean_one(const dcmp_call *call, const char *job, const char *rel)
{
    char path[PATH_MAX], err[SVC_ERR_LEN];
    struct stat st;

    if (svc_data_path(call->data_dir, rel, 0, path, err) < 0) {
        call->host->log(call, DCMP_LOG_ERROR, "refused (from %s): %s", job, err);
        return -1;
    }
    if (lstat(path, &st) < 0) {
        call->host->log(call, DCMP_LOG_INFO, "already gone: %s", rel);
        return 0;
    }
    switch (svc_held(call->data_dir, path)) {
    case 2:
        call->host->log(call, DCMP_LOG_INFO,
                        "held for a study or patient event, left in place: %s (from %s); "
                        "removed when released",
                        rel, job);
        return 2;
    case 1:
        call->host->log(call, DCMP_LOG_INFO,
                        "held for a study or patient event, left in place: %s (from %s)", rel, job);
        return 2;
    default: break;
    }
    if (svc_rmtree(path, err) < 0) {
        call->host->log(call, DCMP_LOG_ERROR, "%s", err);
        return -1;
    }
    call->host->log(call, DCMP_LOG_INFO, "removed %s (from %s)", rel, job);
    return 1;
}

static int32_t worker(const dcmp_call *call)
{
    cJSON *added = cJSON_Parse(call->added_params);
    const cJSON *job;
    int removed = 0, gone = 0, held = 0, refused = 0, seen = 0;
    char first[SVC_ERR_LEN] = "", result[128];

    if (!cJSON_IsObject(added)) {
        cJSON_Delete(added);
        call->host->set_error(call, "added_params is not a JSON object");
        return DCMP_ERROR;
    }
    /* every job's injection: "deleted" is a string or a list of strings */
    cJSON_ArrayForEach(job, added)
    {
        const cJSON *del = cJSON_GetObjectItemCaseSensitive(job, "deleted"), *p;
        if (del == NULL)
            continue;
        if (cJSON_IsString(del)) {
            int r = clean_one(call, job->string, del->valuestring);
            seen++;
            removed += r == 1;
            gone += r == 0;
            held += r == 2;
            if (r < 0 && refused++ == 0)
                snprintf(first, sizeof first, "%s (from %s)", del->valuestring, job->string);
            continue;
        }
        if (!cJSON_IsArray(del)) {
            call->host->log(call, DCMP_LOG_WARN, "%s: deleted is neither a string nor a list",
                            job->string);
            continue;
        }
        cJSON_ArrayForEach(p, del)
        {
            int r;
            if (!cJSON_IsString(p)) {
                call->host->log(call, DCMP_LOG_WARN, "%s: an entry of deleted is not a string",
                                job->string);
                continue;
            }
            if (++seen > MAX_PATHS) {
                call->host->log(call, DCMP_LOG_WARN, "more than %d paths: the rest ignored",
                                MAX_PATHS);
                break;
            }
            r = clean_one(call, job->string, p->valuestring);
            removed += r == 1;
            gone += r == 0;
            held += r == 2;
            if (r < 0 && refused++ == 0)
                snprintf(first, sizeof first, "%s (from %s)", p->valuestring, job->string);
        }
    }
    cJSON_Delete(added);
    snprintf(result, sizeof result, "{\"removed\":%d,\"gone\":%d,\"held\":%d,\"refused\":%d}",
             removed, gone, held, refused);
    call->host->set_result(call, result);
    if (refused > 0) {
        char msg[SVC_ERR_LEN + 128];
        snprintf(msg, sizeof msg,
                 "%d path%s refused or not removed (see the log), the first: %s; %d removed",
                 refused, refused == 1 ? "" : "s", first, removed);
        call->host->set_error(call, msg);
        return DCMP_ERROR;
    }
    return DCMP_OK;
}

DCMP_MODULE("systemcleaner", "1.0.0", DCMP_FUNCTION(worker));
