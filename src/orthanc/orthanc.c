/* orthanc.c -- Orthanc REST client: JSON GETs, series download into DATA/dicom, /changes. */
#include "orthanc.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRBODY_MAX  4096 /* the start of an error answer, kept for its "Message" */
#define DETAIL_MAX   160  /* Orthanc's message as quoted in ours */
#define RESOURCE_MAX 128  /* "/series/<id>/ordered-slices" and the like */

struct dcmp_orthanc {
    char base[DCMP_ORTHANC_BASE_MAX]; /* without a trailing '/' */
    char user[DCMP_ORTHANC_CRED_MAX];
    char password[DCMP_ORTHANC_CRED_MAX];
    long connect_ms, total_ms;
    CURL *curl; /* reused: curl_easy_reset keeps its live connections */
    char curlerr[CURL_ERROR_SIZE];
};

/* Where one answer goes: a growing buffer (fd < 0) or a file, with a cap either way. */
typedef struct sink {
    CURL *curl;
    int fd;
    const char *file; /* fd's name, for messages */
    char *buf;        /* memory answer, NUL-terminated; owned by the caller once set */
    size_t alloc;
    int64_t written, max;
    int too_big, io_errno, status_known;
    long status;
    char errbody[ERRBODY_MAX]; /* the start of an answer outside 2xx */
    size_t errlen;
} sink;

int dcmp_orthanc_id_ok(const char *id)
{
    size_t n;

    if (id == NULL || (n = strlen(id)) == 0 || n > DCMP_ORTHANC_ID_MAX)
        return 0;
    for (; *id; id++)
        if (!((*id >= '0' && *id <= '9') || (*id >= 'a' && *id <= 'z') ||
              (*id >= 'A' && *id <= 'Z') || *id == '-'))
            return 0;
    return 1;
}

/* A character we let into a URL we build: printable ASCII that needs no quoting here. */
static int url_char_ok(char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '#';
}

dcmp_orthanc *dcmp_orthanc_new(const char *url, const char *user, const char *password, char *err)
{
    const char *host, *p;
    dcmp_orthanc *o;
    size_t len;

    if (url == NULL || *url == '\0') {
        dcmp_seterr(err, "Orthanc URL is empty");
        return NULL;
    }
    if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else {
        dcmp_seterr(err, "Orthanc URL \"%.100s\" must start with http:// or https://", url);
        return NULL;
    }
    len = strlen(url);
    if (len >= DCMP_ORTHANC_BASE_MAX) {
        dcmp_seterr(err, "Orthanc URL \"%.100s...\" is longer than %d bytes", url,
                    DCMP_ORTHANC_BASE_MAX - 1);
        return NULL;
    }
    for (p = url; *p; p++)
        if (!url_char_ok(*p) || *p == '?') {
            dcmp_seterr(err, "Orthanc URL \"%.100s\": character %zu is not allowed", url,
                        (size_t)(p - url) + 1);
            return NULL;
        }
    if (*host == '\0' || *host == '/') {
        dcmp_seterr(err, "Orthanc URL \"%.100s\" has no host", url);
        return NULL;
    }
    for (p = host; *p && *p != '/'; p++)
        if (*p == '@') {
            /* credentials would show in every message naming a URL */
            dcmp_seterr(err, "Orthanc URL must not hold credentials: give the username and "
                             "password separately");
            return NULL;
        }
    if (user && strlen(user) >= DCMP_ORTHANC_CRED_MAX) {
        dcmp_seterr(err, "Orthanc username is longer than %d bytes", DCMP_ORTHANC_CRED_MAX - 1);
        return NULL;
    }
    if (user && strchr(user, ':')) {
        dcmp_seterr(err, "Orthanc username must not contain ':' (basic auth)");
        return NULL;
    }
    if (password && strlen(password) >= DCMP_ORTHANC_CRED_MAX) {
        dcmp_seterr(err, "Orthanc password is longer than %d bytes", DCMP_ORTHANC_CRED_MAX - 1);
        return NULL;
    }
    if ((o = calloc(1, sizeof *o)) == NULL) {
        dcmp_seterr(err, "out of memory (%zu bytes)", sizeof *o);
        return NULL;
    }
    memcpy(o->base, url, len + 1);
    while (len > 0 && o->base[len - 1] == '/')
        o->base[--len] = '\0';
    if (user)
        dcmp_strlcpy(o->user, user, sizeof o->user);
    if (password)
        dcmp_strlcpy(o->password, password, sizeof o->password);
    o->connect_ms = DCMP_ORTHANC_CONNECT_MS;
    o->total_ms = DCMP_ORTHANC_TIMEOUT_MS;
    /* reference-counted; thread-safe in the libcurl of Debian 12 (7.88) */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(o);
        dcmp_seterr(err, "libcurl cannot be initialised");
        return NULL;
    }
    if ((o->curl = curl_easy_init()) == NULL) {
        curl_global_cleanup();
        free(o);
        dcmp_seterr(err, "libcurl cannot create a handle");
        return NULL;
    }
    return o;
}

void dcmp_orthanc_free(dcmp_orthanc *o)
{
    if (o == NULL)
        return;
    curl_easy_cleanup(o->curl);
    explicit_bzero(o->password, sizeof o->password);
    free(o);
    curl_global_cleanup();
}

void dcmp_orthanc_set_timeouts(dcmp_orthanc *o, long connect_ms, long total_ms)
{
    if (connect_ms > 0)
        o->connect_ms = connect_ms;
    if (total_ms > 0)
        o->total_ms = total_ms;
}

int dcmp_orthanc_url(const dcmp_orthanc *o, const char *path, char *dst, size_t size, char *err)
{
    const char *p;
    int n;

    if (path == NULL || path[0] != '/')
        return dcmp_seterr(err, "Orthanc path \"%.80s\" must start with '/'", path ? path : "");
    for (p = path; *p; p++)
        if (!url_char_ok(*p))
            return dcmp_seterr(err, "Orthanc path \"%.80s\": character %zu is not allowed", path,
                               (size_t)(p - path) + 1);
    n = snprintf(dst, size, "%s%s", o->base, path);
    if (n < 0 || (size_t)n >= size)
        return dcmp_seterr(err, "URL of Orthanc path \"%.80s\" is longer than %zu bytes", path,
                           size ? size - 1 : 0);
    return 0;
}

static size_t sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
    sink *s = arg;
    size_t k = size * nmemb, room, want;

    if (!s->status_known) {
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
        s->status_known = 1;
    }
    if (s->status < 200 || s->status >= 300) {
        /* an error answer never reaches the file or the JSON buffer */
        room = sizeof s->errbody - 1 - s->errlen;
        memcpy(s->errbody + s->errlen, p, k < room ? k : room);
        s->errlen += k < room ? k : room;
        s->errbody[s->errlen] = '\0';
        return k;
    }
    if ((int64_t)k > s->max - s->written) {
        s->too_big = 1;
        return 0;
    }
    if (s->fd >= 0) {
        size_t done = 0;
        while (done < k) {
            ssize_t w = write(s->fd, p + done, k - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                s->io_errno = w < 0 ? errno : EIO;
                return 0;
            }
            done += (size_t)w;
        }
    } else {
        want = (size_t)s->written + k + 1;
        if (want > s->alloc) {
            size_t grow = s->alloc ? s->alloc * 2 : 65536;
            char *nb;
            if (grow < want)
                grow = want;
            if (grow > (size_t)s->max + 1)
                grow = (size_t)s->max + 1;
            if ((nb = realloc(s->buf, grow)) == NULL) {
                s->io_errno = ENOMEM;
                return 0;
            }
            s->buf = nb;
            s->alloc = grow;
        }
        memcpy(s->buf + s->written, p, k);
        s->buf[s->written + (int64_t)k] = '\0';
    }
    s->written += (int64_t)k;
    return k;
}

/* Orthanc's own words from an error answer ({"Message": ...}), as " (words)", or "". */
static void error_detail(const sink *s, char *out, size_t size)
{
    cJSON *root = s->errlen ? cJSON_ParseWithLength(s->errbody, s->errlen) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "Message");
    size_t i, j = 0;

    out[0] = '\0';
    if (cJSON_IsString(m) && m->valuestring[0] && size > 4) {
        out[j++] = ' ';
        out[j++] = '(';
        for (i = 0; m->valuestring[i] && j + 2 < size && i < DETAIL_MAX; i++) {
            unsigned char c = (unsigned char)m->valuestring[i];
            out[j++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
        out[j++] = ')';
        out[j] = '\0';
    }
    cJSON_Delete(root);
}

/*
 * GET path into s (prepared by the caller: fd, file, max). Writes the URL into url[].
 * Returns 0 on a complete 2xx answer, else -1 with err naming the URL.
 */
static int request(dcmp_orthanc *o, const char *path, sink *s, char *url, size_t urlsize, char *err)
{
    char detail[DETAIL_MAX + 8];
    CURL *c = o->curl;
    CURLcode rc;
    long status = 0;

    if (dcmp_orthanc_url(o, path, url, urlsize, err) < 0)
        return -1;
    curl_easy_reset(c);
    s->curl = c;
    o->curlerr[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, o->curlerr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->total_ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "dcm-processor");
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (s->fd < 0) /* JSON compresses well; the cap applies to the decoded bytes */
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (o->user[0]) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, o->password);
    }
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (s->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return dcmp_seterr(err, "GET %s: answer larger than %" PRId64 " bytes", url, s->max);
    if (s->io_errno)
        return dcmp_seterr(err, "GET %s: %s%s%s%s", url, s->file ? "writing " : "",
                           s->file ? s->file : "", s->file ? ": " : "", strerror(s->io_errno));
    if (status != 0 && (status < 200 || status >= 300)) {
        s->status = status;
        error_detail(s, detail, sizeof detail);
        return dcmp_seterr(err, "GET %s: HTTP %ld%s", url, status, detail);
    }
    if (rc != CURLE_OK)
        return dcmp_seterr(err, "GET %s: %s", url,
                           o->curlerr[0] ? o->curlerr : curl_easy_strerror(rc));
    return 0;
}

/* GET path into a new NUL-terminated buffer (*out, free with free()) of *len bytes. */
static int get_raw(dcmp_orthanc *o, const char *path, char **out, size_t *len, char *url,
                   size_t urlsize, char *err)
{
    sink s;

    memset(&s, 0, sizeof s);
    s.fd = -1;
    s.max = (int64_t)DCMP_ORTHANC_JSON_MAX;
    *out = NULL;
    *len = 0;
    if (request(o, path, &s, url, urlsize, err) < 0) {
        free(s.buf);
        return -1;
    }
    if (s.buf == NULL && (s.buf = calloc(1, 1)) == NULL)
        return dcmp_seterr(err, "GET %s: out of memory", url);
    *out = s.buf;
    *len = (size_t)s.written;
    return 0;
}

int dcmp_orthanc_get_text(dcmp_orthanc *o, const char *path, char **text, size_t *len, char *err)
{
    char url[DCMP_ORTHANC_URL_MAX];

    *text = NULL;
    *len = 0;
    return get_raw(o, path, text, len, url, sizeof url, err);
}

int dcmp_orthanc_get_json(dcmp_orthanc *o, const char *path, cJSON **out, char *err)
{
    char url[DCMP_ORTHANC_URL_MAX], *buf;
    const char *end = NULL;
    size_t len;

    *out = NULL;
    if (get_raw(o, path, &buf, &len, url, sizeof url, err) < 0)
        return -1;
    *out = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (*out == NULL) {
        size_t at = end && end >= buf ? (size_t)(end - buf) : 0;
        free(buf);
        return dcmp_seterr(err, "GET %s: answer is not JSON (near byte %zu of %zu)", url, at, len);
    }
    free(buf);
    return 0;
}

/* A whole number in [0, 2^53] (cJSON keeps numbers as doubles). */
static int whole(const cJSON *v, int64_t *out)
{
    double d;

    if (!cJSON_IsNumber(v))
        return 0;
    d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || (double)(int64_t)d != d)
        return 0;
    *out = (int64_t)d;
    return 1;
}

typedef struct keyed {
    const char *id; /* borrowed from the instances' JSON */
    int64_t key;    /* IndexInSeries, INT64_MAX when missing */
    int pos;        /* place in the list */
} keyed;

static int by_key(const void *a, const void *b)
{
    const keyed *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Fills ids[] from SlicesShort ([[id, first frame, frames], ...]) when it names exactly the
 * sorted ids of the list (`sorted`, n of them), each once. Returns 1 when used. */
static int use_slices(const cJSON *slices, const char **sorted, int n, dcmp_orthanc_instance *ids)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(slices, "SlicesShort"), *row, *id;
    const char **got;
    int i = 0, same = 1;

    if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) != n)
        return 0;
    if ((got = calloc((size_t)n, sizeof *got)) == NULL)
        return 0;
    cJSON_ArrayForEach(row, rows)
    {
        id = cJSON_GetArrayItem(row, 0);
        if (!cJSON_IsArray(row) || !cJSON_IsString(id) || !dcmp_orthanc_id_ok(id->valuestring)) {
            free(got);
            return 0;
        }
        got[i++] = id->valuestring;
    }
    qsort(got, (size_t)n, sizeof *got, by_id);
    for (i = 0; i < n && same; i++)
        same = strcmp(got[i], sorted[i]) == 0;
    free(got);
    if (!same)
        return 0;
    i = 0;
    cJSON_ArrayForEach(row, rows)
    {
        id = cJSON_GetArrayItem(row, 0);
        memcpy(ids[i++].id, id->valuestring, strlen(id->valuestring) + 1);
    }
    return 1;
}

int dcmp_orthanc_order_instances(const cJSON *instances, const cJSON *slices,
                                 dcmp_orthanc_instance **ids, int *n, const char **how, char *err)
{
    const cJSON *it, *id;
    const char **sorted = NULL;
    dcmp_orthanc_instance *out = NULL;
    keyed *k = NULL;
    int count, i = 0, indexed = 0;

    *ids = NULL;
    *n = 0;
    if (how)
        *how = "list";
    if (!cJSON_IsArray(instances))
        return dcmp_seterr(err, "the list of instances is not a JSON array");
    count = cJSON_GetArraySize(instances);
    if (count == 0)
        return dcmp_seterr(err, "the series has no instances");
    if (count > DCMP_ORTHANC_MAX_INSTANCES)
        return dcmp_seterr(err, "the series has %d instances, more than %d", count,
                           DCMP_ORTHANC_MAX_INSTANCES);
    k = calloc((size_t)count, sizeof *k);
    sorted = calloc((size_t)count, sizeof *sorted);
    out = calloc((size_t)count, sizeof *out);
    if (k == NULL || sorted == NULL || out == NULL) {
        dcmp_seterr(err, "out of memory for %d instances", count);
        goto fail;
    }
    cJSON_ArrayForEach(it, instances)
    {
        id = cJSON_GetObjectItemCaseSensitive(it, "ID");
        if (!cJSON_IsString(id) || !dcmp_orthanc_id_ok(id->valuestring)) {
            dcmp_seterr(err, "instance %d of the list: \"ID\" is missing or not an Orthanc id",
                        i + 1);
            goto fail;
        }
        k[i].id = sorted[i] = id->valuestring;
        k[i].pos = i;
        if (whole(cJSON_GetObjectItemCaseSensitive(it, "IndexInSeries"), &k[i].key))
            indexed = 1;
        else
            k[i].key = INT64_MAX;
        i++;
    }
    qsort(sorted, (size_t)count, sizeof *sorted, by_id);
    for (i = 1; i < count; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            dcmp_seterr(err, "instance %s is listed twice", sorted[i]);
            goto fail;
        }
    if (slices && use_slices(slices, sorted, count, out)) {
        if (how)
            *how = "ordered-slices";
    } else {
        if (indexed) {
            qsort(k, (size_t)count, sizeof *k, by_key);
            if (how)
                *how = "IndexInSeries";
        }
        for (i = 0; i < count; i++)
            memcpy(out[i].id, k[i].id, strlen(k[i].id) + 1);
    }
    free(k);
    free(sorted);
    *ids = out;
    *n = count;
    return 0;
fail:
    free(k);
    free(sorted);
    free(out);
    return -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0; /* best effort: go on with the rest */
}

/* Removes a folder and everything under it, never following symlinks. */
static void rmtree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* 1 when snprintf's result n fitted in size bytes. */
static int fits(int n, size_t size)
{
    return n >= 0 && (size_t)n < size;
}

static int make_dir(const char *path, char *err)
{
    struct stat st;

    if (mkdir(path, 0755) == 0 || (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
        return 0;
    return dcmp_seterr(err, "creating %s: %s", path,
                       errno == EEXIST ? "not a folder" : strerror(errno));
}

/* Streams GET /instances/{id}/file into a new file and syncs it. */
static int download(dcmp_orthanc *o, const char *id, const char *file, char *err)
{
    char path[RESOURCE_MAX], url[DCMP_ORTHANC_URL_MAX];
    sink s;
    int rc;

    memset(&s, 0, sizeof s);
    s.max = DCMP_ORTHANC_FILE_MAX;
    s.file = file;
    snprintf(path, sizeof path, "/instances/%s/file", id);
    if ((s.fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
        return dcmp_seterr(err, "creating %s: %s", file, strerror(errno));
    rc = request(o, path, &s, url, sizeof url, err);
    if (rc == 0 && s.written == 0)
        rc = dcmp_seterr(err, "GET %s: empty answer", url);
    if (rc == 0 && fsync(s.fd) < 0)
        rc = dcmp_seterr(err, "writing %s: %s", file, strerror(errno));
    if (close(s.fd) < 0 && rc == 0)
        rc = dcmp_seterr(err, "writing %s: %s", file, strerror(errno));
    return rc;
}

/*
 * Gives the complete folder `tmp` the name `final`. An existing `final` is exchanged in one
 * step where the filesystem can, else moved aside to `old_tmpl` (a mkdtemp template) first
 * and put back if the second rename fails. The old content is removed afterwards.
 */
static int swap_in(const char *tmp, const char *final, char *old_tmpl, const char *dicom, char *err)
{
    int e;

#ifdef RENAME_EXCHANGE
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) == 0) {
        sync_dir(dicom);
        rmtree(tmp); /* now the old series */
        return 0;
    }
    /* ENOENT: no old series; EINVAL/ENOSYS/ENOTSUP: no exchange here */
    if (errno != ENOENT && errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return dcmp_seterr(err, "exchanging %s and %s: %s", tmp, final, strerror(errno));
#endif
    if (rename(tmp, final) == 0) { /* no old series (or an empty folder) */
        sync_dir(dicom);
        return 0;
    }
    if (errno != ENOTEMPTY && errno != EEXIST)
        return dcmp_seterr(err, "renaming %s to %s: %s", tmp, final, strerror(errno));
    /* an empty placeholder with a unique name, which rename() replaces */
    if (mkdtemp(old_tmpl) == NULL)
        return dcmp_seterr(err, "creating %s: %s", old_tmpl, strerror(errno));
    if (rename(final, old_tmpl) < 0) {
        e = errno;
        rmdir(old_tmpl);
        return dcmp_seterr(err, "renaming %s to %s: %s", final, old_tmpl, strerror(e));
    }
    if (rename(tmp, final) < 0) {
        e = errno;
        rename(old_tmpl, final);
        return dcmp_seterr(err, "renaming %s to %s: %s", tmp, final, strerror(e));
    }
    sync_dir(dicom);
    rmtree(old_tmpl);
    return 0;
}

int dcmp_orthanc_fetch_series(dcmp_orthanc *o, const char *series_id, const char *data_dir,
                              char *dcmpath, size_t size, int *ninstances, char *err)
{
    char dicom[PATH_MAX], tmp[PATH_MAX], final[PATH_MAX], old[PATH_MAX], file[PATH_MAX];
    char path[RESOURCE_MAX], e[DCMP_ERR_LEN];
    cJSON *list = NULL, *slices = NULL;
    dcmp_orthanc_instance *ids = NULL;
    int count = 0, width, i, n;

    if (ninstances)
        *ninstances = 0;
    if (!dcmp_orthanc_id_ok(series_id))
        return dcmp_seterr(err, "series id \"%.80s\" must be 1 to %d letters, digits or '-'",
                           series_id ? series_id : "", DCMP_ORTHANC_ID_MAX);
    if (data_dir == NULL || *data_dir == '\0')
        return dcmp_seterr(err, "series %s: DATA folder is not set", series_id);
    /* the longest path below: DATA/dicom/.old-<id>-XXXXXX/<index>-<id>.dcm */
    if (strlen(data_dir) + 2 * DCMP_ORTHANC_ID_MAX + 48 >= PATH_MAX)
        return dcmp_seterr(err, "series %s: DATA folder \"%.80s...\" is too long", series_id,
                           data_dir);
    n = snprintf(dcmpath, size, "dicom/%s", series_id);
    if (n < 0 || (size_t)n >= size)
        return dcmp_seterr(err, "series %s: dcmpath needs %d bytes, has %zu", series_id, n + 1,
                           size);
    if (!fits(snprintf(dicom, sizeof dicom, "%s/dicom", data_dir), sizeof dicom) ||
        !fits(snprintf(final, sizeof final, "%s/%s", dicom, series_id), sizeof final) ||
        !fits(snprintf(tmp, sizeof tmp, "%s/.tmp-%s-XXXXXX", dicom, series_id), sizeof tmp) ||
        !fits(snprintf(old, sizeof old, "%s/.old-%s-XXXXXX", dicom, series_id), sizeof old))
        return dcmp_seterr(err, "series %s: DATA folder \"%.80s...\" is too long", series_id,
                           data_dir);
    if (make_dir(data_dir, e) < 0 || make_dir(dicom, e) < 0)
        return dcmp_seterr(err, "series %s: %s", series_id, e);

    snprintf(path, sizeof path, "/series/%s/instances", series_id);
    if (dcmp_orthanc_get_json(o, path, &list, e) < 0)
        return dcmp_seterr(err, "series %s: %s", series_id, e);
    /* no answer (for example a series without geometry): IndexInSeries decides */
    snprintf(path, sizeof path, "/series/%s/ordered-slices", series_id);
    if (dcmp_orthanc_get_json(o, path, &slices, e) < 0)
        slices = NULL;
    i = dcmp_orthanc_order_instances(list, slices, &ids, &count, NULL, e);
    cJSON_Delete(list);
    cJSON_Delete(slices);
    if (i < 0)
        return dcmp_seterr(err, "series %s: %s", series_id, e);

    if (mkdtemp(tmp) == NULL) {
        dcmp_seterr(err, "series %s: creating %s: %s", series_id, tmp, strerror(errno));
        free(ids);
        return -1;
    }
    chmod(tmp, 0755); /* mkdtemp's 0700 would keep workers of another user out */
    width = count > 10000 ? 5 : 4;
    for (i = 0; i < count; i++) {
        if (!fits(snprintf(file, sizeof file, "%s/%0*d-%s.dcm", tmp, width, i, ids[i].id),
                  sizeof file)) {
            dcmp_seterr(err, "series %s: path of instance %s is too long", series_id, ids[i].id);
            goto fail;
        }
        if (download(o, ids[i].id, file, e) < 0) {
            dcmp_seterr(err, "series %s: instance %d of %d (%s): %s", series_id, i + 1, count,
                        ids[i].id, e);
            goto fail;
        }
    }
    if (sync_dir(tmp) < 0) {
        dcmp_seterr(err, "series %s: syncing %s: %s", series_id, tmp, strerror(errno));
        goto fail;
    }
    if (swap_in(tmp, final, old, dicom, e) < 0) {
        dcmp_seterr(err, "series %s: %s", series_id, e);
        goto fail;
    }
    free(ids);
    if (ninstances)
        *ninstances = count;
    return 0;
fail:
    rmtree(tmp);
    free(ids);
    return -1;
}

int dcmp_orthanc_parse_changes(const char *json, size_t len, dcmp_orthanc_change *out, int max,
                               int *n, int64_t *last, int *done, char *err)
{
    const cJSON *rows, *row, *type, *id, *seq, *d;
    const char *end = NULL;
    cJSON *root;
    int count, i = 0, rc = -1;

    *n = 0;
    *last = 0;
    *done = 0;
    root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (root == NULL) {
        size_t at = end && end >= json ? (size_t)(end - json) : 0;
        return dcmp_seterr(err, "changes: not JSON (near byte %zu of %zu)", at, len);
    }
    rows = cJSON_GetObjectItemCaseSensitive(root, "Changes");
    d = cJSON_GetObjectItemCaseSensitive(root, "Done");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(rows)) {
        dcmp_seterr(err, "changes: \"Changes\" is missing or not a list");
        goto out;
    }
    if (!cJSON_IsBool(d)) {
        dcmp_seterr(err, "changes: \"Done\" is missing or not true/false");
        goto out;
    }
    if (!whole(cJSON_GetObjectItemCaseSensitive(root, "Last"), last)) {
        dcmp_seterr(err, "changes: \"Last\" is missing or not a whole number");
        goto out;
    }
    if ((count = cJSON_GetArraySize(rows)) > max) {
        dcmp_seterr(err, "changes: %d rows, more than the %d expected", count, max);
        goto out;
    }
    cJSON_ArrayForEach(row, rows)
    {
        type = cJSON_GetObjectItemCaseSensitive(row, "ChangeType");
        id = cJSON_GetObjectItemCaseSensitive(row, "ID");
        seq = cJSON_GetObjectItemCaseSensitive(row, "Seq");
        if (!cJSON_IsString(type) || type->valuestring[0] == '\0' ||
            strlen(type->valuestring) >= DCMP_ORTHANC_TYPE_LEN) {
            dcmp_seterr(err, "changes: row %d: \"ChangeType\" must be a string of 1 to %d bytes",
                        i + 1, DCMP_ORTHANC_TYPE_LEN - 1);
            goto out;
        }
        if (!cJSON_IsString(id) || (id->valuestring[0] && !dcmp_orthanc_id_ok(id->valuestring))) {
            dcmp_seterr(err, "changes: row %d (%s): \"ID\" is missing or not an Orthanc id", i + 1,
                        type->valuestring);
            goto out;
        }
        if (!whole(seq, &out[i].seq)) {
            dcmp_seterr(err, "changes: row %d (%s): \"Seq\" is missing or not a whole number",
                        i + 1, type->valuestring);
            goto out;
        }
        memcpy(out[i].type, type->valuestring, strlen(type->valuestring) + 1);
        memcpy(out[i].id, id->valuestring, strlen(id->valuestring) + 1);
        i++;
    }
    *n = count;
    *done = cJSON_IsTrue(d);
    rc = 0;
out:
    if (rc < 0)
        *last = 0;
    cJSON_Delete(root);
    return rc;
}

int dcmp_orthanc_changes(dcmp_orthanc *o, int64_t since, int limit, dcmp_orthanc_change *out,
                         int max, int *n, int64_t *last, int *done, char *err)
{
    char path[RESOURCE_MAX], url[DCMP_ORTHANC_URL_MAX], e[DCMP_ERR_LEN], *buf;
    size_t len;
    int rc;

    *n = 0;
    *last = 0;
    *done = 0;
    if (since < 0)
        return dcmp_seterr(err, "changes: since %" PRId64 " must be >= 0", since);
    if (limit < 1 || limit > max)
        return dcmp_seterr(err, "changes: limit %d must be 1 to %d (the room given)", limit, max);
    snprintf(path, sizeof path, "/changes?since=%" PRId64 "&limit=%d", since, limit);
    if (get_raw(o, path, &buf, &len, url, sizeof url, err) < 0)
        return -1;
    rc = dcmp_orthanc_parse_changes(buf, len, out, max, n, last, done, e);
    free(buf);
    if (rc < 0)
        return dcmp_seterr(err, "GET %s: %s", url, e);
    return 0;
}
