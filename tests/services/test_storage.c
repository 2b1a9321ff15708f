/* test_storage.c -- the storageManager service run by a real dcmp-worker against a real Orthanc
 * (with docker/orthanc/dictionary.json): a NIfTI volume, a PDF and a DICOM file injected as
 * `storage` (an object and a list) are stored with the DCM-PROCESSOR private block and the
 * source series' patient; a refused upload fails the job with Orthanc's answer. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <nifti2_io.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>

#include "harness.h"
#include "svc_test.h"

#define PYDICOM     "/usr/lib/python3/dist-packages/pydicom/data/test_files"
#define ORTHANC_BIN "/usr/sbin/Orthanc"

static fixture f;
static pid_t orthanc = -1;
static int http_port;

typedef struct body {
    char data[1 << 16];
    size_t len;
} body;

static size_t on_body(char *p, size_t s, size_t n, void *arg)
{
    body *b = arg;
    size_t len = s * n, room = sizeof b->data - 1 - b->len;

    memcpy(b->data + b->len, p, len < room ? len : room);
    b->len += len < room ? len : room;
    b->data[b->len] = '\0';
    return len;
}

/* GET from the test's Orthanc into b; returns the HTTP status. */
static long get(const char *path, body *b)
{
    char url[512];
    long status = 0;
    CURL *c = curl_easy_init();

    b->len = 0;
    b->data[0] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", http_port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_USERNAME, "test");
    curl_easy_setopt(c, CURLOPT_PASSWORD, "secret");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static int start_orthanc(void)
{
    char cfg[PATH_MAX], logopt[PATH_MAX + 16], text[4096], *dict;
    char *argv[] = {ORTHANC_BIN, logopt, cfg, NULL};
    char dictpath[PATH_MAX];
    body b;
    int i;

    snprintf(dictpath, sizeof dictpath, "%s/docker/orthanc/dictionary.json",
             getenv("DCMP_SOURCE_DIR"));
    if ((dict = st_slurp(dictpath, NULL)) == NULL || strrchr(dict, '}') == NULL)
        return -1;
    /* the fragment's outer braces off: its "Dictionary" member goes into our config */
    *strrchr(dict, '}') = '\0';
    http_port = fixture_free_port();
    snprintf(text, sizeof text,
             "{\"Name\": \"svc-test\", \"StorageDirectory\": \"%s/o-storage\",\n"
             " \"IndexDirectory\": \"%s/o-index\", \"HttpPort\": %d, \"DicomPort\": %d,\n"
             " \"RemoteAccessAllowed\": false, \"AuthenticationEnabled\": true,\n"
             " \"RegisteredUsers\": {\"test\": \"secret\"}, \"Plugins\": [], \"StableAge\": 1,\n"
             " %s}\n",
             f.dir, f.dir, http_port, fixture_free_port(), strchr(dict, '{') + 1);
    free(dict);
    snprintf(cfg, sizeof cfg, "%s/orthanc.json", f.dir);
    snprintf(logopt, sizeof logopt, "--logfile=%s/orthanc.log", f.dir);
    if (st_write(cfg, text) < 0)
        return -1;
    if ((orthanc = fork()) == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execv(ORTHANC_BIN, argv);
        _exit(127);
    }
    for (i = 0; i < 300; i++) {
        if (get("/system", &b) == 200)
            return 0;
        usleep(50 * 1000);
    }
    return -1;
}

static void stop_orthanc(void)
{
    int status, i;

    if (orthanc <= 0)
        return;
    kill(orthanc, SIGTERM);
    for (i = 0; i < 300 && waitpid(orthanc, &status, WNOHANG) == 0; i++)
        usleep(50 * 1000);
    if (i == 300) {
        kill(orthanc, SIGKILL);
        waitpid(orthanc, &status, 0);
    }
    orthanc = -1;
}

static void make_inputs(void)
{
    char path[PATH_MAX * 2];
    const char *names[] = {"2062", "2392"};
    int64_t dims[8] = {3, 4, 3, 2, 1, 1, 1, 1};
    nifti_image *nim = nifti_make_new_nim(dims, DT_FLOAT32, 1);
    int i;

    snprintf(path, sizeof path, "%s/dicom/s1", f.data);
    {
        char *argv[] = {"mkdir", "-p", path, NULL};
        CHECK(st_run(argv, NULL) == 0);
    }
    for (i = 0; i < 2; i++) {
        char src[PATH_MAX], dst[PATH_MAX * 3];
        snprintf(src, sizeof src, PYDICOM "/dicomdirtests/98892001/CT5N/%s", names[i]);
        snprintf(dst, sizeof dst, "%s/%s.dcm", path, names[i]);
        CHECK(st_copy(src, dst) == 0);
    }
    for (i = 0; i < 24; i++)
        ((float *)nim->data)[i] = (float)i * 0.25f;
    snprintf(path, sizeof path, "%s/seg.nii.gz", f.data);
    nifti_set_filenames(nim, path, 0, 1);
    nifti_image_write(nim);
    nifti_image_free(nim);
    snprintf(path, sizeof path, "%s/report.pdf", f.data);
    CHECK(st_write(path, "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n") == 0);
    snprintf(path, sizeof path, "%s/ct.dcm", f.data);
    CHECK(st_copy(PYDICOM "/CT_small.dcm", path) == 0);
}

static void test_store(void)
{
    char id[DCMP_ID_LEN], url[256];
    dcmp_job job;
    body b;
    cJSON *list;
    int n = 0, marked = 0, dest_other = 0, pseudo = 0;
    const cJSON *it;

    make_inputs();
    CHECK(st_enqueue(&f, "storageManager", "base.storageManager.worker", "default",
                     "{\"dcmpath\":\"dicom/s1\",\"seriesId\":\"x\"}", "{}",
                     "{\"seg\":{\"storage\":[{\"path\":\"seg.nii.gz\",\"type\":\"nifti\","
                     "\"tags\":{\"Series Description\":\"Segmentation\"}},"
                     "{\"path\":\"report.pdf\",\"type\":\"PDF\"}]},"
                     "\"other\":{\"storage\":{\"path\":\"ct.dcm\",\"type\":\"dicom\","
                     "\"destination\":\"OTHER\"}},\"none\":{\"x\":1}}",
                     120, id) == 0);
    CHECK(st_wait(&f, id, &job, 60000) == 0);
    CHECK_STR(job.state, "finished");
    CHECK_STR(job.error, "");
    CHECK_CONTAINS(job.result, "{\"entries\":3,\"instances\":4}");
    CHECK_CONTAINS(job.log, "seg.nii.gz: 2 slices");
    dcmp_job_clear(&job);
    CHECK(get("/instances", &b) == 200);
    list = cJSON_Parse(b.data);
    cJSON_ArrayForEach(it, list)
    {
        body v;
        n++;
        snprintf(url, sizeof url, "/instances/%s/content/0405-1001", it->valuestring);
        marked += get(url, &v) == 200 && strncmp(v.data, "store-data", 10) == 0;
        snprintf(url, sizeof url, "/instances/%s/content/0405-1007", it->valuestring);
        dest_other += get(url, &v) == 200 && strncmp(v.data, "OTHER", 5) == 0;
        snprintf(url, sizeof url, "/instances/%s/content/0010-0020", it->valuestring);
        pseudo += get(url, &v) == 200 && strncmp(v.data, "98890234", 8) == 0;
    }
    cJSON_Delete(list);
    CHECK(n == 4);
    CHECK(marked == 4);
    CHECK(dest_other == 1); /* the dicom entry's own destination; the others the default */
    CHECK(pseudo == 3);     /* NIfTI slices and the PDF carry the source series' patient */
    CHECK(get("/series?expand", &b) == 200);
    CHECK(strstr(b.data, "\"SeriesDescription\" : \"Segmentation\"") != NULL);
}

/* A PDF alone, for a study Orthanc does not have yet (no other result made it first): the
 * study's tags are given, not a Parent. */
static void test_pdf_new_study(void)
{
    char id[DCMP_ID_LEN], path[PATH_MAX * 2];
    dcmp_job job;
    body b;

    snprintf(path, sizeof path, "%s/dicom/s3", f.data);
    {
        char *argv[] = {"mkdir", "-p", path, NULL};
        CHECK(st_run(argv, NULL) == 0);
    }
    snprintf(path, sizeof path, "%s/dicom/s3/mr.dcm", f.data);
    CHECK(st_copy(PYDICOM "/MR_small.dcm", path) == 0);
    CHECK(st_enqueue(&f, "storageManager", "base.storageManager.worker", "default",
                     "{\"dcmpath\":\"dicom/s3\",\"seriesId\":\"y\"}", "{}",
                     "{\"temp\":{\"storage\":{\"path\":\"report.pdf\",\"type\":\"pdf\"}}}", 120,
                     id) == 0);
    CHECK(st_wait(&f, id, &job, 60000) == 0);
    CHECK_STR(job.state, "finished");
    CHECK_STR(job.error, "");
    dcmp_job_clear(&job);
    /* MR_small's study, made by the PDF itself */
    CHECK(get("/studies?expand", &b) == 200);
    CHECK(strstr(b.data, "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457") != NULL);
}

static void test_refused(void)
{
    char id[DCMP_ID_LEN];
    dcmp_job job;

    /* the worker on "badauth" has a wrong password: Orthanc's 401 fails the job */
    CHECK(st_enqueue(&f, "storageManager", "base.storageManager.worker", "badauth",
                     "{\"dcmpath\":\"dicom/s1\"}", "{}",
                     "{\"other\":{\"storage\":{\"path\":\"ct.dcm\",\"type\":\"dicom\"}}}", 120,
                     id) == 0);
    CHECK(st_wait(&f, id, &job, 60000) == 0);
    CHECK_STR(job.state, "failed");
    CHECK_CONTAINS(job.error, "storage from other: POST http://127.0.0.1:");
    CHECK_CONTAINS(job.error, "/instances: HTTP 401");
    dcmp_job_clear(&job);
    CHECK(st_enqueue(&f, "storageManager", "base.storageManager.worker", "default",
                     "{\"dcmpath\":\"dicom/s1\"}", "{}",
                     "{\"x\":{\"storage\":{\"path\":\"../etc/passwd\",\"type\":\"dicom\"}}}", 120,
                     id) == 0);
    CHECK(st_wait(&f, id, &job, 60000) == 0);
    CHECK_CONTAINS(job.error, "\"..\" is not allowed");
    dcmp_job_clear(&job);
    CHECK(st_enqueue(&f, "storageManager", "base.storageManager.worker", "default",
                     "{\"dcmpath\":\"dicom/s1\"}", "{}",
                     "{\"x\":{\"storage\":{\"path\":\"ct.dcm\",\"type\":\"jpeg\"}}}", 120,
                     id) == 0);
    CHECK(st_wait(&f, id, &job, 60000) == 0);
    CHECK_CONTAINS(job.error, "type \"jpeg\": pdf, dicom or nifti");
    dcmp_job_clear(&job);
}

int main(void)
{
    const char *services = getenv("DCMP_SERVICES_DIR");
    char root[PATH_MAX], link[PATH_MAX * 2], target[PATH_MAX], url[128];
    const char *env[6], *badenv[6];

    if (services == NULL || access(ORTHANC_BIN, X_OK) != 0 || fixture_start(&f) < 0) {
        fprintf(stderr, "FAIL: DCMP_SERVICES_DIR and %s are needed\n", ORTHANC_BIN);
        return 1;
    }
    if (start_orthanc() < 0) {
        fprintf(stderr, "FAIL: Orthanc did not start (see %s/orthanc.log)\n", f.dir);
        stop_orthanc();
        fixture_stop(&f, 1);
        return 1;
    }
    snprintf(root, sizeof root, "%s/mods", f.dir);
    mkdir(root, 0755);
    snprintf(link, sizeof link, "%s/base", root);
    snprintf(target, sizeof target, "%s/base/module", services);
    if (symlink(target, link) < 0)
        return 1;
    f.modules = strdup(root);
    snprintf(url, sizeof url, "ORTHANC_REST_URL=http://127.0.0.1:%d", http_port);
    env[0] = badenv[0] = url;
    env[1] = "ORTHANC_REST_USERNAME=test";
    env[2] = "ORTHANC_REST_PASSWORD=secret";
    env[3] = badenv[3] = "ORTHANC_DEFUALT_STORE=PACS1";
    env[4] = badenv[4] = NULL;
    badenv[1] = "ORTHANC_REST_USERNAME=test";
    badenv[2] = "ORTHANC_REST_PASSWORD=wrong";
    fixture_worker(&f, "default", env);
    fixture_worker(&f, "badauth", badenv);
    RUN(test_store);
    RUN(test_pdf_new_study);
    RUN(test_refused);
    stop_orthanc();
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
