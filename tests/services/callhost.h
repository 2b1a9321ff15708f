/* callhost.h -- a minimal host to call a service function in the test's own process. */
#ifndef DCMP_CALLHOST_H
#define DCMP_CALLHOST_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dcmp/service.h"
#include "loader.h"

static char ch_result[8192], ch_error[1024];

__attribute__((format(printf, 3, 4))) static void ch_log(const dcmp_call *c, int32_t l,
                                                         const char *fmt, ...)
{
    va_list ap;
    (void)c;
    (void)l;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int32_t ch_set_result(const dcmp_call *c, const char *json)
{
    (void)c;
    snprintf(ch_result, sizeof ch_result, "%s", json);
    return 0;
}

static int32_t ch_set_error(const dcmp_call *c, const char *msg)
{
    (void)c;
    snprintf(ch_error, sizeof ch_error, "%s", msg);
    return 0;
}

static const dcmp_host ch_host = {DCMP_ABI_VERSION, sizeof(dcmp_host), ch_log, ch_set_result,
                                  ch_set_error};

/* Loads ROOT's `dotted` function and calls it; returns its status, -1 when it cannot load. */
static int ch_call(const char *root, const char *dotted, const char *job, const char *headers,
                   const char *params, const char *added, const char *data)
{
    char err[512];
    dcmp_loaded l;
    dcmp_call c;
    int rc;

    ch_result[0] = ch_error[0] = '\0';
    if (dcmp_loader_open(root, dotted, &l, err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    memset(&c, 0, sizeof c);
    c.abi_version = DCMP_ABI_VERSION;
    c.size = sizeof c;
    c.job_name = job;
    c.job_id = "";
    c.headers = headers;
    c.params = params;
    c.added_params = added;
    c.data_dir = data;
    c.host = &ch_host;
    rc = l.fn(&c);
    dcmp_loader_close(&l);
    return rc;
}

#endif
