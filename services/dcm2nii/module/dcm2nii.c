/* dcm2nii.c (module) -- the dcm2nii worker: Debian's dcm2niix on the series, no shell. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dcmp/service.h"
#include "svc.h"

extern char **environ;

/* A file name part: letters, digits, '.', '-', '_' (a series id always is). */
static int safe_name(const char *s)
{
    if (s == NULL || s[0] == '\0' || s[0] == '.' || strlen(s) > 200)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* Converts the series at headers.dcmpath into DATA/<base>/<filename>.nii.gz with
 * `dcm2niix -z y -b n -w 1 -f <filename> -o <base> <dcmpath>` (the original's command, plus
 * -w 1: a retry overwrites). Its output goes into the job's log; the job's timeout kills it. */
static int32_t worker(const dcmp_call *call)
{
    cJSON *h = cJSON_Parse(call->headers), *added = cJSON_Parse(call->added_params);
    const cJSON *mine = cJSON_GetObjectItemCaseSensitive(added, call->job_name);
    const char *base = svc_json_str(mine, "base"), *filename = svc_json_str(mine, "filename"),
               *ext = svc_json_str(mine, "ext"), *rel = svc_json_str(h, "dcmpath");
    char in[PATH_MAX], outdir[PATH_MAX], expect[PATH_MAX + 256], err[SVC_ERR_LEN];
    char result[PATH_MAX + 64];
    struct stat st;
    pid_t pid;
    int status, rc = DCMP_ERROR;

    if (mine == NULL || base == NULL || filename == NULL) {
        rc = svc_fail(call,
                      "added_params.%s has no base and filename (did the dcm2nii callback run?)",
                      call->job_name);
        goto done;
    }
    if (rel == NULL) {
        rc = svc_fail(call, "headers have no dcmpath: add it to headerFields");
        goto done;
    }
    if (!safe_name(filename)) {
        rc = svc_fail(call, "filename \"%s\": only letters, digits, '.', '-' and '_' are allowed",
                      filename);
        goto done;
    }
    if (svc_data_path(call->data_dir, rel, 1, in, err) < 0) {
        rc = svc_fail(call, "dcmpath %s", err);
        goto done;
    }
    if (svc_data_path(call->data_dir, base, 0, outdir, err) < 0 || svc_mkdirs(outdir, err) < 0) {
        rc = svc_fail(call, "base %s", err);
        goto done;
    }
    {
        char *argv[] = {"dcm2niix",       "-z", "y",    "-b", "n", "-w", "1", "-f",
                        (char *)filename, "-o", outdir, in,   NULL};
        int e;
        fflush(NULL);
        if ((e = posix_spawnp(&pid, "dcm2niix", NULL, NULL, argv, environ)) != 0) {
            rc = svc_fail(call, "cannot run dcm2niix: %s (install Debian's dcm2niix and pigz)",
                          strerror(e));
            goto done;
        }
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            rc = svc_fail(call, "waiting for dcm2niix: %s", strerror(errno));
            goto done;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rc = WIFSIGNALED(status) ? svc_fail(call, "dcm2niix was killed by signal %d (see the log)",
                                            WTERMSIG(status))
                                 : svc_fail(call, "dcm2niix exited with status %d (see the log)",
                                            WEXITSTATUS(status));
        goto done;
    }
    snprintf(expect, sizeof expect, "%s/%s%s", outdir, filename, ext ? ext : ".nii.gz");
    if (stat(expect, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        rc = svc_fail(call,
                      "dcm2niix wrote no %s (a series it cannot convert, or several volumes "
                      "with suffixes; see the log)",
                      expect);
        goto done;
    }
    snprintf(result, sizeof result, "{\"output\":\"%s/%s%s\",\"bytes\":%lld}", base, filename,
             ext ? ext : ".nii.gz", (long long)st.st_size);
    call->host->set_result(call, result);
    call->host->log(call, DCMP_LOG_INFO, "wrote %s (%lld bytes)", expect, (long long)st.st_size);
    rc = DCMP_OK;
done:
    cJSON_Delete(h);
    cJSON_Delete(added);
    return rc;
}

DCMP_MODULE("dcm2nii", "1.0.0", DCMP_FUNCTION(worker));
