/* studies.h -- the scheduler's state of each study (or patient) in Redis: its series as their
 * events are planned, Orthanc's word that it is stable, the versions decided per entry, the
 * study events and when each study is to be decided next (docs/planning.md, "Study events").
 * Every function works on the level L (level.h: its Redis names), "study" in the words below
 * standing for either. */
#ifndef DCMP_STUDIES_H
#define DCMP_STUDIES_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "job.h"
#include "level.h"
#include "queue.h"

#define DCMP_STUDIES_ID_LEN 65 /* a study id (Orthanc's: 44 characters), at most 64 */

/*
 * Adds series `series` (series_json: its facts, a JSON object with at least "event", the id of
 * its series event) to study `study`, keeping the time it first arrived; fields_json: the
 * study's own header fields, kept from its first series. The study is due to be decided now.
 * At most max series a study; the state lives ttl seconds after its last change. Returns 0 or
 * -1 (a study with max series already: ESTATE).
 */
int dcmp_studies_series(dcmp_queue *q, const dcmp_level *L, const char *study, const char *series,
                        const char *series_json, const char *fields_json, int max, int64_t ttl);

/* Orthanc calls the study stable: recorded with expect_json (the series ids Orthanc has, a JSON
 * list, or NULL) and fields_json (or NULL); the study is due now. Returns 0 or -1. */
int dcmp_studies_stable(dcmp_queue *q, const dcmp_level *L, const char *study,
                        const char *expect_json, const char *fields_json, int64_t ttl);

/*
 * What is known of the study, as a new object (free with cJSON_Delete): "loaded" (Redis' time
 * of the read, ms: the since of dcmp_studies_schedule), "first" (ms), "joined" (ms a series
 * last joined), "asked" (ms, dcmp_studies_asked), "stable" (bool), "fields"
 * (object), "expect" (list), "pending" (an event id or absent), "series" (an object: series id ->
 * its facts, with "planned" and "ended" read from its event and jobs now), "decided" (an object:
 * job name -> list of versions). A study with no state gives an empty "series". Returns 0 with
 * *out, or -1.
 */
int dcmp_studies_load(dcmp_queue *q, const dcmp_level *L, const char *study, cJSON **out);

/* Stores a study event (body: JSON text) and queues it for planning, unless one for the study
 * waits in the inbox still, or one of the same version (Orthanc's LastUpdate of the study;
 * NULL or "": not known) was accepted before. Returns 1 (accepted), 0 (dup_id: the event
 * that waits or came before) or -1. */
int dcmp_studies_accept(dcmp_queue *q, const dcmp_level *L, const char *id, const char *study,
                        const char *version, const char *body, const char *origin, int64_t ttl,
                        char dup_id[DCMP_ID_LEN]);

/*
 * Records study event `event`'s decisions: for entry names[i], the version versions[i] (JSON
 * text: {"key","uids","event","decision"}) appended (the last max kept). Returns 0 or -1.
 */
int dcmp_studies_decided(dcmp_queue *q, const dcmp_level *L, const char *study, const char *event,
                         const char *const *names, const char *const *versions, int n, int max,
                         int64_t ttl);

/* Sets when the study is to be decided next (due_ms 0: not due until news), as decided from
 * its state read at since_ms ("loaded"): news that came after that read keeps the study due
 * when it was set. Returns 0 or -1. */
int dcmp_studies_schedule(dcmp_queue *q, const dcmp_level *L, const char *study, int64_t due_ms,
                          int64_t since_ms);

/* The study thread asked Orthanc whether the study is stable at at_ms ("asked" of
 * dcmp_studies_load). Returns 0 or -1. */
int dcmp_studies_asked(dcmp_queue *q, const dcmp_level *L, const char *study, int64_t at_ms);

/* The studies due by now_ms, at most max, earliest first: ids[*n]. Returns 0 or -1. */
int dcmp_studies_due(dcmp_queue *q, const dcmp_level *L, int64_t now_ms, int max,
                     char ids[][DCMP_STUDIES_ID_LEN], int *n);

#endif
