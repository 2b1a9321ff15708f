/* http.c -- test support: one HTTP request to a loopback port (libcurl), its answer kept. */
#include "http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static size_t collect_body(char *p, size_t size, size_t n, void *arg)
{
    http_reply *r = arg;
    size_t k = size * n;

    if (r->len + k >= sizeof r->body)
        k = sizeof r->body - r->len - 1;
    memcpy(r->body + r->len, p, k);
    r->len += k;
    r->body[r->len] = '\0';
    return size * n;
}

static size_t collect_header(char *p, size_t size, size_t n, void *arg)
{
    http_reply *r = arg;
    size_t used = strlen(r->headers), k = size * n;

    if (used + k < sizeof r->headers) {
        memcpy(r->headers + used, p, k);
        r->headers[used + k] = '\0';
    }
    return size * n;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long http_do(const http_request *q, http_reply *r)
{
    char url[4096];
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    double t0 = now_s();
    int i;

    r->status = -1;
    r->len = 0;
    r->seconds = 0;
    r->body[0] = r->headers[0] = '\0';
    if (c == NULL)
        return -1;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", q->port, q->path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    if (q->source)
        curl_easy_setopt(c, CURLOPT_INTERFACE, q->source);
    if (q->body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, q->timeout_s > 0 ? q->timeout_s : 30L);
    h = curl_slist_append(h, "Expect:");
    for (i = 0; q->headers && q->headers[i]; i++)
        h = curl_slist_append(h, q->headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (q->basic) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, q->basic);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->seconds = now_s() - t0;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r->status;
}
