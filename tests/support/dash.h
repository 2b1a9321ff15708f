/* dash.h -- test fixture: a real dcmp-dashboard process on a free loopback port, and HTTP
 * requests to it (libcurl). */
#ifndef DCMP_TEST_DASH_H
#define DCMP_TEST_DASH_H

#include <cjson/cJSON.h>
#include <sys/types.h>

#include "http.h"
#include "redis.h"

typedef struct dash {
    pid_t pid;
    int port;
    char log[PATH_MAX + 32]; /* its stderr: f->dir/dashboard-PORT.log */
    char csrf[128];          /* the page's token, read by dash_start */
    const char *source;      /* the loopback address requests come from; NULL: the system's */
} dash;

typedef http_reply dash_reply;

/* Starts $DCMP_DASHBOARD_BIN against f's Redis with extra "K=V" environment entries
 * (NULL-terminated, may be NULL), waits until /health answers and reads the CSRF token from
 * the page (with basic = "user:password" when a login is set, else NULL). Returns 0 or -1. */
int dash_start(fixture *f, dash *d, const char *const *env, const char *basic);

/* SIGTERM, then waits for it. Returns 0 when it ended cleanly with status 0 (under
 * AddressSanitizer a leak makes the status non-zero), -1 otherwise. */
int dash_stop(dash *d);

/* Sends a request; headers: NULL-terminated "Name: value" lines (may be NULL); basic:
 * "user:password" or NULL. Fills r (a static-sized buffer: allocate it, it is large).
 * Returns the HTTP status, or -1. */
long dash_http(dash *d, const char *method, const char *path, const char *const *headers,
               const char *basic, dash_reply *r);

/* GETs path and parses the JSON body (new), or NULL; *status gets the HTTP status. */
cJSON *dash_json(dash *d, const char *path, const char *basic, long *status);

/* Whether the dashboard's log contains text. */
int dash_log_has(const dash *d, const char *text);

#endif
