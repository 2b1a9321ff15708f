/* test_anonymizer.c -- the dicomAnonymizer service run by a real dcmp-worker: a real CT series
 * anonymized in place, pseudonyms from the tables or made and remembered, a quarantined file
 * failing the job with the series left as received, no secret no run. */
#include "ctp.h"
#include "harness.h"
#include "pseudonyms.h"
#include "svc_test.h"

#define SECRET  "test-secret-0123456789abcdef"
#define PYDICOM "/usr/lib/python3/dist-packages/pydicom/data/test_files"

static fixture f;
static char modules[PATH_MAX], config[PATH_MAX * 2], tables[PATH_MAX * 2];

/* Puts the 5 files of pydicom's CT5N series (patient 98890234, "Doe^Peter") in DATA/rel. */
static void make_series(const char *rel, int with_sr)
{
    char dir[PATH_MAX * 2], dst[PATH_MAX * 3];
    const char *names[] = {"2062", "2392", "2693", "3023", "3353"};
    int i;

    snprintf(dir, sizeof dir, "%s/%s", f.data, rel);
    {
        char *argv[] = {"mkdir", "-p", dir, NULL};
        CHECK(st_run(argv, NULL) == 0);
    }
    for (i = 0; i < 5; i++) {
        char src[PATH_MAX];
        snprintf(src, sizeof src, PYDICOM "/dicomdirtests/98892001/CT5N/%s", names[i]);
        snprintf(dst, sizeof dst, "%s/IM%s.dcm", dir, names[i]);
        CHECK(st_copy(src, dst) == 0);
    }
    if (with_sr) {
        snprintf(dst, sizeof dst, "%s/sr.dcm", dir);
        CHECK(st_copy(PYDICOM "/test-SR.dcm", dst) == 0);
    }
}

static char *value(const char *path, uint32_t tag)
{
    char err[CTP_ERR_LEN], *v = NULL;

    if (ctp_file_value(path, tag, &v, err) != 1)
        return NULL;
    return v;
}

static int run_job(const char *rel, const char *params, const char *queue, dcmp_job *job)
{
    char id[DCMP_ID_LEN], headers[512];

    snprintf(headers, sizeof headers, "{\"dcmpath\":\"%s\",\"seriesId\":\"x\"}", rel);
    if (st_enqueue(&f, "dicomAnonymizer", "base.dicomAnonymizer.worker", queue, headers, params,
                   NULL, 120, id) < 0)
        return -1;
    return st_wait(&f, id, job, 60000);
}

static void test_in_place(void)
{
    char path[PATH_MAX * 2], expect[33], *v, *study = NULL, *table;
    const char *names[] = {"2062", "2392", "2693", "3023", "3353"};
    dcmp_job job;
    int i;

    make_series("dicom/s1", 0);
    CHECK(run_job("dicom/s1", NULL, "default", &job) == 0);
    CHECK_STR(job.state, "finished");
    CHECK_STR(job.error, "");
    CHECK_CONTAINS(job.result, "\"files\":5");
    CHECK_CONTAINS(job.result, "\"newPseudonyms\":1");
    CHECK_CONTAINS(job.log, "anonymized 5 files in place");
    dcmp_job_clear(&job);
    CHECK(pn_make(SECRET, "98890234", expect) == 0);
    for (i = 0; i < 5; i++) {
        char dump[PATH_MAX * 2], *text;
        snprintf(path, sizeof path, "%s/dicom/s1/IM%s.dcm", f.data, names[i]);
        CHECK_STR((v = value(path, 0x00100020)), expect); /* PatientID: the pseudonym */
        free(v);
        CHECK_STR((v = value(path, 0x00100010)), expect); /* PatientName too */
        free(v);
        CHECK_STR((v = value(path, 0x00120062)), "YES");
        free(v);
        v = value(path, 0x0020000D);
        CHECK(v != NULL && strncmp(v, "1.2.826.0.1.3680043.10.1432.", 28) == 0);
        if (study == NULL)
            study = v;
        else {
            CHECK_STR(v, study); /* one study UID across the series */
            free(v);
        }
        /* nothing identifying left anywhere in the file */
        snprintf(dump, sizeof dump, "%s/dump.txt", f.dir);
        {
            char *argv[] = {"dcmdump", "-q", "+L", path, NULL};
            CHECK(st_run(argv, dump) == 0);
        }
        text = st_slurp(dump, NULL);
        CHECK(text != NULL && strstr(text, "Doe^Peter") == NULL);
        CHECK(text != NULL && strstr(text, "98890234") == NULL);
        CHECK(text != NULL && strstr(text, "1.3.6.1.4.1.5962") == NULL); /* original UIDs */
        free(text);
    }
    free(study);
    snprintf(path, sizeof path, "%s/dicom/s1.anonymizing", f.data);
    CHECK(!st_exists(path));
    snprintf(path, sizeof path, "%s/dicom/s1.original", f.data);
    CHECK(!st_exists(path));
    /* the new pseudonym is remembered */
    snprintf(path, sizeof path, "%s/hash_table.csv", tables);
    table = st_slurp(path, NULL);
    CHECK(table != NULL && strncmp(table, "PatientID,Pseudonym\n98890234,", 29) == 0);
    CHECK(table != NULL && strstr(table, expect) != NULL);
    free(table);
}

/* The same patient again: the same pseudonym, from hash_table.csv, no new row. */
static void test_stable(void)
{
    char path[PATH_MAX * 2], expect[33], *v, *before, *after;
    dcmp_job job;

    snprintf(path, sizeof path, "%s/hash_table.csv", tables);
    before = st_slurp(path, NULL);
    make_series("dicom/s2", 0);
    CHECK(run_job("dicom/s2", NULL, "default", &job) == 0);
    CHECK_STR(job.state, "finished");
    CHECK_CONTAINS(job.result, "\"newPseudonyms\":0");
    dcmp_job_clear(&job);
    CHECK(pn_make(SECRET, "98890234", expect) == 0);
    snprintf(path, sizeof path, "%s/dicom/s2/IM2062.dcm", f.data);
    CHECK_STR((v = value(path, 0x00100020)), expect);
    free(v);
    snprintf(path, sizeof path, "%s/hash_table.csv", tables);
    after = st_slurp(path, NULL);
    CHECK(before && after && strcmp(before, after) == 0);
    free(before);
    free(after);
}

/* A user's pseudonyms.csv comes first; the original's misspelt psudonyms.csv works too; a
 * script named in params is used. */
static void test_user_table(void)
{
    char path[PATH_MAX * 2], *v;
    dcmp_job job;

    snprintf(path, sizeof path, "%s/psudonyms.csv", tables);
    CHECK(st_write(path, "PatientID,Pseudonym\n98890234,ALICE\n") == 0);
    make_series("dicom/s3", 0);
    CHECK(run_job("dicom/s3", NULL, "default", &job) == 0);
    CHECK_STR(job.state, "finished");
    dcmp_job_clear(&job);
    snprintf(path, sizeof path, "%s/dicom/s3/IM2062.dcm", f.data);
    CHECK_STR((v = value(path, 0x00100020)), "ALICE");
    free(v);
    snprintf(path, sizeof path, "%s/pseudonyms.csv", tables);
    CHECK(st_write(path, "PatientID,Pseudonym\n\"98890234\",\"BOB, the patient\"\n") == 0);
    snprintf(path, sizeof path, "%s/other.script", config);
    CHECK(st_write(path, "<script><e en=\"T\" t=\"00100020\">@lookup(this,ptid)</e>"
                         "<e en=\"T\" t=\"00100010\">@remove()</e></script>") == 0);
    make_series("dicom/s4", 0);
    CHECK(run_job("dicom/s4", "{\"script\":\"other.script\"}", "default", &job) == 0);
    CHECK_STR(job.state, "finished");
    CHECK_CONTAINS(job.log, "other.script");
    dcmp_job_clear(&job);
    snprintf(path, sizeof path, "%s/dicom/s4/IM2062.dcm", f.data);
    CHECK_STR((v = value(path, 0x00100020)), "BOB, the patient");
    free(v);
    CHECK((v = value(path, 0x00100010)) == NULL);
    free(v);
    CHECK((v = value(path, 0x00080020)) != NULL); /* the other script keeps the rest */
    free(v);
}

/* Writes DATA/rel/name from dcmdump text with DCMTK's dump2dcm. */
static void make_dump(const char *rel, const char *name, const char *dump)
{
    char dir[PATH_MAX * 2], txt[PATH_MAX * 3], dcm[PATH_MAX * 3];

    snprintf(dir, sizeof dir, "%s/%s", f.data, rel);
    {
        char *argv[] = {"mkdir", "-p", dir, NULL};
        CHECK(st_run(argv, NULL) == 0);
    }
    snprintf(txt, sizeof txt, "%s/dump.txt", f.dir);
    snprintf(dcm, sizeof dcm, "%s/%s", dir, name);
    CHECK(st_write(txt, dump) == 0);
    {
        char *argv[] = {"dump2dcm", "-q", "+te", txt, dcm, NULL};
        CHECK(st_run(argv, NULL) == 0);
    }
}

/* A CT image of study 1.2.3.77 (dump2dcm text) whose patient lines are `patient`. */
static void make_image(const char *rel, const char *name, int k, const char *patient)
{
    char dump[2048];

    snprintf(dump, sizeof dump,
             "(0002,0002) UI =CTImageStorage\n(0002,0003) UI [1.2.3.77.1.%d]\n"
             "(0002,0010) UI =LittleEndianExplicit\n(0008,0016) UI =CTImageStorage\n"
             "(0008,0018) UI [1.2.3.77.1.%d]\n(0008,0020) DA [20260101]\n"
             "(0008,0060) CS [CT]\n%s(0020,000d) UI [1.2.3.77]\n(0020,000e) UI [1.2.3.77.2]\n"
             "(0020,0013) IS [%d]\n",
             k, k, patient, k);
    make_dump(rel, name, dump);
}

/* A series whose PatientID is empty in one file and missing in another: both get the pseudonym
 * of the empty PatientID (the original looked it up like any other), the log says so. */
static void test_no_patientid(void)
{
    char path[PATH_MAX * 2], expect[33], *v;
    dcmp_job job;
    int i;

    make_image("dicom/noid", "a.dcm", 1, "(0010,0010) PN [Doe^Jane]\n(0010,0020) LO []\n");
    make_image("dicom/noid", "b.dcm", 2, "(0010,0010) PN [Doe^Jane]\n");
    CHECK(run_job("dicom/noid", NULL, "default", &job) == 0);
    CHECK_STR(job.state, "finished");
    CHECK_STR(job.error, "");
    CHECK_CONTAINS(job.log, "2 of 2 files have no PatientID (empty or missing): they get the "
                            "pseudonym of the empty PatientID");
    CHECK_CONTAINS(job.log, "anonymized 2 files in place");
    dcmp_job_clear(&job);
    CHECK(pn_make(SECRET, "", expect) == 0);
    for (i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/dicom/noid/%s", f.data, i ? "b.dcm" : "a.dcm");
        CHECK_STR((v = value(path, 0x00100020)), expect); /* created by @always() when missing */
        free(v);
        CHECK_STR((v = value(path, 0x00100010)), expect);
        free(v);
    }
}

/* A file CTP would quarantine under the script fails the job, naming the file and the rule;
 * nothing changes. */
static void test_quarantine(void)
{
    char path[PATH_MAX * 2], orig[PATH_MAX], *a, *b;
    size_t la, lb;
    dcmp_job job;

    snprintf(path, sizeof path, "%s/sr.script", config);
    CHECK(st_write(path, "<script><e en=\"T\" t=\"00100020\">@lookup(this,ptid)</e>"
                         "<e en=\"T\" t=\"00080060\" n=\"Modality\">"
                         "@if(this,equals,SR){@quarantine()}{@keep()}</e></script>") == 0);
    make_series("dicom/s5", 1);
    CHECK(run_job("dicom/s5", "{\"script\":\"sr.script\"}", "default", &job) == 0);
    CHECK_STR(job.state, "failed");
    CHECK_CONTAINS(job.error, "1 of 6 files not anonymized, the series is left as received");
    CHECK_CONTAINS(job.error, "sr.dcm: quarantined by <e t=\"00080060\" n=\"Modality\">");
    dcmp_job_clear(&job);
    snprintf(path, sizeof path, "%s/dicom/s5/IM2062.dcm", f.data);
    snprintf(orig, sizeof orig, PYDICOM "/dicomdirtests/98892001/CT5N/2062");
    a = st_slurp(path, &la);
    b = st_slurp(orig, &lb);
    CHECK(a && b && la == lb && memcmp(a, b, la) == 0);
    free(a);
    free(b);
    snprintf(path, sizeof path, "%s/dicom/s5.anonymizing", f.data);
    CHECK(!st_exists(path));
}

/* Tables where the original kept them (the service's config/: psudonyms.csv, hash_table.csv)
 * are read too, the ANONYMIZER_TABLES folder winning, and what they gave is copied there; a
 * script in the tables folder wins over the shipped one. */
static void test_original_tables(void)
{
    char path[PATH_MAX * 2], expect[33], *v, *table;
    dcmp_job job;

    snprintf(path, sizeof path, "%s/psudonyms.csv", config);
    CHECK(st_write(path, "PatientID,Pseudonym\nOLD-1,USER-OLD-1\n") == 0);
    snprintf(path, sizeof path, "%s/hash_table.csv", config);
    CHECK(st_write(path, "PatientID,Pseudonym\nOLD-1,HASH-OLD-1\n,LEGACY-EMPTY\n") == 0);
    snprintf(path, sizeof path, "%s/dicom-anonymizer.script", tables);
    CHECK(st_write(path, "<script><e en=\"T\" t=\"00100020\">@always()@lookup(this,ptid)</e>"
                         "<e en=\"T\" t=\"00080060\">SITE</e></script>") == 0);
    make_image("dicom/orig", "a.dcm", 1, "(0010,0020) LO [OLD-1]\n");
    make_image("dicom/orig", "b.dcm", 2, "");
    CHECK(run_job("dicom/orig", NULL, "default", &job) == 0);
    CHECK_STR(job.state, "finished");
    CHECK_STR(job.error, "");
    CHECK_CONTAINS(job.log, "/anonymizer/dicom-anonymizer.script");
    CHECK_CONTAINS(job.log, "/anonymizer/hash_table.csv; 1 from the original's place ");
    CHECK_CONTAINS(job.log, "/dicomAnonymizer/config/psudonyms.csv (copied to hash_table.csv)");
    CHECK_CONTAINS(job.result, "\"newPseudonyms\":0");
    dcmp_job_clear(&job);
    snprintf(path, sizeof path, "%s/dicom/orig/a.dcm", f.data);
    CHECK_STR((v = value(path, 0x00100020)), "USER-OLD-1"); /* config/'s user table first */
    free(v);
    CHECK_STR((v = value(path, 0x00080060)), "SITE"); /* the site's script */
    free(v);
    CHECK(pn_make(SECRET, "", expect) == 0);
    snprintf(path, sizeof path, "%s/dicom/orig/b.dcm", f.data);
    CHECK_STR((v = value(path, 0x00100020)), expect); /* ANONYMIZER_TABLES wins */
    free(v);
    snprintf(path, sizeof path, "%s/hash_table.csv", tables);
    table = st_slurp(path, NULL);
    CHECK(table != NULL && strstr(table, "\nOLD-1,USER-OLD-1\n") != NULL);
    free(table);
    snprintf(path, sizeof path, "%s/dicom-anonymizer.script", tables);
    unlink(path);
}

static void test_refusals(void)
{
    dcmp_job job;

    CHECK(run_job("../etc", NULL, "default", &job) == 0);
    CHECK_STR(job.state, "failed");
    CHECK_CONTAINS(job.error, "\"..\" is not allowed");
    dcmp_job_clear(&job);
    CHECK(run_job("dicom/nothing", NULL, "default", &job) == 0);
    CHECK_CONTAINS(job.error, "does not exist");
    dcmp_job_clear(&job);
    make_series("dicom/s6", 0);
    CHECK(run_job("dicom/s6", NULL, "nosecret", &job) == 0);
    CHECK_STR(job.state, "failed");
    CHECK_CONTAINS(job.error, "ANONYMIZER_SECRET is not set");
    dcmp_job_clear(&job);
}

int main(void)
{
    const char *services = getenv("DCMP_SERVICES_DIR");
    char src[PATH_MAX];
    const char *secret_env[] = {"ANONYMIZER_SECRET=" SECRET, NULL};

    if (services == NULL) {
        fprintf(stderr, "DCMP_SERVICES_DIR must name build/services\n");
        return 1;
    }
    if (fixture_start(&f) < 0)
        return 1;
    /* MODULES: a copy of the built base module folder, so that hash_table.csv is this test's */
    snprintf(modules, sizeof modules, "%s/modules", f.dir);
    mkdir(modules, 0755);
    snprintf(src, sizeof src, "%s/base/module", services);
    snprintf(config, sizeof config, "%s/base", modules);
    if (st_copy(src, config) != 0) {
        fprintf(stderr, "cannot copy %s\n", src);
        fixture_stop(&f, 1);
        return 1;
    }
    snprintf(config, sizeof config, "%s/base/dicomAnonymizer/config", modules);
    /* the pseudonym tables: DATA/anonymizer by default (ANONYMIZER_TABLES unset) */
    snprintf(tables, sizeof tables, "%s/anonymizer", f.data);
    f.modules = modules;
    fixture_worker(&f, "default", secret_env);
    fixture_worker(&f, "nosecret", NULL);
    RUN(test_in_place);
    RUN(test_stable);
    RUN(test_user_table);
    RUN(test_no_patientid);
    RUN(test_quarantine);
    RUN(test_refusals);
    RUN(test_original_tables);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
