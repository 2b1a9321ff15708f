/* storageManager.c -- the post service that stores what jobs injected as `storage` in Orthanc. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctp.h"
#include "dcmp/service.h"
#include "nifti2dcm.h"
#include "svc.h"

#define ANSWER_MAX  (1u << 20) /* Orthanc's answer kept */
#define UPLOAD_MAX  (2u << 30) /* largest file sent */
#define MAX_ENTRIES 1000
#define MAX_FILES   100000

typedef struct orthanc {
    const char *url, *user, *password;
} orthanc;

typedef struct answer {
    char *data;
    size_t len;
} answer;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t len = size * n;
    char *d;

    if (a->len + len > ANSWER_MAX)
        return 0;
    if ((d = realloc(a->data, a->len + len + 1)) == NULL)
        return 0;
    memcpy(d + a->len, p, len);
    a->data = d;
    a->len += len;
    d[a->len] = '\0';
    return len;
}

/* POSTs body to URL+path. Returns 0 on HTTP 200 (*reply, when not NULL, gets the answer: free
 * it), else -1 with err holding the status and Orthanc's answer (so that a requeue's reader
 * sees why). */
static int post_reply(const orthanc *o, const char *path, const char *type, const char *body,
                      size_t len, char **reply, char *err)
{
    char url[2048], ctype[128];
    struct curl_slist *h = NULL;
    answer a = {NULL, 0};
    long status = 0;
    CURLcode rc;
    CURL *c = curl_easy_init();

    if (c == NULL)
        return snprintf(err, SVC_ERR_LEN, "curl_easy_init failed"), -1;
    snprintf(url, sizeof url, "%s%s", o->url, path);
    snprintf(ctype, sizeof ctype, "Content-Type: %s", type);
    h = curl_slist_append(h, ctype);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    if (o->user && o->user[0]) {
        curl_easy_setopt(c, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        snprintf(err, SVC_ERR_LEN, "POST %s: %s", url, curl_easy_strerror(rc));
        free(a.data);
        return -1;
    }
    if (status != 200) {
        snprintf(err, SVC_ERR_LEN, "POST %s: HTTP %ld: %.300s", url, status, a.data ? a.data : "");
        free(a.data);
        return -1;
    }
    if (reply != NULL)
        *reply = a.data ? a.data : strdup("");
    else
        free(a.data);
    return 0;
}

static int post(const orthanc *o, const char *path, const char *type, const char *body, size_t len,
                char *err)
{
    return post_reply(o, path, type, body, len, NULL, err);
}

/* The Orthanc ID of the study with this StudyInstanceUID, or "" (new string or NULL). */
static char *study_id(const orthanc *o, const char *uid, char *err)
{
    char *reply = NULL, *id;
    cJSON *r;
    const cJSON *it;

    if (post_reply(o, "/tools/lookup", "text/plain", uid, strlen(uid), &reply, err) < 0)
        return NULL;
    r = cJSON_Parse(reply);
    free(reply);
    id = NULL;
    cJSON_ArrayForEach(it, r)
    {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "Type"));
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "ID"));
        if (type && v && strcmp(type, "Study") == 0 && id == NULL)
            id = strdup(v);
    }
    cJSON_Delete(r);
    return id ? id : strdup("");
}

static char *read_file(const char *path, size_t *len, char *err)
{
    struct stat st;
    char *buf;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return snprintf(err, SVC_ERR_LEN, "%s: %s", path, strerror(errno)), NULL;
    if (fstat(fileno(f), &st) < 0 || (size_t)st.st_size > UPLOAD_MAX ||
        (buf = malloc((size_t)st.st_size + 1)) == NULL) {
        fclose(f);
        return snprintf(err, SVC_ERR_LEN, "%s: too large or out of memory", path), NULL;
    }
    *len = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    return buf;
}

/* POST /instances of one DICOM file. */
static int upload(const orthanc *o, const char *path, char *err)
{
    size_t len;
    char *body = read_file(path, &len, err);
    int rc;

    if (body == NULL)
        return -1;
    rc = post(o, "/instances", "application/dicom", body, len, err);
    free(body);
    return rc;
}

/* ---- the files of a folder ---- */

static char **walk_files;
static size_t walk_n, walk_cap;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag != FTW_F)
        return 0;
    if (walk_n == MAX_FILES)
        return 1;
    if (walk_n == walk_cap) {
        size_t cap = walk_cap ? walk_cap * 2 : 64;
        char **p = realloc(walk_files, cap * sizeof *p);
        if (p == NULL)
            return -1;
        walk_files = p;
        walk_cap = cap;
    }
    return (walk_files[walk_n++] = strdup(path)) ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_free(void)
{
    size_t i;

    for (i = 0; i < walk_n; i++)
        free(walk_files[i]);
    free(walk_files);
    walk_files = NULL;
    walk_n = walk_cap = 0;
}

/* The first file of the source series (headers.dcmpath), for the patient and study. */
static int source_file(const dcmp_call *call, const cJSON *headers, char out[PATH_MAX])
{
    const char *rel = svc_json_str(headers, "dcmpath");
    char dir[PATH_MAX], err[SVC_ERR_LEN];
    int rc = -1;

    if (rel == NULL || svc_data_path(call->data_dir, rel, 1, dir, err) < 0)
        return -1;
    if (nftw(dir, walk_one, 16, FTW_PHYS) == 0 && walk_n > 0) {
        qsort(walk_files, walk_n, sizeof *walk_files, cmp_str);
        snprintf(out, PATH_MAX, "%s", walk_files[0]);
        rc = 0;
    }
    walk_free();
    return rc;
}

/* ---- the three types ---- */

/* Uploads every file of path (a file or a folder); with mark, the private block and tags
 * are set first, on a copy in tmp. */
static int store_dicom(const dcmp_call *call, const orthanc *o, const char *path, const char *tmp,
                       const n2d_options *opt, int *count, char *err)
{
    struct stat st;
    size_t i;
    int rc = 0;

    if (stat(path, &st) < 0)
        return snprintf(err, SVC_ERR_LEN, "%s: %s", path, strerror(errno)), -1;
    if (S_ISDIR(st.st_mode)) {
        if (nftw(path, walk_one, 16, FTW_PHYS) != 0)
            return walk_free(), snprintf(err, SVC_ERR_LEN, "%s: cannot list", path), -1;
    } else if ((walk_files = malloc(sizeof *walk_files)) == NULL ||
               (walk_files[0] = strdup(path)) == NULL) {
        return walk_free(), snprintf(err, SVC_ERR_LEN, "out of memory"), -1;
    } else {
        walk_n = 1;
    }
    qsort(walk_files, walk_n, sizeof *walk_files, cmp_str);
    for (i = 0; i < walk_n && rc == 0; i++) {
        char copy[PATH_MAX + 32], nerr[N2D_ERR_LEN];
        snprintf(copy, sizeof copy, "%s/%zu.dcm", tmp, i);
        if (opt != NULL) {
            size_t len;
            char *bytes = read_file(walk_files[i], &len, err);
            FILE *f;
            if (bytes == NULL || (f = fopen(copy, "wb")) == NULL) {
                free(bytes);
                rc = -1;
                break;
            }
            fwrite(bytes, 1, len, f);
            fclose(f);
            free(bytes);
            if (n2d_mark_file(copy, opt, nerr) < 0) {
                snprintf(err, SVC_ERR_LEN, "%s", nerr);
                rc = -1;
                break;
            }
        }
        if (upload(o, opt ? copy : walk_files[i], err) < 0) {
            rc = -1;
            break;
        }
        unlink(copy);
        (*count)++;
    }
    walk_free();
    (void)call;
    return rc;
}

static char *base64(const char *data, size_t len)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t out = 4 * ((len + 2) / 3), i, k = 0;
    char *s = malloc(out + 1);

    if (s == NULL)
        return NULL;
    for (i = 0; i < len; i += 3) {
        unsigned v = (unsigned char)data[i] << 16;
        if (i + 1 < len)
            v |= (unsigned char)data[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)data[i + 2];
        s[k++] = t[(v >> 18) & 63];
        s[k++] = t[(v >> 12) & 63];
        s[k++] = i + 1 < len ? t[(v >> 6) & 63] : '=';
        s[k++] = i + 2 < len ? t[v & 63] : '=';
    }
    s[k] = '\0';
    return s;
}

/* An encapsulated PDF made by Orthanc (/tools/create-dicom) in the source series' patient and
 * study (tags read from its file), with the private block and the entry's tags. */
static int store_pdf(const orthanc *o, const char *path, const char *source, const cJSON *tags,
                     const char *destination, char *err)
{
    static const char *const copy[] = {"PatientName",      "PatientID",
                                       "PatientBirthDate", "PatientSex",
                                       "StudyInstanceUID", "StudyDate",
                                       "StudyTime",        "StudyID",
                                       "AccessionNumber",  "ReferringPhysicianName"};
    static const uint32_t copy_tags[] = {0x00100010, 0x00100020, 0x00100030, 0x00100040,
                                         0x0020000D, 0x00080020, 0x00080030, 0x00200010,
                                         0x00080050, 0x00080090};
    cJSON *req = cJSON_CreateObject(), *t;
    const cJSON *u;
    size_t len, i;
    char *pdf = read_file(path, &len, err), *b64 = NULL, *uri = NULL, *text = NULL;
    int rc = -1;

    if (pdf == NULL || req == NULL || (t = cJSON_AddObjectToObject(req, "Tags")) == NULL)
        goto done;
    if (len < 5 || memcmp(pdf, "%PDF-", 5) != 0) {
        snprintf(err, SVC_ERR_LEN, "%s: not a PDF", path);
        goto done;
    }
    {
        /* the study when Orthanc has it already ("Parent": Orthanc refuses to be told its
         * patient and study tags then), else the source's patient and study tags */
        char *uid = NULL, *parent = NULL, cerr[CTP_ERR_LEN];
        if (source && ctp_file_value(source, 0x0020000D, &uid, cerr) == 1 && uid && uid[0] &&
            (parent = study_id(o, uid, err)) == NULL) {
            free(uid);
            goto done;
        }
        if (parent && parent[0])
            cJSON_AddStringToObject(req, "Parent", parent);
        else /* Orthanc 1.10.1 takes the study's UIDs in Tags only with Force */
            cJSON_AddTrueToObject(req, "Force");
        for (i = 0; source && !(parent && parent[0]) && i < sizeof copy / sizeof copy[0]; i++) {
            char *v = NULL;
            if (ctp_file_value(source, copy_tags[i], &v, cerr) == 1 && v != NULL)
                cJSON_AddStringToObject(t, copy[i], v);
            free(v);
        }
        free(uid);
        free(parent);
    }
    cJSON_AddStringToObject(t, "SeriesDescription", "Processed Information");
    cJSON_AddStringToObject(t, "0405,0010", "DCM-PROCESSOR");
    cJSON_AddStringToObject(t, "0405,1001", "store-data");
    cJSON_AddStringToObject(t, "0405,1003", "pdf");
    cJSON_AddStringToObject(t, "0405,1005", "dcm-processor");
    cJSON_AddStringToObject(t, "0405,1007", destination);
    cJSON_ArrayForEach(u, tags)
    {
        const char *k = strcmp(u->string, "Series Description") == 0 ? "SeriesDescription"
                        : strcmp(u->string, "Series Date") == 0      ? "SeriesDate"
                                                                     : u->string;
        if (cJSON_IsString(u)) {
            cJSON_DeleteItemFromObjectCaseSensitive(t, k);
            cJSON_AddStringToObject(t, k, u->valuestring);
        }
    }
    if ((b64 = base64(pdf, len)) == NULL ||
        (uri = malloc(strlen(b64) + sizeof "data:application/pdf;base64,")) == NULL)
        goto done;
    snprintf(uri, strlen(b64) + sizeof "data:application/pdf;base64,",
             "data:application/pdf;base64,%s", b64);
    cJSON_AddStringToObject(req, "Content", uri);
    cJSON_AddStringToObject(req, "PrivateCreator", "DCM-PROCESSOR");
    if ((text = cJSON_PrintUnformatted(req)) == NULL)
        goto done;
    rc = post(o, "/tools/create-dicom", "application/json", text, strlen(text), err);
done:
    free(pdf);
    free(b64);
    free(uri);
    free(text);
    cJSON_Delete(req);
    return rc;
}

/* One storage entry. Returns 0 or -1 with err. */
static int store(const dcmp_call *call, const orthanc *o, const cJSON *e, const char *source,
                 const char *tmp, int *count, char *err)
{
    const char *rel = svc_json_str(e, "path"), *type = svc_json_str(e, "type");
    const char *dest = svc_json_str(e, "destination");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(e, "tags");
    char path[PATH_MAX], lower[16], *tags_text = NULL;
    n2d_options opt;
    size_t i;
    int rc;

    if (dest == NULL)
        dest = getenv("ORTHANC_DEFUALT_STORE")   ? getenv("ORTHANC_DEFUALT_STORE")
               : getenv("ORTHANC_DEFAULT_STORE") ? getenv("ORTHANC_DEFAULT_STORE")
                                                 : "";
    if (rel == NULL || type == NULL || strlen(type) >= sizeof lower)
        return snprintf(err, SVC_ERR_LEN, "an entry needs a path and a type (pdf, dicom, nifti)"),
               -1;
    for (i = 0; type[i]; i++)
        lower[i] = (char)(type[i] >= 'A' && type[i] <= 'Z' ? type[i] + 32 : type[i]);
    lower[i] = '\0';
    if (svc_data_path(call->data_dir, rel, 1, path, err) < 0)
        return -1;
    if (tags != NULL && !cJSON_IsObject(tags))
        return snprintf(err, SVC_ERR_LEN, "%s: tags must be an object", rel), -1;
    if (tags != NULL && (tags_text = cJSON_PrintUnformatted(tags)) == NULL)
        return snprintf(err, SVC_ERR_LEN, "out of memory"), -1;
    opt.source = source;
    opt.tags = tags_text;
    opt.type = lower;
    opt.destination = dest;
    if (strcmp(lower, "pdf") == 0) {
        rc = store_pdf(o, path, source, tags, dest, err);
        *count += rc == 0;
    } else if (strcmp(lower, "dicom") == 0) {
        rc = store_dicom(call, o, path, tmp, &opt, count, err);
    } else if (strcmp(lower, "nifti") == 0) {
        char nerr[N2D_ERR_LEN], series[PATH_MAX + 16];
        snprintf(series, sizeof series, "%s/nifti", tmp);
        rc = svc_mkdirs(series, err);
        if (rc == 0 && (rc = n2d_convert(path, series, &opt, nerr)) < 0)
            snprintf(err, SVC_ERR_LEN, "%s", nerr);
        if (rc >= 0) {
            call->host->log(call, DCMP_LOG_INFO, "%s: %d slices", rel, rc);
            rc = store_dicom(call, o, series, tmp, NULL, count, err);
        }
        svc_rmtree(series, nerr);
    } else {
        snprintf(err, SVC_ERR_LEN, "%s: type \"%s\": pdf, dicom or nifti", rel, type);
        rc = -1;
    }
    free(tags_text);
    return rc < 0 ? -1 : 0;
}

static int32_t worker(const dcmp_call *call)
{
    cJSON *headers = cJSON_Parse(call->headers), *added = cJSON_Parse(call->added_params);
    const cJSON *job;
    orthanc o = {getenv("ORTHANC_REST_URL"), getenv("ORTHANC_REST_USERNAME"),
                 getenv("ORTHANC_REST_PASSWORD")};
    char source[PATH_MAX], tmp[PATH_MAX], err[SVC_ERR_LEN], rel[128], result[128];
    int entries = 0, instances = 0;
    int32_t rc = DCMP_ERROR;

    if (!cJSON_IsObject(added)) {
        rc = svc_fail(call, "added_params is not a JSON object");
        goto done;
    }
    if (o.url == NULL || o.url[0] == '\0')
        o.url = "http://127.0.0.1:8042";
    snprintf(rel, sizeof rel, "storage_tmp/%s", call->job_id[0] ? call->job_id : "job");
    if (svc_data_path(call->data_dir, rel, 0, tmp, err) < 0 || svc_rmtree(tmp, err) < 0 ||
        svc_mkdirs(tmp, err) < 0) {
        rc = svc_fail(call, "%s", err);
        goto done;
    }
    cJSON_ArrayForEach(job, added)
    {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(job, "storage"), *e;
        if (st == NULL)
            continue;
        if (!cJSON_IsObject(st) && !cJSON_IsArray(st)) {
            rc = svc_fail(call, "%s: storage must be an object or a list", job->string);
            goto cleanup;
        }
        if (cJSON_IsObject(st) && !cJSON_IsArray(st)) {
            if (entries == 0 && source_file(call, headers, source) < 0)
                source[0] = '\0';
            entries++;
            if (store(call, &o, st, source[0] ? source : NULL, tmp, &instances, err) < 0) {
                rc = svc_fail(call, "storage from %s: %s", job->string, err);
                goto cleanup;
            }
            continue;
        }
        cJSON_ArrayForEach(e, st)
        {
            if (entries == 0 && source_file(call, headers, source) < 0)
                source[0] = '\0';
            if (++entries > MAX_ENTRIES) {
                rc = svc_fail(call, "more than %d storage entries", MAX_ENTRIES);
                goto cleanup;
            }
            if (!cJSON_IsObject(e) ||
                store(call, &o, e, source[0] ? source : NULL, tmp, &instances, err) < 0) {
                rc = svc_fail(call, "storage from %s: %s", job->string,
                              cJSON_IsObject(e) ? err : "an entry is not an object");
                goto cleanup;
            }
        }
    }
    snprintf(result, sizeof result, "{\"entries\":%d,\"instances\":%d}", entries, instances);
    call->host->set_result(call, result);
    call->host->log(call, DCMP_LOG_INFO, "stored %d entries (%d instances) in %s", entries,
                    instances, o.url);
    rc = DCMP_OK;
cleanup:
    svc_rmtree(tmp, err);
done:
    cJSON_Delete(headers);
    cJSON_Delete(added);
    return rc;
}

DCMP_MODULE("storageManager", "1.0.0", DCMP_FUNCTION(worker));
