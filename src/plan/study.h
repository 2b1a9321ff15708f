/* study.h -- when a study-level entry runs: completion, timeout, versions and reruns, and the
 * data its job receives (docs/planning.md, "Study and patient triggers"). Pure: no I/O. */
#ifndef DCMP_STUDY_H
#define DCMP_STUDY_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "level.h"
#include "log.h"
#include "settings.h"
#include "trigger.h"

#define DCMP_STUDY_MAX_SERIES   1024 /* series of one study looked at; more is an error */
#define DCMP_STUDY_VERSION_LEN  17   /* 16 hex digits and the NUL */
#define DCMP_STUDY_MAX_VERSIONS 64   /* versions decided before that one decision looks at */

/* One series of the study, as the scheduler knows it. All borrowed. */
typedef struct dcmp_study_series {
    const char *id;            /* Orthanc's series id: the subfolder name, [0-9a-f-] */
    const char *uid;           /* SeriesInstanceUID */
    const char *dcmpath;       /* the folder under DATA its series pipeline read ("dicom/ID") */
    const cJSON *fields;       /* its header fields (DICOM keywords), an object */
    int64_t instances;         /* its instance count */
    const char *last_update;   /* Orthanc's LastUpdate of it, "" when not known */
    int64_t arrived;           /* when its first event came (epoch seconds) */
    int stable;                /* its stable-series event came */
    int planned;               /* its series event finished planning */
    int ended;                 /* every job of its series event ended (any end) */
    const char *study;         /* at patient level: Orthanc's id of its study, [0-9a-f-] */
    const cJSON *study_fields; /* at patient level: its study's own fields (StudyInstanceUID,
                                * StudyDate, ...), an object, or NULL */
} dcmp_study_series;

/* A version of the study decided before for this entry: planned, or dropped at its
 * completeTimeout. All borrowed. */
typedef struct dcmp_study_version {
    const char *key;         /* its content key (dcmp_study_key) */
    const char *const *uids; /* the SeriesInstanceUIDs it held */
    int nuids;
} dcmp_study_version;

typedef struct dcmp_study_view {
    const dcmp_study_series *series; /* every known series of the study, any order */
    int nseries;
    int stable; /* Orthanc said the study is stable since its last new instance */
    const dcmp_study_version *planned; /* versions decided (planned or dropped) before for the
                                        * entry, oldest first */
    int nplanned;
} dcmp_study_view;

enum {
    DCMP_STUDY_WAIT, /* not yet: decide again at wait_until, or on news when it is 0 */
    DCMP_STUDY_PLAN, /* plan the entry now with this content */
    DCMP_STUDY_DROP, /* requires unmet at completeTimeout and onTimeout "drop": never plan it */
    DCMP_STUDY_DONE  /* nothing to do: this content (or this study, rerun "never") was planned */
};
extern const char *const dcmp_study_decisions[4]; /* "wait", "plan", "drop", "done" */

typedef struct dcmp_study_verdict {
    int decision;       /* DCMP_STUDY_* */
    int64_t wait_until; /* with WAIT: epoch seconds, or 0 (until news) */
    int timed_out;      /* completeTimeout had passed */
    int awaits_stable;  /* with WAIT: every series is ready and only the study's stability is
                         * missing (no `requires`): whoever decides may ask Orthanc */
    char version[DCMP_STUDY_VERSION_LEN]; /* the content key of the series known now */
    char reason[DCMP_ERR_LEN];            /* why, in words, for the event record */
} dcmp_study_verdict;

/* An entry of the registry planned at a level above the series, with its trigger. */
typedef struct dcmp_study_entry {
    const char *name; /* its jobName, borrowed from the settings */
    dcmp_trigger t;   /* borrows from the settings */
} dcmp_study_entry;

/*
 * Collects the registry's entries of `level` (DCMP_LEVEL_STUDY or _PATIENT) that are objects
 * with a jobName, not disabled, and whose trigger keys read (the planner reports the others)
 * into out[max], in the registry's order. Returns how many; max when there may be more.
 */
int dcmp_study_entries(const dcmp_settings_files *reg, int level, dcmp_study_entry *out, int max);

/*
 * The content key of a set of series: 16 hex digits of a 64-bit FNV-1a hash over the series
 * sorted by SeriesInstanceUID, each as (uid, instance count, last update). The same series with
 * the same instances give the same key in any order; a new series or instance a new one.
 * Returns 0, or -1 with err (more than DCMP_STUDY_MAX_SERIES, a series without uid).
 */
int dcmp_study_key(const dcmp_study_series *series, int n, char key[DCMP_STUDY_VERSION_LEN],
                   char *err);

/*
 * Decides for one study-level entry (t) and one study (v) at time now (epoch seconds):
 * - nothing is planned while any known series is not stable, not planned or its jobs have not
 *   ended (the study job reads what the series pipelines left): WAIT, wait_until 0;
 * - the content decided before: DONE; a study decided before with other content: DONE when
 *   rerun is "never" or no series is new (only instance counts changed), else the new content
 *   is judged as below with the timeout counted from the first new series' arrival;
 * - with `requires`: PLAN as soon as every condition is matched by a known series (all of them
 *   ready, as above); without: PLAN when the study is stable;
 * - else at the first arrival + completeTimeout: without `requires` PLAN; with it PLAN or DROP
 *   as onTimeout says, the reason naming the unmet conditions; before that WAIT until then.
 * Fills *out. Returns 0, or -1 with err (bad input: see dcmp_study_key; more than
 * DCMP_STUDY_MAX_VERSIONS versions decided before).
 */
int dcmp_study_decide(const dcmp_trigger *t, const dcmp_study_view *v, int64_t now,
                      dcmp_study_verdict *out, char *err);

/*
 * Whether the files a study (patient) holds for its entries t[n] are kept at now_ms (ms, the
 * clock of quiet_ms): quiet_ms is when the study was first seen quiet (every entry done, every
 * series ready, the jobs of every study event ended), 0 while it is not. Kept while not quiet;
 * once quiet, until quiet_ms + the largest rerunWindow of its rerun "new-series" entries, so
 * that a late series within it plans the study again with every series' files; released at
 * once when every entry has rerun "never". Pure. Returns 1 (kept; *until_ms: when to release,
 * 0 when not quiet: until news) or 0 (release now).
 */
int dcmp_study_keep(const dcmp_trigger *const *t, int n, int64_t quiet_ms, int64_t now_ms,
                    int64_t *until_ms);

/*
 * The event data a job of level L is planned from. For a study: a copy of fields (the study's
 * own header fields: StudyInstanceUID, StudyDate, PatientID, studyId, patientId, ...),
 * "dcmpath": the study folder "studies/<id>/<version>" under DATA, and "series": one object per
 * series ordered by SeriesNumber then SeriesInstanceUID, with seriesId, SeriesInstanceUID,
 * Modality, SeriesDescription, SeriesNumber (those present in its fields), "instances" and
 * "dcmpath": "studies/<id>/<version>/<series id>", the link dcmp_study_link makes. For a
 * patient: a copy of fields (the patient's: PatientID, PatientName, patientId, ...), "dcmpath"
 * "patients/<id>/<version>", and "studies": one object per study (by StudyDate, then study
 * id) holding a copy of its study_fields, "studyId", "dcmpath"
 * "patients/<id>/<version>/<study>" and its "series" as above, each "dcmpath"
 * ".../<study>/<series id>". id, every study and series id must be [0-9A-Za-z.-] (Orthanc ids,
 * UIDs). Returns a new object (free with cJSON_Delete), or NULL with err.
 */
cJSON *dcmp_study_data(const dcmp_level *L, const cJSON *fields, const char *id,
                       const char *version, const dcmp_study_series *series, int n, char *err);

/*
 * The symbolic link of series s in the folder of level L, for whoever writes it: link =
 * "<folder>/<id>/<version>/<series id>" ("<folder>/<id>/<version>/<study>/<series id>" for a
 * patient), relative to DATA, and target = "../../../<dcmpath>" (one "../" more for a patient),
 * relative to the link, so DATA can be mounted anywhere. The buffers are size bytes each.
 * Returns 0, or -1 with err (a bad id or dcmpath: absolute, with "..", too long).
 */
int dcmp_study_link(const dcmp_level *L, const char *id, const char *version,
                    const dcmp_study_series *s, char *link, char *target, size_t size, char *err);

#endif
