/* main.c -- dcmp-dicom: the scheduler's helper for Orthanc and DICOM, started by it with
 * posix_spawn: fetches series from Orthanc's REST API (libcurl), reads DICOM headers (DCMTK)
 * and reads /changes, so that the scheduler itself links neither library, and a file that
 * crashes DCMTK ends this process, not the scheduler. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dcmp/service.h"
#include "dicom.h"
#include "executor.h"
#include "jsonw.h"
#include "orthanc.h"
#include "perms.h"
#include "pool.h"

#define REPORT_MAX  (15u << 20) /* a report must fit the pool's 16 MiB frame */
#define CHANGES_MAX 1000        /* rows of one /changes page */

/* The helper's state between requests: one Orthanc client, kept while its settings stay. */
typedef struct helper {
    const char *data_dir;
    dcmp_orthanc *orthanc;
    char url[DCMP_ORTHANC_BASE_MAX], user[DCMP_ORTHANC_CRED_MAX], pass[DCMP_ORTHANC_CRED_MAX];
} helper;

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* A report: {"status","error","result"}, result a JSON text (or ""). */
static char *report(int status, const char *error, const char *result)
{
    dcmp_jsonw w;
    char *text;

    dcmp_jsonw_init(&w, REPORT_MAX);
    dcmp_jsonw_lit(&w, "{\"status\":");
    dcmp_jsonw_int(&w, status);
    dcmp_jsonw_lit(&w, ",\"error\":");
    dcmp_jsonw_str(&w, error);
    dcmp_jsonw_lit(&w, ",\"result\":");
    dcmp_jsonw_str(&w, result);
    dcmp_jsonw_lit(&w, "}");
    if ((text = dcmp_jsonw_finish(&w)) == NULL) {
        /* only a result past the cap gets here: say so in a report that fits */
        dcmp_jsonw_init(&w, REPORT_MAX);
        dcmp_jsonw_lit(&w, "{\"status\":");
        dcmp_jsonw_int(&w, DCMP_ERROR);
        dcmp_jsonw_lit(&w, ",\"error\":\"the answer is larger than 15 MiB\",\"result\":\"\"}");
        text = dcmp_jsonw_finish(&w);
    }
    if (text == NULL)
        exit(70);
    return text;
}

/* A failure the scheduler may retry later (Orthanc down: DCMP_SKIP, the reason as the
 * result), or not (a series Orthanc does not have, a corrupt file: DCMP_ERROR). */
static char *failed(const char *why, int retry)
{
    return retry ? report(DCMP_SKIP, "", why) : report(DCMP_ERROR, why, "");
}

/* The client for the request's url/user/password: the one kept, or a new one. */
static dcmp_orthanc *client(helper *h, const cJSON *kw, char *err)
{
    const char *url = str(kw, "url"), *user = str(kw, "user"), *pass = str(kw, "password");

    if (h->orthanc && strcmp(h->url, url) == 0 && strcmp(h->user, user) == 0 &&
        strcmp(h->pass, pass) == 0)
        return h->orthanc;
    dcmp_orthanc_free(h->orthanc);
    h->orthanc = NULL;
    if (dcmp_strlcpy(h->url, url, sizeof h->url) < 0 ||
        dcmp_strlcpy(h->user, user, sizeof h->user) < 0 ||
        dcmp_strlcpy(h->pass, pass, sizeof h->pass) < 0) {
        dcmp_seterr(err, "Orthanc URL or credentials too long");
        return NULL;
    }
    return h->orthanc = dcmp_orthanc_new(url, user, pass, err);
}

/* check {url, user, password}: the settings as the Orthanc client takes them; no request. */
static char *check(helper *h, const cJSON *kw)
{
    char err[DCMP_ERR_LEN];

    return client(h, kw, err) ? report(DCMP_OK, "", "{}") : failed(err, 0);
}

/* fetch {series, url, user, password}: the series into DATA/dicom/<series>. Result
 * {"dcmpath","instances"}. */
static char *fetch(helper *h, const cJSON *kw)
{
    char err[DCMP_ERR_LEN], dcmpath[PATH_MAX], *out;
    dcmp_orthanc *o = client(h, kw, err);
    dcmp_jsonw w;
    int n = 0;

    if (o == NULL)
        return failed(err, 0);
    if (dcmp_orthanc_fetch_series(o, str(kw, "series"), h->data_dir, dcmpath, sizeof dcmpath, &n,
                                  err) < 0)
        /* a series Orthanc no longer has cannot come back; anything else may */
        return failed(err, strstr(err, "HTTP 404") == NULL);
    dcmp_jsonw_init(&w, PATH_MAX + 64);
    dcmp_jsonw_lit(&w, "{\"dcmpath\":");
    dcmp_jsonw_str(&w, dcmpath);
    dcmp_jsonw_lit(&w, ",\"instances\":");
    dcmp_jsonw_int(&w, n);
    dcmp_jsonw_lit(&w, "}");
    if ((out = dcmp_jsonw_finish(&w)) == NULL)
        return failed("out of memory", 1);
    {
        char *r = report(DCMP_OK, "", out);
        free(out);
        return r;
    }
}

/* Opens DATA/dcmpath as a folder, one component at a time, following no symbolic link (a
 * link anywhere below DATA, or a component "." or "..", is refused). Returns the descriptor,
 * or -1 with err. */
static int open_below_data(const helper *h, const char *dcmpath, char *err)
{
    char part[PATH_MAX];
    const char *p = dcmpath, *slash;
    struct stat st;
    int fd, next;

    if ((fd = open(h->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return dcmp_seterr(err, "DATA %s: %s", h->data_dir, strerror(errno));
    while (*p) {
        size_t n;
        slash = strchr(p, '/');
        n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n >= sizeof part || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.')) {
            close(fd);
            return dcmp_seterr(err, "dcmpath %s: not a plain relative path", dcmpath);
        }
        memcpy(part, p, n);
        part[n] = '\0';
        next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            /* a link gives ENOTDIR with O_DIRECTORY, ELOOP without: tell it by its type */
            int e = errno,
                link = fstatat(fd, part, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
            close(fd);
            return dcmp_seterr(err, "dcmpath %s: %s: %s", dcmpath, part,
                               link ? "a symbolic link (not followed)" : strerror(e));
        }
        close(fd);
        fd = next;
        p += n;
        while (*p == '/')
            p++;
    }
    return fd;
}

/* header {dcmpath[, seriesUid, instances]}: the header of the series folder DATA/dcmpath (its
 * first instance), reached without following a link. With seriesUid, the folder must hold
 * exactly the series' `instances` files (dcmp_dicom_series_check), else the request fails. */
static char *header(helper *h, const cJSON *kw)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(kw, "instances");
    const char *dcmpath = str(kw, "dcmpath"), *uid = str(kw, "seriesUid");
    char err[DCMP_ERR_LEN], dir[2 * PATH_MAX], *text, *r;
    cJSON *hd = NULL;
    int fd, rc;

    if (*dcmpath == '\0' || *dcmpath == '/')
        return failed("dcmpath: empty or absolute", 0);
    if ((fd = open_below_data(h, dcmpath, err)) < 0)
        return failed(err, 0);
    snprintf(dir, sizeof dir, "%s/%s", h->data_dir, dcmpath);
    if (*uid)
        rc = dcmp_dicom_series_check(fd, dir, uid, cJSON_IsNumber(n) ? (long)n->valuedouble : 0,
                                     &hd, err);
    else
        rc = dcmp_dicom_series_header(dir, &hd, err);
    close(fd);
    if (rc < 0)
        return failed(err, 0);
    text = cJSON_PrintUnformatted(hd);
    cJSON_Delete(hd);
    if (text == NULL)
        return failed("out of memory printing the header", 1);
    r = report(DCMP_OK, "", text);
    free(text);
    return r;
}

/* get {path, url, user, password}: Orthanc's JSON answer to GET path. */
static char *get(helper *h, const cJSON *kw)
{
    char err[DCMP_ERR_LEN], *text, *r;
    dcmp_orthanc *o = client(h, kw, err);
    cJSON *answer = NULL;

    if (o == NULL)
        return failed(err, 0);
    if (dcmp_orthanc_get_json(o, str(kw, "path"), &answer, err) < 0)
        return failed(err, strstr(err, "HTTP 404") == NULL);
    text = cJSON_PrintUnformatted(answer);
    cJSON_Delete(answer);
    if (text == NULL)
        return failed("out of memory", 1);
    r = report(DCMP_OK, "", text);
    free(text);
    return r;
}

/* text {path, url, user, password}: Orthanc's answer to GET path as text (/tools/now). */
static char *text(helper *h, const cJSON *kw)
{
    char err[DCMP_ERR_LEN], *body, *r;
    dcmp_orthanc *o = client(h, kw, err);
    size_t len;

    if (o == NULL)
        return failed(err, 0);
    if (dcmp_orthanc_get_text(o, str(kw, "path"), &body, &len, err) < 0)
        return failed(err, strstr(err, "HTTP 404") == NULL);
    r = report(DCMP_OK, "", body);
    free(body);
    return r;
}

/* changes {since, limit, url, user, password}: one page of /changes, checked. Result
 * {"changes":[[type, id, seq]...],"last","done"}. */
static char *changes(helper *h, const cJSON *kw)
{
    static dcmp_orthanc_change rows[CHANGES_MAX];
    const cJSON *since = cJSON_GetObjectItemCaseSensitive(kw, "since");
    const cJSON *limit = cJSON_GetObjectItemCaseSensitive(kw, "limit");
    char err[DCMP_ERR_LEN], *text, *r;
    dcmp_orthanc *o = client(h, kw, err);
    int64_t last = 0;
    int n = 0, done = 0, i, lim;
    dcmp_jsonw w;

    if (o == NULL)
        return failed(err, 0);
    if (!cJSON_IsNumber(since) || !cJSON_IsNumber(limit))
        return failed("changes: since and limit must be numbers", 0);
    lim = limit->valuedouble < 1             ? 1
          : limit->valuedouble > CHANGES_MAX ? CHANGES_MAX
                                             : (int)limit->valuedouble;
    if (dcmp_orthanc_changes(o, (int64_t)since->valuedouble, lim, rows, CHANGES_MAX, &n, &last,
                             &done, err) < 0)
        return failed(err, 1);
    dcmp_jsonw_init(&w, REPORT_MAX / 2);
    dcmp_jsonw_lit(&w, "{\"changes\":[");
    for (i = 0; i < n; i++) {
        dcmp_jsonw_lit(&w, i ? ",[" : "[");
        dcmp_jsonw_str(&w, rows[i].type);
        dcmp_jsonw_lit(&w, ",");
        dcmp_jsonw_str(&w, rows[i].id);
        dcmp_jsonw_lit(&w, ",");
        dcmp_jsonw_int(&w, rows[i].seq);
        dcmp_jsonw_lit(&w, "]");
    }
    dcmp_jsonw_lit(&w, "],\"last\":");
    dcmp_jsonw_int(&w, last);
    dcmp_jsonw_lit(&w, done ? ",\"done\":true}" : ",\"done\":false}");
    if ((text = dcmp_jsonw_finish(&w)) == NULL)
        return failed("out of memory", 1);
    r = report(DCMP_OK, "", text);
    free(text);
    return r;
}

/* The request table: job->func names the request, job->kwargs holds its arguments. */
static const struct {
    const char *name;
    char *(*run)(helper *h, const cJSON *kw);
} requests[] = {{"check", check}, {"fetch", fetch}, {"header", header},
                {"get", get},     {"text", text},   {"changes", changes}};

static char *handle(const dcmp_job *job, void *arg)
{
    helper *h = arg;
    cJSON *kw = cJSON_Parse(job->kwargs);
    char *out = NULL;
    size_t i;

    if (!cJSON_IsObject(kw)) {
        cJSON_Delete(kw);
        return failed("the request is not a JSON object", 0);
    }
    for (i = 0; i < sizeof requests / sizeof requests[0] && out == NULL; i++)
        if (strcmp(job->func, requests[i].name) == 0)
            out = requests[i].run(h, kw);
    cJSON_Delete(kw);
    return out ? out : failed("unknown request", 0);
}

int main(int argc, char **argv)
{
    static helper h;

    if (argc != 3 || fcntl(3, F_GETFD) < 0 || fcntl(4, F_GETFD) < 0) {
        fprintf(stderr, "usage: dcmp-dicom - DATA_DIR\n"
                        "Fetches series from Orthanc and reads DICOM headers for\n"
                        "dcmp-scheduler, which starts it; it is not run by hand.\n");
        return 2;
    }
    /* patient data and secrets: everything this program creates is its user's alone */
    dcmp_perms_owner_only();
    /* every signal at its default (as dcmp-executor): a crash ends this process by its
     * signal, which the scheduler reports */
    dcmp_executor_child_setup();
    h.data_dir = argv[2];
    dcmp_pool_serve(handle, &h);
}
