/* test_dcm2nii.c -- the dcm2nii service: its callback injects the original's names, its worker
 * (run by a real dcmp-worker) converts a real CT series with dcm2niix, fails clearly when
 * dcm2niix fails or writes nothing. */
#include <nifti2_io.h>

#include "callhost.h"
#include "harness.h"
#include "svc_test.h"

static fixture f;
static const char *services;

static void test_callback(void)
{
    char root[PATH_MAX];

    snprintf(root, sizeof root, "%s/dcm2nii/registry", services);
    /* REGISTRY/dcm2nii/dcm2nii.so: the registry folder stands for REGISTRY/dcm2nii */
    snprintf(root, sizeof root, "%s/reg", f.dir);
    CHECK(ch_call(root, "dcm2nii.callback", "dcm2nii", "{\"seriesId\":\"abc-123\"}", "{}", "{}",
                  f.data) == DCMP_OK);
    CHECK_STR(ch_result, "{\"output\":\"nifti/abc-123.nii.gz\",\"base\":\"nifti\","
                         "\"filename\":\"abc-123\",\"ext\":\".nii.gz\"}");
    CHECK(ch_call(root, "dcm2nii.callback", "dcm2nii", "{}", "{}", "{}", f.data) == DCMP_OK);
    CHECK_STR(ch_result, "{}");
    /* params.store: the NIfTI stored back (and deleted once stored); a string names the
     * destination */
    CHECK(ch_call(root, "dcm2nii.callback", "dcm2nii", "{\"seriesId\":\"s9\"}", "{\"store\":true}",
                  "{}", f.data) == DCMP_OK);
    CHECK_CONTAINS(ch_result, "\"storage\":{\"path\":\"nifti/s9.nii.gz\",\"type\":\"nifti\"},"
                              "\"deleted\":\"nifti/s9.nii.gz\"");
    CHECK(ch_call(root, "dcm2nii.callback", "dcm2nii", "{\"seriesId\":\"s9\"}",
                  "{\"store\":\"PACS\"}", "{}", f.data) == DCMP_OK);
    CHECK_CONTAINS(ch_result, "\"type\":\"nifti\",\"destination\":\"PACS\"}");
}

static int convert(const char *rel, const char *filename, dcmp_job *job)
{
    char id[DCMP_ID_LEN], headers[256], added[512];

    snprintf(headers, sizeof headers, "{\"dcmpath\":\"%s\",\"seriesId\":\"%s\"}", rel, filename);
    snprintf(added, sizeof added,
             "{\"dcm2nii\":{\"output\":\"nifti/%s.nii.gz\",\"base\":\"nifti\",\"filename\":\"%s\","
             "\"ext\":\".nii.gz\"}}",
             filename, filename);
    if (st_enqueue(&f, "dcm2nii", "dcm2nii.worker", "default", headers, "{}", added, 120, id) < 0)
        return -1;
    return st_wait(&f, id, job, 60000);
}

static void test_convert(void)
{
    char dir[PATH_MAX * 2], out[PATH_MAX * 2];
    nifti_image *nim;
    dcmp_job job;

    snprintf(dir, sizeof dir, "%s/dicom/s1", f.data);
    CHECK(st_ct5n(dir) == 0);
    CHECK(convert("dicom/s1", "abc-123", &job) == 0);
    CHECK_STR(job.state, "finished");
    CHECK_CONTAINS(job.log, "Convert 5 DICOM"); /* dcm2niix's own output, in the job's log */
    CHECK_CONTAINS(job.result, "\"output\":\"nifti/abc-123.nii.gz\"");
    dcmp_job_clear(&job);
    snprintf(out, sizeof out, "%s/nifti/abc-123.nii.gz", f.data);
    nim = nifti_image_read(out, 0);
    CHECK(nim != NULL && nim->nx == 16 && nim->ny == 16 && nim->nz == 5);
    if (nim)
        nifti_image_free(nim);
}

static void test_failures(void)
{
    char dir[PATH_MAX * 2], junk[PATH_MAX * 3];
    dcmp_job job;

    /* a folder of no DICOM: dcm2niix writes nothing */
    snprintf(dir, sizeof dir, "%s/dicom/junk", f.data);
    {
        char *argv[] = {"mkdir", "-p", dir, NULL};
        CHECK(st_run(argv, NULL) == 0);
    }
    snprintf(junk, sizeof junk, "%s/a.txt", dir);
    CHECK(st_write(junk, "not dicom") == 0);
    CHECK(convert("dicom/junk", "junk", &job) == 0);
    CHECK_STR(job.state, "failed");
    CHECK_CONTAINS(job.error, "dcm2niix");
    dcmp_job_clear(&job);
    CHECK(convert("dicom/none", "none", &job) == 0);
    CHECK_STR(job.state, "failed");
    CHECK_CONTAINS(job.error, "dcmpath dicom/none");
    dcmp_job_clear(&job);
    CHECK(convert("dicom/s1", "x;rm -rf", &job) == 0);
    CHECK_CONTAINS(job.error, "only letters, digits");
    dcmp_job_clear(&job);
}

int main(void)
{
    char root[PATH_MAX];

    services = getenv("DCMP_SERVICES_DIR");
    /* MODULES/dcm2nii and REGISTRY/dcm2nii as service.sh installs them */
    if (services == NULL || fixture_start(&f) < 0 ||
        st_link_part(&f, "mods", "dcm2nii", "module", root) < 0)
        return 1;
    f.modules = strdup(root);
    if (st_link_part(&f, "reg", "dcm2nii", "registry", root) < 0)
        return 1;
    fixture_worker(&f, "default", NULL);
    RUN(test_callback);
    RUN(test_convert);
    RUN(test_failures);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
