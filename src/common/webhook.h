/* webhook.h -- the body of Orthanc's stable-series webhook: checked, and turned into the
 * event's data (the keys the planner's headerFields pick from). Pure. */
#ifndef DCMP_WEBHOOK_H
#define DCMP_WEBHOOK_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "log.h"

#define DCMP_WEBHOOK_ID_MAX 64 /* Orthanc ids are 44 characters */

typedef struct dcmp_webhook {
    char series[DCMP_WEBHOOK_ID_MAX + 1]; /* seriesId */
    char version[80]; /* the series' LastUpdate, or "body:<hash>" when the body has none */
    cJSON *data;      /* owned: the event's data (free with dcmp_webhook_free) */
} dcmp_webhook;

/*
 * Reads a webhook body: a JSON object (at most `len` bytes, nesting at most 64) with
 * `seriesId` (letters, digits and '-', at most 64). The event's data are the first
 * instance's simplified tags (`tags`, an object of keyword: value), then every top-level key
 * of the body whose value is not an object or a list (`seriesId`, `studyId`, `patientId`,
 * `dcmpath`, and the flat tags the original's Lua script posted), which win over tags of the
 * same name. The version is `LastUpdate` (top level, or in `series`), so a series that
 * becomes stable again after new instances is a new event while a re-sent webhook is not.
 * Returns 0, or -1 with err saying what is wrong (the caller answers 400).
 */
int dcmp_webhook_parse(const char *body, size_t len, dcmp_webhook *out, char *err);

/* dcmp_webhook_parse without the event's data (out->data NULL): the same checks, series and
 * version, for the intake, which stores the body as it came. */
int dcmp_webhook_check(const char *body, size_t len, dcmp_webhook *out, char *err);

void dcmp_webhook_free(dcmp_webhook *w);

#endif
