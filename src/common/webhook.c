/* webhook.c -- the body of Orthanc's stable-series webhook: checked, and turned into the
 * event's data (the keys the planner's headerFields pick from). Pure. */
#include "webhook.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WEBHOOK_MAX_DEPTH 64

static int depth_ok(const cJSON *v, int depth)
{
    const cJSON *c;

    if (depth > WEBHOOK_MAX_DEPTH)
        return 0;
    cJSON_ArrayForEach(c, v)
    {
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && !depth_ok(c, depth + 1))
            return 0;
    }
    return 1;
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

/* The body checked; the event's data built when want_data. */
static int parse(const char *body, size_t len, dcmp_webhook *out, int want_data, char *err)
{
    const cJSON *sid, *tags, *lu, *series;
    cJSON *item, *next;
    const char *end = NULL;
    cJSON *root;

    memset(out, 0, sizeof *out);
    root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (root == NULL) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        return dcmp_seterr(err, "body is not valid JSON (near byte %zu)", at);
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return dcmp_seterr(err, "body must be a JSON object");
    }
    if (!depth_ok(root, 1)) {
        cJSON_Delete(root);
        return dcmp_seterr(err, "body nests deeper than %d levels", WEBHOOK_MAX_DEPTH);
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
    if (!want_data) {
        cJSON_Delete(root);
        return 0;
    }
    /* the data are taken out of the parsed body, not copied: it is freed right after */
    out->data = cJSON_IsObject(tags) ? cJSON_DetachItemFromObjectCaseSensitive(root, "tags")
                                     : cJSON_CreateObject();
    if (out->data == NULL) {
        cJSON_Delete(root);
        return dcmp_seterr(err, "out of memory");
    }
    for (item = root->child; item; item = next) {
        next = item->next;
        if (cJSON_IsObject(item) || cJSON_IsArray(item))
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(out->data, item->string);
        cJSON_AddItemToObject(out->data, item->string, cJSON_DetachItemViaPointer(root, item));
    }
    cJSON_Delete(root);
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
    w->data = NULL;
}
