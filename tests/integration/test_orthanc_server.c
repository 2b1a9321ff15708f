/* test_orthanc_server.c -- the Orthanc client against a real Orthanc: a synthetic 5-slice series
 * sent with storescu, fetched in slice order, fetched again and swapped in atomically; 401, 403
 * mid-series and 404 named; bad ids refused; the StableSeries change found through /changes;
 * the scheduler end to end with the project's Lua script, for a synthetic series and for
 * python3-pydicom's real 5-slice CT. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "redis.h"
#include "orthanc.h"

#define ORTHANC_BIN "/usr/sbin/Orthanc"
#define NSLICES     5
#define UID_ROOT    "1.2.826.0.1.3680043.9.7433.1"

extern char **environ;

static char dir[PATH_MAX - 64], data[PATH_MAX], base_url[64];
static int http_port, dicom_port;
static pid_t orthanc = -1;
static dcmp_orthanc *o;
static char series[DCMP_ORTHANC_ID_LEN];
static char sop_uid[NSLICES][65];    /* by slice: InstanceNumber i + 1 */
static int variant;                  /* 0: the first series; 1: a second one (other UIDs) */
static const char *description = ""; /* SeriesDescription of the series send_series makes */
static int study_of = -1;            /* >= 0: the series goes into the study of that variant */
static const char *patient_tag = ""; /* appended to the PatientID: another patient */
static int sched_port;               /* where the project's Lua script posts its webhooks */
static int stable_age = 1;           /* Orthanc's StableAge (s) */
static const char *store = "";       /* names Orthanc's storage and index folders */

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int write_file(const char *path, const void *bytes, size_t len)
{
    FILE *fp = fopen(path, "wb");

    if (fp == NULL)
        return -1;
    if (fwrite(bytes, 1, len, fp) != len) {
        fclose(fp);
        return -1;
    }
    return fclose(fp);
}

static int write_text(const char *path, const char *text)
{
    return write_file(path, text, strlen(text));
}

/* Reads a whole (small) file into buf[size]; returns its length or -1. */
static long read_text(const char *path, char *buf, size_t size)
{
    FILE *fp = fopen(path, "r");
    size_t n;

    buf[0] = '\0';
    if (fp == NULL)
        return -1;
    n = fread(buf, 1, size - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return (long)n;
}

/* Runs argv (found on PATH) with stdout and stderr into `out` (truncated first) and returns
 * its exit status, or -1 when it could not start or was killed. */
static int run(char *const argv[], const char *out)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc, status;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "cannot run %s: %s (install dcmtk: scripts/deps.sh test)\n", argv[0],
                strerror(rc));
        return -1;
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void show_file(const char *label, const char *path)
{
    char buf[4096];

    if (read_text(path, buf, sizeof buf) >= 0)
        fprintf(stderr, "--- %s (%s):\n%s\n---\n", label, path, buf);
}

/* ---- Orthanc ---- */

/* A request filter for the user "limited": its third file download is refused (403), so a
 * fetch fails in the middle of the series. */
static const char filter_lua[] =
    "limited_files = 0\n"
    "function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)\n"
    "  if username == 'limited' and string.match(uri, '^/instances/[^/]+/file$') then\n"
    "    limited_files = limited_files + 1\n"
    "    if limited_files == 3 then\n"
    "      return false\n"
    "    end\n"
    "  end\n"
    "  return true\n"
    "end\n";

static int write_config(const char *path)
{
    char cfg[4096 + PATH_MAX], lua[PATH_MAX];

    snprintf(lua, sizeof lua, "%s/filter.lua", dir);
    if (write_text(lua, filter_lua) < 0)
        return -1;
    snprintf(cfg, sizeof cfg,
             "{\n"
             "  \"Name\": \"dcmp-test\",\n"
             "  \"StorageDirectory\": \"%s/storage%s\",\n"
             "  \"IndexDirectory\": \"%s/index%s\",\n"
             "  \"HttpPort\": %d,\n"
             "  \"DicomPort\": %d,\n"
             "  \"DicomAet\": \"ORTHANC\",\n"
             "  \"RemoteAccessAllowed\": false,\n"
             "  \"AuthenticationEnabled\": true,\n"
             "  \"RegisteredUsers\": {\"test\": \"secret\", \"limited\": \"limited\"},\n"
             "  \"StableAge\": %d,\n"
             "  \"Plugins\": [],\n"
             "  \"LuaScripts\": [\"%s\", \"%s/docker/orthanc/dcm-processor.lua\"],\n"
             "  \"HttpTimeout\": 5,\n"
             "  \"SaveJobs\": false\n"
             "}\n",
             dir, store, dir, store, http_port, dicom_port, stable_age, lua,
             getenv("DCMP_SOURCE_DIR"));
    return write_text(path, cfg);
}

/* Starts Orthanc and waits for GET /system. Orthanc gets SIGTERM if this test dies. */
static int start_orthanc(void)
{
    char cfg[PATH_MAX], logopt[PATH_MAX + 16], out[PATH_MAX], err[DCMP_ERR_LEN] = "";
    char *argv[] = {ORTHANC_BIN, logopt, cfg, NULL};
    pid_t parent = getpid();
    cJSON *sys = NULL;
    long start;
    int status, fd;

    if (access(ORTHANC_BIN, X_OK) != 0) {
        fprintf(stderr,
                "FAIL: %s is missing: install orthanc (apt-get install orthanc, or "
                "scripts/deps.sh test as root)\n",
                ORTHANC_BIN);
        return -1;
    }
    snprintf(cfg, sizeof cfg, "%s/orthanc.json", dir);
    snprintf(logopt, sizeof logopt, "--logfile=%s/orthanc.log", dir);
    snprintf(out, sizeof out, "%s/orthanc.out", dir);
    if (write_config(cfg) < 0) {
        perror("writing the Orthanc config");
        return -1;
    }
    orthanc = fork();
    if (orthanc < 0) {
        perror("fork");
        return -1;
    }
    if (orthanc == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(ORTHANC_BIN, argv);
        _exit(127);
    }
    start = now_ms();
    while (now_ms() - start < 15000) {
        if (waitpid(orthanc, &status, WNOHANG) == orthanc) {
            fprintf(stderr, "Orthanc exited at start (status %d)\n", status);
            orthanc = -1;
            show_file("Orthanc output", out);
            return -1;
        }
        if (dcmp_orthanc_get_json(o, "/system", &sys, err) == 0) {
            fprintf(stderr, "Orthanc %s up after %ld ms (HTTP %d, DICOM %d)\n",
                    cJSON_GetStringValue(cJSON_GetObjectItem(sys, "Version")), now_ms() - start,
                    http_port, dicom_port);
            cJSON_Delete(sys);
            return 0;
        }
        nap_ms(50);
    }
    fprintf(stderr, "Orthanc did not answer in 15 s: %s\n", err);
    return -1;
}

/* SIGTERM, then SIGKILL after 15 s. Returns the exit status (-1: killed or not running). */
static int stop_orthanc(void)
{
    long start = now_ms();
    int status = 0;

    if (orthanc <= 0)
        return -1;
    kill(orthanc, SIGTERM);
    while (waitpid(orthanc, &status, WNOHANG) == 0) {
        if (now_ms() - start > 15000) {
            fprintf(stderr, "Orthanc ignored SIGTERM for 15 s: SIGKILL\n");
            kill(orthanc, SIGKILL);
            waitpid(orthanc, &status, 0);
            orthanc = -1;
            return -1;
        }
        nap_ms(50);
    }
    fprintf(stderr, "Orthanc stopped in %ld ms\n", now_ms() - start);
    orthanc = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the series ---- */

/* Writes slice k (0-based) as a dump and converts it with dump2dcm into DIR/in/sK.dcm. The
 * SOP Instance UIDs run against the slice order, so neither sorting by UID nor by arrival
 * gives the slice order by chance. */
static int make_slice(int k, const char *study, const char *ser, const char *frame)
{
    char txt[PATH_MAX], raw[PATH_MAX], dcm[PATH_MAX], log[PATH_MAX], dump[2048];
    unsigned char pixels[4 * 4 * 2];
    char *argv[] = {"dump2dcm", "+te", txt, dcm, NULL};
    int i;

    for (i = 0; i < 16; i++) {
        pixels[2 * i] = (unsigned char)(k * 16 + i);
        pixels[2 * i + 1] = 0;
    }
    snprintf(txt, sizeof txt, "%s/in/s%d.txt", dir, k);
    snprintf(raw, sizeof raw, "%s/in/s%d.raw", dir, k);
    snprintf(dcm, sizeof dcm, "%s/in/s%d.dcm", dir, k);
    snprintf(log, sizeof log, "%s/in/s%d.log", dir, k);
    snprintf(sop_uid[k], sizeof sop_uid[k], "%s.%d.%d", UID_ROOT, (int)getpid(),
             100 * variant + 90 - k);
    if (write_file(raw, pixels, sizeof pixels) < 0)
        return -1;
    snprintf(dump, sizeof dump,
             "(0008,0016) UI =CTImageStorage\n"
             "(0008,0018) UI [%s]\n"
             "(0008,0060) CS [CT]\n"
             "(0008,103e) LO [%s]\n"
             "(0010,0010) PN [Test^Orthanc]\n"
             "(0010,0020) LO [DCMP-TEST-%d%s]\n"
             "(0020,000d) UI [%s]\n"
             "(0020,000e) UI [%s]\n"
             "(0020,0052) UI [%s]\n"
             "(0020,0011) IS [1]\n"
             "(0020,0013) IS [%d]\n"
             "(0020,0032) DS [-10\\-10\\%d.5]\n"
             "(0020,0037) DS [1\\0\\0\\0\\1\\0]\n"
             "(0028,0002) US 1\n"
             "(0028,0004) CS [MONOCHROME2]\n"
             "(0028,0010) US 4\n"
             "(0028,0011) US 4\n"
             "(0028,0030) DS [1\\1]\n"
             "(0028,0100) US 16\n"
             "(0028,0101) US 16\n"
             "(0028,0102) US 15\n"
             "(0028,0103) US 0\n"
             "(7fe0,0010) OW =%s\n",
             sop_uid[k], description, (int)getpid(), patient_tag, study, ser, frame, k + 1, 2 * k,
             raw);
    if (write_text(txt, dump) < 0)
        return -1;
    if (run(argv, log) != 0) {
        fprintf(stderr, "dump2dcm failed on %s\n", txt);
        show_file("dump2dcm", log);
        return -1;
    }
    return 0;
}

/* Makes the 5 slices and sends them, out of order, with one storescu. */
static int send_series(void)
{
    static const int order[NSLICES] = {2, 0, 4, 1, 3};
    char in[PATH_MAX], study[80], ser[80], frame[80], port[16], log[PATH_MAX];
    char files[NSLICES][PATH_MAX];
    char *argv[6 + NSLICES + 1];
    int i, n = 0, rc;

    snprintf(in, sizeof in, "%s/in", dir);
    mkdir(in, 0755);
    snprintf(study, sizeof study, "%s.%d.%d1", UID_ROOT, (int)getpid(),
             study_of >= 0 ? study_of : variant);
    snprintf(ser, sizeof ser, "%s.%d.%d2", UID_ROOT, (int)getpid(), variant);
    snprintf(frame, sizeof frame, "%s.%d.%d3", UID_ROOT, (int)getpid(), variant);
    for (i = 0; i < NSLICES; i++)
        if (make_slice(i, study, ser, frame) < 0)
            return -1;
    snprintf(port, sizeof port, "%d", dicom_port);
    snprintf(log, sizeof log, "%s/storescu.log", dir);
    argv[n++] = "storescu";
    argv[n++] = "-aec";
    argv[n++] = "ORTHANC";
    argv[n++] = "127.0.0.1";
    argv[n++] = port;
    for (i = 0; i < NSLICES; i++) {
        snprintf(files[i], sizeof files[i], "%s/s%d.dcm", in, order[i]);
        argv[n++] = files[i];
    }
    argv[n] = NULL;
    if ((rc = run(argv, log)) != 0) {
        fprintf(stderr, "storescu exited with %d\n", rc);
        show_file("storescu", log);
        return -1;
    }
    return 0;
}

/* Sends synthetic series v with SeriesDescription desc (into study_of's study when set). */
static int send_as(int v, const char *desc)
{
    variant = v;
    description = desc;
    return send_series();
}

/* ---- checks on DATA/dicom ---- */

/* Counts the entries of `path` whose names start with `prefix` (ending with `suffix`). */
static int count_entries(const char *path, const char *prefix, const char *suffix)
{
    DIR *d = opendir(path);
    struct dirent *e;
    size_t lp = strlen(prefix), ls = strlen(suffix), len;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        len = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, lp) == 0 && len >= lp + ls &&
            strcmp(e->d_name + len - ls, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The value in brackets of the dcmdump line for `tag` ("(0020,0013)"), or "". */
static void dump_value(const char *dump, const char *tag, char *out, size_t size)
{
    const char *p = dump, *open, *close;

    out[0] = '\0';
    while ((p = strstr(p, tag)) != NULL) {
        if ((p == dump || p[-1] == '\n') && (open = strchr(p, '[')) != NULL &&
            (close = strchr(open, ']')) != NULL && (size_t)(close - open) < size) {
            memcpy(out, open + 1, (size_t)(close - open - 1));
            out[close - open - 1] = '\0';
            return;
        }
        p++;
    }
}

/* DATA/dicom/<series> holds NSLICES files "NNNN-<instanceId>.dcm" whose InstanceNumber is
 * index + 1 (dcmdump reads them), and DATA/dicom holds no .tmp- or .old- folder. */
static void check_series_folder(const char *when)
{
    char path[PATH_MAX], dicom[PATH_MAX], file[PATH_MAX + 300], out[PATH_MAX], dump[8192];
    char names[NSLICES + 4][300], want[16], value[80];
    char *argv[] = {"dcmdump", "+P", "InstanceNumber", "+P", "SOPInstanceUID", file, NULL};
    DIR *d;
    struct dirent *e;
    int n = 0, i;

    snprintf(dicom, sizeof dicom, "%s/dicom", data);
    snprintf(path, sizeof path, "%s/%s", dicom, series);
    snprintf(out, sizeof out, "%s/dcmdump.out", dir);
    CHECK(count_entries(dicom, ".tmp-", "") == 0);
    CHECK(count_entries(dicom, ".old-", "") == 0);
    CHECK(count_entries(path, "", ".dcm") == NSLICES);
    if ((d = opendir(path)) == NULL) {
        CHECK(!"series folder missing");
        return;
    }
    while ((e = readdir(d)) != NULL && n < NSLICES + 4)
        if (e->d_name[0] != '.' && strlen(e->d_name) < sizeof names[0])
            memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
    closedir(d);
    CHECK(n == NSLICES);
    qsort(names, (size_t)n, sizeof names[0], by_name);
    for (i = 0; i < n && i < NSLICES; i++) {
        snprintf(want, sizeof want, "%04d-", i);
        CHECK(strncmp(names[i], want, 5) == 0);
        CHECK(strlen(names[i]) == 5 + 44 + 4); /* Orthanc ids have 44 characters */
        snprintf(file, sizeof file, "%s/%s", path, names[i]);
        CHECK(run(argv, out) == 0);
        read_text(out, dump, sizeof dump);
        dump_value(dump, "(0020,0013)", value, sizeof value);
        snprintf(want, sizeof want, "%d", i + 1);
        CHECK_STR(value, want);
        dump_value(dump, "(0008,0018)", value, sizeof value);
        CHECK_STR(value, sop_uid[i]);
        if (strcmp(value, sop_uid[i]) != 0)
            fprintf(stderr, "  %s: %s\n", when, names[i]);
    }
}

/* ---- tests ---- */

static void test_find_series(void)
{
    char err[DCMP_ERR_LEN] = "";
    cJSON *list = NULL;

    CHECK(dcmp_orthanc_get_json(o, "/series", &list, err) == 0);
    CHECK(cJSON_GetArraySize(list) == 1);
    if (cJSON_IsString(cJSON_GetArrayItem(list, 0)))
        dcmp_strlcpy(series, cJSON_GetArrayItem(list, 0)->valuestring, sizeof series);
    CHECK(dcmp_orthanc_id_ok(series));
    cJSON_Delete(list);
    if (err[0])
        fprintf(stderr, "  %s\n", err);
}

static void test_fetch(void)
{
    char err[DCMP_ERR_LEN] = "", dcmpath[128] = "", want[128];
    long start = now_ms();
    int n = -1;

    CHECK(dcmp_orthanc_fetch_series(o, series, data, dcmpath, sizeof dcmpath, &n, err) == 0);
    fprintf(stderr, "  fetched in %ld ms\n", now_ms() - start);
    if (err[0])
        fprintf(stderr, "  %s\n", err);
    snprintf(want, sizeof want, "dicom/%s", series);
    CHECK_STR(dcmpath, want);
    CHECK(n == NSLICES);
    check_series_folder("first fetch");
}

/* ---- watching the final name while a second fetch replaces the folder ---- */

static atomic_int watch_stop, watch_seen, watch_missing, watch_partial;
static char watch_path[PATH_MAX];

static void *watch(void *arg)
{
    struct stat before, after;
    DIR *d;
    struct dirent *e;
    size_t len;
    int n;

    (void)arg;
    while (!atomic_load(&watch_stop)) {
        if ((d = opendir(watch_path)) == NULL) {
            atomic_fetch_add(&watch_missing, 1);
            continue;
        }
        fstat(dirfd(d), &before);
        n = 0;
        while ((e = readdir(d)) != NULL)
            if ((len = strlen(e->d_name)) > 4 && strcmp(e->d_name + len - 4, ".dcm") == 0)
                n++;
        /* A listing of a folder that meanwhile lost the name (the old series, being removed)
         * does not count: only what the name showed for the whole listing does. The open
         * folder keeps its inode number from being reused until closedir. */
        if (stat(watch_path, &after) == 0 && after.st_ino == before.st_ino && n != NSLICES)
            atomic_fetch_add(&watch_partial, 1);
        closedir(d);
        atomic_fetch_add(&watch_seen, 1);
    }
    return NULL;
}

/* 1 when renameat2(RENAME_EXCHANGE) works in DATA (then the final name never vanishes). */
static int exchange_works(void)
{
    char a[PATH_MAX], b[PATH_MAX];
    int ok = 0;

    snprintf(a, sizeof a, "%s/xa", dir);
    snprintf(b, sizeof b, "%s/xb", dir);
    mkdir(a, 0755);
    mkdir(b, 0755);
#ifdef RENAME_EXCHANGE
    ok = renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0;
#endif
    rmdir(a);
    rmdir(b);
    return ok;
}

static void test_fetch_again(void)
{
    char err[DCMP_ERR_LEN] = "", dcmpath[128] = "", stale[PATH_MAX + 16];
    struct stat before, after;
    pthread_t th;
    int n = -1, exchange = exchange_works(), i, rc = 0;

    snprintf(watch_path, sizeof watch_path, "%s/dicom/%s", data, series);
    snprintf(stale, sizeof stale, "%s/stale.txt", watch_path);
    CHECK(write_text(stale, "from the series' previous version\n") == 0);
    atomic_store(&watch_stop, 0);
    CHECK(pthread_create(&th, NULL, watch, NULL) == 0);
    for (i = 0; i < 2000 && atomic_load(&watch_seen) < 20; i++)
        nap_ms(1);
    /* several fetches, to give the watcher chances to catch a gap; each puts a new folder
     * under the name (made while the old one lived, so its inode differs) */
    for (i = 0; i < 3 && rc == 0; i++) {
        CHECK(stat(watch_path, &before) == 0);
        rc = dcmp_orthanc_fetch_series(o, series, data, dcmpath, sizeof dcmpath, &n, err);
        CHECK(stat(watch_path, &after) == 0);
        CHECK(after.st_ino != before.st_ino);
    }
    CHECK(rc == 0);
    atomic_store(&watch_stop, 1);
    pthread_join(th, NULL);
    if (err[0])
        fprintf(stderr, "  %s\n", err);
    fprintf(stderr, "  watcher: %d listings, %d missing, %d partial (exchange %s)\n",
            atomic_load(&watch_seen), atomic_load(&watch_missing), atomic_load(&watch_partial),
            exchange ? "works" : "unsupported");
    CHECK(n == NSLICES);
    CHECK(atomic_load(&watch_partial) == 0);
    if (exchange)
        CHECK(atomic_load(&watch_missing) == 0);
    CHECK(access(stale, F_OK) != 0); /* the first version's folder is gone */
    check_series_folder("second fetch");
}

/* The series' folder as it is: its inode, and that it still holds the whole series. */
static ino_t series_inode(void)
{
    char path[PATH_MAX];
    struct stat st;

    snprintf(path, sizeof path, "%s/dicom/%s", data, series);
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static void test_wrong_password(void)
{
    char err[DCMP_ERR_LEN] = "", dcmpath[128], want[128];
    dcmp_orthanc *bad = dcmp_orthanc_new(base_url, "test", "wrong", err);
    ino_t ino = series_inode();
    cJSON *j = NULL;
    int n = -1;

    CHECK(bad != NULL);
    if (bad == NULL)
        return;
    CHECK(dcmp_orthanc_get_json(bad, "/system", &j, err) == -1);
    CHECK(j == NULL);
    snprintf(want, sizeof want, "GET %s/system: HTTP 401", base_url);
    CHECK_CONTAINS(err, want);
    CHECK(dcmp_orthanc_fetch_series(bad, series, data, dcmpath, sizeof dcmpath, &n, err) == -1);
    CHECK_CONTAINS(err, "HTTP 401");
    CHECK_CONTAINS(err, series);
    CHECK(n == 0);
    fprintf(stderr, "  %s\n", err);
    CHECK(series_inode() == ino);
    dcmp_orthanc_free(bad);
    check_series_folder("after 401");
}

/* The user "limited" is refused its third file: the fetch fails at instance 3, says so, leaves
 * no temp folder and leaves the series' folder alone. */
static void test_fails_mid_series(void)
{
    char err[DCMP_ERR_LEN] = "", dcmpath[128];
    dcmp_orthanc *lim = dcmp_orthanc_new(base_url, "limited", "limited", err);
    ino_t ino = series_inode();
    int n = -1;

    CHECK(lim != NULL);
    if (lim == NULL)
        return;
    CHECK(dcmp_orthanc_fetch_series(lim, series, data, dcmpath, sizeof dcmpath, &n, err) == -1);
    CHECK_CONTAINS(err, "instance 3 of 5 (");
    CHECK_CONTAINS(err, "/file: HTTP 403");
    CHECK(n == 0);
    fprintf(stderr, "  %s\n", err);
    CHECK(series_inode() == ino);
    dcmp_orthanc_free(lim);
    check_series_folder("after 403");
}

static void test_unknown_series(void)
{
    const char *unknown = "00000000-00000000-00000000-00000000-00000000";
    char err[DCMP_ERR_LEN] = "", dcmpath[128], path[PATH_MAX];
    struct stat st;
    cJSON *j = NULL;
    int n = -1;

    CHECK(dcmp_orthanc_fetch_series(o, unknown, data, dcmpath, sizeof dcmpath, &n, err) == -1);
    CHECK_CONTAINS(err, "HTTP 404");
    CHECK_CONTAINS(err, unknown);
    fprintf(stderr, "  %s\n", err);
    snprintf(path, sizeof path, "%s/dicom/%s", data, unknown);
    CHECK(stat(path, &st) == -1);
    CHECK(dcmp_orthanc_get_json(o, "/instances/nope", &j, err) == -1);
    CHECK_CONTAINS(err, "/instances/nope: HTTP 404");
    check_series_folder("after 404");
}

static void test_bad_id(void)
{
    char err[DCMP_ERR_LEN] = "", dcmpath[128], path[PATH_MAX];
    struct stat st;
    int n = -1;

    CHECK(dcmp_orthanc_fetch_series(o, "../x", data, dcmpath, sizeof dcmpath, &n, err) == -1);
    CHECK_CONTAINS(err, "series id \"../x\" must be");
    CHECK(strstr(err, "GET") == NULL);
    snprintf(path, sizeof path, "%s/x", data);
    CHECK(stat(path, &st) == -1);
}

/* The changes since `since` in pages of `limit`, until Done. Returns the number of rows. */
static int all_changes(int64_t since, int limit, dcmp_orthanc_change *all, int max, int64_t *last)
{
    char err[DCMP_ERR_LEN] = "";
    dcmp_orthanc_change page[8];
    int total = 0, n, done = 0, pages = 0, i;

    while (!done && pages++ < 100) {
        if (dcmp_orthanc_changes(o, since, limit, page, 8, &n, last, &done, err) < 0) {
            fprintf(stderr, "  %s\n", err);
            CHECK(!"changes failed");
            return total;
        }
        CHECK(n <= limit);
        if (n > 0)
            CHECK(*last == page[n - 1].seq); /* Last is the page's last Seq */
        if (n == 0)
            CHECK(done);
        for (i = 0; i < n && total < max; i++) {
            CHECK(page[i].seq > since);
            CHECK(total == 0 || page[i].seq > all[total - 1].seq);
            all[total++] = page[i];
        }
        since = *last;
    }
    return total;
}

static void test_changes(void)
{
    dcmp_orthanc_change all[256], big[256], ch[8];
    char err[DCMP_ERR_LEN] = "";
    long start = now_ms();
    int64_t last = -1, last2 = -1;
    int n = 0, n2, i, stable = -1, newseries = -1, instances = 0, done = 0;

    /* StableAge 1: the StableSeries row comes about 2 s after the last C-STORE */
    while (stable < 0 && now_ms() - start < 10000) {
        n = all_changes(0, 4, all, 256, &last);
        for (i = 0; i < n; i++) {
            if (strcmp(all[i].type, "StableSeries") == 0 && strcmp(all[i].id, series) == 0)
                stable = i;
            if (strcmp(all[i].type, "NewSeries") == 0 && strcmp(all[i].id, series) == 0)
                newseries = i;
        }
        if (stable < 0)
            nap_ms(200);
    }
    fprintf(stderr, "  %d changes, Last %lld, StableSeries %s at %ld ms\n", n, (long long)last,
            stable >= 0 ? "found" : "NOT found", now_ms() - start);
    CHECK(stable >= 0);
    CHECK(newseries >= 0 && newseries < stable);
    for (i = 0; i < n; i++)
        instances += strcmp(all[i].type, "NewInstance") == 0;
    CHECK(instances == NSLICES);
    CHECK(n > 0 && last == all[n - 1].seq);

    /* one page holds them all: the same rows, Done */
    n2 = all_changes(0, 8, big, 256, &last2);
    CHECK(n2 == n && last2 == last);
    for (i = 0; i < n && i < n2; i++)
        CHECK(big[i].seq == all[i].seq && strcmp(big[i].type, all[i].type) == 0);

    /* caught up: nothing after Last, Done, Last unchanged */
    CHECK(dcmp_orthanc_changes(o, last, 8, ch, 8, &n2, &last2, &done, err) == 0);
    CHECK(n2 == 0 && done == 1 && last2 == last);
    /* past the end: Orthanc answers its newest Seq as Last */
    CHECK(dcmp_orthanc_changes(o, last + 100, 8, ch, 8, &n2, &last2, &done, err) == 0);
    CHECK(n2 == 0 && done == 1 && last2 == last);
    /* a page that stops early is not Done */
    CHECK(dcmp_orthanc_changes(o, 0, 1, ch, 8, &n2, &last2, &done, err) == 0);
    CHECK(n2 == 1 && done == 0 && last2 == ch[0].seq);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- the scheduler's catch-up, end to end ---- */

/* A real third-party series: Debian's python3-pydicom ships a 5-slice CT (InstanceNumber 6 to
 * 10) among its test files. */
#define PYDICOM_CT5N \
    "/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/98892001/CT5N"

/* Sends the pydicom CT series with storescu (its files as they are). Returns 0 or -1. */
static int send_pydicom_series(void)
{
    static const char *const names[] = {"3023", "2062", "3353", "2392", "2693"}; /* shuffled */
    char files[5][sizeof PYDICOM_CT5N + 16], port[16], log[PATH_MAX];
    char *argv[6 + 5 + 1];
    int i, n = 0, rc;

    if (access(PYDICOM_CT5N "/2062", R_OK) != 0) {
        fprintf(stderr, "FAIL: %s is missing: install python3-pydicom (scripts/deps.sh test)\n",
                PYDICOM_CT5N);
        return -1;
    }
    snprintf(port, sizeof port, "%d", dicom_port);
    snprintf(log, sizeof log, "%s/storescu-pydicom.log", dir);
    argv[n++] = "storescu";
    argv[n++] = "-aec";
    argv[n++] = "ORTHANC";
    argv[n++] = "127.0.0.1";
    argv[n++] = port;
    for (i = 0; i < 5; i++) {
        snprintf(files[i], sizeof files[i], "%s/%s", PYDICOM_CT5N, names[i]);
        argv[n++] = files[i];
    }
    argv[n] = NULL;
    if ((rc = run(argv, log)) != 0) {
        fprintf(stderr, "storescu exited with %d\n", rc);
        show_file("storescu", log);
        return -1;
    }
    return 0;
}

/* Waits for an event other than the `nknown` ids given; its id goes to id[DCMP_ID_LEN]. */
/* Waits (up to 30 s) until event id has left the state "received"; returns its state then (a
 * new string, free it), or the last one read, or NULL. */
static char *wait_event_settled(fixture *f, const char *id)
{
    char *state = NULL;
    int i;

    for (i = 0; id[0] && i < 600; i++) {
        free(state);
        state = NULL;
        if (dcmp_queue_event_field(f->q, id, "state", &state) == 1 && strcmp(state, "received"))
            break;
        nap_ms(50);
    }
    return state;
}

static void wait_new_event(redisContext *rc, char known[][DCMP_ID_LEN], int nknown, char *id)
{
    redisReply *r;
    size_t k;
    int i, j;

    id[0] = '\0';
    for (i = 0; i < 600 && id[0] == '\0'; i++) {
        r = redisCommand(rc, "ZRANGE dcmp:events 0 -1");
        for (k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
            for (j = 0; j < nknown && strcmp(r->element[k]->str, known[j]) != 0; j++)
                ;
            if (j == nknown)
                snprintf(id, DCMP_ID_LEN, "%s", r->element[k]->str);
        }
        if (r)
            freeReplyObject(r);
        if (id[0] == '\0')
            nap_ms(50);
    }
}

/* The pydicom series sent with storescu while the scheduler runs: Orthanc's Lua script posts
 * it, the scheduler fetches it from Orthanc and reads its header with DCMTK (in dcmp-dicom):
 * the plan's headers are the first slice's (InstanceNumber 6), and the job runs. */
static void scheduler_pydicom(fixture *f, redisContext *rc, char known[][DCMP_ID_LEN], int nknown)
{
    char id[DCMP_ID_LEN], want[160], *body = NULL, *state = NULL, *plan = NULL, folder[PATH_MAX];
    cJSON *b, *p;

    CHECK(send_pydicom_series() == 0);
    wait_new_event(rc, known, nknown, id);
    CHECK(id[0] != '\0');
    if (id[0] == '\0')
        return;
    free(state);
    state = wait_event_settled(f, id);
    CHECK(state && strcmp(state, "planned") == 0);
    CHECK(dcmp_queue_event_field(f->q, id, "body", &body) == 1);
    CHECK(dcmp_queue_event_field(f->q, id, "plan", &plan) == 1);
    b = cJSON_Parse(body);
    p = cJSON_Parse(plan);
    {
        const cJSON *h = cJSON_GetObjectItem(p, "headers");
        const char *sid = cJSON_GetStringValue(cJSON_GetObjectItem(b, "seriesId"));
        const cJSON *j = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "jobs"), 0);
        CHECK(sid != NULL);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "PatientID")), "98890234");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "PatientName")), "Doe^Peter");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "Modality")), "CT");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "SeriesDescription")),
                  "SmartScore - Gated 0.5 sec");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "InstanceNumber")), "6");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "SeriesInstanceUID")),
                  "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.6");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "seriesId")), sid ? sid : "?");
        snprintf(want, sizeof want, "dicom/%s", sid ? sid : "?");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "dcmpath")), want);
        /* the five slices are on disk, in slice order, for the services' workers */
        snprintf(folder, sizeof folder, "%s/dicom/%s", f->data, sid ? sid : "?");
        CHECK(count_entries(folder, "", ".dcm") == 5);
        CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "id")) &&
              fixture_wait_state(f, cJSON_GetObjectItem(j, "id")->valuestring, "finished", 20000) ==
                  0);
    }
    cJSON_Delete(b);
    cJSON_Delete(p);
    free(body);
    free(state);
    free(plan);
}

/* The series reached Orthanc while no scheduler ran (its webhook was lost): a scheduler
 * started with ORTHANC_REST_URL finds it in /changes, fetches it, reads its header with DCMTK,
 * plans it and a worker runs the job. Then a second series arrives while the scheduler runs:
 * the project's Lua script in Orthanc posts the webhook, and it is planned too; then a real
 * third-party series (pydicom's CT) the same way. */
/* Starts dcmp-scheduler against this Orthanc and f's Redis, with the registry and settings
 * made by test_scheduler_catchup, its output appended to f's scheduler.log. extra, extra2: more
 * "K=V" (or NULL; extra2 only after extra). Returns its pid (-1 when it could not start). */
static pid_t start_sched(fixture *f, const char *extra, const char *extra2)
{
    char env_port[32], env_redis[32], env_reg[PATH_MAX + 16], env_set[PATH_MAX + 16];
    char env_data[PATH_MAX + 16], env_url[96], log[PATH_MAX];
    char *bin = getenv("DCMP_SCHEDULER_BIN"), *argv[] = {bin, NULL};
    char *envp[] = {env_port,
                    env_redis,
                    env_reg,
                    env_set,
                    env_data,
                    env_url,
                    "ORTHANC_REST_USERNAME=test",
                    "ORTHANC_REST_PASSWORD=secret",
                    "CATCHUP_INTERVAL=1s",
                    "REDIS_HOST=127.0.0.1",
                    "DCMP_ENV=",
                    "PATH=/usr/bin:/bin",
                    (char *)extra,
                    (char *)extra2,
                    NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;

    snprintf(env_port, sizeof env_port, "SCHEDULER_PORT=%d", sched_port);
    snprintf(env_redis, sizeof env_redis, "REDIS_PORT=%d", f->port);
    snprintf(env_reg, sizeof env_reg, "REGISTRY=%s/registry", dir);
    snprintf(env_set, sizeof env_set, "SETTINGS=%s/settings.json", dir);
    snprintf(env_data, sizeof env_data, "DATA=%s", f->data);
    snprintf(env_url, sizeof env_url, "ORTHANC_REST_URL=%s", base_url);
    snprintf(log, sizeof log, "%s/scheduler.log", f->dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (bin == NULL || posix_spawn(&pid, bin, &fa, NULL, argv, envp) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/* Ends a test's scheduler (SIGTERM, waited for), shows its log when a check failed, and
 * stops the fixture. */
static void end_sched(fixture *f, pid_t sched)
{
    char log[PATH_MAX];
    int status;

    if (sched > 0) {
        kill(sched, SIGTERM);
        waitpid(sched, &status, 0);
    }
    if (harness_failed) {
        snprintf(log, sizeof log, "%s/scheduler.log", f->dir);
        show_file("scheduler log", log);
    }
    fixture_stop(f, harness_failed);
}

static void test_scheduler_catchup(void)
{
    char reg[PATH_MAX], svc[PATH_MAX + 16], lib[PATH_MAX + 32], src[PATH_MAX], set[PATH_MAX];
    char want[128], id[DCMP_ID_LEN];
    char *state = NULL, *plan = NULL;
    redisContext *rc = NULL;
    redisReply *r;
    pid_t sched = -1;
    fixture f;
    int i;

    if (getenv("DCMP_SCHEDULER_BIN") == NULL || fixture_start(&f) < 0) {
        CHECK(!"a scheduler and a Redis");
        return;
    }
    snprintf(reg, sizeof reg, "%s/registry", dir);
    snprintf(svc, sizeof svc, "%s/seg", reg);
    CHECK(mkdir(reg, 0755) == 0 && mkdir(svc, 0755) == 0);
    snprintf(lib, sizeof lib, "%s/cb.so", svc);
    snprintf(src, sizeof src, "%s/testcb.so", getenv("DCMP_TEST_MODULES"));
    CHECK(symlink(src, lib) == 0);
    snprintf(lib, sizeof lib, "%s/settings.json", svc);
    CHECK(write_text(lib, "{\"jobName\":\"seg\",\"worker\":\"testmods.record\","
                          "\"callback\":\"seg.cb.modality\"}") == 0);
    snprintf(set, sizeof set, "%s/settings.json", dir);
    CHECK(write_text(set, "{\"headerFields\":[\"PatientID\",\"PatientName\",\"Modality\","
                          "\"SeriesDescription\",\"SeriesInstanceUID\",\"InstanceNumber\","
                          "\"seriesId\",\"dcmpath\"]}") == 0);
    fixture_worker(&f, "default", NULL);
    /* the webhook and catch-up paths: no arrival watch (test_arrival_watch has it) */
    sched = start_sched(&f, "EARLY_STABLE=0", NULL);
    CHECK(sched > 0);

    /* the catch-up makes one event for the series; it is planned from the fetched files */
    rc = redisConnect("127.0.0.1", f.port);
    id[0] = '\0';
    for (i = 0; i < 600 && id[0] == '\0'; i++) {
        r = redisCommand(rc, "ZRANGE dcmp:events 0 -1");
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1)
            snprintf(id, sizeof id, "%s", r->element[0]->str);
        if (r)
            freeReplyObject(r);
        nap_ms(50);
    }
    CHECK(id[0] != '\0');
    free(state);
    state = wait_event_settled(&f, id);
    CHECK(state && strcmp(state, "planned") == 0);
    if (id[0] && dcmp_queue_event_field(f.q, id, "plan", &plan) == 1) {
        snprintf(want, sizeof want, "\"PatientID\":\"DCMP-TEST-%d\"", (int)getpid());
        CHECK_CONTAINS(plan, want);
        CHECK_CONTAINS(plan, "\"InstanceNumber\":\"1\""); /* the first slice's header */
        snprintf(want, sizeof want, "\"dcmpath\":\"dicom/%s\"", series);
        CHECK_CONTAINS(plan, want);
        CHECK_CONTAINS(plan, "\"decision\":\"scheduled\"");
        {
            cJSON *o2 = cJSON_Parse(plan);
            const cJSON *j = cJSON_GetArrayItem(cJSON_GetObjectItem(o2, "jobs"), 0);
            const cJSON *jid = j ? cJSON_GetObjectItem(j, "id") : NULL;
            CHECK(cJSON_IsString(jid) &&
                  fixture_wait_state(&f, jid->valuestring, "finished", 20000) == 0);
            cJSON_Delete(o2);
        }
    }
    /* a second series, sent while the scheduler runs: Orthanc's Lua script (the project's)
     * posts it when stable; the event's body is the webhook's (with the tags) */
    variant = 1;
    CHECK(send_series() == 0);
    {
        char id2[DCMP_ID_LEN] = "", *body = NULL, *st2 = NULL;
        for (i = 0; i < 600 && id2[0] == '\0'; i++) {
            r = redisCommand(rc, "ZRANGE dcmp:events 0 -1");
            if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
                snprintf(id2, sizeof id2, "%s",
                         strcmp(r->element[0]->str, id) ? r->element[0]->str : r->element[1]->str);
            if (r)
                freeReplyObject(r);
            nap_ms(50);
        }
        CHECK(id2[0] != '\0');
        CHECK(id2[0] && dcmp_queue_event_field(f.q, id2, "body", &body) == 1);
        CHECK_CONTAINS(body, "\"tags\":{");
        CHECK_CONTAINS(body, "\"LastUpdate\":\"");
        free(st2);
        st2 = wait_event_settled(&f, id2);
        CHECK(st2 && strcmp(st2, "planned") == 0);
        free(body);
        free(st2);
        r = redisCommand(rc, "ZCARD dcmp:events");
        CHECK(r && r->integer == 2);
        if (r)
            freeReplyObject(r);
        /* a real third-party series, by the same way */
        {
            char known[2][DCMP_ID_LEN];
            snprintf(known[0], sizeof known[0], "%s", id);
            snprintf(known[1], sizeof known[1], "%s", id2);
            scheduler_pydicom(&f, rc, known, 2);
        }
    }
    free(state);
    free(plan);
    if (rc)
        redisFree(rc);
    end_sched(&f, sched);
}

/* A series cut off by an Orthanc shutdown before StableAge: an Orthanc with StableAge 1 h
 * takes a series and is stopped and started again, so its /changes hold the series' NewSeries
 * and never a StableSeries. A scheduler started then plans it from the catch-up (Orthanc,
 * restarted, calls it stable without logging it). A second series sent to that Orthanc,
 * unstable for an hour, is planned once its LastUpdate is CATCHUP_STABLE_AFTER (2 s here) old
 * by Orthanc's clock. */
static void test_unstable_series(void)
{
    char cut[DCMP_ORTHANC_ID_LEN] = "", want[128], err[DCMP_ERR_LEN] = "", id[DCMP_ID_LEN] = "";
    char *body = NULL, *state = NULL, *plan = NULL;
    dcmp_orthanc_change all[256];
    redisContext *rc;
    redisReply *r;
    cJSON *list = NULL;
    int64_t last;
    int n, i, newseries = 0, stable = 0;
    pid_t sched;
    fixture f;

    CHECK(stop_orthanc() == 0);
    stable_age = 3600;
    store = "-cut";
    variant = 2;
    if (start_orthanc() < 0 || send_series() < 0) {
        CHECK(!"an Orthanc with StableAge 1 h and a series");
        return;
    }
    CHECK(dcmp_orthanc_get_json(o, "/series", &list, err) == 0);
    if (cJSON_IsString(cJSON_GetArrayItem(list, 0)))
        dcmp_strlcpy(cut, cJSON_GetArrayItem(list, 0)->valuestring, sizeof cut);
    cJSON_Delete(list);
    CHECK(cut[0] != '\0');
    /* cut off: stopped and started again before StableAge */
    CHECK(stop_orthanc() == 0);
    CHECK(start_orthanc() == 0);
    n = all_changes(0, 8, all, 256, &last);
    for (i = 0; i < n; i++) {
        newseries += strcmp(all[i].type, "NewSeries") == 0 && strcmp(all[i].id, cut) == 0;
        stable += strcmp(all[i].type, "StableSeries") == 0;
    }
    CHECK(newseries == 1 && stable == 0);

    if (fixture_start(&f) < 0) {
        CHECK(!"a Redis");
        return;
    }
    fixture_worker(&f, "default", NULL);
    sched = start_sched(&f, "CATCHUP_STABLE_AFTER=2s", "EARLY_STABLE=0");
    CHECK(sched > 0);
    rc = redisConnect("127.0.0.1", f.port);
    for (i = 0; i < 600 && id[0] == '\0'; i++) {
        r = redisCommand(rc, "ZRANGE dcmp:events 0 -1");
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1)
            snprintf(id, sizeof id, "%s", r->element[0]->str);
        if (r)
            freeReplyObject(r);
        if (id[0] == '\0')
            nap_ms(50);
    }
    CHECK(id[0] != '\0');
    free(state);
    state = wait_event_settled(&f, id);
    CHECK(state && strcmp(state, "planned") == 0);
    if (id[0] && dcmp_queue_event_field(f.q, id, "body", &body) == 1) {
        snprintf(want, sizeof want, "\"seriesId\":\"%s\"", cut);
        CHECK_CONTAINS(body, want);
        CHECK_CONTAINS(body, "\"noStableSeries\":true");
    }
    if (id[0] && dcmp_queue_event_field(f.q, id, "plan", &plan) == 1) {
        snprintf(want, sizeof want, "\"PatientID\":\"DCMP-TEST-%d\"", (int)getpid());
        CHECK_CONTAINS(plan, want);
        snprintf(want, sizeof want, "\"dcmpath\":\"dicom/%s\"", cut);
        CHECK_CONTAINS(plan, want);
    }
    /* a second series while this Orthanc runs: not stable for an hour (IsStable false), so
     * planned by its age alone */
    {
        char known[1][DCMP_ID_LEN], id2[DCMP_ID_LEN], *st2 = NULL, *body2 = NULL;
        snprintf(known[0], sizeof known[0], "%s", id);
        variant = 3;
        CHECK(send_series() == 0);
        wait_new_event(rc, known, 1, id2);
        CHECK(id2[0] != '\0');
        free(st2);
        st2 = wait_event_settled(&f, id2);
        CHECK(st2 && strcmp(st2, "planned") == 0);
        CHECK(id2[0] && dcmp_queue_event_field(f.q, id2, "body", &body2) == 1);
        CHECK_CONTAINS(body2, "\"noStableSeries\":true");
        CHECK(strstr(body2 ? body2 : "", cut) == NULL);
        free(st2);
        free(body2);
    }
    /* settled: no longer waiting for a StableSeries */
    r = redisCommand(rc, "ZCARD dcmp:catchup:pending");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
    if (r)
        freeReplyObject(r);
    free(body);
    free(state);
    free(plan);
    redisFree(rc);
    end_sched(&f, sched);
}

/* Appends a curl write to a growing string. */
static size_t grow(char *bytes, size_t size, size_t n, void *arg)
{
    char **text = arg;
    size_t old = *text ? strlen(*text) : 0, add = size * n;
    char *p = realloc(*text, old + add + 1);

    if (p == NULL)
        return 0;
    memcpy(p + old, bytes, add);
    p[old + add] = '\0';
    *text = p;
    return add;
}

/* GET url as text: a new string (free it), or NULL. */
static char *http_get_text(const char *url)
{
    CURL *c = curl_easy_init();
    char *text = NULL;

    if (c == NULL)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &text);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) != CURLE_OK) {
        free(text);
        text = NULL;
    }
    curl_easy_cleanup(c);
    return text;
}

/* The arrival watch: Orthanc's script announces a series with its first instance and the
 * scheduler plans it once it has been still for the scheduler's STABLE_AGE (1 s), long before
 * Orthanc calls it stable (StableAge 1 h here, and the catch-up set to wait an hour too), so
 * nothing but the watch can plan it within this test. */
static void test_arrival_watch(void)
{
    char want[128], err[DCMP_ERR_LEN] = "", id[DCMP_ID_LEN] = "", sid[DCMP_ORTHANC_ID_LEN] = "";
    char *body = NULL, *state = NULL, *plan = NULL, *metrics = NULL;
    cJSON *before = NULL, *after = NULL;
    const cJSON *it;
    redisContext *rc;
    redisReply *r;
    int i;
    pid_t sched;
    fixture f;

    CHECK(stable_age == 3600); /* test_unstable_series's Orthanc */
    CHECK(dcmp_orthanc_get_json(o, "/series", &before, err) == 0);
    if (fixture_start(&f) < 0) {
        CHECK(!"a Redis");
        return;
    }
    fixture_worker(&f, "default", NULL);
    sched = start_sched(&f, "STABLE_AGE=1", "CATCHUP_STABLE_AFTER=3600s");
    CHECK(sched > 0);
    nap_ms(500);
    variant = 4;
    CHECK(send_series() == 0);
    /* the new series' Orthanc id */
    CHECK(dcmp_orthanc_get_json(o, "/series", &after, err) == 0);
    cJSON_ArrayForEach(it, after)
    {
        const cJSON *k;
        int known = 0;
        cJSON_ArrayForEach(k, before) known |= strcmp(k->valuestring, it->valuestring) == 0;
        if (!known)
            snprintf(sid, sizeof sid, "%s", it->valuestring);
    }
    CHECK(sid[0] != '\0');
    rc = redisConnect("127.0.0.1", f.port);
    for (i = 0; i < 600 && id[0] == '\0' && sid[0]; i++) {
        r = redisCommand(rc, "ZRANGE dcmp:events 0 -1");
        for (size_t k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
            char *b = NULL;
            snprintf(want, sizeof want, "\"seriesId\":\"%s\"", sid);
            if (dcmp_queue_event_field(f.q, r->element[k]->str, "body", &b) == 1 && strstr(b, want))
                snprintf(id, sizeof id, "%s", r->element[k]->str);
            free(b);
        }
        if (r)
            freeReplyObject(r);
        if (id[0] == '\0')
            nap_ms(50);
    }
    CHECK(id[0] != '\0');
    free(state);
    state = wait_event_settled(&f, id);
    CHECK(state && strcmp(state, "planned") == 0);
    if (id[0] && dcmp_queue_event_field(f.q, id, "body", &body) == 1)
        CHECK_CONTAINS(body, "\"source\":\"arrival\"");
    if (id[0] && dcmp_queue_event_field(f.q, id, "plan", &plan) == 1) {
        snprintf(want, sizeof want, "\"dcmpath\":\"dicom/%s\"", sid);
        CHECK_CONTAINS(plan, want);
    }
    /* Orthanc still calls it unstable: the watch did not wait for it */
    {
        cJSON *info = NULL;
        char path[128];
        snprintf(path, sizeof path, "/series/%s", sid);
        CHECK(dcmp_orthanc_get_json(o, path, &info, err) == 0);
        CHECK(cJSON_IsFalse(cJSON_GetObjectItem(info, "IsStable")));
        cJSON_Delete(info);
    }
    {
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", sched_port);
        metrics = http_get_text(url);
        CHECK_CONTAINS(metrics, "dcmp_scheduler_events_early_total 1");
        CHECK_CONTAINS(metrics, "dcmp_scheduler_series_arriving_total 1");
    }
    free(metrics);
    free(body);
    free(state);
    free(plan);
    cJSON_Delete(before);
    cJSON_Delete(after);
    redisFree(rc);
    end_sched(&f, sched);
}

/* ---- what a webhook's body may decide: nothing but a look (issue 17, findings 2 and 3) ---- */

/* POSTs body to the scheduler's /stable-series. Returns the HTTP status (0: no answer); the
 * event id the answer names goes to id[DCMP_ID_LEN] ("" when none). */
static long post_event(const char *body, char *id)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char url[96], *text = NULL;
    const char *e;
    long status = 0;

    id[0] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%d/stable-series", sched_port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &text);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (text && (e = strstr(text, "\"event\":\"")) != NULL)
        snprintf(id, DCMP_ID_LEN, "%.32s", e + 9);
    free(text);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* Orthanc's id of the series whose SeriesInstanceUID is uid, into sid[DCMP_ORTHANC_ID_LEN]
 * ("" when Orthanc has none). */
static void series_by_uid(const char *uid, char *sid)
{
    char err[DCMP_ERR_LEN];
    cJSON *list = NULL;
    const cJSON *it;

    sid[0] = '\0';
    if (dcmp_orthanc_get_json(o, "/series?expand", &list, err) != 0)
        return;
    cJSON_ArrayForEach(it, list)
    {
        const char *u = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(it, "MainDicomTags"), "SeriesInstanceUID"));
        if (u && strcmp(u, uid) == 0)
            snprintf(sid, DCMP_ORTHANC_ID_LEN, "%s",
                     cJSON_GetStringValue(cJSON_GetObjectItem(it, "ID")));
    }
    cJSON_Delete(list);
}

/* The SeriesInstanceUID of synthetic series `v` (send_series with variant v). */
static void variant_uid(int v, char *uid, size_t size)
{
    snprintf(uid, size, "%s.%d.%d2", UID_ROOT, (int)getpid(), v);
}

/* DELETE path on Orthanc; returns the HTTP status. */
static long orthanc_delete(const char *path)
{
    CURL *c = curl_easy_init();
    char url[256], *text = NULL;
    long status = 0;

    snprintf(url, sizeof url, "%s%s", base_url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(c, CURLOPT_USERPWD, "test:secret");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &text);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    free(text);
    curl_easy_cleanup(c);
    return status;
}

/* Sets the catch-up's position to Orthanc's last change, so that a scheduler on f's Redis
 * plans only what the test posts or sends from now on. */
static void skip_old_changes(fixture *f)
{
    char err[DCMP_ERR_LEN];
    cJSON *ch = NULL;
    const cJSON *last;

    CHECK(dcmp_orthanc_get_json(o, "/changes?last", &ch, err) == 0);
    last = cJSON_GetObjectItem(ch, "Last");
    CHECK(cJSON_IsNumber(last) && dcmp_queue_catchup_set(f->q, (int64_t)last->valuedouble) == 0);
    cJSON_Delete(ch);
}

/* Waits (up to 10 s) for the scheduler's /health. */
static void wait_sched_up(void)
{
    char url[96], *t = NULL;
    int i;

    snprintf(url, sizeof url, "http://127.0.0.1:%d/health", sched_port);
    for (i = 0; i < 200 && (t = http_get_text(url)) == NULL; i++)
        nap_ms(50);
    CHECK(t != NULL);
    free(t);
}

/* One event record, as the test reads it. */
typedef struct ev_row {
    char id[DCMP_ID_LEN];
    char state[16];
    char version[48];
    char error[512];
} ev_row;

/* The events of series sid (their records' `series`), at most max; returns how many. */
static int series_events(fixture *f, redisContext *rc, const char *sid, ev_row *rows, int max)
{
    redisReply *r = redisCommand(rc, "ZRANGE dcmp:events 0 -1"), *h;
    size_t k;
    int n = 0;

    for (k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements && n < max; k++) {
        h = redisCommand(rc, "HMGET dcmp:event:%s series state version error", r->element[k]->str);
        if (h && h->type == REDIS_REPLY_ARRAY && h->elements == 4 &&
            h->element[0]->type == REDIS_REPLY_STRING && strcmp(h->element[0]->str, sid) == 0) {
            snprintf(rows[n].id, sizeof rows[n].id, "%s", r->element[k]->str);
            snprintf(rows[n].state, sizeof rows[n].state, "%s",
                     h->element[1]->type == REDIS_REPLY_STRING ? h->element[1]->str : "");
            snprintf(rows[n].version, sizeof rows[n].version, "%s",
                     h->element[2]->type == REDIS_REPLY_STRING ? h->element[2]->str : "");
            snprintf(rows[n].error, sizeof rows[n].error, "%s",
                     h->element[3]->type == REDIS_REPLY_STRING ? h->element[3]->str : "");
            n++;
        }
        if (h)
            freeReplyObject(h);
    }
    if (r)
        freeReplyObject(r);
    (void)f;
    return n;
}

/* Waits (up to 30 s) until every event of sid has left "received" and `planned` of them are
 * planned (or more); returns how many events there are (rows filled). */
static int wait_series_settled(fixture *f, redisContext *rc, const char *sid, int planned,
                               ev_row *rows, int max)
{
    int n = 0, i, k, busy, done;

    for (i = 0; i < 600; i++) {
        n = series_events(f, rc, sid, rows, max);
        for (k = busy = done = 0; k < n; k++) {
            busy += strcmp(rows[k].state, "received") == 0;
            done += strcmp(rows[k].state, "planned") == 0;
        }
        if (!busy && done >= planned)
            break;
        nap_ms(50);
    }
    return n;
}

/* Lines of DATA/record.log (one per job testmods.record ran). */
static int recorded_jobs(fixture *f)
{
    char *t = fixture_read_data(f, "record.log"), *p;
    int n = 0;

    for (p = t; p && *p; p++)
        n += *p == '\n';
    free(t);
    return n;
}

static atomic_int forge_stop, forge_posted;
static char forge_sid[DCMP_ORTHANC_ID_LEN];

/* A forged webhook for forge_sid: a guessed LastUpdate (Orthanc's UTC time text, from `at`
 * seconds from now), a reason to ignore it and a dcmpath. */
static void forged_body(char *body, size_t size, int at)
{
    char stamp[32];
    time_t t = time(NULL) + at;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    snprintf(body, size,
             "{\"seriesId\":\"%s\",\"LastUpdate\":\"%s\",\"ignoredBecause\":\"forged\","
             "\"dcmpath\":\"elsewhere\",\"tags\":{\"Modality\":\"CT\"}}",
             forge_sid, stamp);
}

/* Posts forged webhooks for forge_sid every 40 ms (guesses from 2 s ago to 3 s ahead) until
 * forge_stop. */
static void *forge(void *arg)
{
    char body[512], id[DCMP_ID_LEN];
    int k = 0;

    (void)arg;
    while (!atomic_load(&forge_stop)) {
        forged_body(body, sizeof body, k++ % 6 - 2);
        if (post_event(body, id) == 202)
            atomic_fetch_add(&forge_posted, 1);
        nap_ms(40);
    }
    return NULL;
}

/* Forged webhooks posted for a series id before the series is in Orthanc, and all the while it
 * arrives and becomes stable (guessed LastUpdates, "ignoredBecause", a dcmpath), sent with
 * storescu: the forged events before it fail (Orthanc has no such series) and mark nothing;
 * the series is still planned exactly once, at Orthanc's LastUpdate, from its own files, and
 * its job runs once; every other event of it is a duplicate or was still arriving. */
static void test_forged_webhooks(void)
{
    char uid[96], err[DCMP_ERR_LEN] = "", body[512], id[DCMP_ID_LEN], want[160], path[128];
    char before[8][DCMP_ID_LEN], *plan = NULL;
    static ev_row rows[512];
    cJSON *info = NULL;
    redisContext *rc;
    redisReply *r;
    pthread_t th;
    pid_t sched;
    fixture f;
    int n, i, k, planned = 0, nbefore = 0;

    /* the series is sent once to learn its Orthanc id (a hash of its UIDs), then deleted */
    variant = 5;
    variant_uid(variant, uid, sizeof uid);
    CHECK(send_series() == 0);
    series_by_uid(uid, forge_sid);
    CHECK(forge_sid[0] != '\0');
    nap_ms(2500); /* Orthanc's webhook for it fails: no scheduler listens yet */
    snprintf(path, sizeof path, "/series/%s", forge_sid);
    CHECK(orthanc_delete(path) == 200);
    if (fixture_start(&f) < 0) {
        CHECK(!"a Redis");
        return;
    }
    fixture_worker(&f, "default", NULL);
    skip_old_changes(&f);
    sched = start_sched(&f, "EARLY_STABLE=0", NULL);
    CHECK(sched > 0);
    wait_sched_up();
    rc = redisConnect("127.0.0.1", f.port);

    /* before it arrives: every guess is accepted as a look, and fails as unknown */
    for (k = -1; k < 7; k++) {
        forged_body(body, sizeof body, k);
        CHECK(post_event(body, id) == 202);
        snprintf(before[nbefore++], DCMP_ID_LEN, "%s", id);
    }
    for (i = 0; i < nbefore; i++) {
        char *state = wait_event_settled(&f, before[i]), *e = NULL;
        CHECK(state && strcmp(state, "failed") == 0);
        CHECK(dcmp_queue_event_field(f.q, before[i], "error", &e) == 1);
        CHECK_CONTAINS(e, "Orthanc has no series");
        free(e);
        free(state);
    }
    r = redisCommand(rc, "KEYS dcmp:seen:%s:*", forge_sid);
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 0);
    if (r)
        freeReplyObject(r);

    /* while it arrives and after: forged webhooks every 40 ms */
    atomic_store(&forge_stop, 0);
    CHECK(pthread_create(&th, NULL, forge, NULL) == 0);
    nap_ms(200);
    CHECK(send_series() == 0);
    nap_ms(4000); /* StableAge 1 s: Orthanc's own webhook comes in about 2 s */
    atomic_store(&forge_stop, 1);
    pthread_join(th, NULL);
    CHECK(atomic_load(&forge_posted) > 20);

    n = wait_series_settled(&f, rc, forge_sid, 1, rows, (int)(sizeof rows / sizeof rows[0]));
    snprintf(path, sizeof path, "/series/%s", forge_sid);
    CHECK(dcmp_orthanc_get_json(o, path, &info, err) == 0);
    for (i = 0; i < n; i++) {
        if (strcmp(rows[i].state, "planned") == 0) {
            planned++;
            /* Orthanc's LastUpdate is the version planned, whatever the body said */
            CHECK_STR(rows[i].version,
                      cJSON_GetStringValue(cJSON_GetObjectItem(info, "LastUpdate")));
            snprintf(id, sizeof id, "%s", rows[i].id);
        } else {
            /* no body's reason is taken: each other event is unknown, a duplicate, or was
             * still arriving */
            CHECK(strstr(rows[i].error, "forged") == NULL);
            CHECK(strstr(rows[i].error, "Orthanc has no series") ||
                  strstr(rows[i].error, "duplicate of event") ||
                  strstr(rows[i].error, "stable yet"));
            if (harness_failed)
                fprintf(stderr, "event %s: %s: %s\n", rows[i].id, rows[i].state, rows[i].error);
        }
    }
    CHECK(planned == 1);
    if (planned == 1 && dcmp_queue_event_field(f.q, id, "plan", &plan) == 1) {
        cJSON *p = cJSON_Parse(plan);
        const cJSON *h = cJSON_GetObjectItem(p, "headers");
        const cJSON *j = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "jobs"), 0);
        snprintf(want, sizeof want, "DCMP-TEST-%d", (int)getpid());
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "PatientID")), want);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "SeriesInstanceUID")), uid);
        snprintf(want, sizeof want, "dicom/%s", forge_sid);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "dcmpath")), want);
        CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "id")) &&
              fixture_wait_state(&f, cJSON_GetObjectItem(j, "id")->valuestring, "finished",
                                 20000) == 0);
        cJSON_Delete(p);
    }
    CHECK(recorded_jobs(&f) == 1);
    free(plan);
    cJSON_Delete(info);
    redisFree(rc);
    end_sched(&f, sched);
}

/* Copies the files of folder `from` (their names given) into DATA/`to`; returns 0 or -1. */
static int copy_files(const char *from, const char *const *names, int n, const char *to_dir)
{
    char src[PATH_MAX], dst[PATH_MAX + 64], buf[65536];
    int i;

    if (mkdir(to_dir, 0755) != 0 && errno != EEXIST)
        return -1;
    for (i = 0; i < n; i++) {
        FILE *in, *out;
        size_t len;
        snprintf(src, sizeof src, "%s/%s", from, names[i]);
        snprintf(dst, sizeof dst, "%s/%s", to_dir, names[i]);
        if ((in = fopen(src, "rb")) == NULL)
            return -1;
        if ((out = fopen(dst, "wb")) == NULL) {
            fclose(in);
            return -1;
        }
        while ((len = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, len, out);
        fclose(in);
        if (fclose(out) != 0)
            return -1;
    }
    return 0;
}

/* The synthetic series `v`'s five files, written again (the same UIDs) into DATA/`to`. */
static int variant_files(int v, const char *to_dir)
{
    static const char *const names[NSLICES] = {"s0.dcm", "s1.dcm", "s2.dcm", "s3.dcm", "s4.dcm"};
    char in[PATH_MAX], study[80], ser[80], frame[80];
    int i, keep = variant;

    variant = v;
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(study, sizeof study, "%s.%d.%d1", UID_ROOT, (int)getpid(), v);
    snprintf(ser, sizeof ser, "%s.%d.%d2", UID_ROOT, (int)getpid(), v);
    snprintf(frame, sizeof frame, "%s.%d.%d3", UID_ROOT, (int)getpid(), v);
    for (i = 0; i < NSLICES; i++)
        if (make_slice(i, study, ser, frame) < 0) {
            variant = keep;
            return -1;
        }
    variant = keep;
    return copy_files(in, names, NSLICES, to_dir);
}

/* What a folder holds, to tell it was not touched: each entry's name, size and mtime. */
static void folder_print(const char *path, char *out, size_t size)
{
    struct dirent **list = NULL;
    size_t used = 0;
    int n, i;

    out[0] = '\0';
    n = scandir(path, &list, NULL, alphasort);
    for (i = 0; i < n; i++) {
        char p[PATH_MAX + 256];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", path, list[i]->d_name);
        if (strcmp(list[i]->d_name, "..") != 0 && lstat(p, &st) == 0 && used < size)
            used += (size_t)snprintf(out + used, size - used, "%s:%lld:%lld.%09ld\n",
                                     list[i]->d_name, (long long)st.st_size,
                                     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        free(list[i]);
    }
    free(list);
}

/* A planned event's header value `key` (a new string), or NULL. */
static char *planned_header(fixture *f, const char *id, const char *key)
{
    char *plan = NULL, *v = NULL;
    cJSON *p;

    if (dcmp_queue_event_field(f->q, id, "plan", &plan) != 1)
        return NULL;
    p = cJSON_Parse(plan);
    if (cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "headers"), key)))
        v = strdup(
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "headers"), key)));
    cJSON_Delete(p);
    free(plan);
    return v;
}

/* Webhooks whose dcmpath names a folder that is not the series': another series' files, a
 * symbolic link to /etc, one instance short. Each series is fetched from Orthanc instead and
 * planned from its own files; the other folders are left exactly as they were. A dcmpath
 * holding exactly the series' own instances is taken as it is (no fetch). */
static void test_dcmpath_checked(void)
{
    static const char *const ct5n[] = {"2062", "2392", "2693", "3023"}; /* 4 of its 5 */
    struct {
        char sid[DCMP_ORTHANC_ID_LEN];
        const char *dcmpath; /* posted */
        const char *want;    /* the plan's dcmpath: NULL = dicom/<sid> (fetched) */
        char id[DCMP_ID_LEN];
    } c[4] = {{"", "other", NULL, ""},
              {"", "etc-link", NULL, ""},
              {"", "half", NULL, ""},
              {"", "mine", "mine", ""}};
    char uid[96], p[PATH_MAX + 64], other_before[4096], other_after[4096], body[512], want[128];
    char *v, *log;
    pid_t sched;
    fixture f;
    int i;

    if (fixture_start(&f) < 0) {
        CHECK(!"a Redis");
        return;
    }
    /* the series: synthetic 0 and 5, the pydicom CT; 1's files make "other" */
    variant_uid(0, uid, sizeof uid);
    series_by_uid(uid, c[0].sid);
    variant_uid(1, uid, sizeof uid);
    series_by_uid(uid, c[1].sid);
    series_by_uid("1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.6", c[2].sid);
    variant_uid(5, uid, sizeof uid);
    series_by_uid(uid, c[3].sid);
    for (i = 0; i < 4; i++)
        CHECK(c[i].sid[0] != '\0');
    CHECK(mkdir(f.data, 0755) == 0 || errno == EEXIST);
    snprintf(p, sizeof p, "%s/other", f.data);
    CHECK(variant_files(1, p) == 0);
    snprintf(p, sizeof p, "%s/other/notes.txt", f.data);
    CHECK(write_text(p, "not a series\n") == 0);
    snprintf(p, sizeof p, "%s/etc-link", f.data);
    CHECK(symlink("/etc", p) == 0);
    snprintf(p, sizeof p, "%s/half", f.data);
    CHECK(copy_files(PYDICOM_CT5N, ct5n, 4, p) == 0);
    snprintf(p, sizeof p, "%s/mine", f.data);
    CHECK(variant_files(5, p) == 0);
    snprintf(p, sizeof p, "%s/other", f.data);
    folder_print(p, other_before, sizeof other_before);

    fixture_worker(&f, "default", NULL);
    skip_old_changes(&f);
    sched = start_sched(&f, "EARLY_STABLE=0", NULL);
    CHECK(sched > 0);
    wait_sched_up();
    for (i = 0; i < 4; i++) {
        snprintf(body, sizeof body, "{\"seriesId\":\"%s\",\"LastUpdate\":\"1\",\"dcmpath\":\"%s\"}",
                 c[i].sid, c[i].dcmpath);
        CHECK(post_event(body, c[i].id) == 202);
    }
    for (i = 0; i < 4; i++) {
        char *state = wait_event_settled(&f, c[i].id);
        CHECK(state && strcmp(state, "planned") == 0);
        free(state);
        snprintf(want, sizeof want, "dicom/%s", c[i].sid);
        v = planned_header(&f, c[i].id, "dcmpath");
        CHECK_STR(v, c[i].want ? c[i].want : want);
        free(v);
        /* the header is the series' own (its first instance's) */
        v = planned_header(&f, c[i].id, "SeriesInstanceUID");
        if (i == 2)
            CHECK_STR(v, "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.6");
        else
            CHECK(v && strstr(v, UID_ROOT) == v);
        free(v);
    }
    /* "mine" was taken as it is: nothing fetched for that series */
    snprintf(p, sizeof p, "%s/dicom/%s", f.data, c[3].sid);
    CHECK(access(p, F_OK) != 0);
    /* every job ran; "other" is as it was */
    CHECK(fixture_wait_count(&f, "default", "finished", 4, 20000) == 0);
    snprintf(p, sizeof p, "%s/other", f.data);
    folder_print(p, other_after, sizeof other_after);
    CHECK_STR(other_after, other_before);
    snprintf(p, sizeof p, "%s/scheduler.log", f.dir);
    {
        char *text = malloc(1 << 20);
        CHECK(text && read_text(p, text, 1 << 20) > 0);
        if (text) {
            CHECK_CONTAINS(text, "dcmpath other refused");
            CHECK_CONTAINS(text, "not the series'");
            CHECK_CONTAINS(text, "dcmpath etc-link refused (dcmpath etc-link: etc-link: a "
                                 "symbolic link (not followed))");
            CHECK_CONTAINS(text, "dcmpath half refused");
        }
        log = text;
    }
    free(log);
    end_sched(&f, sched);
}

/* ---- study events (issue 14) ---- */

/* The planned events of `level` (study, patient) that hold a job of entry `job`, oldest first:
 * for each, how many series its version held (counts[]) and the job's id (ids[]). Returns how
 * many. */
static int level_versions(redisContext *rc, const char *level, const char *job, int *counts,
                          char ids[][DCMP_ID_LEN], int max)
{
    redisReply *r = redisCommand(rc, "ZRANGE dcmp:events 0 -1"), *h;
    size_t k;
    int n = 0;

    for (k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements && n < max; k++) {
        cJSON *plan;
        const cJSON *j;
        h = redisCommand(rc, "HMGET dcmp:event:%s level state plan", r->element[k]->str);
        if (h && h->type == REDIS_REPLY_ARRAY && h->elements == 3 &&
            h->element[0]->type == REDIS_REPLY_STRING && strcmp(h->element[0]->str, level) == 0 &&
            h->element[1]->type == REDIS_REPLY_STRING &&
            strcmp(h->element[1]->str, "planned") == 0 &&
            h->element[2]->type == REDIS_REPLY_STRING) {
            plan = cJSON_Parse(h->element[2]->str);
            cJSON_ArrayForEach(j, cJSON_GetObjectItem(plan, "jobs"))
            {
                const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(j, "jobName"));
                if (name && strcmp(name, job) == 0 && n < max) {
                    counts[n] = cJSON_GetArraySize(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(plan, level), "series"));
                    snprintf(ids[n], DCMP_ID_LEN, "%s",
                             cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
                    n++;
                }
            }
            cJSON_Delete(plan);
        }
        if (h)
            freeReplyObject(h);
    }
    if (r)
        freeReplyObject(r);
    return n;
}

static int study_versions(redisContext *rc, const char *job, int *counts, char ids[][DCMP_ID_LEN],
                          int max)
{
    return level_versions(rc, "study", job, counts, ids, max);
}

/* Waits (up to 90 s) for a planned version of `level` of `job` with `want` series; returns the
 * number of its versions then (counts, ids filled). */
static int wait_level_version(redisContext *rc, const char *level, const char *job, int want,
                              int *counts, char ids[][DCMP_ID_LEN], int max)
{
    int i, k, n = 0;

    for (i = 0; i < 1800; i++) {
        n = level_versions(rc, level, job, counts, ids, max);
        for (k = 0; k < n; k++)
            if (counts[k] == want)
                return n;
        nap_ms(50);
    }
    return n;
}

static int wait_study_version(redisContext *rc, const char *job, int want, int *counts,
                              char ids[][DCMP_ID_LEN], int max)
{
    return wait_level_version(rc, "study", job, want, counts, ids, max);
}

/* Checks the series list of a job's headers: each a link under DATA to the series' five files.
 * Returns how many. */
static int check_series_links(fixture *f, const cJSON *list)
{
    const cJSON *s;
    int n = 0;

    cJSON_ArrayForEach(s, list)
    {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(s, "dcmpath"));
        char path[PATH_MAX + 256];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", f->data, p ? p : "?");
        CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
        CHECK(count_entries(path, "", ".dcm") == NSLICES);
        n++;
    }
    return n;
}

/* The study job `id` ran (testmods.record) and received the study: `want` series in its
 * headers, each a link under DATA to the series' five files. */
static void check_study_job(fixture *f, const char *id, int want)
{
    dcmp_job job;
    cJSON *kw = NULL;
    const cJSON *s;
    int n;

    CHECK(fixture_wait_state(f, id, "finished", 30000) == 0);
    CHECK(dcmp_queue_job(f->q, id, &job) == 1);
    kw = cJSON_Parse(job.kwargs ? job.kwargs : "");
    s = cJSON_GetObjectItem(kw, "headers");
    n = check_series_links(f, cJSON_GetObjectItem(s, "series"));
    CHECK(n == want);
    cJSON_Delete(kw);
    dcmp_job_clear(&job);
}

/* Sends synthetic series v (SeriesDescription desc) into the study, waits for a version of
 * entry `job` with `want` series, the last one, and checks its job. Returns the number of
 * versions of `job` (counts, ids[8] filled). */
static int send_then_version(fixture *f, redisContext *rc, int v, const char *desc, const char *job,
                             int want, int *counts, char ids[][DCMP_ID_LEN])
{
    int n;

    CHECK(send_as(v, desc) == 0);
    n = wait_study_version(rc, job, want, counts, ids, 8);
    CHECK(n >= 1 && counts[n - 1] == want);
    if (n >= 1)
        check_study_job(f, ids[n - 1], want);
    return n;
}

/* Orthanc's id of the parent `key` ("ParentStudy", "ParentPatient") of the resource at path,
 * into the path of that parent under `under` ("/studies", "/patients"). Returns 0, or -1. */
static int parent_path(const char *key, const char *under, char *path, size_t size)
{
    char err[DCMP_ERR_LEN];
    const char *id;
    cJSON *info = NULL;
    int rc = -1;

    if (dcmp_orthanc_get_json(o, path, &info, err) == 0 &&
        (id = cJSON_GetStringValue(cJSON_GetObjectItem(info, key))) != NULL) {
        snprintf(path, size, "%s/%s", under, id);
        rc = 0;
    }
    cJSON_Delete(info);
    return rc;
}

/* Waits (up to 60 s) until Orthanc calls the study (patient > 0: the patient) of synthetic
 * series `v` stable. Returns 0, or -1. */
static int wait_stable(int v, int patient)
{
    char uid[128], sid[DCMP_ORTHANC_ID_LEN], path[160], err[DCMP_ERR_LEN];
    cJSON *info = NULL;
    int i, stable = 0;

    variant_uid(v, uid, sizeof uid);
    series_by_uid(uid, sid);
    snprintf(path, sizeof path, "/series/%s", sid);
    if (sid[0] == '\0' || parent_path("ParentStudy", "/studies", path, sizeof path) < 0 ||
        (patient && parent_path("ParentPatient", "/patients", path, sizeof path) < 0))
        return -1;
    for (i = 0; i < 1200 && !stable; i++) {
        info = NULL;
        if (dcmp_orthanc_get_json(o, path, &info, err) == 0)
            stable = cJSON_IsTrue(cJSON_GetObjectItem(info, "IsStable"));
        cJSON_Delete(info);
        if (!stable)
            nap_ms(50);
    }
    return stable ? 0 : -1;
}

/* Orthanc restarted with StableAge age, a Redis (f), a registry folder `name` holding the test
 * callbacks (and base's, base.so, when base: MODULES then holds the test modules and base's)
 * and settings `settings`, a worker and the scheduler (*sched, STABLE_AGE 1 s).
 * Returns 0, or -1 (checked already). */
static int level_start(fixture *f, int age, const char *name, const char *settings, int base,
                       pid_t *sched)
{
    const char *svcs = getenv("DCMP_SERVICES_DIR");
    char path[PATH_MAX + 64], src[PATH_MAX];

    CHECK(stop_orthanc() == 0);
    stable_age = age;
    if ((base && svcs == NULL) || start_orthanc() < 0 || fixture_start(f) < 0) {
        CHECK(!"Orthanc and a Redis (and DCMP_SERVICES_DIR)");
        return -1;
    }
    skip_old_changes(f);
    if (base) { /* MODULES: the test modules and base's */
        snprintf(path, sizeof path, "%s/mods", dir);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/mods/testmods.so", dir);
        snprintf(src, sizeof src, "%s/testmods.so", getenv("DCMP_TEST_MODULES"));
        CHECK(symlink(src, path) == 0 || errno == EEXIST);
        snprintf(path, sizeof path, "%s/mods/base", dir);
        snprintf(src, sizeof src, "%s/base/module", svcs);
        CHECK(symlink(src, path) == 0 || errno == EEXIST);
        static char mods[PATH_MAX + 64]; /* f->modules borrows it for the test's workers */
        snprintf(mods, sizeof mods, "%s/mods", dir);
        f->modules = mods;
    }
    snprintf(path, sizeof path, "%s/registry/%s", dir, name);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/registry/%s/cb.so", dir, name);
    snprintf(src, sizeof src, "%s/testcb.so", getenv("DCMP_TEST_MODULES"));
    CHECK(symlink(src, path) == 0);
    if (base) {
        snprintf(path, sizeof path, "%s/registry/%s/base.so", dir, name);
        snprintf(src, sizeof src, "%s/base/registry/base.so", svcs);
        CHECK(symlink(src, path) == 0);
    }
    snprintf(path, sizeof path, "%s/registry/%s/settings.json", dir, name);
    CHECK(write_text(path, settings) == 0);
    fixture_worker(f, "default", NULL);
    *sched = start_sched(f, "STABLE_AGE=1", NULL);
    CHECK(*sched > 0);
    wait_sched_up();
    return 0;
}

/* Undoes level_start's registry folder `name` and stops the scheduler. */
static void level_end(fixture *f, pid_t sched, const char *name)
{
    static const char *const files[] = {"settings.json", "cb.so", "base.so"};
    char path[PATH_MAX + 64];
    size_t i;

    for (i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/registry/%s/%s", dir, name, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/registry/%s", dir, name);
    rmdir(path);
    end_sched(f, sched);
}

/* A study-level service end to end: three series of one study sent one after another with
 * pauses shorter than Orthanc's StableAge; "pair" (requires T1 and T2) is planned with those
 * two before the third is sent; "whole" (no requires) once Orthanc calls the study stable,
 * with all three; a fourth series sent later plans both again (rerun new-series) with four;
 * no content is planned twice (webhook, catch-up and the study thread all see the study); a
 * fifth series and the study's stability while the scheduler is stopped are caught up once it
 * starts again. */
static void test_study_events(void)
{
    static const char *const descs[] = {"AX T1", "AX T2", "FLAIR", "DWI"};
    char ids[8][DCMP_ID_LEN];
    int counts[8], n, k;
    redisContext *rc;
    pid_t sched;
    fixture f;

    /* StableAge longer than the pauses between the series, and than planning "pair" */
    if (level_start(&f, 10, "st",
                    "[{\"jobName\":\"whole\",\"worker\":\"testmods.record\","
                    "\"callback\":\"st.cb.yes\",\"trigger\":\"study\"},"
                    "{\"jobName\":\"pair\",\"worker\":\"testmods.record\","
                    "\"callback\":\"st.cb.yes\",\"trigger\":\"study\","
                    "\"requires\":[{\"SeriesDescription\":\"*t1*\"},"
                    "{\"SeriesDescription\":\"*T2*\"}]}]",
                    0, &sched) < 0)
        return;
    rc = redisConnect("127.0.0.1", f.port);
    study_of = 20;
    for (k = 0; k < 2; k++) {
        CHECK(send_as(20 + k, descs[k]) == 0);
        nap_ms(1000);
    }
    /* "pair" needs T1 and T2 only: planned with those two, before the third is sent */
    n = wait_study_version(rc, "pair", 2, counts, ids, 8);
    CHECK(n == 1 && counts[0] == 2);
    if (n == 1)
        check_study_job(&f, ids[0], 2);
    /* "whole" once Orthanc calls the study stable: all three series */
    n = send_then_version(&f, rc, 22, descs[2], "whole", 3, counts, ids);
    CHECK(n >= 1);
    /* a fourth series, later: "pair" planned again with four (rerun new-series: its
     * requires are met), and "whole" once the study is stable again: from Orthanc's
     * StableStudy, or from the study thread asking Orthanc itself once the fourth series has
     * been quiet for STABLE_AGE (two CI runs saw no StableStudy come for it) */
    n = send_then_version(&f, rc, 23, descs[3], "pair", 4, counts, ids);
    CHECK(n >= 2 && counts[0] == 2 && counts[n - 1] == 4);
    n = wait_study_version(rc, "whole", 4, counts, ids, 8);
    CHECK(n >= 2 && counts[n - 1] == 4);
    if (n >= 2)
        check_study_job(&f, ids[n - 1], 4);
    n = study_versions(rc, "pair", counts, ids, 8);
    /* never the same content twice: each version holds more series than the one before */
    for (k = 1; k < n; k++)
        CHECK(counts[k] > counts[k - 1]);
    n = study_versions(rc, "whole", counts, ids, 8);
    for (k = 1; k < n; k++)
        CHECK(counts[k] > counts[k - 1]);
    /* the scheduler stopped while a fifth series arrives and the study becomes stable: once
     * started, the catch-up finds StableSeries and StableStudy, and "whole" is planned once */
    kill(sched, SIGTERM);
    waitpid(sched, NULL, 0);
    CHECK(send_as(24, "ADC") == 0);
    CHECK(wait_stable(24, 0) == 0);
    sched = start_sched(&f, "STABLE_AGE=1", NULL);
    CHECK(sched > 0);
    n = wait_study_version(rc, "pair", 5, counts, ids, 8);
    CHECK(n >= 3 && counts[n - 1] == 5);
    n = wait_study_version(rc, "whole", 5, counts, ids, 8);
    CHECK(n >= 2 && counts[n - 1] == 5);
    if (n >= 3)
        check_study_job(&f, ids[n - 1], 5);
    for (k = 1; k < n; k++)
        CHECK(counts[k] > counts[k - 1]);
    redisFree(rc);
    study_of = -1;
    description = "";
    level_end(&f, sched, "st");
}

/* A patient-level service end to end: two studies of one patient sent with storescu; Orthanc's
 * StablePatient (or the study thread asking) plans "patient" once, with both studies, each
 * with its series, in folders of links one level deeper than a study's; a third study sent
 * while the scheduler is stopped is caught up once it starts. */
static void test_patient_events(void)
{
    char ids[8][DCMP_ID_LEN];
    const cJSON *studies, *st;
    int counts[8], n, k, nseries = 0;
    redisContext *rc;
    dcmp_job job;
    cJSON *kw;
    pid_t sched;
    fixture f;

    /* StableAge 2 s: the two studies are sent within it, one StablePatient for both */
    if (level_start(&f, 2, "pt",
                    "[{\"jobName\":\"patient\",\"worker\":\"testmods.record\","
                    "\"callback\":\"pt.cb.yes\",\"trigger\":\"patient\"}]",
                    0, &sched) < 0)
        return;
    rc = redisConnect("127.0.0.1", f.port);
    patient_tag = "-P";
    for (k = 0; k < 2; k++) {
        study_of = 30 + k; /* a study each */
        CHECK(send_as(30 + k, k ? "CT BRAIN" : "CT CHEST") == 0);
    }
    n = wait_level_version(rc, "patient", "patient", 2, counts, ids, 8);
    /* one version, unless Orthanc called the patient stable between the two studies */
    CHECK(n >= 1 && n <= 2 && counts[n - 1] == 2);
    if (n >= 1) {
        CHECK(fixture_wait_state(&f, ids[n - 1], "finished", 30000) == 0);
        CHECK(dcmp_queue_job(f.q, ids[n - 1], &job) == 1);
        kw = cJSON_Parse(job.kwargs ? job.kwargs : "");
        studies = cJSON_GetObjectItem(cJSON_GetObjectItem(kw, "headers"), "studies");
        CHECK(cJSON_GetArraySize(studies) == 2);
        cJSON_ArrayForEach(st, studies)
        {
            const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(st, "dcmpath"));
            CHECK(p && strncmp(p, "patients/", 9) == 0);
            nseries += check_series_links(&f, cJSON_GetObjectItem(st, "series"));
        }
        CHECK(nseries == 2);
        cJSON_Delete(kw);
        dcmp_job_clear(&job);
    }
    /* a third study while the scheduler is stopped, the patient stable again: once started,
     * the catch-up (StableSeries, StablePatient) plans the patient once more, with three */
    kill(sched, SIGTERM);
    waitpid(sched, NULL, 0);
    study_of = 32;
    CHECK(send_as(32, "CT ABDOMEN") == 0);
    CHECK(wait_stable(32, 1) == 0);
    sched = start_sched(&f, "STABLE_AGE=1", NULL);
    CHECK(sched > 0);
    k = n;
    n = wait_level_version(rc, "patient", "patient", 3, counts, ids, 8);
    CHECK(n == k + 1 && counts[n - 1] == 3);
    redisFree(rc);
    study_of = -1;
    patient_tag = description = "";
    level_end(&f, sched, "pt");
}

/* The systemCleaner job of the series event whose dcmpath is dicom/<sid>, once it ended:
 * 1 when it finished leaving that folder in place as held, 0 otherwise (waits up to 60 s). */
static int cleaner_held(fixture *f, redisContext *rc, const char *sid)
{
    char want[160], cleaner[DCMP_ID_LEN] = "";
    dcmp_job job;
    int i, held;

    snprintf(want, sizeof want, "\"dcmpath\":\"dicom/%s\"", sid);
    for (i = 0; i < 1200 && !cleaner[0]; i++) {
        redisReply *r = redisCommand(rc, "ZRANGE dcmp:events 0 -1");
        size_t k;
        for (k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
            redisReply *h = redisCommand(rc, "HGET dcmp:event:%s plan", r->element[k]->str);
            if (h && h->type == REDIS_REPLY_STRING && strstr(h->str, want)) {
                cJSON *plan = cJSON_Parse(h->str);
                const cJSON *j;
                cJSON_ArrayForEach(j, cJSON_GetObjectItem(plan, "jobs"))
                {
                    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(j, "jobName"));
                    if (name && strcmp(name, "systemCleaner") == 0)
                        snprintf(cleaner, sizeof cleaner, "%s",
                                 cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
                }
                cJSON_Delete(plan);
            }
            if (h)
                freeReplyObject(h);
        }
        if (r)
            freeReplyObject(r);
        if (!cleaner[0])
            nap_ms(50);
    }
    if (!cleaner[0] || fixture_wait_state(f, cleaner, "finished", 60000) != 0 ||
        dcmp_queue_job(f->q, cleaner, &job) != 1)
        return 0;
    snprintf(want, sizeof want, "left in place: dicom/%s", sid);
    held = strstr(job.log, want) != NULL && strstr(job.result, "\"held\":1") != NULL;
    dcmp_job_clear(&job);
    return held;
}

/* Waits (up to 60 s) until DATA/<rel> is gone; returns 0, or -1. */
static int wait_gone(const fixture *f, const char *rel)
{
    char path[PATH_MAX + 256];
    struct stat st;
    int i;

    snprintf(path, sizeof path, "%s/%s", f->data, rel);
    for (i = 0; i < 1200; i++) {
        if (lstat(path, &st) != 0)
            return 0;
        nap_ms(50);
    }
    return -1;
}

/* Waits (up to 90 s) for an event of `level` that failed with an error holding `part`;
 * returns 1 when one came, else 0. */
static int wait_level_error(redisContext *rc, const char *level, const char *part)
{
    int i, found = 0;

    for (i = 0; i < 1800 && !found; i++) {
        redisReply *r = redisCommand(rc, "ZRANGE dcmp:events 0 -1");
        size_t k;
        for (k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements && !found; k++) {
            redisReply *h =
                redisCommand(rc, "HMGET dcmp:event:%s level state error", r->element[k]->str);
            found = h && h->type == REDIS_REPLY_ARRAY && h->elements == 3 &&
                    h->element[0]->type == REDIS_REPLY_STRING &&
                    strcmp(h->element[0]->str, level) == 0 &&
                    h->element[1]->type == REDIS_REPLY_STRING &&
                    strcmp(h->element[1]->str, "failed") == 0 &&
                    h->element[2]->type == REDIS_REPLY_STRING && strstr(h->element[2]->str, part);
            if (h)
                freeReplyObject(h);
        }
        if (r)
            freeReplyObject(r);
        if (!found)
            nap_ms(50);
    }
    return found;
}

/* Sends synthetic series v (SeriesDescription desc), its Orthanc id into sid, and checks that
 * its cleaner held its folder. */
static void send_held(fixture *f, redisContext *rc, int v, const char *desc,
                      char sid[DCMP_ORTHANC_ID_LEN])
{
    char uid[128];

    CHECK(send_as(v, desc) == 0);
    variant_uid(v, uid, sizeof uid);
    series_by_uid(uid, sid);
    CHECK(sid[0] && cleaner_held(f, rc, sid));
}

/* Keeping files from the cleaner: base's systemcleaner runs in every series pipeline (its
 * files injected `deleted` by base's dicomAnonymizer callback), and a study entry still gets
 * each series' files, held (DATA/.holds) until its job ended and its rerun window (15 s)
 * passed: a late series within it plans the study again with every series' files; after it
 * the scheduler removes them and the study folder, and a later series' version is dropped
 * because its study's files are gone. A patient entry with rerun "never" beside it holds the
 * same folders and releases them once its job ended. */
static void test_study_hold(void)
{
    char ids[8][DCMP_ID_LEN], rel[160];
    char sids[4][DCMP_ORTHANC_ID_LEN], uid[128], study[80] = "", patient[80] = "";
    int counts[8], n, k;
    redisContext *rc;
    pid_t sched;
    fixture f;

    /* the system settings: base's systemcleaner after every series pipeline */
    snprintf(rel, sizeof rel, "%s/settings.json", dir);
    CHECK(write_text(rel, "{\"headerFields\":[\"PatientID\",\"Modality\",\"SeriesDescription\","
                          "\"SeriesInstanceUID\",\"seriesId\",\"studyId\",\"dcmpath\"],"
                          "\"postServices\":[{\"jobName\":\"systemCleaner\","
                          "\"worker\":\"base.systemcleaner.worker\","
                          "\"callback\":\"sh.base.systemcleaner\"}]}") == 0);
    if (level_start(&f, 2, "sh",
                    "[{\"jobName\":\"anon\",\"worker\":\"testmods.record\","
                    "\"callback\":\"sh.base.dicomAnonymizer\"},"
                    "{\"jobName\":\"both\",\"worker\":\"testmods.record\","
                    "\"callback\":\"sh.cb.yes\",\"trigger\":\"study\",\"rerunWindow\":\"15s\","
                    "\"requires\":[{\"SeriesDescription\":\"*T1*\"},"
                    "{\"SeriesDescription\":\"*T2*\"}]},"
                    "{\"jobName\":\"pat\",\"worker\":\"testmods.record\","
                    "\"callback\":\"sh.cb.yes\",\"trigger\":\"patient\",\"rerun\":\"never\"}]",
                    1, &sched) < 0)
        return;
    rc = redisConnect("127.0.0.1", f.port);
    patient_tag = "-H"; /* a patient of its own */
    study_of = 40;
    for (k = 0; k < 2; k++) {
        CHECK(send_as(40 + k, k ? "AX T2" : "AX T1") == 0);
    }
    /* each series' cleaner ran before the study event, and held its folder */
    for (k = 0; k < 2; k++) {
        variant_uid(40 + k, uid, sizeof uid);
        series_by_uid(uid, sids[k]);
        CHECK(sids[k][0] && cleaner_held(&f, rc, sids[k]));
    }
    n = wait_study_version(rc, "both", 2, counts, ids, 8);
    CHECK(n == 1 && counts[0] == 2);
    if (n == 1) {
        dcmp_job job;
        check_study_job(&f, ids[0], 2); /* every series' five files, through the links */
        if (dcmp_queue_job(f.q, ids[0], &job) == 1) {
            cJSON *kw = cJSON_Parse(job.kwargs ? job.kwargs : "");
            const char *s = cJSON_GetStringValue(
                cJSON_GetObjectItem(cJSON_GetObjectItem(kw, "headers"), "studyId"));
            snprintf(study, sizeof study, "%s", s ? s : "");
            cJSON_Delete(kw);
            dcmp_job_clear(&job);
        }
    }
    /* the patient entry holds the same folders: planned with them too, whichever ran first
     * (the late series below is sent once it was, or Orthanc's StablePatient would come
     * with it) */
    n = wait_level_version(rc, "patient", "pat", 2, counts, ids, 8);
    CHECK(n == 1 && counts[0] == 2); /* both series were sent within Orthanc's StableAge */
    if (n == 1) {
        const cJSON *st;
        const char *pid;
        cJSON *kw;
        dcmp_job job;
        int nseries = 0;
        CHECK(fixture_wait_state(&f, ids[0], "finished", 60000) == 0);
        CHECK(dcmp_queue_job(f.q, ids[0], &job) == 1);
        kw = cJSON_Parse(job.kwargs ? job.kwargs : "");
        cJSON_ArrayForEach(st, cJSON_GetObjectItem(cJSON_GetObjectItem(kw, "headers"), "studies"))
            nseries += cJSON_GetArraySize(cJSON_GetObjectItem(st, "series"));
        CHECK(nseries == 2);
        pid = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(kw, "headers"), "patientId"));
        snprintf(patient, sizeof patient, "%s", pid ? pid : "");
        cJSON_Delete(kw);
        dcmp_job_clear(&job);
    }
    /* a late series within the window: the study planned again with all three series' files
     * (its cleaner held its folder, and the first two are still there) */
    send_held(&f, rc, 42, "FLAIR", sids[2]);
    n = wait_study_version(rc, "both", 3, counts, ids, 8);
    CHECK(n == 2 && counts[1] == 3);
    if (n == 2)
        check_study_job(&f, ids[1], 3);
    /* the jobs ended and the window passed: the held folders, their marks and the study's and
     * patient's folders are removed */
    CHECK(study[0] != '\0' && patient[0] != '\0');
    snprintf(rel, sizeof rel, "patients/%s", patient);
    CHECK(wait_gone(&f, rel) == 0);
    snprintf(rel, sizeof rel, "studies/%s", study);
    CHECK(wait_gone(&f, rel) == 0);
    for (k = 0; k < 3; k++) {
        snprintf(rel, sizeof rel, "dicom/%s", sids[k]);
        CHECK(wait_gone(&f, rel) == 0);
        snprintf(rel, sizeof rel, ".holds/dicom/%s", sids[k]);
        CHECK(wait_gone(&f, rel) == 0);
    }
    /* a series after the window: held by its cleaner, but the study's earlier files are gone:
     * its version is dropped, saying so, and not planned */
    send_held(&f, rc, 43, "AX PD", sids[3]);
    CHECK(wait_level_error(rc, "study", "files are gone"));
    n = study_versions(rc, "both", counts, ids, 8);
    CHECK(n == 2);
    redisFree(rc);
    study_of = -1;
    patient_tag = description = "";
    level_end(&f, sched, "sh");
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char err[DCMP_ERR_LEN] = "";
    long start = now_ms();
    int rc, attempt, started = -1;

    snprintf(dir, sizeof dir, "%s/dcmp-orthanc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(data, sizeof data, "%s/data", dir); /* created by the first fetch */
    /* Ports from bind(0) lie in the kernel's ephemeral range: one may be taken by another
     * connection before Orthanc binds it (seen in CI: "The TCP port of the HTTP server is ...
     * already in use"). Orthanc then exits at start: pick new ports, three times at most. */
    for (attempt = 0; attempt < 3; attempt++) {
        char p[16];

        http_port = fixture_free_port();
        do
            dicom_port = fixture_free_port();
        while (dicom_port == http_port);
        snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", http_port);
        do
            sched_port = fixture_free_port();
        while (sched_port == http_port || sched_port == dicom_port);
        snprintf(p, sizeof p, "%d", sched_port);
        setenv("SCHEDULER_PORT", p, 1); /* read by dcm-processor.lua inside Orthanc */
        setenv("SCHEDULER_HOST", "127.0.0.1", 1);
        setenv("MIN_INSTANCES", "4", 1);
        o = dcmp_orthanc_new(base_url, "test", "secret", err);
        if (o == NULL || (started = start_orthanc()) == 0)
            break;
        dcmp_orthanc_free(o);
        o = NULL;
    }
    CHECK(o != NULL);
    if (o == NULL || started < 0 || send_series() < 0) {
        CHECK(!"Orthanc and a series to fetch");
    } else {
        RUN(test_find_series);
        if (series[0]) {
            RUN(test_fetch);
            RUN(test_fetch_again);
            RUN(test_wrong_password);
            RUN(test_fails_mid_series);
            RUN(test_unknown_series);
            RUN(test_bad_id);
            RUN(test_changes);
            RUN(test_scheduler_catchup);
            RUN(test_forged_webhooks);
            RUN(test_dcmpath_checked);
            RUN(test_unstable_series);
            RUN(test_arrival_watch);
            RUN(test_study_events);
            RUN(test_patient_events);
            RUN(test_study_hold);
        }
    }
    if (orthanc > 0) {
        rc = stop_orthanc();
        CHECK(rc == 0); /* a clean shutdown */
    }
    dcmp_orthanc_free(o);
    fprintf(stderr, "took %ld ms\n", now_ms() - start);
    if (harness_failed || getenv("DCMP_TEST_KEEP")) {
        char log[PATH_MAX];
        snprintf(log, sizeof log, "%s/orthanc.log", dir);
        if (harness_failed)
            show_file("Orthanc log", log);
        fprintf(stderr, "kept %s\n", dir);
    } else {
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    return HARNESS_RESULT();
}
