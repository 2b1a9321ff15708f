/* jsonw.c -- writes JSON text directly into a growing buffer, byte for byte as cJSON's
 * cJSON_PrintUnformatted would print the same values, without building a tree. */
#include "jsonw.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dcmp_jsonw_init(dcmp_jsonw *w, size_t max)
{
    memset(w, 0, sizeof *w);
    w->max = max;
}

/* Makes room for n more bytes and the NUL. Returns 0, or -1 (failed set). */
static int room(dcmp_jsonw *w, size_t n)
{
    size_t cap;
    char *p;

    if (w->failed)
        return -1;
    if (n > w->max || w->len > w->max - n) {
        w->failed = 1;
        return -1;
    }
    if (w->len + n + 1 <= w->cap)
        return 0;
    cap = w->cap ? w->cap : 256;
    while (cap < w->len + n + 1)
        cap *= 2;
    if ((p = realloc(w->buf, cap)) == NULL) {
        w->failed = 1;
        return -1;
    }
    w->buf = p;
    w->cap = cap;
    return 0;
}

void dcmp_jsonw_raw(dcmp_jsonw *w, const char *s, size_t n)
{
    if (room(w, n) < 0)
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

void dcmp_jsonw_lit(dcmp_jsonw *w, const char *s)
{
    dcmp_jsonw_raw(w, s, strlen(s));
}

/* What a byte becomes in a JSON string: 0 itself, else the letter after '\\' ('u': \u00xx). */
static const char escape[256] = {
    ['\b'] = 'b',  ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['"'] = '"',
    ['\\'] = '\\', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
    [0x06] = 'u',  [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u',
    [0x11] = 'u',  [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u',
    [0x17] = 'u',  [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u',
    [0x1d] = 'u',  [0x1e] = 'u', [0x1f] = 'u'};

size_t dcmp_jsonw_utf8(const unsigned char *p, size_t n)
{
    size_t k, i;
    uint32_t cp;

    if (n == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        k = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        k = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        k = 4;
        cp = p[0] & 0x07;
    } else {
        return 0; /* a continuation byte, an overlong lead (c0, c1) or past U+10FFFF */
    }
    if (n < k)
        return 0;
    for (i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, past U+10FFFF, or a UTF-16 surrogate */
    return k;
}

/* U+FFFD REPLACEMENT CHARACTER, for each byte that is not part of valid UTF-8. */
static const char replacement[] = "\xef\xbf\xbd";

void dcmp_jsonw_str(dcmp_jsonw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p, *run, *end;
    size_t extra = 2, n, k;
    char *o;

    n = strlen(s);
    end = (const unsigned char *)s + n;
    for (p = (const unsigned char *)s; p < end; p++) {
        if (*p >= 0x80) {
            if ((k = dcmp_jsonw_utf8(p, (size_t)(end - p))) == 0)
                extra += 2; /* one byte becomes three */
            else
                p += k - 1;
        } else if (escape[*p]) {
            extra += escape[*p] == 'u' ? 5 : 1;
        }
    }
    if (room(w, n + extra) < 0)
        return;
    o = w->buf + w->len;
    *o++ = '"';
    if (extra == 2) { /* nothing to escape or replace: one copy */
        memcpy(o, s, n);
        o += n;
    } else {
        for (p = run = (const unsigned char *)s; p < end; p++) {
            if (*p >= 0x80) {
                if ((k = dcmp_jsonw_utf8(p, (size_t)(end - p))) > 0) {
                    p += k - 1;
                    continue;
                }
                memcpy(o, run, (size_t)(p - run));
                o += p - run;
                run = p + 1;
                memcpy(o, replacement, 3);
                o += 3;
                continue;
            }
            if (!escape[*p])
                continue;
            memcpy(o, run, (size_t)(p - run));
            o += p - run;
            run = p + 1;
            *o++ = '\\';
            *o++ = escape[*p];
            if (escape[*p] == 'u') {
                *o++ = '0';
                *o++ = '0';
                *o++ = hex[*p >> 4];
                *o++ = hex[*p & 15];
            }
        }
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

char *dcmp_jsonw_valid_utf8(char *text)
{
    const unsigned char *p, *end;
    size_t n, bad = 0, k;
    char *out, *o;

    if (text == NULL)
        return NULL;
    n = strlen(text);
    end = (const unsigned char *)text + n;
    for (p = (const unsigned char *)text; p < end; p += k)
        if ((k = dcmp_jsonw_utf8(p, (size_t)(end - p))) == 0) {
            bad++;
            k = 1;
        }
    if (bad == 0)
        return text;
    if ((out = malloc(n + 2 * bad + 1)) == NULL) {
        free(text);
        return NULL;
    }
    for (o = out, p = (const unsigned char *)text; p < end; p += k) {
        if ((k = dcmp_jsonw_utf8(p, (size_t)(end - p))) == 0) {
            memcpy(o, replacement, 3);
            o += 3;
            k = 1;
        } else {
            memcpy(o, p, k);
            o += k;
        }
    }
    *o = '\0';
    free(text);
    return out;
}

void dcmp_jsonw_int(dcmp_jsonw *w, int64_t v)
{
    char text[32];
    double d = (double)v;
    int n;

    /* cJSON keeps numbers as doubles: an int-sized one prints as %d, any other with 15
     * significant digits, or 17 when 15 do not read back (nearly) the same double */
    if (v >= INT_MIN && v <= INT_MAX) {
        /* digits by hand: this runs for every number of every plan */
        char digits[16];
        int64_t m = v < 0 ? -v : v;
        int k = 0;
        do
            digits[k++] = (char)('0' + m % 10);
        while ((m /= 10) > 0);
        n = 0;
        if (v < 0)
            text[n++] = '-';
        while (k > 0)
            text[n++] = digits[--k];
    } else {
        double back, big;
        n = snprintf(text, sizeof text, "%1.15g", d);
        back = strtod(text, NULL);
        big = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
        if (fabs(back - d) > big * DBL_EPSILON) /* cJSON's test: equal within one epsilon */
            n = snprintf(text, sizeof text, "%1.17g", d);
    }
    if (n > 0 && n < (int)sizeof text)
        dcmp_jsonw_raw(w, text, (size_t)n);
    else
        w->failed = 1;
}

char *dcmp_jsonw_finish(dcmp_jsonw *w)
{
    char *out;

    if (w->failed || room(w, 0) < 0) {
        free(w->buf);
        memset(w, 0, sizeof *w);
        return NULL;
    }
    w->buf[w->len] = '\0';
    out = w->buf;
    w->buf = NULL;
    w->len = w->cap = 0;
    return out;
}
