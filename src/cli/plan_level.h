/* plan_level.h -- dcm-processor plan for a study or patient event: each entry of the level
 * decided from the series the event lists, as the scheduler decides it. */
#ifndef DCMP_CLI_PLAN_LEVEL_H
#define DCMP_CLI_PLAN_LEVEL_H

#include <cjson/cJSON.h>

#include "settings.h"
#include "study.h"

#define CLI_LEVEL_MAX_ENTRIES 64 /* entries of the level decided (as the scheduler's) */

typedef struct cli_level {
    const dcmp_level *L;
    dcmp_study_series *series; /* owned array; its strings borrow from the event */
    int nseries;
    dcmp_study_entry e[CLI_LEVEL_MAX_ENTRIES];
    dcmp_study_verdict v[CLI_LEVEL_MAX_ENTRIES];
    int n;
} cli_level;

/*
 * Decides every entry of the registry at level (DCMP_LEVEL_STUDY or _PATIENT) for the event:
 * its "series" list (a study) or its "studies" list, each with its "series" (a patient), each
 * series an object of header fields with SeriesInstanceUID (and seriesId, instances), taken as
 * ready, and the study (patient) as stable: as a study event after Orthanc's OnStableStudy,
 * planned for the first time. Returns 0, or -1 with err naming what is missing in the event.
 */
int cli_level_decide(const cJSON *event, int level, const dcmp_settings_files *reg, cli_level *out,
                     char *err);

/* dcmp_plan_input.due over those verdicts: an entry is due when its verdict is plan. */
int cli_level_due(void *arg, const char *job_name, char *why);

void cli_level_free(cli_level *c);

#endif
