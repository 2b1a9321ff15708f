/* test_temp.c -- the template service: its callback filters on Modality and injects a storage
 * entry, its worker (run by a real dcmp-worker) writes the PDF the entry names. */
#include "callhost.h"
#include "harness.h"
#include "svc_test.h"

static fixture f;

static void test_callback(void)
{
    char root[PATH_MAX];

    snprintf(root, sizeof root, "%s/reg", f.dir);
    CHECK(ch_call(root, "temp.callback", "tempJob", "{\"seriesId\":\"s-1\",\"Modality\":\"CT\"}",
                  "{\"modality\":\"CT\"}", "{}", f.data) == DCMP_OK);
    CHECK_STR(ch_result, "{\"storage\":{\"path\":\"temp/s-1.pdf\",\"type\":\"pdf\"},"
                         "\"deleted\":\"temp/s-1.pdf\",\"custom-data\":\"Some new data\"}");
    CHECK(ch_call(root, "temp.callback", "tempJob", "{\"seriesId\":\"s-1\",\"Modality\":\"MR\"}",
                  "{\"modality\":\"CT\"}", "{}", f.data) == DCMP_SKIP);
    CHECK(ch_call(root, "temp.callback", "tempJob", "{\"seriesId\":\"s-1\"}", "{\"modality\":\"\"}",
                  "{}", f.data) == DCMP_OK);
}

static void test_worker(void)
{
    char id[DCMP_ID_LEN], path[PATH_MAX * 2], *pdf;
    dcmp_job job;

    CHECK(st_enqueue(&f, "tempJob", "temp.worker", "default",
                     "{\"seriesId\":\"s-1\",\"SeriesDescription\":\"Brain (axial)\"}", "{}",
                     "{\"tempJob\":{\"storage\":{\"path\":\"temp/s-1.pdf\",\"type\":\"pdf\"}}}", 60,
                     id) == 0);
    CHECK(st_wait(&f, id, &job, 30000) == 0);
    CHECK_STR(job.state, "finished");
    CHECK_CONTAINS(job.log, "storageManager will store it");
    dcmp_job_clear(&job);
    snprintf(path, sizeof path, "%s/temp/s-1.pdf", f.data);
    pdf = st_slurp(path, NULL);
    CHECK(pdf != NULL && strncmp(pdf, "%PDF-1.4\n", 9) == 0);
    CHECK(pdf != NULL && strstr(pdf, "(dcm-processor temp service: Brain axial) Tj") != NULL);
    CHECK(pdf != NULL && strstr(pdf, "%%EOF") != NULL);
    free(pdf);
}

int main(void)
{
    char root[PATH_MAX];

    /* MODULES/temp and REGISTRY/temp as service.sh installs them */
    if (fixture_start(&f) < 0 || st_link_part(&f, "mods", "temp", "module", root) < 0)
        return 1;
    f.modules = strdup(root);
    if (st_link_part(&f, "reg", "temp", "registry", root) < 0)
        return 1;
    fixture_worker(&f, "default", NULL);
    RUN(test_callback);
    RUN(test_worker);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
