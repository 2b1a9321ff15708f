/* webhook.c -- the body of Orthanc's stable-series webhook: checked, and turned into the
 * event's data (the keys the planner's headerFields pick from). Pure. */
#include "webhook.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

/* One open object or list while the body's bytes are scanned. */
typedef struct level {
    char type;     /* '{' or '[' */
    char want_key; /* in an object, the next string is a key */
    unsigned keys; /* keys seen in this object */
} level;

static int blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * One pass over the body's bytes before any parsing: valid UTF-8, no control character, and
 * within every cap (nesting, keys per object, values, key and string lengths). It does not
 * check the grammar (cJSON does, after): it only makes sure that what cJSON is given is
 * bounded. Returns 0, or -1 with err naming the cap and the byte where it was passed.
 */
static int scan(const unsigned char *p, size_t len, char *err)
{
    level st[DCMP_WEBHOOK_MAX_DEPTH];
    size_t i, values = 0, slen = 0;
    int depth = 0, in_str = 0, esc = 0, is_key = 0;
    unsigned char prev = ',';

    for (i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t k = dcmp_jsonw_utf8(p + i, len - i);
            if (k == 0)
                return dcmp_seterr(err, "body is not valid UTF-8 (byte %zu)", i);
            i += k - 1;
            slen += k;
            if (!in_str)
                continue; /* not JSON: cJSON says where */
        } else if (c < 0x20 && !(!in_str && blank(c))) {
            return dcmp_seterr(err, "body has a control character (0x%02x) at byte %zu", c, i);
        } else if (in_str) {
            slen++;
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
        } else {
            if (blank(c))
                continue;
            if (c == '"') {
                in_str = 1;
                slen = 0;
                is_key = depth > 0 && st[depth - 1].type == '{' && st[depth - 1].want_key;
                if (is_key && ++st[depth - 1].keys > DCMP_WEBHOOK_MAX_KEYS)
                    return dcmp_seterr(err, "body has an object with more than %d keys (byte %zu)",
                                       DCMP_WEBHOOK_MAX_KEYS, i);
                if (!is_key)
                    values++;
            } else if (c == '{' || c == '[') {
                if (depth == DCMP_WEBHOOK_MAX_DEPTH)
                    return dcmp_seterr(err, "body nests deeper than %d levels (byte %zu)",
                                       DCMP_WEBHOOK_MAX_DEPTH, i);
                st[depth].type = (char)c;
                st[depth].want_key = c == '{';
                st[depth].keys = 0;
                depth++;
                values++;
            } else if (c == '}' || c == ']') {
                if (depth > 0)
                    depth--;
            } else if (c == ',') {
                if (depth > 0 && st[depth - 1].type == '{')
                    st[depth - 1].want_key = 1;
            } else if (c == ':') {
                if (depth > 0)
                    st[depth - 1].want_key = 0;
            } else if (prev == ',' || prev == ':' || prev == '[') {
                values++; /* a number, true, false or null starts */
            }
            prev = c;
            if (values > DCMP_WEBHOOK_MAX_VALUES)
                return dcmp_seterr(err, "body has more than %d values (byte %zu)",
                                   DCMP_WEBHOOK_MAX_VALUES, i);
            continue;
        }
        if (in_str && is_key && slen > DCMP_WEBHOOK_MAX_KEY + 1)
            return dcmp_seterr(err, "body has a key longer than %d bytes (byte %zu)",
                               DCMP_WEBHOOK_MAX_KEY, i);
        if (in_str && !is_key && slen > DCMP_WEBHOOK_MAX_STRING + 1)
            return dcmp_seterr(err, "body has a string longer than %d bytes (byte %zu)",
                               DCMP_WEBHOOK_MAX_STRING, i);
    }
    return 0;
}

static int id_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > DCMP_WEBHOOK_ID_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              *s == '-'))
            return 0;
    return 1;
}

/* 64-bit FNV-1a: a version for bodies without LastUpdate (identical bodies, same version). */
static uint64_t fnv1a(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull;

    while (len--) {
        h ^= (unsigned char)*p++;
        h *= 1099511628211ull;
    }
    return h;
}

static int flat(const cJSON *v)
{
    return !cJSON_IsObject(v) && !cJSON_IsArray(v);
}

/* The top-level keys whose values are flat, by name: an open-addressing table of 2^bits
 * slots, each the last item of that name (so each key is looked up once: linear). */
typedef struct names {
    cJSON **slot;
    size_t mask;
} names;

static cJSON **find(const names *t, const char *key)
{
    size_t i = (size_t)fnv1a(key, strlen(key)) & t->mask;

    while (t->slot[i] && strcmp(t->slot[i]->string, key) != 0)
        i = (i + 1) & t->mask;
    return &t->slot[i];
}

/* The event's data: root's tags (taken out of root) overlaid with root's flat top-level
 * items (taken out too), in one pass over each. NULL when out of memory. */
static cJSON *event_data(cJSON *root)
{
    cJSON *data, *item, *next;
    names t;
    size_t n = 0, size = 16;

    for (item = root->child; item; item = item->next)
        n += flat(item) && item->string;
    while (size < 2 * n)
        size *= 2;
    if ((t.slot = calloc(size, sizeof *t.slot)) == NULL)
        return NULL;
    t.mask = size - 1;
    for (item = root->child; item; item = item->next)
        if (flat(item) && item->string)
            *find(&t, item->string) = item; /* the last of a name wins */
    item = cJSON_GetObjectItemCaseSensitive(root, "tags");
    data = cJSON_IsObject(item) ? cJSON_DetachItemViaPointer(root, item) : cJSON_CreateObject();
    if (data == NULL) {
        free(t.slot);
        return NULL;
    }
    for (item = data->child; item; item = next) {
        next = item->next;
        if (item->string && *find(&t, item->string))
            cJSON_Delete(cJSON_DetachItemViaPointer(data, item));
    }
    for (item = root->child; item; item = next) {
        next = item->next;
        if (flat(item) && item->string && *find(&t, item->string) == item)
            cJSON_AddItemToObject(data, item->string, cJSON_DetachItemViaPointer(root, item));
    }
    free(t.slot);
    return data;
}

/* What is kept of the body: its flat top-level items and tags, in their order (new text, or
 * NULL: out of memory or over DCMP_WEBHOOK_MAX_KEPT, *big set then). */
static char *kept_text(const cJSON *root, int *big)
{
    const cJSON *item;
    dcmp_jsonw w;
    int first = 1;

    dcmp_jsonw_init(&w, DCMP_WEBHOOK_MAX_KEPT);
    dcmp_jsonw_lit(&w, "{");
    for (item = root->child; item; item = item->next) {
        char *v;
        if (item->string == NULL || !(flat(item) || strcmp(item->string, "tags") == 0))
            continue;
        if ((v = cJSON_PrintUnformatted(item)) == NULL) {
            free(dcmp_jsonw_finish(&w));
            return NULL;
        }
        if (!first)
            dcmp_jsonw_lit(&w, ",");
        first = 0;
        dcmp_jsonw_str(&w, item->string);
        dcmp_jsonw_lit(&w, ":");
        dcmp_jsonw_lit(&w, v);
        free(v);
    }
    dcmp_jsonw_lit(&w, "}");
    *big = w.failed; /* past the cap (or, unlikely below 1 MiB, out of memory) */
    return dcmp_jsonw_finish(&w);
}

/* The body checked; the event's data built when want_data, else what is kept of it. */
static int parse(const char *body, size_t len, dcmp_webhook *out, int want_data, char *err)
{
    const cJSON *sid, *tags, *lu, *series;
    const char *end = NULL;
    cJSON *root;
    size_t at;
    int big = 0;

    memset(out, 0, sizeof *out);
    if (scan((const unsigned char *)body, len, err) < 0)
        return -1;
    root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (root == NULL) {
        at = end && end >= body ? (size_t)(end - body) : 0;
        return dcmp_seterr(err, "body is not valid JSON (near byte %zu)", at);
    }
    for (at = (size_t)(end - body); at < len && blank((unsigned char)body[at]); at++)
        ;
    if (at < len) {
        cJSON_Delete(root);
        return dcmp_seterr(err, "body has data after its JSON value (byte %zu)", at);
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return dcmp_seterr(err, "body must be a JSON object");
    }
    sid = cJSON_GetObjectItemCaseSensitive(root, "seriesId");
    if (sid == NULL) {
        cJSON_Delete(root);
        return dcmp_seterr(err, "seriesId is missing");
    }
    if (!cJSON_IsString(sid) || !id_ok(sid->valuestring)) {
        cJSON_Delete(root);
        return dcmp_seterr(err, "seriesId must be 1 to %d letters, digits or '-'",
                           DCMP_WEBHOOK_ID_MAX);
    }
    memcpy(out->series, sid->valuestring, strlen(sid->valuestring) + 1);
    series = cJSON_GetObjectItemCaseSensitive(root, "series");
    lu = cJSON_GetObjectItemCaseSensitive(root, "LastUpdate");
    if (!cJSON_IsString(lu) && cJSON_IsObject(series))
        lu = cJSON_GetObjectItemCaseSensitive(series, "LastUpdate");
    if (cJSON_IsString(lu) && strlen(lu->valuestring) < sizeof out->version)
        snprintf(out->version, sizeof out->version, "%s", lu->valuestring);
    else
        snprintf(out->version, sizeof out->version, "body:%016llx",
                 (unsigned long long)fnv1a(body, len));

    tags = cJSON_GetObjectItemCaseSensitive(root, "tags");
    if (tags != NULL && !cJSON_IsObject(tags) && !cJSON_IsNull(tags)) {
        cJSON_Delete(root);
        return dcmp_seterr(err, "tags must be an object of DICOM keyword: value");
    }
    if (want_data)
        out->data = event_data(root); /* taken out of the parsed body: it is freed after */
    else
        out->kept = kept_text(root, &big);
    cJSON_Delete(root);
    if (big)
        return dcmp_seterr(err, "body's tags and top-level values take more than %d bytes",
                           DCMP_WEBHOOK_MAX_KEPT);
    if (out->data == NULL && out->kept == NULL)
        return dcmp_seterr(err, "out of memory");
    return 0;
}

int dcmp_webhook_parse(const char *body, size_t len, dcmp_webhook *out, char *err)
{
    return parse(body, len, out, 1, err);
}

int dcmp_webhook_check(const char *body, size_t len, dcmp_webhook *out, char *err)
{
    return parse(body, len, out, 0, err);
}

void dcmp_webhook_free(dcmp_webhook *w)
{
    cJSON_Delete(w->data);
    free(w->kept);
    w->data = NULL;
    w->kept = NULL;
}
