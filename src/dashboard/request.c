/* request.c -- dcmp-dashboard's reading of what a browser sends: paths against route patterns,
 * query parameters, the Basic login, Origin and Referer. Pure (no I/O): fuzzed and unit tested. */
#include "request.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PER_PAGE_MAX     200
#define PER_PAGE_DEFAULT 50

static int segment_char(int c)
{
    return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':';
}

int request_match(const char *pattern, const char *path, char caps[][REQUEST_SEGMENT_LEN],
                  int maxcaps)
{
    const char *p = pattern, *s = path;
    int ncap = 0;

    while (*p) {
        if (p[0] == '{' && p[1] == '}') {
            size_t len = 0;
            while (s[len] && s[len] != '/') {
                if (!segment_char((unsigned char)s[len]))
                    return 0;
                len++;
            }
            if (len == 0 || len >= REQUEST_SEGMENT_LEN || ncap >= maxcaps)
                return 0;
            memcpy(caps[ncap], s, len);
            caps[ncap][len] = '\0';
            ncap++;
            s += len;
            p += 2;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *s == '\0';
}

int request_secret_eq(const char *given, const char *expected)
{
    size_t lg = strlen(given), le = strlen(expected), i;
    unsigned char diff = lg != le;

    /* every byte of the expected secret is looked at, whatever was given */
    for (i = 0; i < le; i++)
        diff |= (unsigned char)(expected[i] ^ (i < lg ? given[i] : 0));
    return diff == 0;
}

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes base64 text (padding optional at the end) into out[size]; returns the length or
 * -1 when it is not base64 or does not fit. */
static long b64_decode(const char *in, size_t len, unsigned char *out, size_t size)
{
    unsigned acc = 0;
    size_t used = 0, i, pad = 0;
    int bits = 0, v;

    while (len > 0 && in[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if ((len + pad) % 4 != 0 && pad > 0)
        return -1;
    for (i = 0; i < len; i++) {
        if ((v = b64_value((unsigned char)in[i])) < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (used >= size)
                return -1;
            out[used++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    if (len % 4 == 1)
        return -1; /* 6 bits cannot end a byte */
    return (long)used;
}

int request_basic_auth(const char *header, char user[REQUEST_CRED_LEN], char pass[REQUEST_CRED_LEN])
{
    unsigned char buf[2 * REQUEST_CRED_LEN + 1];
    const char *b64, *end;
    unsigned char *colon;
    long n;

    user[0] = pass[0] = '\0';
    if (header == NULL || strncasecmp(header, "Basic ", 6) != 0)
        return -1;
    for (b64 = header + 6; *b64 == ' '; b64++)
        ;
    for (end = b64; *end && *end != ' '; end++)
        ;
    if (*end != '\0' || (size_t)(end - b64) > 4 * (sizeof buf / 3) + 4)
        return -1;
    if ((n = b64_decode(b64, (size_t)(end - b64), buf, sizeof buf - 1)) < 0)
        return -1;
    buf[n] = '\0';
    if (memchr(buf, '\0', (size_t)n) != NULL || (colon = memchr(buf, ':', (size_t)n)) == NULL)
        return -1;
    if (colon - buf >= REQUEST_CRED_LEN || (buf + n) - (colon + 1) >= REQUEST_CRED_LEN)
        return -1;
    memcpy(user, buf, (size_t)(colon - buf));
    user[colon - buf] = '\0';
    memcpy(pass, colon + 1, (size_t)((buf + n) - (colon + 1)));
    pass[(buf + n) - (colon + 1)] = '\0';
    return 0;
}

int request_same_origin(const char *url, const char *host)
{
    const char *p;
    size_t hlen;

    if (url == NULL || host == NULL || *host == '\0')
        return 0;
    if (strncmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        p = url + 8;
    else
        return 0;
    hlen = strlen(host);
    /* the authority ends the URL (Origin) or is followed by a path (Referer) */
    return strncmp(p, host, hlen) == 0 && (p[hlen] == '\0' || p[hlen] == '/');
}

/* Whether text[0, len) is a DNS name, an IPv4 address or a bracketed IPv6 address. */
static int host_name(const char *text, size_t len)
{
    char tmp[REQUEST_HOST_LEN];
    struct in6_addr a6;
    size_t i;

    if (len == 0 || len >= sizeof tmp)
        return 0;
    if (text[0] == '[') {
        if (len < 3 || text[len - 1] != ']')
            return 0;
        memcpy(tmp, text + 1, len - 2);
        tmp[len - 2] = '\0';
        return inet_pton(AF_INET6, tmp, &a6) == 1;
    }
    for (i = 0; i < len; i++)
        if (!isalnum((unsigned char)text[i]) && text[i] != '-' && text[i] != '.')
            return 0;
    return text[0] != '.' && text[0] != '-';
}

int request_hosts_parse(const char *list, char names[][REQUEST_HOST_LEN], int max, char *err)
{
    const char *p = list;
    int n = 0;
    size_t len, i;

    while (*p) {
        p += strspn(p, " \t,");
        if ((len = strcspn(p, " \t,")) == 0)
            break;
        if (!host_name(p, len))
            return dcmp_seterr(err,
                               "DASHBOARD_HOSTS: \"%.*s\" is not a host name, an IPv4 address or "
                               "an [IPv6] address (give no port)",
                               (int)(len > 80 ? 80 : len), p);
        if (n >= max)
            return dcmp_seterr(err, "DASHBOARD_HOSTS: more than %d names", max);
        for (i = 0; i < len; i++)
            names[n][i] = (char)tolower((unsigned char)p[i]);
        names[n][len] = '\0';
        n++;
        p += len;
    }
    return n;
}

int request_host_ok(const char *host, char names[][REQUEST_HOST_LEN], int n, int any_address)
{
    char name[REQUEST_HOST_LEN];
    struct in_addr a4;
    const char *port, *c;
    size_t len;
    int i;

    if (host == NULL)
        return 0;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (close == NULL)
            return 0;
        len = (size_t)(close - host) + 1;
    } else {
        len = strcspn(host, ":");
    }
    port = host + len;
    if (*port == ':') {
        long v = 0;
        if (port[1] == '\0' || strlen(port + 1) > 5)
            return 0;
        for (c = port + 1; *c; c++) {
            if (!isdigit((unsigned char)*c))
                return 0;
            v = v * 10 + (*c - '0');
        }
        if (v < 1 || v > 65535)
            return 0;
    } else if (*port != '\0') {
        return 0;
    }
    if (!host_name(host, len))
        return 0;
    for (i = 0; i < (int)len; i++)
        name[i] = (char)tolower((unsigned char)host[i]);
    name[len] = '\0';
    for (i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    if (!any_address)
        return 0;
    if (name[0] == '[')
        return 1; /* host_name checked it is an IPv6 address */
    return inet_pton(AF_INET, name, &a4) == 1;
}

int request_check_keys(const request_param *params, int n, const char *const *allowed, char *err)
{
    int i, k;

    if (n > REQUEST_MAX_PARAMS)
        return dcmp_seterr(err, "too many query parameters (at most %d)", REQUEST_MAX_PARAMS);
    for (i = 0; i < n; i++) {
        int known = 0;
        for (k = 0; allowed[k] && !known; k++)
            known = strcmp(params[i].key, allowed[k]) == 0;
        if (!known)
            return dcmp_seterr(err, "%.64s: unknown parameter", params[i].key);
        for (k = 0; k < i; k++)
            if (strcmp(params[k].key, params[i].key) == 0)
                return dcmp_seterr(err, "%.64s: given more than once", params[i].key);
    }
    return 0;
}

const char *request_param_get(const request_param *params, int n, const char *key)
{
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(params[i].key, key) == 0)
            return params[i].value ? params[i].value : "";
    return NULL;
}

int request_int(const request_param *params, int n, const char *key, int64_t min, int64_t max,
                int64_t dflt, int64_t *out, char *err)
{
    const char *v = request_param_get(params, n, key), *c;
    long long x;

    if (v == NULL || *v == '\0') {
        *out = dflt;
        return 0;
    }
    for (c = v; *c; c++)
        if (!isdigit((unsigned char)*c))
            return dcmp_seterr(err, "%s: expected a whole number from %lld to %lld", key,
                               (long long)min, (long long)max);
    errno = 0;
    x = strtoll(v, NULL, 10);
    if (errno != 0 || x < min || x > max)
        return dcmp_seterr(err, "%s: expected a whole number from %lld to %lld", key,
                           (long long)min, (long long)max);
    *out = x;
    return 0;
}

/* page and perPage; the offset they give must stay within the browse library's cap. */
static int paging(const request_param *params, int n, int64_t *page, int64_t *per_page, char *err)
{
    if (request_int(params, n, "perPage", 1, PER_PAGE_MAX, PER_PAGE_DEFAULT, per_page, err) < 0 ||
        request_int(params, n, "page", 1, DCMP_BROWSE_MAX_OFFSET / PER_PAGE_MAX, 1, page, err) < 0)
        return -1;
    return 0;
}

int request_jobs_query(const request_param *params, int n, dcmp_browse_filter *f, int64_t *page,
                       int64_t *per_page, char *err)
{
    static const char *const allowed[] = {"queue", "state",   "name", "series",
                                          "page",  "perPage", NULL};

    memset(f, 0, sizeof *f);
    if (request_check_keys(params, n, allowed, err) < 0 ||
        paging(params, n, page, per_page, err) < 0)
        return -1;
    f->queue = request_param_get(params, n, "queue");
    f->state = request_param_get(params, n, "state");
    f->name = request_param_get(params, n, "name");
    f->series = request_param_get(params, n, "series");
    f->offset = (*page - 1) * *per_page;
    f->count = *per_page;
    return dcmp_browse_check_filter(f, err);
}

int request_events_query(const request_param *params, int n, int64_t *page, int64_t *per_page,
                         char *err)
{
    static const char *const allowed[] = {"page", "perPage", NULL};

    if (request_check_keys(params, n, allowed, err) < 0)
        return -1;
    return paging(params, n, page, per_page, err);
}
