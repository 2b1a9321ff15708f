/* webhook.h -- the body of Orthanc's stable-series webhook: checked, and turned into the
 * event's data (the keys the planner's headerFields pick from). Pure. */
#ifndef DCMP_WEBHOOK_H
#define DCMP_WEBHOOK_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "log.h"

#define DCMP_WEBHOOK_ID_MAX 64 /* Orthanc ids are 44 characters */

/* Hard caps on a body, checked in one pass over its bytes before anything is parsed, so the
 * work per body is linear in its length whatever it holds. */
#define DCMP_WEBHOOK_MAX_DEPTH  64        /* objects and lists inside each other */
#define DCMP_WEBHOOK_MAX_KEYS   10000     /* keys of one object (tags: a few hundred) */
#define DCMP_WEBHOOK_MAX_VALUES 200000    /* values in the whole body (series' instance ids) */
#define DCMP_WEBHOOK_MAX_KEY    256       /* bytes of one key (DICOM keywords: < 64) */
#define DCMP_WEBHOOK_MAX_STRING 65536     /* bytes of one string value */
#define DCMP_WEBHOOK_MAX_KEPT   (1 << 20) /* bytes of what is kept of a body (see kept) */

typedef struct dcmp_webhook {
    char series[DCMP_WEBHOOK_ID_MAX + 1]; /* seriesId */
    char version[80]; /* the series' LastUpdate, or "body:<hash>" when the body has none */
    cJSON *data;      /* owned: the event's data (free with dcmp_webhook_free) */
    char *kept;       /* owned: what is stored of the body (free with dcmp_webhook_free) */
} dcmp_webhook;

/*
 * Reads a webhook body: one JSON object (`len` bytes, valid UTF-8, nothing after it but
 * blanks, within the caps above) with `seriesId` (letters, digits and '-', at most 64). The
 * event's data are the first instance's simplified tags (`tags`, an object of keyword: value),
 * then every top-level key of the body whose value is not an object or a list (`seriesId`,
 * `studyId`, `patientId`, `dcmpath`, and the flat tags the original's Lua script posted),
 * which win over tags of the same name (the last one wins among top-level keys). Linear in
 * the body's length. The version is `LastUpdate` (top level, or in `series`), so a series
 * that becomes stable again after new instances is a new event while a re-sent webhook is
 * not. Returns 0, or -1 with err saying what is wrong and where (the caller answers 400).
 */
int dcmp_webhook_parse(const char *body, size_t len, dcmp_webhook *out, char *err);

/*
 * The same checks, series and version, for the intake, without the event's data (out->data
 * NULL) but with out->kept: the part of the body the data are made from (its top-level keys
 * whose value is not an object or a list, and `tags`), as JSON text of at most
 * DCMP_WEBHOOK_MAX_KEPT bytes (a larger one is refused). dcmp_webhook_parse of kept gives
 * the same series and data; Orthanc's `series` and anything else nested are not kept.
 */
int dcmp_webhook_check(const char *body, size_t len, dcmp_webhook *out, char *err);

void dcmp_webhook_free(dcmp_webhook *w);

#endif
