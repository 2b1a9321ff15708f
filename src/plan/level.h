/* level.h -- what makes a level above the series (study, patient), as one table: its name,
 * the id of its events, its Redis keys, Orthanc's endpoint, change and webhook, its folder
 * under DATA and what its members are (docs/planning.md, "Levels"). Pure data. */
#ifndef DCMP_LEVEL_H
#define DCMP_LEVEL_H

#include "trigger.h"

typedef struct dcmp_level {
    int level;              /* DCMP_LEVEL_STUDY or DCMP_LEVEL_PATIENT (trigger.h) */
    const char *name;       /* "study": the `trigger` value, the level of its events */
    const char *id_key;     /* "studyId": its id in webhook bodies, events and job data */
    const char *redis;      /* "study": its state is the hash dcmp:<redis>:<id> */
    const char *due;        /* "studies:due": the sorted set dcmp:<due> of when each is decided */
    const char *orthanc;    /* "/studies": GET <orthanc>/<id> answers IsStable and LastUpdate */
    const char *webhook;    /* "/stable-study": where Orthanc's script posts its stability */
    const char *change;     /* "StableStudy": that news as a row of Orthanc's /changes */
    const char *folder;     /* "studies": a job's folder is DATA/<folder>/<id>/<version> */
    const char *members;    /* "series": the list a job's headers hold ("studies" for a patient,
                             * each with its "series") */
    int depth;              /* folders from a version down to a series' link: 1 (<series>), or
                             * 2 for a patient (<study>/<series>) */
    const char *const *own; /* its own header fields, kept from its first series (a job's
                             * headers): NULL-terminated */
} dcmp_level;

#define DCMP_LEVEL_TABLE 2 /* rows of dcmp_levels: study, patient */
extern const dcmp_level dcmp_levels[DCMP_LEVEL_TABLE];

/* The row of level (DCMP_LEVEL_STUDY or DCMP_LEVEL_PATIENT), or NULL (series, unknown). */
const dcmp_level *dcmp_level_of(int level);

/* The row named name ("study", "patient"), or NULL. */
const dcmp_level *dcmp_level_named(const char *name);

/* The row whose webhook is path ("/stable-study", "/stable-patient"), or NULL. */
const dcmp_level *dcmp_level_webhook(const char *path);

/* The row whose Orthanc change is type ("StableStudy", "StablePatient"), or NULL. */
const dcmp_level *dcmp_level_change(const char *type);

#endif
