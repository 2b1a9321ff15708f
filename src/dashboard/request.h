/* request.h -- dcmp-dashboard's reading of what a browser sends: paths against route patterns,
 * query parameters, the Basic login, Origin and Referer. Pure (no I/O): fuzzed and unit tested. */
#ifndef DCMP_DASHBOARD_REQUEST_H
#define DCMP_DASHBOARD_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "browse.h"

#define REQUEST_MAX_URL     2048 /* longer paths are refused (414) */
#define REQUEST_MAX_PARAMS  16   /* query parameters of one request */
#define REQUEST_MAX_BODY    4096 /* bytes of a POST body (actions take none) */
#define REQUEST_SEGMENT_LEN 128  /* one {} segment of a path: an id or a queue name */
#define REQUEST_MAX_CAPS    2
#define REQUEST_CRED_LEN    256 /* user and password of a Basic login */
#define REQUEST_HOST_LEN    256 /* one name of the dashboard (a DNS name is at most 253) */
#define REQUEST_MAX_HOSTS   32  /* names of the dashboard: DASHBOARD_HOSTS and the built-in */

/* A query parameter as received (borrowed strings). */
typedef struct request_param {
    const char *key;
    const char *value; /* "" when the parameter has no value */
} request_param;

/*
 * Matches path against pattern, where a "{}" segment matches one path segment of letters,
 * digits and _ - . : (1 to REQUEST_SEGMENT_LEN - 1 bytes), copied into caps in order.
 * "/api/jobs/{}/requeue" matches "/api/jobs/ab12/requeue". Returns 1 or 0.
 */
int request_match(const char *pattern, const char *path, char caps[][REQUEST_SEGMENT_LEN],
                  int maxcaps);

/* Compares a secret in time that depends only on the expected one's length. Returns 1 when
 * equal. */
int request_secret_eq(const char *given, const char *expected);

/*
 * Decodes an Authorization header "Basic base64(user:password)" into user and pass
 * (REQUEST_CRED_LEN each). Returns 0, or -1 when it is not Basic, not base64, has no ':',
 * or is too long.
 */
int request_basic_auth(const char *header, char user[REQUEST_CRED_LEN],
                       char pass[REQUEST_CRED_LEN]);

/*
 * Whether a browser's Origin (or, without it, Referer) names this server: its scheme is
 * http or https and its host[:port] equals the request's Host header exactly. Returns 1 when
 * it does, 0 when it does not or cannot be read.
 */
int request_same_origin(const char *origin_or_referer, const char *host);

/*
 * Reads DASHBOARD_HOSTS (`list`: names separated by blanks or commas, each a DNS name, an IPv4
 * address or an IPv6 address in brackets, without a port) into names[max], lower-cased.
 * Returns the count, or -1 with err naming the entry that is not a name.
 */
int request_hosts_parse(const char *list, char names[][REQUEST_HOST_LEN], int max, char *err);

/*
 * Whether a request's Host header names this dashboard (DNS rebinding: a page of another
 * site that had its name point here sends that name): its host part is one of names[n]
 * (compared without case), or, with any_address, any IPv4 address or [IPv6] address (an
 * address typed in the browser cannot be rebound); a :port may follow (1 to 65535). NULL, "",
 * or anything else gives 0. Pure.
 */
int request_host_ok(const char *host, char names[][REQUEST_HOST_LEN], int n, int any_address);

/*
 * Checks the keys of params: each must be one of allowed (NULL-terminated) and given once.
 * Returns 0, or -1 with err naming the parameter.
 */
int request_check_keys(const request_param *params, int n, const char *const *allowed, char *err);

/* The value of key in params, or NULL. */
const char *request_param_get(const request_param *params, int n, const char *key);

/* Reads an integer parameter: absent or "" gives dflt; otherwise digits only, from min to max.
 * Returns 0, or -1 with err naming the parameter. */
int request_int(const request_param *params, int n, const char *key, int64_t min, int64_t max,
                int64_t dflt, int64_t *out, char *err);

/*
 * The parameters of GET /api/jobs (queue, state, name, series, page, perPage) into a filter
 * whose strings are borrowed from params: unknown or repeated parameters, a bad value, or a
 * missing queue/state is an error naming the parameter. page is 1-based (default 1),
 * perPage 1 to 200 (default 50). Returns 0 or -1 with err.
 */
int request_jobs_query(const request_param *params, int n, dcmp_browse_filter *f, int64_t *page,
                       int64_t *per_page, char *err);

/* The same for GET /api/events (page, perPage). */
int request_events_query(const request_param *params, int n, int64_t *page, int64_t *per_page,
                         char *err);

#endif
