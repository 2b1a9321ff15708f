/* http.h -- test support: one HTTP request to a loopback port (libcurl), its answer kept. */
#ifndef DCMP_TEST_HTTP_H
#define DCMP_TEST_HTTP_H

#include <stddef.h>

#define HTTP_REPLY_MAX (1 << 20)

/* What was asked. */
typedef struct http_request {
    int port;                   /* on 127.0.0.1 */
    const char *method;         /* "GET", "POST", ... */
    const char *path;           /* with its query */
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
    const char *body;           /* sent as is; NULL: none ("" for a POST without one) */
    const char *basic;          /* "user:password" for HTTP Basic, or NULL */
    const char *source;         /* the loopback address to send from, or NULL */
    long timeout_s;             /* 0: 30 s */
} http_request;

/* What came back. Large: allocate it. */
typedef struct http_reply {
    long status;    /* -1: no answer (refused, closed, timed out) */
    double seconds; /* from the start of the request to its end, answered or not */
    char body[HTTP_REPLY_MAX];
    size_t len;
    char headers[8192];
} http_reply;

/* Sends q and fills r (the body cut at HTTP_REPLY_MAX - 1). Returns r->status. */
long http_do(const http_request *q, http_reply *r);

#endif
