/* test_study.c -- unit tests of study completion: requires met early, timeouts planned or
 * dropped, versions and reruns, duplicates, and the data a study job receives. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "study.h"
#include "trigger.h"
#include "trigger_entry.h"

#define STUDY   dcmp_level_of(DCMP_LEVEL_STUDY)
#define PATIENT dcmp_level_of(DCMP_LEVEL_PATIENT)

/* A study of up to 4 series: T1, T2, FLAIR, DWI (SeriesNumbers 4, 2, 3, 1). */
typedef struct study {
    dcmp_study_series s[4];
    cJSON *fields[4];
    dcmp_study_view v;
} study;

static void study_init(study *st, int n)
{
    static const char *const desc[] = {"AX T1 MPRAGE", "AX T2", "FLAIR", "DWI"};
    static const char *const ids[] = {"aa-01", "bb-02", "cc-03", "dd-04"};
    static const char *const uids[] = {"1.2.4", "1.2.2", "1.2.3", "1.2.1"};
    static const char *const paths[] = {"dicom/aa-01", "dicom/bb-02", "dicom/cc-03", "dicom/dd-04"};
    int i;

    memset(st, 0, sizeof *st);
    for (i = 0; i < 4; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"Modality\":\"MR\",\"SeriesDescription\":\"%s\",\"SeriesNumber\":%d}", desc[i],
                 i == 0   ? 4
                 : i == 3 ? 1
                          : i + 1);
        st->fields[i] = cJSON_Parse(text);
        st->s[i].id = ids[i];
        st->s[i].uid = uids[i];
        st->s[i].dcmpath = paths[i];
        st->s[i].fields = st->fields[i];
        st->s[i].instances = 20 + i;
        st->s[i].last_update = "20261205T100000";
        st->s[i].arrived = 1000 + 60 * i;
        st->s[i].stable = st->s[i].planned = st->s[i].ended = 1;
    }
    st->v.series = st->s;
    st->v.nseries = n;
}

static void study_free(study *st)
{
    for (int i = 0; i < 4; i++)
        cJSON_Delete(st->fields[i]);
}

static int decide(const dcmp_trigger *t, const study *st, int64_t now, dcmp_study_verdict *out)
{
    char err[DCMP_ERR_LEN] = "";
    int rc = dcmp_study_decide(t, &st->v, now, out, err);

    CHECK(rc == 0);
    return out->decision;
}

static const char *const TWO = "{\"trigger\":\"study\",\"requires\":[{\"SeriesDescription\":"
                               "\"*T1*\"},{\"SeriesDescription\":[\"*T2*\",\"*FLAIR*\"]}]}";

static void test_requires_met_early(void)
{
    dcmp_trigger t;
    cJSON *e = entry_of(TWO, &t);
    dcmp_study_verdict out;
    study st;

    study_init(&st, 2); /* T1 and T2 in, FLAIR not yet, the study not stable */
    CHECK(decide(&t, &st, 1200, &out) == DCMP_STUDY_PLAN);
    CHECK_CONTAINS(out.reason, "requires met (2 conditions) with 2 series");
    CHECK(!out.timed_out && strlen(out.version) == 16);

    /* met, but a known series' jobs still run: nothing reads half-processed files */
    st.s[1].ended = 0;
    CHECK(decide(&t, &st, 1200, &out) == DCMP_STUDY_WAIT);
    CHECK(out.wait_until == 0);
    CHECK_CONTAINS(out.reason, "waiting for series 1.2.2 to be ready (its series jobs to end)");
    st.s[1].ended = 1;
    st.s[1].planned = 0;
    decide(&t, &st, 1200, &out);
    CHECK_CONTAINS(out.reason, "its series event to be planned");
    st.s[1].planned = 1;
    st.s[1].stable = 0; /* a series not stable does not count, even when it matches */
    CHECK(decide(&t, &st, 1200, &out) == DCMP_STUDY_WAIT);
    CHECK_CONTAINS(out.reason, "(to be stable)");
    study_free(&st);
    cJSON_Delete(e);
}

static void test_timeout_plan_or_drop(void)
{
    dcmp_trigger t;
    cJSON *e = entry_of(TWO, &t);
    dcmp_study_verdict out;
    study st;

    study_init(&st, 1); /* only T1 */
    st.v.stable = 1;    /* stable does not complete a study whose requires is unmet */
    CHECK(decide(&t, &st, 2000, &out) == DCMP_STUDY_WAIT);
    CHECK(out.wait_until == 1000 + 3600);
    CHECK_CONTAINS(out.reason, "waiting for condition 2 {\"SeriesDescription\":[\"*T2*\","
                               "\"*FLAIR*\"]}, at most until 1h after the first series");
    CHECK(decide(&t, &st, 4600, &out) == DCMP_STUDY_DROP);
    CHECK(out.timed_out);
    CHECK_CONTAINS(out.reason, "completeTimeout 1h passed, requires unmet (condition 2 ");
    CHECK_CONTAINS(out.reason, "onTimeout \"drop\"");
    cJSON_Delete(e);

    e = entry_of("{\"trigger\":\"study\",\"requires\":[{\"SeriesDescription\":\"*T1*\"},"
                 "{\"Modality\":\"PT\"}],\"completeTimeout\":600,\"onTimeout\":\"plan\"}",
                 &t);
    CHECK(decide(&t, &st, 1599, &out) == DCMP_STUDY_WAIT && out.wait_until == 1600);
    CHECK(decide(&t, &st, 1600, &out) == DCMP_STUDY_PLAN);
    CHECK(out.timed_out);
    CHECK_CONTAINS(out.reason, "completeTimeout 10m passed, requires unmet (condition 2 "
                               "{\"Modality\":\"PT\"}): onTimeout \"plan\": planned with 1 series");
    cJSON_Delete(e);

    /* without requires: the study's stability completes it, else the timeout plans it */
    e = entry_of("{\"trigger\":\"study\"}", &t);
    st.v.stable = 0;
    CHECK(decide(&t, &st, 2000, &out) == DCMP_STUDY_WAIT && out.wait_until == 4600);
    CHECK_CONTAINS(out.reason, "waiting for the study to be stable");
    CHECK(out.awaits_stable); /* the study thread may ask Orthanc */
    st.s[0].ended = 0;        /* not while a series is not ready: its news comes anyway */
    CHECK(decide(&t, &st, 2000, &out) == DCMP_STUDY_WAIT && !out.awaits_stable);
    st.s[0].ended = 1;
    CHECK(decide(&t, &st, 4600, &out) == DCMP_STUDY_PLAN && out.timed_out);
    CHECK_CONTAINS(out.reason, "without a stable study");
    st.v.stable = 1;
    CHECK(decide(&t, &st, 2000, &out) == DCMP_STUDY_PLAN && !out.timed_out);
    CHECK_CONTAINS(out.reason, "study stable with 1 series");
    study_free(&st);
    cJSON_Delete(e);
}

static void test_versions_and_rerun(void)
{
    const char *const first[] = {"1.2.4", "1.2.2"};
    dcmp_trigger t;
    cJSON *e = entry_of(TWO, &t);
    dcmp_study_verdict out;
    dcmp_study_version planned;
    char key[DCMP_STUDY_VERSION_LEN], again[DCMP_STUDY_VERSION_LEN], err[DCMP_ERR_LEN];
    study st;

    study_init(&st, 2);
    CHECK(dcmp_study_key(st.s, 2, key, err) == 0);
    planned.key = key;
    planned.uids = first;
    planned.nuids = 2;
    st.v.planned = &planned;
    st.v.nplanned = 1;

    /* the same content again (a duplicate webhook, catch-up, the watch): never twice */
    CHECK(decide(&t, &st, 1200, &out) == DCMP_STUDY_DONE);
    CHECK_STR(out.version, key);
    CHECK_CONTAINS(out.reason, "was decided already");

    /* the key does not depend on the order the series are known in */
    {
        dcmp_study_series swapped[2] = {st.s[1], st.s[0]};
        CHECK(dcmp_study_key(swapped, 2, again, err) == 0);
        CHECK_STR(again, key);
    }

    /* a late series (FLAIR): a new version, planned again with rerun new-series */
    st.v.nseries = 3;
    CHECK(decide(&t, &st, 5000, &out) == DCMP_STUDY_PLAN);
    CHECK(strcmp(out.version, key) != 0);
    CHECK_CONTAINS(out.reason, "a new series came after the last version");
    st.s[2].ended = 0; /* ... once its own pipeline ended */
    CHECK(decide(&t, &st, 5000, &out) == DCMP_STUDY_WAIT);
    st.s[2].ended = 1;

    /* only an instance more in a series planned before: a new key, no new series */
    st.v.nseries = 2;
    st.s[0].instances++;
    CHECK(decide(&t, &st, 5000, &out) == DCMP_STUDY_DONE);
    CHECK(strcmp(out.version, key) != 0);
    CHECK_CONTAINS(out.reason, "no new series since version ");
    st.s[0].instances--;
    cJSON_Delete(e);

    /* rerun never: the late series plans nothing */
    e = entry_of("{\"trigger\":\"study\",\"rerun\":\"never\"}", &t);
    st.v.nseries = 3;
    st.v.stable = 1;
    CHECK(decide(&t, &st, 5000, &out) == DCMP_STUDY_DONE);
    CHECK_CONTAINS(out.reason, "rerun is \"never\"");
    cJSON_Delete(e);

    /* without requires, the late series waits for the study to be stable again, its timeout
     * counted from the late series' arrival (1120), not the study's first */
    e = entry_of("{\"trigger\":\"study\",\"completeTimeout\":\"10m\"}", &t);
    st.v.stable = 0;
    CHECK(decide(&t, &st, 1500, &out) == DCMP_STUDY_WAIT && out.wait_until == 1120 + 600);
    CHECK(decide(&t, &st, 1720, &out) == DCMP_STUDY_PLAN && out.timed_out);
    study_free(&st);
    cJSON_Delete(e);
}

static void test_bad_views(void)
{
    dcmp_trigger t;
    cJSON *e = entry_of("{\"trigger\":\"study\"}", &t);
    dcmp_study_verdict out;
    char err[DCMP_ERR_LEN] = "";
    study st;

    study_init(&st, 0);
    CHECK(decide(&t, &st, 0, &out) == DCMP_STUDY_WAIT);
    CHECK_CONTAINS(out.reason, "no series of the study is known yet");
    study_free(&st);
    study_init(&st, 2);
    st.s[1].uid = "";
    CHECK(dcmp_study_decide(&t, &st.v, 0, &out, err) == -1);
    CHECK_CONTAINS(err, "series 2 (bb-02) has no SeriesInstanceUID");
    st.v.nseries = DCMP_STUDY_MAX_SERIES + 1;
    CHECK(dcmp_study_decide(&t, &st.v, 0, &out, err) == -1);
    CHECK_CONTAINS(err, "at most 1024");
    st.v.nseries = 1;
    st.v.nplanned = DCMP_STUDY_MAX_VERSIONS + 1;
    CHECK(dcmp_study_decide(&t, &st.v, 0, &out, err) == -1);
    CHECK_CONTAINS(err, "65 versions decided before: at most 64");
    study_free(&st);
    cJSON_Delete(e);
}

/* The data of level L for the first 3 series of st (version 0123456789abcdef), printed (new
 * text: free), or NULL (checked already). */
static char *data_text(const dcmp_level *L, const cJSON *fields, const char *id, study *st)
{
    char err[DCMP_ERR_LEN] = "";
    cJSON *data = dcmp_study_data(L, fields, id, "0123456789abcdef", st->s, 3, err);
    char *text = data ? cJSON_PrintUnformatted(data) : NULL;

    CHECK(data != NULL);
    cJSON_Delete(data);
    return text;
}

static void test_study_data(void)
{
    cJSON *fields = cJSON_Parse("{\"StudyInstanceUID\":\"1.2\",\"StudyDate\":\"20261205\","
                                "\"studyId\":\"st-1\",\"dcmpath\":\"dicom/old\"}");
    char err[DCMP_ERR_LEN] = "", link[256], target[256], *text;
    const char *ver = "0123456789abcdef";
    study st;

    study_init(&st, 3);
    text = data_text(STUDY, fields, "st-1", &st);
    /* ordered by SeriesNumber: T2 (2), FLAIR (3), T1 (4) */
    CHECK_STR(text, "{\"StudyInstanceUID\":\"1.2\",\"StudyDate\":\"20261205\",\"studyId\":\"st-1\","
                    "\"dcmpath\":\"studies/st-1/0123456789abcdef\",\"series\":["
                    "{\"seriesId\":\"bb-02\",\"SeriesInstanceUID\":\"1.2.2\",\"Modality\":\"MR\","
                    "\"SeriesDescription\":\"AX T2\",\"SeriesNumber\":2,\"instances\":21,"
                    "\"dcmpath\":\"studies/st-1/0123456789abcdef/bb-02\"},"
                    "{\"seriesId\":\"cc-03\",\"SeriesInstanceUID\":\"1.2.3\",\"Modality\":\"MR\","
                    "\"SeriesDescription\":\"FLAIR\",\"SeriesNumber\":3,\"instances\":22,"
                    "\"dcmpath\":\"studies/st-1/0123456789abcdef/cc-03\"},"
                    "{\"seriesId\":\"aa-01\",\"SeriesInstanceUID\":\"1.2.4\",\"Modality\":\"MR\","
                    "\"SeriesDescription\":\"AX T1 MPRAGE\",\"SeriesNumber\":4,\"instances\":20,"
                    "\"dcmpath\":\"studies/st-1/0123456789abcdef/aa-01\"}]}");
    free(text);

    CHECK(dcmp_study_link(STUDY, "st-1", ver, &st.s[0], link, target, sizeof link, err) == 0);
    CHECK_STR(link, "studies/st-1/0123456789abcdef/aa-01");
    CHECK_STR(target, "../../../dicom/aa-01");

    /* hostile names never leave the study folder */
    CHECK(dcmp_study_data(STUDY, fields, "../x", ver, st.s, 3, err) == NULL);
    CHECK_CONTAINS(err, "study id \"../x\"");
    CHECK(dcmp_study_data(STUDY, fields, "st-1", "../../etc", st.s, 3, err) == NULL);
    st.s[1].id = "a/b";
    CHECK(dcmp_study_data(STUDY, fields, "st-1", ver, st.s, 3, err) == NULL);
    CHECK_CONTAINS(err, "series id \"a/b\"");
    st.s[1].id = "..";
    CHECK(dcmp_study_link(STUDY, "st-1", ver, &st.s[1], link, target, sizeof link, err) == -1);
    st.s[1].id = "bb-02";
    st.s[1].dcmpath = "dicom/../../etc";
    CHECK(dcmp_study_link(STUDY, "st-1", ver, &st.s[1], link, target, sizeof link, err) == -1);
    CHECK_CONTAINS(err, "dcmpath \"dicom/../../etc\"");
    st.s[1].dcmpath = "/etc";
    CHECK(dcmp_study_link(STUDY, "st-1", ver, &st.s[1], link, target, sizeof link, err) == -1);
    st.s[1].dcmpath = "dicom/bb-02";
    CHECK(dcmp_study_link(STUDY, "st-1", ver, &st.s[1], link, target, 20, err) == -1);
    CHECK_CONTAINS(err, "more than 20 bytes");
    study_free(&st);
    cJSON_Delete(fields);
}

/* A patient of two studies: its job's "studies", each with its "series", and links one
 * folder deeper; a patient entry decides as a study entry, in its own words. */
static void test_patient_data(void)
{
    cJSON *fields = cJSON_Parse("{\"PatientID\":\"P1\",\"patientId\":\"pt-1\"}");
    cJSON *early = cJSON_Parse("{\"StudyInstanceUID\":\"1.1\",\"StudyDate\":\"20250101\"}");
    cJSON *late = cJSON_Parse("{\"StudyInstanceUID\":\"1.2\",\"StudyDate\":\"20261205\"}");
    char err[DCMP_ERR_LEN] = "", link[256], target[256], *text;
    const char *ver = "0123456789abcdef";
    dcmp_study_verdict out;
    dcmp_trigger t;
    cJSON *e;
    study st;

    study_init(&st, 3); /* T1 and T2 of the later study, FLAIR of the earlier one */
    st.s[0].study = st.s[1].study = "st-b";
    st.s[0].study_fields = st.s[1].study_fields = late;
    st.s[2].study = "st-a";
    st.s[2].study_fields = early;
    text = data_text(PATIENT, fields, "pt-1", &st);
    /* studies by StudyDate, their series by SeriesNumber */
    CHECK_STR(text, "{\"PatientID\":\"P1\",\"patientId\":\"pt-1\","
                    "\"dcmpath\":\"patients/pt-1/0123456789abcdef\",\"studies\":["
                    "{\"StudyInstanceUID\":\"1.1\",\"StudyDate\":\"20250101\","
                    "\"dcmpath\":\"patients/pt-1/0123456789abcdef/st-a\",\"series\":["
                    "{\"seriesId\":\"cc-03\",\"SeriesInstanceUID\":\"1.2.3\",\"Modality\":\"MR\","
                    "\"SeriesDescription\":\"FLAIR\",\"SeriesNumber\":3,\"instances\":22,"
                    "\"dcmpath\":\"patients/pt-1/0123456789abcdef/st-a/cc-03\"}],"
                    "\"studyId\":\"st-a\"},"
                    "{\"StudyInstanceUID\":\"1.2\",\"StudyDate\":\"20261205\","
                    "\"dcmpath\":\"patients/pt-1/0123456789abcdef/st-b\",\"series\":["
                    "{\"seriesId\":\"bb-02\",\"SeriesInstanceUID\":\"1.2.2\",\"Modality\":\"MR\","
                    "\"SeriesDescription\":\"AX T2\",\"SeriesNumber\":2,\"instances\":21,"
                    "\"dcmpath\":\"patients/pt-1/0123456789abcdef/st-b/bb-02\"},"
                    "{\"seriesId\":\"aa-01\",\"SeriesInstanceUID\":\"1.2.4\",\"Modality\":\"MR\","
                    "\"SeriesDescription\":\"AX T1 MPRAGE\",\"SeriesNumber\":4,\"instances\":20,"
                    "\"dcmpath\":\"patients/pt-1/0123456789abcdef/st-b/aa-01\"}],"
                    "\"studyId\":\"st-b\"}]}");
    free(text);
    CHECK(dcmp_study_link(PATIENT, "pt-1", ver, &st.s[2], link, target, sizeof link, err) == 0);
    CHECK_STR(link, "patients/pt-1/0123456789abcdef/st-a/cc-03");
    CHECK_STR(target, "../../../../dicom/cc-03");
    /* a study id from outside never leads a link elsewhere */
    st.s[2].study = "..";
    CHECK(dcmp_study_link(PATIENT, "pt-1", ver, &st.s[2], link, target, sizeof link, err) == -1);
    CHECK_CONTAINS(err, "patient pt-1: series cc-03: study id \"..\"");
    CHECK(dcmp_study_data(PATIENT, fields, "pt-1", ver, st.s, 3, err) == NULL);
    CHECK(dcmp_study_data(PATIENT, fields, "pt/1", ver, st.s, 3, err) == NULL);
    CHECK_CONTAINS(err, "patient id \"pt/1\"");

    /* requires is over all the patient's series: T1 of one study, FLAIR of the other */
    e = entry_of("{\"trigger\":\"patient\",\"requires\":[{\"SeriesDescription\":\"*FLAIR*\"},"
                 "{\"SeriesDescription\":\"*T1*\"}]}",
                 &t);
    CHECK(decide(&t, &st, 2000, &out) == DCMP_STUDY_PLAN);
    CHECK_CONTAINS(out.reason, "requires met (2 conditions) with 3 series");
    cJSON_Delete(e);
    e = entry_of("{\"trigger\":\"patient\"}", &t);
    CHECK(t.level == DCMP_LEVEL_PATIENT);
    CHECK(decide(&t, &st, 2000, &out) == DCMP_STUDY_WAIT && out.awaits_stable);
    CHECK_CONTAINS(out.reason, "waiting for the patient to be stable");
    st.v.stable = 1;
    CHECK(decide(&t, &st, 2000, &out) == DCMP_STUDY_PLAN);
    CHECK_CONTAINS(out.reason, "patient stable with 3 series");
    cJSON_Delete(e);
    study_free(&st);
    cJSON_Delete(fields);
    cJSON_Delete(early);
    cJSON_Delete(late);
}

int main(void)
{
    RUN(test_requires_met_early);
    RUN(test_timeout_plan_or_drop);
    RUN(test_versions_and_rerun);
    RUN(test_patient_data);
    RUN(test_bad_views);
    RUN(test_study_data);
    return HARNESS_RESULT();
}
