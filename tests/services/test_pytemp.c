/* test_pytemp.c -- the Python template service: its callback, run by `dcm-processor plan`,
 * filters on Modality and injects a nifti storage entry; its worker, run by a real dcmp-worker
 * through the Python runner, reads CT5N with pydicom and writes the NIfTI the callback named. */
#include <nifti2_io.h>

#include "harness.h"
#include "svc_test.h"

static fixture f;

/* `dcm-processor plan --json` of an event against the registry `reg`: its output, new. */
static char *plan(const char *reg, const char *event_json)
{
    char event[PATH_MAX], settings[PATH_MAX], out[PATH_MAX];
    const char *cli = getenv("DCMP_CLI_BIN");

    snprintf(event, sizeof event, "%s/event.json", f.dir);
    snprintf(settings, sizeof settings, "%s/settings.json", f.dir);
    snprintf(out, sizeof out, "%s/plan.out", f.dir);
    if (cli == NULL || st_write(event, event_json) < 0 ||
        st_write(settings, "{\"headerFields\":[\"Modality\",\"SeriesDescription\","
                           "\"seriesId\",\"dcmpath\"]}") < 0)
        return NULL;
    {
        char *argv[] = {(char *)cli, "plan",       event,    "--json", "--registry",
                        (char *)reg, "--settings", settings, NULL};
        if (st_run(argv, out) < 0)
            return NULL;
    }
    return st_slurp(out, NULL);
}

static void test_callback(void)
{
    char reg[PATH_MAX], mr[PATH_MAX], link[PATH_MAX * 2], target[PATH_MAX * 2], *out;
    const char *services = getenv("DCMP_SERVICES_DIR");

    CHECK(st_link_part(&f, "reg", "pytemp", "registry", reg) == 0);
    out = plan(reg, "{\"Modality\":\"CT\",\"SeriesDescription\":\"Brain (axial)\","
                    "\"seriesId\":\"s1\",\"dcmpath\":\"dicom/s1\"}");
    CHECK(out != NULL);
    CHECK_CONTAINS(out, "\"decision\":\t\"scheduled\"");
    CHECK_CONTAINS(out, "\"path\":\t\"pytemp/s1.nii.gz\",\n\t\t\t\t\"type\":\t\"nifti\"");
    CHECK_CONTAINS(out, "\"Series Description\":\t\"pytemp: Brain (axial)\"");
    CHECK_CONTAINS(out, "\"deleted\":\t\"pytemp/s1.nii.gz\"");
    free(out);
    /* a seriesId that is no file name: the decision fails with the callback's exception */
    out = plan(reg, "{\"Modality\":\"CT\",\"seriesId\":\"../x\",\"dcmpath\":\"d\"}");
    CHECK(out != NULL);
    CHECK_CONTAINS(out, "ValueError: seriesId '../x': not a usable file name");
    CHECK(out != NULL && strstr(out, "\"scheduled\"") == NULL);
    free(out);

    /* the filter: params.modality MR, the same callback file */
    snprintf(mr, sizeof mr, "%s/reg-mr/pytemp", f.dir);
    {
        char *argv[] = {"mkdir", "-p", mr, NULL};
        CHECK(st_run(argv, NULL) == 0);
    }
    snprintf(link, sizeof link, "%s/__init__.py", mr);
    snprintf(target, sizeof target, "%s/pytemp/registry/__init__.py", services);
    CHECK(symlink(target, link) == 0);
    snprintf(link, sizeof link, "%s/settings.json", mr);
    CHECK(st_write(link,
                   "[{\"jobName\":\"pytempJob\",\"worker\":\"pytemp.worker\","
                   "\"callback\":\"pytemp.callback\",\"params\":{\"modality\":\"MR\"}}]") == 0);
    snprintf(mr, sizeof mr, "%s/reg-mr", f.dir);
    out = plan(mr, "{\"Modality\":\"CT\",\"seriesId\":\"s1\",\"dcmpath\":\"dicom/s1\"}");
    CHECK(out != NULL);
    CHECK_CONTAINS(out, "\"decision\":\t\"skipped\"");
    CHECK(out != NULL && strstr(out, "pytemp/s1.nii.gz") == NULL);
    free(out);
}

/* Runs pytemp.worker on the series at DATA/<rel>, with `added` as added_params. */
static int run(const char *rel, const char *added, dcmp_job *job)
{
    char id[DCMP_ID_LEN], headers[256];

    snprintf(headers, sizeof headers, "{\"dcmpath\":\"%s\",\"seriesId\":\"s1\"}", rel);
    if (st_enqueue(&f, "pytempJob", "pytemp.worker", "default", headers, "{\"modality\":\"\"}",
                   added, 120, id) < 0)
        return -1;
    return st_wait(&f, id, job, 60000);
}

static void test_convert(void)
{
    char dir[PATH_MAX * 2], out[PATH_MAX * 2];
    nifti_image *nim;
    dcmp_job job;
    int i;

    /* the files' names run from the highest slice to the lowest: the worker sorts by position */
    snprintf(dir, sizeof dir, "%s/dicom/s1", f.data);
    CHECK(st_ct5n(dir) == 0);
    CHECK(run("dicom/s1", "{\"pytempJob\":{\"output\":\"pytemp/s1.nii.gz\"}}", &job) == 0);
    CHECK_STR(job.state, "finished");
    CHECK_CONTAINS(job.log, "wrote pytemp/s1.nii.gz: 5 slices of 16x16"); /* its print() */
    CHECK_STR(job.result,
              "{\"output\":\"pytemp/s1.nii.gz\",\"shape\":[16,16,5],\"dtype\":\"int16\"}");
    dcmp_job_clear(&job);
    snprintf(out, sizeof out, "%s/pytemp/s1.nii.gz", f.data);
    nim = nifti_image_read(out, 1);
    CHECK(nim != NULL && nim->nx == 16 && nim->ny == 16 && nim->nz == 5);
    if (nim == NULL)
        return;
    CHECK(nim->datatype == NIFTI_TYPE_INT16 && nim->sform_code == 1);
    /* DICOM's LPS turned into RAS: x and y negated; slices 2.5 mm apart, from the lowest z */
    CHECK(nim->sto_xyz.m[0][0] < -0.488 && nim->sto_xyz.m[0][0] > -0.489);
    CHECK(nim->sto_xyz.m[0][3] > 72.19 && nim->sto_xyz.m[0][3] < 72.21);
    CHECK(nim->sto_xyz.m[1][3] > 142.99 && nim->sto_xyz.m[1][3] < 143.01);
    CHECK(nim->sto_xyz.m[2][2] > 2.49 && nim->sto_xyz.m[2][2] < 2.51);
    CHECK(nim->sto_xyz.m[2][3] > -1.24 && nim->sto_xyz.m[2][3] < -1.23);
    /* the first voxel of each slice, in Hounsfield units, as pydicom reads CT5N */
    {
        const short *v = nim->data, want[5] = {-33, 10, -49, -26, -50};
        for (i = 0; i < 5; i++)
            CHECK(v[i * 256] == want[i]);
    }
    nifti_image_free(nim);
}

static void test_failures(void)
{
    dcmp_job job;

    /* no callback ran: the worker says what it missed, as a Python exception with its type */
    CHECK(run("dicom/s1", "{}", &job) == 0);
    CHECK_STR(job.state, "failed");
    CHECK_CONTAINS(job.error, "ValueError: added_params['pytempJob'] has no output");
    dcmp_job_clear(&job);
    /* a path that leads out of DATA is refused, not written */
    CHECK(run("dicom/s1", "{\"pytempJob\":{\"output\":\"../escaped.nii.gz\"}}", &job) == 0);
    CHECK_STR(job.state, "failed");
    CHECK_CONTAINS(job.error, "'../escaped.nii.gz' is not a path inside DATA");
    dcmp_job_clear(&job);
    /* a folder without DICOM images */
    CHECK(run("pytemp", "{\"pytempJob\":{\"output\":\"pytemp/x.nii.gz\"}}", &job) == 0);
    CHECK_STR(job.state, "failed");
    CHECK_CONTAINS(job.error, "no DICOM image with a position in it");
    CHECK_CONTAINS(job.log, "skipped s1.nii.gz: not a DICOM file");
    dcmp_job_clear(&job);
}

int main(void)
{
    char mods[PATH_MAX];

    if (fixture_start(&f) < 0 || st_link_part(&f, "mods", "pytemp", "module", mods) < 0)
        return 1;
    f.modules = mods;
    fixture_worker(&f, "default", NULL);
    RUN(test_callback);
    RUN(test_convert);
    RUN(test_failures);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
