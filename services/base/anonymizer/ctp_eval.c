/* ctp_eval.c -- CTP's script language: function calls parsed and run as DICOMAnonymizer does. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctp_int.h"

#define MAX_ARGS       16
#define MAX_DEPTH      16 /* nested @if/@append blocks and @hashuid third elements */
#define MAX_EXTRA_RUNS 64 /* rules a @hashuid third element runs, per element */

/* A span of the script text. */
typedef struct span {
    const char *p;
    size_t n;
} span;

/* One parsed call, as CTP's FnCall: `@name(arg,arg){true}{false}`. */
typedef struct fncall {
    char name[32];
    span args[MAX_ARGS]; /* trimmed; CTP always has at least one, "" for "()" */
    int nargs;
    span tcode, fcode;
    size_t length;  /* characters taken after the '@'; 0: unparsable (CTP's -1) */
    int rest_taken; /* a conditional block was missing: CTP takes the rest of the line */
    span tail;      /* with rest_taken 1: the text after the {true} block CTP ignores */
    const char *error;
} fncall;

static int span_eq(span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* CTP's getDelimiter: the index of the delimiter closing a list opened before k, skipping
 * escapes, double-quoted text and [brackets]; -1 (as SIZE_MAX) when there is none. */
static size_t delimiter(const char *s, size_t n, size_t k, const char *delims, char open)
{
    int opens = 1, brackets = 0, quote = 0, esc = 0;

    for (; k < n; k++) {
        char c = s[k];
        if (esc)
            esc = 0;
        else if (c == '\\')
            esc = 1;
        else if (quote) {
            if (c == '"')
                quote = 0;
        } else if (c == '"')
            quote = 1;
        else if (c == '[')
            brackets++;
        else if (c == ']')
            brackets--;
        else if (c == open)
            opens++;
        else if (strchr(delims, c) != NULL && brackets == 0) {
            if (--opens == 0)
                return k;
        }
    }
    return SIZE_MAX;
}

static size_t find_char(const char *s, size_t n, size_t from, char c)
{
    for (; from < n; from++)
        if (s[from] == c)
            return from;
    return SIZE_MAX;
}

/* Reads a {block} at or after `from`; returns 0 and the span and the index after it. */
static int block(const char *s, size_t n, size_t from, span *out, size_t *after)
{
    size_t k = find_char(s, n, from, '{'), kk;

    if (k == SIZE_MAX || (kk = delimiter(s, n, k + 1, "}", '{')) == SIZE_MAX)
        return -1;
    out->p = s + k + 1;
    out->n = kk - k - 1;
    *after = kk + 1;
    return 0;
}

/* Parses the call that starts at s (just after an '@'). */
static void parse_call(const char *s, size_t n, fncall *fn)
{
    size_t k, kk, i, len = 0;

    memset(fn, 0, sizeof *fn);
    if ((k = find_char(s, n, 0, '(')) == SIZE_MAX) {
        fn->error = "no '(' after '@' (write \\@ for a literal @)";
        return;
    }
    for (i = 0; i < k; i++) {
        if (isspace((unsigned char)s[i]))
            continue;
        if (len + 1 >= sizeof fn->name) {
            fn->error = "function name too long";
            return;
        }
        fn->name[len++] = s[i];
    }
    fn->name[len] = '\0';
    kk = k;
    for (;;) {
        if ((kk = delimiter(s, n, kk + 1, ",)", '(')) == SIZE_MAX) {
            fn->error = "no ')' closing the arguments";
            return;
        }
        if (fn->nargs == MAX_ARGS) {
            fn->error = "more than 16 arguments";
            return;
        }
        fn->args[fn->nargs].p = s + k + 1;
        fn->args[fn->nargs].n = kk - k - 1;
        ctp_trim(&fn->args[fn->nargs].p, &fn->args[fn->nargs].n);
        fn->nargs++;
        k = kk;
        if (s[kk] == ')')
            break;
    }
    fn->length = kk + 1;
    if (strcmp(fn->name, "if") == 0 || strcmp(fn->name, "select") == 0) {
        size_t after;
        if (block(s, n, kk + 1, &fn->tcode, &after) < 0) {
            fn->tcode.n = 0;
            fn->length = n;
            fn->rest_taken = 2;
            return;
        }
        if (block(s, n, after, &fn->fcode, &fn->length) < 0) {
            fn->fcode.n = 0;
            fn->length = n;
            fn->rest_taken = 1;
            fn->tail.p = s + after;
            fn->tail.n = n - after;
        }
    } else if (strcmp(fn->name, "append") == 0) {
        if (block(s, n, kk + 1, &fn->tcode, &fn->length) < 0) {
            fn->length = n;
            fn->rest_taken = 2;
        }
    }
}

/* FnCall.getArg: the argument without surrounding double quotes; "" past the end. */
static span arg(const fncall *fn, int k)
{
    span a = {"", 0};

    if (k >= fn->nargs)
        return a;
    a = fn->args[k];
    if (a.n >= 2 && a.p[0] == '"' && a.p[a.n - 1] == '"') {
        a.p++;
        a.n -= 2;
    }
    return a;
}

/* FnCall.getArgs: "(a,b,c)", what CTP prints for a call it cannot run. */
static void put_args(ctp_buf *b, const fncall *fn)
{
    int i;

    ctp_buf_addc(b, '(');
    for (i = 0; i < fn->nargs; i++) {
        if (i > 0)
            ctp_buf_addc(b, ',');
        ctp_buf_add(b, fn->args[i].p, fn->args[i].n);
    }
    ctp_buf_addc(b, ')');
}

/* ---- parameters and element names ---- */

static char *dup_span(span s)
{
    char *p = malloc(s.n + 1);

    if (p) {
        memcpy(p, s.p, s.n);
        p[s.n] = '\0';
    }
    return p;
}

/* getParam of an argument; NULL when it names an undefined parameter. */
static int param(const ctp_script *s, span a, span *out)
{
    size_t len;
    const char *v = ctp_param_ref(s, a.p, a.n, &len);

    if (v == NULL)
        return -1;
    out->p = v;
    out->n = len;
    return 0;
}

/* ---- evaluation ---- */

static char *run(ctp_eval *ev, const char *cmd, size_t n, uint32_t this_tag, int depth);

static void quarantine(ctp_eval *ev, ctp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void quarantine(ctp_eval *ev, ctp_status st, const char *fmt, ...)
{
    va_list ap;

    if (ev->status != CTP_OK)
        return;
    ev->status = st;
    va_start(ap, fmt);
    vsnprintf(ev->why, sizeof ev->why, fmt, ap);
    va_end(ap);
}

/* The tag a name argument means: "" and "this" are this_tag (FnCall.getTag). */
static uint32_t tag_of(ctp_eval *ev, span name, uint32_t this_tag)
{
    uint32_t tag = 0;

    ctp_trim(&name.p, &name.n);
    if (name.n == 0 || span_eq(name, "this"))
        return this_tag;
    if (ctp_name_tag(ev->script, ev->src, name.p, name.n, &tag) != 1)
        return 0;
    return tag;
}

/* The context's contentsNull: the element's value (new string), NULL when the name is empty,
 * means nothing, or the element is absent. *nomem is set when out of memory. */
static char *contents_null(ctp_eval *ev, span name, uint32_t this_tag)
{
    char *v = NULL;
    uint32_t tag;
    int rc;

    ctp_trim(&name.p, &name.n);
    if (name.n == 0)
        return NULL;
    tag = span_eq(name, "this") ? this_tag : tag_of(ev, name, this_tag);
    if (tag == 0)
        return NULL;
    rc = ev->src->get(ev->src->ds, tag, &v);
    if (rc < 0)
        quarantine(ev, CTP_ERROR, "out of memory");
    return rc == 1 ? v : NULL;
}

/* The context's contents: as contents_null, "" instead of NULL. */
static char *contents(ctp_eval *ev, span name, uint32_t this_tag)
{
    char *v = contents_null(ev, name, this_tag);

    return v ? v : strdup("");
}

static int parse_int(span s, long *out)
{
    char tmp[32], *end;
    long v;

    if (s.n == 0 || s.n >= sizeof tmp)
        return -1;
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = '\0';
    if (!(isdigit((unsigned char)tmp[0]) || tmp[0] == '-' || tmp[0] == '+'))
        return -1;
    errno = 0;
    v = strtol(tmp, &end, 10);
    if (errno || *end != '\0' || v > INT_MAX || v < INT_MIN)
        return -1;
    *out = v;
    return 0;
}

/* AnonymizerFunctions.hash: the decimal MD5, at most maxlen digits (< 1: all). */
static void hash_to(ctp_buf *b, const char *s, size_t n, long maxlen)
{
    char h[40];
    size_t len;

    if (ctp_md5_decimal(s, n, h) < 0) {
        b->failed = 1;
        return;
    }
    len = strlen(h);
    if (maxlen >= 1 && (size_t)maxlen < len)
        len = (size_t)maxlen;
    ctp_buf_add(b, h, len);
}

/* Splits on '\' as Java's String.split("\\\\"): trailing empty parts are dropped. Calls
 * fn for each part; returns -1 when one fails. */
static int each_value(const char *v, int (*fn)(const char *, size_t, void *), void *arg)
{
    size_t n = strlen(v), start = 0, i, end = n;

    while (end > 0 && v[end - 1] == '\\')
        end--;
    if (end == 0)
        return fn(v, 0, arg); /* "" splits into one empty part */
    for (i = 0; i <= end; i++) {
        if (i == end || v[i] == '\\') {
            if (fn(v + start, i - start, arg) < 0)
                return -1;
            start = i + 1;
        }
    }
    return 0;
}

typedef struct date_job {
    ctp_buf *b;
    int first;
    int modify;
    int32_t inc;
    int32_t y, m, d;
} date_job;

static int date_one(const char *v, size_t n, void *arg)
{
    date_job *j = arg;

    if (!j->first)
        ctp_buf_addc(j->b, '\\');
    j->first = 0;
    return j->modify ? ctp_date_modify(v, n, j->y, j->m, j->d, j->b)
                     : ctp_date_increment(v, n, j->inc, j->b);
}

/* Applies a date job to every value of `date`; "@empty()" when any value fails, as CTP. */
static void dates(ctp_buf *out, const char *date, date_job *j)
{
    ctp_buf b = {0};

    j->b = &b;
    j->first = 1;
    if (each_value(date, date_one, j) < 0 || b.failed)
        ctp_buf_adds(out, "@empty()");
    else
        ctp_buf_add(out, b.data, b.len);
    ctp_buf_free(&b);
}

static void fn_hashdate(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out)
{
    char *date = contents_null(ev, fn->args[0], this_tag), *unhashed = NULL, h[40];
    date_job j = {0};
    size_t n;

    if (date == NULL) {
        ctp_buf_adds(out, "@remove()");
        return;
    }
    if (strlen(date) < 8 || fn->nargs < 2) {
        ctp_buf_adds(out, "@empty()");
        goto done;
    }
    if ((unhashed = contents_null(ev, fn->args[1], this_tag)) == NULL) {
        ctp_buf_adds(out, "@remove()");
        goto done;
    }
    if (ctp_md5_decimal(unhashed, strlen(unhashed), h) < 0) {
        ctp_buf_adds(out, "@empty()");
        goto done;
    }
    n = strlen(h);
    j.inc = (int32_t) - (strtol(h + (n > 4 ? n - 4 : 0), NULL, 10) % 3650);
    dates(out, date, &j);
done:
    free(date);
    free(unhashed);
}

static void fn_incrementdate(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out)
{
    char *date = contents_null(ev, fn->args[0], this_tag);
    date_job j = {0};
    long long inc;
    span p;

    if (date == NULL) {
        ctp_buf_adds(out, "@remove()");
        return;
    }
    /* Long.parseLong of the parameter as written (untrimmed), else "@empty()"; then cut to
     * an int as CTP's (int) cast does */
    if (strlen(date) < 8 || fn->nargs < 2 || param(ev->script, fn->args[1], &p) < 0 ||
        ctp_date_parse_long(p.p, p.n, INT64_MIN, INT64_MAX, &inc) < 0) {
        ctp_buf_adds(out, "@empty()");
    } else {
        j.inc = (int32_t)(uint32_t)(unsigned long long)inc;
        dates(out, date, &j);
    }
    free(date);
}

/* modifydate's field: Integer.parseInt of the trimmed parameter, -1 when that fails ("*":
 * keep the field; any negative number keeps it too); -2 for an undefined parameter. */
static int64_t field(const ctp_script *s, span a)
{
    long long v;
    span p;

    if (param(s, a, &p) < 0)
        return -2;
    ctp_trim(&p.p, &p.n);
    return ctp_date_parse_long(p.p, p.n, INT32_MIN, INT32_MAX, &v) < 0 ? -1 : v;
}

static void fn_modifydate(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out)
{
    char *date = contents_null(ev, fn->args[0], this_tag);
    date_job j = {0};
    int64_t y, m, d;

    if (date == NULL) {
        ctp_buf_adds(out, "@remove()");
        return;
    }
    j.modify = 1;
    if (strlen(date) < 8 || fn->nargs < 4 || (y = field(ev->script, fn->args[1])) == -2 ||
        (m = field(ev->script, fn->args[2])) == -2 || (d = field(ev->script, fn->args[3])) == -2) {
        ctp_buf_adds(out, "@empty()");
    } else {
        j.y = (int32_t)y;
        j.m = (int32_t)m;
        j.d = (int32_t)d;
        dates(out, date, &j);
    }
    free(date);
}

static void fn_hash(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out)
{
    char *v = contents_null(ev, fn->args[0], this_tag);
    long len = INT_MAX;
    span p;

    if (v == NULL) {
        ctp_buf_adds(out, "@remove()");
        return;
    }
    if (fn->nargs > 1) {
        if (param(ev->script, fn->args[1], &p) < 0) {
            put_args(out, fn); /* a NullPointerException in CTP */
            free(v);
            return;
        }
        if (p.n != 0 && parse_int(p, &len) < 0)
            len = INT_MAX;
    }
    hash_to(out, v, strlen(v), len);
    free(v);
}

static void fn_hashuid(ctp_eval *ev, const fncall *fn, uint32_t this_tag, int depth, ctp_buf *out)
{
    char *prefix = NULL, *uid = NULL, *extra = NULL;
    const ctp_rule *r;
    ctp_buf p = {0}, u = {0};
    span ps;

    if (fn->nargs < 2) {
        put_args(out, fn);
        return;
    }
    if (fn->args[0].n > 0 && fn->args[0].p[0] == '@') {
        if (param(ev->script, fn->args[0], &ps) == 0)
            prefix = dup_span(ps);
    } else {
        prefix = contents_null(ev, fn->args[0], this_tag);
    }
    if (prefix == NULL) {
        put_args(out, fn);
        return;
    }
    if ((uid = contents_null(ev, fn->args[1], this_tag)) == NULL) {
        ctp_buf_adds(out, "@remove()");
        goto done;
    }
    ctp_buf_adds(&p, prefix);
    if (p.len == 0 || p.data[p.len - 1] != '.')
        ctp_buf_addc(&p, '.');
    ctp_buf_adds(&u, uid);
    if (fn->nargs > 2) {
        uint32_t t = tag_of(ev, fn->args[2], this_tag);
        if ((r = ctp_script_rule(ev->script, t)) != NULL) {
            /* E2's rule may itself name a third element: the chain shares the nesting
             * depth, and the evaluations of one element are counted, so a cycle or a
             * fan-out of rules costs a bounded amount of work */
            if (++ev->extra_runs > MAX_EXTRA_RUNS) {
                quarantine(ev, CTP_ERROR, "@hashuid: more than %d rules evaluated for one element",
                           MAX_EXTRA_RUNS);
                goto done;
            }
            if ((extra = run(ev, r->script, strlen(r->script), t, depth + 1)) == NULL)
                goto done;
            ctp_buf_adds(&u, extra);
        }
    }
    if (p.failed || u.failed || ctp_hashuid(p.data, p.len, u.data, u.len, out) < 0)
        quarantine(ev, CTP_ERROR, "out of memory");
done:
    free(prefix);
    free(uid);
    free(extra);
    ctp_buf_free(&p);
    ctp_buf_free(&u);
}

static void fn_lookup(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out)
{
    ctp_buf key = {0}, full = {0};
    const char *names = fn->args[0].p, *value = NULL, *problem;
    size_t n = fn->args[0].n, start = 0, i;
    span kt = fn->nargs > 1 ? fn->args[1] : (span){"", 0}, a;
    char msg[CTP_ERR_LEN];
    int indirects = 10;

    for (i = 0; i <= n; i++) {
        if (i == n || names[i] == '|') {
            span one = {names + start, i - start};
            char *v = contents(ev, one, this_tag);
            if (v == NULL) {
                quarantine(ev, CTP_ERROR, "out of memory");
                goto done;
            }
            if (start > 0)
                ctp_buf_addc(&key, '|');
            for (char *c = v; *c; c++) /* key.replaceAll("\\\\", "") */
                if (*c != '\\')
                    ctp_buf_addc(&key, *c);
            free(v);
            start = i + 1;
        }
    }
    ctp_buf_add(&key, "", 0);
    if (ev->lut == NULL || ctp_lut_size(ev->lut) == 0) {
        problem = ev->lut ? "empty lookup table" : "missing lookup table";
        snprintf(msg, sizeof msg, "%s", problem);
    } else {
        const char *k = key.data;
        size_t kn = key.len;
        ctp_trim(&kt.p, &kt.n);
        ctp_trim(&k, &kn);
        ctp_buf_add(&full, kt.p, kt.n);
        ctp_buf_addc(&full, '/');
        ctp_buf_add(&full, k, kn);
        value = full.failed ? NULL : ctp_lut_get(ev->lut, full.data);
        /* "@keyType/key" values point at another entry (at most 10 times) */
        while (value != NULL && value[0] == '@' && strchr(value, '/') != NULL && indirects > 0) {
            const char *vk = value + 1;
            size_t vn = strlen(vk);
            ctp_trim(&vk, &vn);
            full.len = 0;
            ctp_buf_add(&full, vk, vn);
            value = ctp_lut_get(ev->lut, full.data);
            indirects--;
        }
        if (value == NULL)
            snprintf(msg, sizeof msg, "missing key (%s) in lookup table",
                     full.data ? full.data : "");
        else if (indirects <= 0) {
            snprintf(msg, sizeof msg, "more than 10 indirects");
            value = NULL;
        }
    }
    if (value != NULL) {
        const char *v = value;
        size_t vn = strlen(v);
        ctp_trim(&v, &vn);
        ctp_buf_add(out, v, vn);
        goto done;
    }
    if (fn->nargs > 2) {
        a = arg(fn, 2);
        ctp_trim(&a.p, &a.n);
        if (span_eq(a, "keep") || span_eq(a, "remove") || span_eq(a, "empty")) {
            ctp_buf_addc(out, '@');
            ctp_buf_add(out, a.p, a.n);
            ctp_buf_adds(out, "()");
            goto done;
        }
        if (fn->nargs > 3 && span_eq(a, "default")) {
            span d = arg(fn, 3);
            ctp_trim(&d.p, &d.n);
            ctp_buf_add(out, d.p, d.n);
            goto done;
        }
    }
    quarantine(ev, CTP_QUARANTINE, "@lookup(%.*s,%.*s): %s", (int)fn->args[0].n, fn->args[0].p,
               (int)kt.n, kt.p, msg);
done:
    ctp_buf_free(&key);
    ctp_buf_free(&full);
}

/* The condition of @if(element,test[,value]). */
static int condition(ctp_eval *ev, const fncall *fn, uint32_t this_tag)
{
    span name = arg(fn, 0), test = fn->args[1], cmp;
    uint32_t tag = tag_of(ev, name, this_tag);
    char *v;
    int r = 0;

    if (fn->nargs < 2)
        return 0;
    if (span_eq(test, "exists"))
        return tag != 0 && ev->src->has(ev->src->ds, tag);
    /* contents(tagName, tag): "" when absent */
    v = NULL;
    if (tag != 0 && ev->src->get(ev->src->ds, tag, &v) < 0)
        quarantine(ev, CTP_ERROR, "out of memory");
    if (v == NULL && (v = strdup("")) == NULL)
        return 0;
    if (span_eq(test, "isblank")) {
        const char *p = v;
        size_t n = strlen(v);
        ctp_trim(&p, &n);
        r = n == 0;
    } else if (fn->nargs >= 3) {
        /* getArg(fn, 2): a defined @parameter's value, else the text */
        cmp = arg(fn, 2);
        if (cmp.n > 0 && cmp.p[0] == '@') {
            span pv;
            if (param(ev->script, cmp, &pv) == 0)
                cmp = pv;
        }
        if (span_eq(test, "contains") || span_eq(test, "equals")) {
            size_t n = strlen(v), i;
            for (i = 0; i < n; i++)
                v[i] = (char)tolower((unsigned char)v[i]);
            if (span_eq(test, "equals")) {
                r = n == cmp.n;
                for (i = 0; r && i < n; i++)
                    r = v[i] == (char)tolower((unsigned char)cmp.p[i]);
            } else {
                r = cmp.n == 0;
                for (i = 0; !r && i + cmp.n <= n; i++) {
                    size_t k = 0;
                    while (k < cmp.n && v[i + k] == (char)tolower((unsigned char)cmp.p[k]))
                        k++;
                    r = k == cmp.n;
                }
            }
        } else if (span_eq(test, "greaterthan")) {
            long a = 0, b = 0;
            size_t i;
            for (i = 0; v[i]; i++) /* StringUtil.getInt of the digits only */
                if (isdigit((unsigned char)v[i]) && a < INT_MAX / 10)
                    a = a * 10 + (v[i] - '0');
            for (i = 0; i < cmp.n; i++)
                if (isdigit((unsigned char)cmp.p[i]) && b < INT_MAX / 10)
                    b = b * 10 + (cmp.p[i] - '0');
            r = a > b;
        }
    }
    free(v);
    return r;
}

static void fn_require(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out)
{
    char *v = NULL, num[32];
    uint32_t tag;
    const char *p;
    size_t n;
    int rc;

    if (ev->src->has(ev->src->ds, this_tag)) {
        ctp_buf_adds(out, "@keep()");
        return;
    }
    tag = tag_of(ev, fn->args[0], this_tag);
    rc = tag && ev->src->has(ev->src->ds, tag) ? ev->src->get(ev->src->ds, tag, &v) : 0;
    if (rc < 0) {
        quarantine(ev, CTP_ERROR, "out of memory");
        return;
    }
    if (rc == 0 && tag && ev->src->has(ev->src->ds, tag)) {
        /* present but unreadable (a sequence): CTP's value is null and it fails */
        put_args(out, fn);
        return;
    }
    if (rc != 1) {
        span d = arg(fn, 1);
        v = dup_span(fn->nargs > 1 ? d : (span){"", 0});
    }
    if (v == NULL) {
        quarantine(ev, CTP_ERROR, "out of memory");
        return;
    }
    p = v;
    n = strlen(v);
    ctp_trim(&p, &n);
    if (n == 0) {
        snprintf(num, sizeof num, "@blank(%zu)", strlen(v));
        ctp_buf_adds(out, num);
    } else {
        ctp_buf_adds(out, v);
    }
    free(v);
}

/* @round(age,size): AnonymizerFunctions.round. */
static void fn_round(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out)
{
    char *age = contents(ev, fn->args[0], this_tag), res[64];
    const char *a;
    size_t n, i;
    long size, digits = 0, rounded;
    int any = 0;
    span p;
    double f;

    if (age == NULL)
        return;
    if (fn->nargs < 2 || param(ev->script, fn->args[1], &p) < 0 || parse_int(p, &size) < 0 ||
        size == 0)
        goto fail;
    a = age;
    n = strlen(age);
    ctp_trim(&a, &n);
    if (n == 0)
        goto done;
    for (i = 0; i < n; i++) {
        if (isdigit((unsigned char)a[i])) {
            any = 1;
            if (digits < 100000000)
                digits = digits * 10 + (a[i] - '0');
        }
    }
    if (!any)
        goto fail;
    f = (double)(float)((float)digits / (float)size);
    rounded = (long)(f + 0.5) * size; /* Math.round: floor(x + 0.5), x >= 0 here */
    snprintf(res, sizeof res, "%ld", rounded);
    {
        ctp_buf r = {0};
        ctp_buf_adds(&r, res);
        for (i = 0; i < n; i++)
            if (!isdigit((unsigned char)a[i]))
                ctp_buf_addc(&r, a[i]);
        if (!r.failed && (r.len & 1))
            ctp_buf_addc(out, '0');
        if (r.data)
            ctp_buf_add(out, r.data, r.len);
        ctp_buf_free(&r);
    }
    goto done;
fail:
    put_args(out, fn);
done:
    free(age);
}

static void fn_initials(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out)
{
    char *name = contents(ev, fn->args[0], this_tag), first = 0;
    ctp_buf ini = {0};
    int word = 0;
    size_t i;

    if (name == NULL)
        return;
    for (i = 0; name[i]; i++) {
        int sep = name[i] == '^' || (unsigned char)name[i] <= ' ';
        if (sep) {
            word = 0;
        } else if (!word) {
            word = 1;
            ctp_buf_addc(&ini, (char)toupper((unsigned char)name[i]));
        }
    }
    if (ini.len == 0) {
        ctp_buf_addc(out, 'X');
    } else {
        /* the last name's initial moves to the end */
        first = ini.data[0];
        ctp_buf_add(out, ini.data + 1, ini.len - 1);
        ctp_buf_addc(out, first);
    }
    ctp_buf_free(&ini);
    free(name);
}

static void fn_hashname(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out)
{
    char *name = contents(ev, fn->args[0], this_tag);
    ctp_buf s = {0};
    long length = 4, words = INT_MAX;
    long word = 0;
    size_t i;
    span p;

    if (name == NULL)
        return;
    if (fn->nargs > 1 && param(ev->script, fn->args[1], &p) == 0 && parse_int(p, &length) < 0)
        length = 4;
    if (fn->nargs > 2 && (param(ev->script, fn->args[2], &p) < 0 || parse_int(p, &words) < 0))
        words = INT_MAX;
    if (words <= 0)
        words = INT_MAX;
    for (i = 0; name[i] && word < words; i++) {
        char c = name[i];
        if (c == '^') {
            word++;
            continue;
        }
        if (isspace((unsigned char)c) || c == ',' || c == '\'' || c == '.')
            continue;
        ctp_buf_addc(&s, (char)toupper((unsigned char)c));
    }
    ctp_buf_add(&s, "", 0);
    hash_to(out, s.data, s.len, length);
    ctp_buf_free(&s);
    free(name);
}

static void fn_hashptid(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out)
{
    char *ptid;
    ctp_buf s = {0};
    span site = {"", 0};
    long maxlen = INT_MAX;
    const char *p;
    size_t n;
    span m;

    if (fn->nargs < 2) {
        put_args(out, fn);
        return;
    }
    if (param(ev->script, fn->args[0], &site) < 0)
        site = (span){"", 0};
    ctp_trim(&site.p, &site.n);
    if ((ptid = contents(ev, fn->args[1], this_tag)) == NULL)
        return;
    if (fn->nargs > 2 && (param(ev->script, fn->args[2], &m) < 0 || parse_int(m, &maxlen) < 0))
        maxlen = INT_MAX;
    p = ptid;
    n = strlen(ptid);
    ctp_trim(&p, &n);
    ctp_buf_addc(&s, '[');
    ctp_buf_add(&s, site.p, site.n);
    ctp_buf_addc(&s, ']');
    ctp_buf_add(&s, p, n);
    hash_to(out, s.data ? s.data : "", s.len, maxlen);
    ctp_buf_free(&s);
    free(ptid);
}

static void fn_truncate(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out)
{
    char *v = contents(ev, fn->args[0], this_tag);
    long k;
    size_t n, i, chars = 0;
    const char *p;

    if (v == NULL)
        return;
    n = strlen(v);
    if (fn->nargs < 2 || parse_int(fn->args[1], &k) < 0) {
        ctp_buf_add(out, v, n);
    } else if (k >= 0) {
        for (i = 0; i < n; i++) { /* k characters, not bytes */
            if (((unsigned char)v[i] & 0xC0) != 0x80 && chars++ == (size_t)k)
                break;
        }
        ctp_buf_add(out, v, i);
    } else {
        p = v;
        ctp_trim(&p, &n);
        for (i = n; i > 0; i--) {
            if (((unsigned char)p[i - 1] & 0xC0) != 0x80 && ++chars == (size_t)-k) {
                i--;
                break;
            }
        }
        ctp_buf_add(out, p + i, n - i);
    }
    free(v);
}

static void fn_case(ctp_eval *ev, const fncall *fn, uint32_t this_tag, ctp_buf *out, int upper)
{
    char *v = contents(ev, fn->args[0], this_tag);
    size_t i;

    if (v == NULL)
        return;
    for (i = 0; v[i]; i++)
        v[i] = (char)(upper ? toupper((unsigned char)v[i]) : tolower((unsigned char)v[i]));
    ctp_buf_adds(out, v);
    free(v);
}

static void fn_clock(ctp_eval *ev, const fncall *fn, ctp_buf *out, int date)
{
    span sep = arg(fn, 0);
    struct tm tm;
    time_t now = ev->now ? ev->now : time(NULL);
    char s[64];

    localtime_r(&now, &tm);
    if (date)
        snprintf(s, sizeof s, "%04d%.*s%02d%.*s%02d", tm.tm_year + 1900, (int)sep.n, sep.p,
                 tm.tm_mon + 1, (int)sep.n, sep.p, tm.tm_mday);
    else
        snprintf(s, sizeof s, "%02d%.*s%02d%.*s%02d", tm.tm_hour, (int)sep.n, sep.p, tm.tm_min,
                 (int)sep.n, sep.p, tm.tm_sec);
    ctp_buf_adds(out, s);
}

/* Runs one parsed call, appending its result to out. */
static void call(ctp_eval *ev, const fncall *fn, uint32_t this_tag, int depth, ctp_buf *out)
{
    const char *name = fn->name;
    char *v;

    if (strcmp(name, "contents") == 0 || strcmp(name, "value") == 0) {
        if ((v = contents(ev, fn->args[0], this_tag)) == NULL)
            return;
        if (v[0] == '\0' && strcmp(name, "value") == 0 && fn->nargs > 1) {
            span d = arg(fn, 1);
            ctp_buf_add(out, d.p, d.n);
        } else {
            ctp_buf_adds(out, v);
        }
        free(v);
    } else if (strcmp(name, "truncate") == 0) {
        fn_truncate(ev, fn, this_tag, out);
    } else if (strcmp(name, "date") == 0 || strcmp(name, "time") == 0) {
        fn_clock(ev, fn, out, name[0] == 'd');
    } else if (strcmp(name, "hash") == 0) {
        fn_hash(ev, fn, this_tag, out);
    } else if (strcmp(name, "hashname") == 0) {
        fn_hashname(ev, fn, this_tag, out);
    } else if (strcmp(name, "hashptid") == 0) {
        fn_hashptid(ev, fn, this_tag, out);
    } else if (strcmp(name, "hashuid") == 0) {
        fn_hashuid(ev, fn, this_tag, depth, out);
    } else if (strcmp(name, "if") == 0 || strcmp(name, "select") == 0) {
        int yes = name[0] == 'i' ? condition(ev, fn, this_tag) : ev->src->root;
        span code = yes ? fn->tcode : fn->fcode;
        if ((v = run(ev, code.p, code.n, this_tag, depth + 1)) != NULL) {
            ctp_buf_adds(out, v);
            free(v);
        }
    } else if (strcmp(name, "append") == 0) {
        char *cur = NULL;
        if ((v = run(ev, fn->tcode.p, fn->tcode.n, this_tag, depth + 1)) == NULL)
            return;
        if (ev->src->vm(ev->src->ds, this_tag) > 0 &&
            ev->src->get(ev->src->ds, this_tag, &cur) == 1) {
            ctp_buf_adds(out, cur);
            ctp_buf_addc(out, '\\');
        }
        ctp_buf_adds(out, v);
        free(cur);
        free(v);
    } else if (strcmp(name, "always") == 0) {
        /* nothing: it only marks a rule that creates its element */
    } else if (strcmp(name, "hashdate") == 0) {
        fn_hashdate(ev, fn, this_tag, out);
    } else if (strcmp(name, "incrementdate") == 0) {
        fn_incrementdate(ev, fn, this_tag, out);
    } else if (strcmp(name, "lowercase") == 0 || strcmp(name, "uppercase") == 0) {
        fn_case(ev, fn, this_tag, out, name[0] == 'u');
    } else if (strcmp(name, "modifydate") == 0) {
        fn_modifydate(ev, fn, this_tag, out);
    } else if (strcmp(name, "initials") == 0) {
        fn_initials(ev, fn, this_tag, out);
    } else if (strcmp(name, "lookup") == 0) {
        fn_lookup(ev, fn, this_tag, out);
    } else if (strcmp(name, "param") == 0) {
        span p;
        if (param(ev->script, fn->args[0], &p) < 0)
            ctp_buf_adds(out, "null"); /* Java's "" + null */
        else
            ctp_buf_add(out, p.p, p.n);
    } else if (strcmp(name, "quarantine") == 0) {
        quarantine(ev, CTP_QUARANTINE, "@quarantine()");
    } else if (strcmp(name, "skip") == 0) {
        quarantine(ev, CTP_SKIP, "@skip()");
    } else if (strcmp(name, "require") == 0) {
        fn_require(ev, fn, this_tag, out);
    } else if (strcmp(name, "round") == 0) {
        fn_round(ev, fn, this_tag, out);
    } else {
        /* @keep(), @remove(), @empty(), @blank(n): markers printed for the caller */
        ctp_buf_addc(out, '@');
        ctp_buf_adds(out, name);
        put_args(out, fn);
    }
}

/* makeReplacement over cmd[0..n). */
static char *run(ctp_eval *ev, const char *cmd, size_t n, uint32_t this_tag, int depth)
{
    ctp_buf out = {0};
    size_t i = 0;
    int esc = 0;

    if (depth > MAX_DEPTH) {
        quarantine(ev, CTP_ERROR, "blocks or @hashuid rules nested more than %d deep", MAX_DEPTH);
        return NULL;
    }
    while (i < n && ev->status == CTP_OK) {
        char c = cmd[i++];
        if (esc) {
            ctp_buf_addc(&out, c);
            esc = 0;
        } else if (c == '\\') {
            esc = 1;
        } else if (c == '@') {
            fncall fn;
            parse_call(cmd + i, n - i, &fn);
            if (fn.error != NULL) {
                /* CTP stops here (or throws): refused when the script is loaded */
                quarantine(ev, CTP_ERROR, "%s", fn.error);
                break;
            }
            i += fn.length;
            call(ev, &fn, this_tag, depth, &out);
        } else {
            ctp_buf_addc(&out, c);
        }
    }
    if (out.failed)
        quarantine(ev, CTP_ERROR, "a value longer than %u bytes", CTP_VALUE_MAX);
    if (ev->status != CTP_OK) {
        ctp_buf_free(&out);
        return NULL;
    }
    return ctp_buf_take(&out);
}

char *ctp_eval_script(ctp_eval *ev, const char *cmd, uint32_t this_tag)
{
    ev->extra_runs = 0;
    return run(ev, cmd, strlen(cmd), this_tag, 0);
}

/* ---- checking a script when it is loaded ---- */

/* Argument kinds: E an element name, e an element name or empty (this), P a parameter
 * reference or a literal, X an element name or a @parameter, K element names joined by '|',
 * L literal text. */
typedef struct fn_spec {
    const char *name;
    int min_args;     /* arguments that must be non-empty */
    const char *kind; /* one letter per argument position; extra arguments are ignored */
} fn_spec;

static const fn_spec specs[] = {
    {"contents", 1, "E"},   {"value", 1, "EL"},     {"truncate", 1, "EL"},
    {"date", 0, "L"},       {"time", 0, "L"},       {"hash", 1, "EP"},
    {"hashname", 2, "EPP"}, {"hashptid", 2, "PEP"}, {"hashuid", 2, "XEE"},
    {"if", 2, "eLL"},       {"select", 0, ""},      {"append", 0, ""},
    {"always", 0, ""},      {"hashdate", 2, "EE"},  {"incrementdate", 2, "EP"},
    {"lowercase", 1, "E"},  {"uppercase", 1, "E"},  {"modifydate", 4, "EPPP"},
    {"initials", 1, "E"},   {"lookup", 2, "KLLL"},  {"param", 1, "P"},
    {"quarantine", 0, ""},  {"skip", 0, ""},        {"require", 0, "eL"},
    {"round", 2, "EP"},     {"keep", 0, ""},        {"remove", 0, ""},
    {"empty", 0, ""},       {"blank", 0, "L"},
};

/* What CTP has and we do not: named so that the error says "not supported", not "unknown". */
static const char *const unsupported[] = {
    "encrypt", "decrypt", "integer", "dateinterval", "call", "pathelement", "process",
};

static int check_name(const ctp_script *s, span a, int empty_ok, const char *fn, char *err)
{
    uint32_t tag;

    ctp_trim(&a.p, &a.n);
    if (a.n == 0)
        return empty_ok ? 0 : snprintf(err, CTP_ERR_LEN, "@%s: an element name is missing", fn),
               empty_ok ? 0 : -1;
    if (span_eq(a, "this") || ctp_name_tag(s, NULL, a.p, a.n, &tag) != 0)
        return 0;
    snprintf(err, CTP_ERR_LEN, "@%s: \"%.*s\" is not an element name", fn, (int)a.n, a.p);
    return -1;
}

static int check_param(const ctp_script *s, span a, const char *fn, char *err)
{
    size_t len;

    ctp_trim(&a.p, &a.n);
    if (a.n > 0 && (a.p[0] == '@' || a.p[0] == '$') && ctp_param_ref(s, a.p, a.n, &len) == NULL) {
        snprintf(err, CTP_ERR_LEN, "@%s: parameter %.*s is not defined (no <p t=\"%.*s\">)", fn,
                 (int)a.n, a.p, (int)a.n - 1, a.p + 1);
        return -1;
    }
    return 0;
}

static int check(const ctp_script *s, const char *cmd, size_t n, int depth, char *err);

static int check_call(const ctp_script *s, const fncall *fn, int depth, char *err)
{
    const fn_spec *sp = NULL;
    size_t i;
    int k;

    for (i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (strcmp(fn->name, unsupported[i]) == 0)
            return snprintf(err, CTP_ERR_LEN, "@%s is not supported", fn->name), -1;
    for (i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (strcmp(fn->name, specs[i].name) == 0)
            sp = &specs[i];
    if (sp == NULL)
        return snprintf(err, CTP_ERR_LEN, "unknown function @%s", fn->name), -1;
    for (k = 0; k < sp->min_args; k++)
        if (k >= fn->nargs || fn->args[k].n == 0)
            return snprintf(err, CTP_ERR_LEN, "@%s needs %d argument%s", fn->name, sp->min_args,
                            sp->min_args == 1 ? "" : "s"),
                   -1;
    for (k = 0; k < fn->nargs && sp->kind[k] != '\0'; k++) {
        span a = fn->args[k];
        switch (sp->kind[k]) {
        case 'E':
        case 'e':
            if (check_name(s, a, sp->kind[k] == 'e' || k >= sp->min_args, fn->name, err) < 0)
                return -1;
            break;
        case 'P':
            if (check_param(s, a, fn->name, err) < 0)
                return -1;
            break;
        case 'X':
            if (a.n > 0 && a.p[0] == '@' ? check_param(s, a, fn->name, err) < 0
                                         : check_name(s, a, 0, fn->name, err) < 0)
                return -1;
            break;
        case 'K': {
            size_t start = 0, j;
            for (j = 0; j <= a.n; j++) {
                if (j == a.n || a.p[j] == '|') {
                    if (check_name(s, (span){a.p + start, j - start}, 0, fn->name, err) < 0)
                        return -1;
                    start = j + 1;
                }
            }
            break;
        }
        default: break;
        }
    }
    if (strcmp(fn->name, "contents") == 0 && fn->nargs > 1)
        return snprintf(err, CTP_ERR_LEN, "@contents with a regular expression is not supported"),
               -1;
    if (strcmp(fn->name, "initials") == 0 && fn->nargs > 1)
        return snprintf(err, CTP_ERR_LEN, "@initials with an offset is not supported"), -1;
    if (strcmp(fn->name, "if") == 0) {
        span t = fn->args[1];
        if (!span_eq(t, "isblank") && !span_eq(t, "exists") && !span_eq(t, "equals") &&
            !span_eq(t, "contains") && !span_eq(t, "greaterthan"))
            return snprintf(err, CTP_ERR_LEN, "@if: condition \"%.*s\" is not supported", (int)t.n,
                            t.p),
                   -1;
        if ((span_eq(t, "equals") || span_eq(t, "contains") || span_eq(t, "greaterthan")) &&
            fn->nargs < 3)
            return snprintf(err, CTP_ERR_LEN, "@if: %.*s needs a value to compare with", (int)t.n,
                            t.p),
                   -1;
    }
    if (strcmp(fn->name, "lookup") == 0 && fn->nargs > 2) {
        span a = arg(fn, 2);
        ctp_trim(&a.p, &a.n);
        if (!span_eq(a, "keep") && !span_eq(a, "remove") && !span_eq(a, "empty") &&
            !(span_eq(a, "default") && fn->nargs > 3))
            return snprintf(err, CTP_ERR_LEN,
                            "@lookup: action \"%.*s\" is not supported (keep, remove, empty, "
                            "default,VALUE)",
                            (int)a.n, a.p),
                   -1;
    }
    if (fn->rest_taken == 2)
        return snprintf(err, CTP_ERR_LEN, "@%s: a {block} is missing", fn->name), -1;
    if (fn->rest_taken == 1) {
        /* no {false} block: CTP then ignores the rest of the line, so there must be none */
        size_t j;
        for (j = 0; j < fn->tail.n; j++)
            if (!isspace((unsigned char)fn->tail.p[j]))
                return snprintf(err, CTP_ERR_LEN,
                                "@%s{...} without a second block: CTP would ignore the text "
                                "after it",
                                fn->name),
                       -1;
    }
    if (fn->tcode.n > 0 && check(s, fn->tcode.p, fn->tcode.n, depth + 1, err) < 0)
        return -1;
    if (fn->fcode.n > 0 && check(s, fn->fcode.p, fn->fcode.n, depth + 1, err) < 0)
        return -1;
    return 0;
}

static int check(const ctp_script *s, const char *cmd, size_t n, int depth, char *err)
{
    size_t i = 0;
    int esc = 0;

    if (depth > MAX_DEPTH)
        return snprintf(err, CTP_ERR_LEN, "blocks nested more than %d deep", MAX_DEPTH), -1;
    while (i < n) {
        char c = cmd[i++];
        if (esc) {
            esc = 0;
        } else if (c == '\\') {
            esc = 1;
        } else if (c == '@') {
            fncall fn;
            parse_call(cmd + i, n - i, &fn);
            if (fn.error != NULL)
                return snprintf(err, CTP_ERR_LEN, "%s", fn.error), -1;
            i += fn.length;
            if (check_call(s, &fn, depth, err) < 0)
                return -1;
        }
    }
    return 0;
}

int ctp_check_script(const ctp_script *s, const char *cmd, char err[CTP_ERR_LEN])
{
    return check(s, cmd, strlen(cmd), 0, err);
}
