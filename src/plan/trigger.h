/* trigger.h -- an entry's level (series, study, patient) and when a study-level entry is ready:
 * `trigger`, `requires`, `completeTimeout`, `onTimeout`, `rerun`, `rerunWindow`
 * (docs/planning.md). Pure. */
#ifndef DCMP_TRIGGER_H
#define DCMP_TRIGGER_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "log.h"

/* The levels an entry is planned at, in `trigger` order; DCMP_LEVEL_SERIES is the default. */
enum { DCMP_LEVEL_SERIES, DCMP_LEVEL_STUDY, DCMP_LEVEL_PATIENT, DCMP_LEVELS };
extern const char *const dcmp_trigger_levels[DCMP_LEVELS]; /* "series", "study", "patient" */

/* `onTimeout`: what a study whose `requires` is still unmet at `completeTimeout` gets. */
enum { DCMP_ON_TIMEOUT_DROP, DCMP_ON_TIMEOUT_PLAN };
/* `rerun`: whether a study planned before is planned again for a late series. */
enum { DCMP_RERUN_NEW_SERIES, DCMP_RERUN_NEVER };

#define DCMP_TRIGGER_MAX_REQUIRES     32   /* conditions in `requires` */
#define DCMP_TRIGGER_MAX_FIELDS       16   /* header fields in one condition */
#define DCMP_TRIGGER_MAX_ALTERNATIVES 32   /* patterns in one list of alternatives */
#define DCMP_TRIGGER_MAX_VALUES       64   /* items of a multi-valued field looked at */
#define DCMP_TRIGGER_MAX_PATTERNS     128  /* patterns in all of `requires` */
#define DCMP_TRIGGER_VALUE_MAX        4096 /* bytes of a string value a pattern is matched to */
#define DCMP_TRIGGER_COMPLETE_DEFAULT 3600 /* completeTimeout when absent: 1 h */
#define DCMP_TRIGGER_WINDOW_DEFAULT   3600 /* rerunWindow when absent: 1 h */

typedef struct dcmp_trigger {
    int level;                /* DCMP_LEVEL_* */
    const cJSON *requires;    /* the checked list of conditions (objects), borrowed from the
                               * entry; NULL: none */
    int nrequires;            /* its length */
    int64_t complete_timeout; /* seconds */
    int on_timeout;           /* DCMP_ON_TIMEOUT_* */
    int rerun;                /* DCMP_RERUN_* */
    int64_t rerun_window;     /* seconds the study's held files are kept after it was last seen
                               * quiet, for a late series to rerun it; 0 with rerun "never" */
} dcmp_trigger;

/*
 * Reads and checks the trigger keys of one settings entry (an object). `trigger`: "series"
 * (also when absent or null), "study" or "patient". Only study and patient entries may have
 * `requires` (a condition object or a list of at most DCMP_TRIGGER_MAX_REQUIRES: each maps
 * 1 to DCMP_TRIGGER_MAX_FIELDS header field names to a pattern string of at most
 * DCMP_GLOB_PATTERN_MAX bytes (glob.h; without wildcards an equality), a number, or a
 * non-empty list of at most DCMP_TRIGGER_MAX_ALTERNATIVES of them; at most
 * DCMP_TRIGGER_MAX_PATTERNS patterns in all), `completeTimeout` (a
 * duration as `timeout`, no -1; default 1 h), `onTimeout` ("drop", the default, or "plan")
 * `rerun` ("new-series", the default, or "never") and `rerunWindow` (a duration as
 * `completeTimeout`, default 1 h; only with rerun "new-series"). Fills *t (borrowing from
 * entry).
 * Returns 0, or -1 with *field the key at fault and why[DCMP_ERR_LEN] the reason.
 */
int dcmp_trigger_read(const cJSON *entry, dcmp_trigger *t, const char **field, char *why);

/*
 * Whether a series' header fields (an object: DICOM keywords to strings, numbers or lists of
 * them) meet condition `cond` (0-based) of t->requires: every field of the condition is
 * present and one of its patterns matches the value (a string of at most
 * DCMP_TRIGGER_VALUE_MAX bytes by dcmp_glob_match, a longer one never; a number
 * equal to a number, or to a string that reads as that number; for a list, any of its first
 * DCMP_TRIGGER_MAX_VALUES items). Pure. Returns 1 or 0.
 */
int dcmp_trigger_matches(const dcmp_trigger *t, int cond, const cJSON *fields);

#endif
