/* test_cleaner.c -- path containment (svc_data_path) and the systemcleaner service run by a real
 * dcmp-worker: injected paths removed inside DATA only; "..", absolute paths, DATA itself and
 * symbolic links leading out refused and logged, and nothing outside touched; a folder held for a
 * study event (DATA/.holds) left in place, the job still succeeding. */
#include "harness.h"
#include "svc.h"
#include "svc_test.h"

static fixture f;
static char outside[PATH_MAX];

static void mk(const char *rel, int dir)
{
    char path[PATH_MAX * 2];

    snprintf(path, sizeof path, "%s/%s", f.data, rel);
    if (dir) {
        char *argv[] = {"mkdir", "-p", path, NULL};
        CHECK(st_run(argv, NULL) == 0);
    } else {
        CHECK(st_write(path, "x") == 0);
    }
}

static int there(const char *rel)
{
    char path[PATH_MAX * 2];

    snprintf(path, sizeof path, "%s/%s", f.data, rel);
    return st_exists(path);
}

/* Runs systemcleaner through the worker with `added` (added_params) and waits for its job
 * (*job filled: free with dcmp_job_clear). */
static void clean(const char *added, dcmp_job *job)
{
    char id[DCMP_ID_LEN];

    CHECK(st_enqueue(&f, "systemCleaner", "base.systemcleaner.worker", "default", "{}", NULL, added,
                     60, id) == 0);
    CHECK(st_wait(&f, id, job, 30000) == 0);
}

static void test_paths(void)
{
    char out[PATH_MAX], err[SVC_ERR_LEN], link[PATH_MAX * 2];

    mk("p/q", 1);
    CHECK(svc_data_path(f.data, "p/q", 1, out, err) == 0);
    CHECK(strstr(out, "/p/q") != NULL);
    CHECK(svc_data_path(f.data, "p/new/file", 0, out, err) == 0); /* need not exist */
    CHECK(svc_data_path(f.data, "p/new/file", 1, out, err) < 0);
    CHECK(svc_data_path(f.data, "../x", 0, out, err) < 0);
    CHECK_CONTAINS(err, "\"..\" is not allowed");
    CHECK(svc_data_path(f.data, "p/../../x", 0, out, err) < 0);
    CHECK(svc_data_path(f.data, "/etc/passwd", 0, out, err) < 0);
    CHECK_CONTAINS(err, "an absolute path");
    CHECK(svc_data_path(f.data, "", 0, out, err) < 0);
    CHECK(svc_data_path(f.data, ".", 0, out, err) < 0);
    CHECK_CONTAINS(err, "is DATA itself");
    snprintf(link, sizeof link, "%s/out-link", f.data);
    CHECK(symlink(outside, link) == 0);
    CHECK(svc_data_path(f.data, "out-link", 0, out, err) < 0);
    CHECK_CONTAINS(err, "leads outside DATA");
    CHECK(svc_data_path(f.data, "out-link/secret", 0, out, err) < 0);
    unlink(link);
}

static void test_clean(void)
{
    char link[PATH_MAX * 2], secret[PATH_MAX + 16], inlink[PATH_MAX * 2];
    dcmp_job job;

    mk("dicom/s1/sub", 1);
    mk("dicom/s1/a.dcm", 0);
    mk("dicom/s1/sub/b.dcm", 0);
    mk("nifti", 1);
    mk("nifti/s1.nii.gz", 0);
    mk("keep.txt", 0);
    snprintf(link, sizeof link, "%s/escape", f.data);
    CHECK(symlink(outside, link) == 0);
    /* a symbolic link inside DATA to a folder inside DATA: the link goes, the folder stays */
    mk("target", 1);
    mk("target/t.txt", 0);
    snprintf(inlink, sizeof inlink, "%s/inner-link", f.data);
    CHECK(symlink("target", inlink) == 0);
    clean("{\"dicomAnonymizer\":{\"deleted\":[\"dicom/s1\"]},"
          "\"dcm2nii\":{\"deleted\":\"nifti/s1.nii.gz\",\"output\":\"x\"},"
          "\"evil\":{\"deleted\":[\"../x\",\"/etc/passwd\",\"escape\",\".\",7]},"
          "\"links\":{\"deleted\":[\"inner-link\",\"nothing/here\"]},"
          "\"other\":{\"storage\":{}}}",
          &job);
    CHECK_STR(job.state, "failed");
    CHECK_CONTAINS(job.error, "4 paths refused or not removed (see the log), the first: ../x "
                              "(from evil); 3 removed");
    CHECK_CONTAINS(job.log, "refused (from evil): /etc/passwd: an absolute path");
    CHECK_CONTAINS(job.log, "escape: leads outside DATA");
    CHECK_CONTAINS(job.log, "removed dicom/s1 (from dicomAnonymizer)");
    CHECK_CONTAINS(job.log, "already gone: nothing/here");
    dcmp_job_clear(&job);
    CHECK(!there("dicom/s1"));
    CHECK(there("dicom"));
    CHECK(!there("nifti/s1.nii.gz"));
    CHECK(there("keep.txt"));
    CHECK(!there("inner-link"));
    CHECK(there("target/t.txt"));
    CHECK(there("escape")); /* refused: the link stays, and what it points at */
    snprintf(secret, sizeof secret, "%s/secret.txt", outside);
    CHECK(st_exists(secret));
    /* nothing to delete: success */
    clean("{\"a\":{\"x\":1}}", &job);
    CHECK_STR(job.state, "finished");
    dcmp_job_clear(&job);
}

/* Removes .holds/dicom/h1/<name> as the scheduler's release would ("": the folder itself). */
static void unmark(const char *name)
{
    char mark[PATH_MAX * 2];

    snprintf(mark, sizeof mark, "%s/.holds/dicom/h1%s%s", f.data, *name ? "/" : "", name);
    CHECK((*name ? unlink(mark) : rmdir(mark)) == 0);
}

/* Cleans dicom/h1; the job finishes with a result holding `want`. */
static void clean_h1(const char *want)
{
    dcmp_job job;

    clean("{\"dicomAnonymizer\":{\"deleted\":[\"dicom/h1\"]}}", &job);
    CHECK_STR(job.state, "finished");
    CHECK_CONTAINS(job.result, want);
    dcmp_job_clear(&job);
}

/* A folder marked held (as the scheduler marks a series its study will read) is not removed,
 * nor anything in it, nor a folder holding it, nor the same folder named through a link; the
 * job succeeds saying so. Held while any holder's mark (a study's, a patient's) is left; once the
 * last is gone the cleaner removes it. */
static void test_held(void)
{
    char link[PATH_MAX * 2];
    dcmp_job job;

    mk("dicom/h1", 1);
    mk("dicom/h1/a.dcm", 0);
    mk("dicom/h2", 1);
    mk("dicom/h2/b.dcm", 0);
    mk(".holds/dicom/h1", 1);
    mk(".holds/dicom/h1/@held.study.st", 0); /* two holders: a study and a patient */
    mk(".holds/dicom/h1/@held.patient.pt", 0);
    mk("studies/st/v1", 1);
    snprintf(link, sizeof link, "%s/studies/st/v1/h1", f.data);
    CHECK(symlink("../../../dicom/h1", link) == 0);
    clean("{\"dicomAnonymizer\":{\"deleted\":[\"dicom/h1\",\"dicom//h1/a.dcm\","
          "\"dicom\",\"studies/st/v1/h1/a.dcm\",\".holds\",\"dicom/h2\"]}}",
          &job);
    CHECK_STR(job.state, "finished");
    CHECK_CONTAINS(job.result, "\"removed\":1,\"gone\":0,\"held\":5,\"refused\":0");
    CHECK_CONTAINS(job.log, "held for a study or patient event, left in place: dicom/h1 (from "
                            "dicomAnonymizer)");
    CHECK_CONTAINS(job.log, "left in place: studies/st/v1/h1/a.dcm");
    dcmp_job_clear(&job);
    CHECK(there("dicom/h1/a.dcm"));
    CHECK(there(".holds/dicom/h1/@held.study.st"));
    CHECK(!there("dicom/h2"));
    {
        /* what is inside the held folder is recorded for the scheduler's release; what holds
         * it ("dicom") and .holds are not */
        char list[PATH_MAX * 2], *text;
        snprintf(list, sizeof list, "%s/.holds/dicom/h1/@deleted", f.data);
        text = st_slurp(list, NULL);
        CHECK_STR(text ? text : "", "dicom/h1\ndicom/h1/a.dcm\ndicom/h1/a.dcm\n");
        free(text);
        CHECK(unlink(list) == 0);
    }
    /* the study released it, the patient holds it still: left in place */
    unmark("@held.study.st");
    clean_h1("\"removed\":0,\"gone\":0,\"held\":1");
    CHECK(there("dicom/h1/a.dcm"));
    CHECK(there(".holds/dicom/h1/@deleted"));
    /* released by its last holder too (the scheduler removed the marks): removed as any path */
    CHECK(unlink(link) == 0);
    unmark("@held.patient.pt");
    unmark("@deleted");
    unmark("");
    clean_h1("\"removed\":1,\"gone\":0,\"held\":0");
    CHECK(!there("dicom/h1"));
}

int main(void)
{
    const char *services = getenv("DCMP_SERVICES_DIR");
    char modules[PATH_MAX], secret[PATH_MAX + 16];

    if (services == NULL || fixture_start(&f) < 0)
        return 1;
    snprintf(modules, sizeof modules, "%s/base/module", services);

    snprintf(outside, sizeof outside, "%s/outside", f.dir);
    mkdir(outside, 0755);
    snprintf(secret, sizeof secret, "%s/secret.txt", outside);
    st_write(secret, "do not delete");
    {
        /* MODULES/base -> the built base module folder */
        char mroot[PATH_MAX], link[PATH_MAX * 2];
        snprintf(mroot, sizeof mroot, "%s/modules", f.dir);
        mkdir(mroot, 0755);
        snprintf(link, sizeof link, "%s/base", mroot);
        if (symlink(modules, link) < 0)
            return 1;
        f.modules = strdup(mroot);
    }
    fixture_worker(&f, "default", NULL);
    RUN(test_paths);
    RUN(test_clean);
    RUN(test_held);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
