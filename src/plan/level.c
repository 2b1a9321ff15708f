/* level.c -- the table of levels above the series: study and patient (level.h). Pure data. */
#include "level.h"

#include <string.h>

const dcmp_level dcmp_levels[DCMP_LEVEL_TABLE] = {
    {DCMP_LEVEL_STUDY, "study", "studyId", "study", "studies:due", "/studies", "/stable-study",
     "StableStudy", "studies", "series", 1},
    {DCMP_LEVEL_PATIENT, "patient", "patientId", "patient", "patients:due", "/patients",
     "/stable-patient", "StablePatient", "patients", "studies", 2},
};

const dcmp_level *dcmp_level_of(int level)
{
    int i;

    for (i = 0; i < DCMP_LEVEL_TABLE; i++)
        if (dcmp_levels[i].level == level)
            return &dcmp_levels[i];
    return NULL;
}

const dcmp_level *dcmp_level_named(const char *name)
{
    int i;

    for (i = 0; name && i < DCMP_LEVEL_TABLE; i++)
        if (strcmp(dcmp_levels[i].name, name) == 0)
            return &dcmp_levels[i];
    return NULL;
}
