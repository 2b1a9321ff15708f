/* runner_c.c -- the C runner: a service library found from the dotted name, dlopen()ed. */
#include "runner.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcmp/service.h"
#include "loader.h"
#include "resolve.h"

#define LINE_MAX_LEN 4096

static char *call_result;             /* what the function set with set_result */
static char call_error[DCMP_ERR_LEN]; /* what it set with set_error */
static dcmp_resolved found_here;      /* resolve's answer when the caller gave none */
static int found_index;

static void host_log(const dcmp_call *call, int32_t level, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[LINE_MAX_LEN + 32];
    va_list ap;
    int n;

    (void)call;
    if (level < 0 || level > 3)
        level = DCMP_LOG_INFO;
    n = snprintf(line, sizeof line, "%s ", names[level]);
    va_start(ap, fmt);
    vsnprintf(line + n, LINE_MAX_LEN, fmt, ap);
    va_end(ap);
    n = (int)strlen(line);
    line[n++] = '\n';
    fflush(stdout);
    dcmp_executor_write_all(STDOUT_FILENO, line, (size_t)n);
}

static int32_t host_set_result(const dcmp_call *call, const char *json)
{
    cJSON *v;
    size_t len;

    (void)call;
    if (json == NULL || (len = strlen(json)) > DCMP_EXECUTOR_RESULT_MAX)
        return -1;
    if ((v = cJSON_Parse(json)) == NULL)
        return -1;
    cJSON_Delete(v);
    free(call_result);
    call_result = strdup(json);
    return call_result ? 0 : -1;
}

static int32_t host_set_error(const dcmp_call *call, const char *message)
{
    (void)call;
    dcmp_strlcpy(call_error, message ? message : "", sizeof call_error);
    return 0;
}

static const dcmp_host host = {
    DCMP_ABI_VERSION, (uint32_t)sizeof(dcmp_host), host_log, host_set_result, host_set_error,
};

/* A name the caller resolved already (the pool did, to see whether its library changed) is
 * this runner's when a candidate exists, and not when none did (not looked for again);
 * otherwise one of its library candidates must exist. */
static int c_resolve(const dcmp_executor_input *in, char *err, size_t errlen)
{
    char why[DCMP_ERR_LEN];

    if (in->resolved != NULL && in->found >= 0)
        return 1;
    if (in->resolved != NULL) {
        (void)dcmp_resolve_missing(in->resolved, in->func, why);
        dcmp_strlcpy(err, why, errlen);
        return 0;
    }
    if (dcmp_resolve_name(in->modules, in->func, &found_here, why) < 0) {
        dcmp_strlcpy(err, why, errlen);
        return -1;
    }
    if ((found_index = dcmp_resolve_find(&found_here, in->func, why)) < 0) {
        dcmp_strlcpy(err, why, errlen);
        return 0;
    }
    return 1;
}

static int32_t c_run(const dcmp_executor_input *in, char loaded[PATH_MAX], char **result, char *err,
                     size_t errlen)
{
    char why[DCMP_ERR_LEN];
    dcmp_loaded lib;
    dcmp_call call;
    int32_t rc;

    *result = NULL;
    free(call_result);
    call_result = NULL;
    call_error[0] = '\0';
    if (dcmp_loader_open_found(in->resolved ? in->resolved : &found_here,
                               in->resolved ? in->found : found_index, &lib, why) < 0) {
        dcmp_strlcpy(err, why, errlen);
        return DCMP_ERROR;
    }
    memcpy(loaded, lib.path, PATH_MAX);
    memset(&call, 0, sizeof call);
    call.abi_version = DCMP_ABI_VERSION;
    call.size = (uint32_t)sizeof call;
    call.job_name = in->job_name;
    call.job_id = in->job_id;
    call.headers = in->headers;
    call.params = in->params;
    call.added_params = in->added_params;
    call.data_dir = in->data_dir;
    call.host = &host;
    rc = lib.fn(&call);
    /* The library stays loaded: a process that runs jobs keeps it for the next one (a
     * fork child ends right after; a pool executor restarts when the file changes). */
    dcmp_strlcpy(err, call_error, errlen);
    *result = call_result;
    call_result = NULL;
    return rc;
}

/* Loads the library resolve found, as run would, and looks the function up in its
 * descriptor; unloads it again. */
static int c_describe(const dcmp_executor_input *in, char *out, size_t outlen)
{
    char why[DCMP_ERR_LEN];
    dcmp_loaded lib;

    if (dcmp_loader_open_found(in->resolved ? in->resolved : &found_here,
                               in->resolved ? in->found : found_index, &lib, why) < 0) {
        dcmp_strlcpy(out, why, outlen);
        return -1;
    }
    snprintf(out, outlen, "%s (%s %s)", lib.path, lib.module->name ? lib.module->name : "?",
             lib.module->version ? lib.module->version : "?");
    dcmp_loader_close(&lib);
    return 0;
}

const dcmp_runner dcmp_runner_c = {"C library", c_resolve, c_run, c_describe};
