/* level.c -- the table of levels above the series: study and patient (level.h). Pure data. */
#include "level.h"

#include <stddef.h>
#include <string.h>

static const char *const study_own[] = {
    "StudyInstanceUID", "StudyDate",  "StudyTime",  "StudyDescription",
    "AccessionNumber",  "StudyID",    "PatientID",  "PatientName",
    "PatientBirthDate", "PatientSex", "PatientAge", "ReferringPhysicianName",
    "InstitutionName",  "studyId",    "patientId",  NULL};
static const char *const patient_own[] = {"PatientID",  "PatientName", "PatientBirthDate",
                                          "PatientSex", "patientId",   NULL};

const dcmp_level dcmp_levels[DCMP_LEVEL_TABLE] = {
    {DCMP_LEVEL_STUDY, "study", "studyId", "study", "studies:due", "/studies", "/stable-study",
     "StableStudy", "studies", "series", 1, study_own},
    {DCMP_LEVEL_PATIENT, "patient", "patientId", "patient", "patients:due", "/patients",
     "/stable-patient", "StablePatient", "patients", "studies", 2, patient_own},
};

const dcmp_level *dcmp_level_of(int level)
{
    int i;

    for (i = 0; i < DCMP_LEVEL_TABLE; i++)
        if (dcmp_levels[i].level == level)
            return &dcmp_levels[i];
    return NULL;
}

/* The row whose member at offset `at` (a const char *) is text, or NULL. */
static const dcmp_level *by_text(size_t at, const char *text)
{
    int i;

    for (i = 0; text && i < DCMP_LEVEL_TABLE; i++)
        if (strcmp(*(const char *const *)((const char *)&dcmp_levels[i] + at), text) == 0)
            return &dcmp_levels[i];
    return NULL;
}

const dcmp_level *dcmp_level_named(const char *name)
{
    return by_text(offsetof(dcmp_level, name), name);
}

const dcmp_level *dcmp_level_webhook(const char *path)
{
    return by_text(offsetof(dcmp_level, webhook), path);
}

const dcmp_level *dcmp_level_change(const char *type)
{
    return by_text(offsetof(dcmp_level, change), type);
}
