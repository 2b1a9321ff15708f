/* dicomAnonymizer.c -- the pre service that anonymizes a series in place with a CTP script. */
#include <cjson/cJSON.h>
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
#include "pseudonyms.h"
#include "svc.h"

#define MAX_FILES   100000
#define MAX_ERRORS  5 /* file errors quoted in the job's error */
#define SCRIPT_NAME "dicom-anonymizer.script"

/* Anchors dladdr: the folder of this library holds config/. */
static const char anchor;

typedef struct files {
    char **path; /* relative to the series folder */
    size_t n, cap;
    int over;
} files;

static files *walk_list;
static size_t walk_root_len;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag != FTW_F)
        return 0; /* folders; symbolic links are not followed or anonymized */
    if (walk_list->n == MAX_FILES) {
        walk_list->over = 1;
        return 1;
    }
    if (walk_list->n == walk_list->cap) {
        size_t cap = walk_list->cap ? walk_list->cap * 2 : 64;
        char **p = realloc(walk_list->path, cap * sizeof *p);
        if (p == NULL)
            return -1;
        walk_list->path = p;
        walk_list->cap = cap;
    }
    if ((walk_list->path[walk_list->n] = strdup(path + walk_root_len + 1)) == NULL)
        return -1;
    walk_list->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void files_free(files *f)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        free(f->path[i]);
    free(f->path);
    memset(f, 0, sizeof *f);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The script: params.script (a name or an absolute path), else dicom-anonymizer.script; a name
 * is looked up in the tables folder first (a site's own script there outlives a reinstall of
 * the service and a read-only MODULES), then in the service's config/. */
static int script_path(const cJSON *params, const char *tables, const char *config,
                       char out[PATH_MAX])
{
    const char *name = svc_json_str(params, "script");
    int n;

    if (name == NULL || name[0] == '\0')
        name = SCRIPT_NAME;
    if (name[0] == '/')
        n = snprintf(out, PATH_MAX, "%s", name);
    else if ((n = snprintf(out, PATH_MAX, "%s/%s", tables, name)) < PATH_MAX && !exists(out))
        n = snprintf(out, PATH_MAX, "%s/%s", config, name);
    return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* Logs where the pseudonyms came from, one count per table. */
static void log_sources(const dcmp_call *call, const char *tables, const char *config,
                        const int *from, size_t n)
{
    size_t count[PN_FROM_NEW + 1] = {0}, i;
    char line[PATH_MAX * 3];
    int used = 0;

    for (i = 0; i < n; i++)
        count[from[i]]++;
    line[0] = '\0';
    if (count[PN_FROM_USER])
        used += snprintf(line + used, sizeof line - (size_t)used, "; %zu from %s/pseudonyms.csv",
                         count[PN_FROM_USER], tables);
    if (count[PN_FROM_HASH] && used < (int)sizeof line)
        used += snprintf(line + used, sizeof line - (size_t)used, "; %zu from %s/hash_table.csv",
                         count[PN_FROM_HASH], tables);
    if (count[PN_FROM_LEGACY_USER] && used < (int)sizeof line)
        used += snprintf(line + used, sizeof line - (size_t)used,
                         "; %zu from the original's place %s/psudonyms.csv (copied to "
                         "hash_table.csv)",
                         count[PN_FROM_LEGACY_USER], config);
    if (count[PN_FROM_LEGACY_HASH] && used < (int)sizeof line)
        used += snprintf(line + used, sizeof line - (size_t)used,
                         "; %zu from the original's place %s/hash_table.csv (copied to "
                         "hash_table.csv)",
                         count[PN_FROM_LEGACY_HASH], config);
    if (count[PN_FROM_NEW] && used < (int)sizeof line)
        snprintf(line + used, sizeof line - (size_t)used, "; %zu new in %s/hash_table.csv",
                 count[PN_FROM_NEW], tables);
    call->host->log(call, DCMP_LOG_INFO, "pseudonyms: %s", line + 2);
}

/* Finishes or undoes a swap a killed run left: DIR.original beside DIR. */
static int recover(const dcmp_call *call, const char *dir, const char *orig, char *err)
{
    if (!exists(orig))
        return 0;
    if (!exists(dir)) {
        call->host->log(call, DCMP_LOG_WARN, "an earlier run stopped mid-swap: restoring %s", dir);
        if (rename(orig, dir) < 0)
            return snprintf(err, SVC_ERR_LEN, "cannot restore %s: %s", dir, strerror(errno)), -1;
        return 0;
    }
    call->host->log(call, DCMP_LOG_WARN, "an earlier run swapped but did not clean up: removing %s",
                    orig);
    return svc_rmtree(orig, err);
}

/*
 * The folder of the pseudonym tables (pseudonyms.csv, psudonyms.csv, hash_table.csv):
 * ANONYMIZER_TABLES, else DATA/anonymizer, made when missing. Not the module's own folder: with
 * Docker MODULES is read-only, and reinstalling the service replaces its folder, while
 * hash_table.csv must be written and kept.
 */
static int tables_dir(const dcmp_call *call, char out[PATH_MAX])
{
    const char *env = getenv("ANONYMIZER_TABLES");

    if (env != NULL && *env != '\0')
        snprintf(out, PATH_MAX, "%s", env);
    else
        snprintf(out, PATH_MAX, "%s/anonymizer", call->data_dir);
    return mkdir(out, 0750) == 0 || errno == EEXIST ? 0 : -1;
}

static int32_t worker(const dcmp_call *call)
{
    char moddir[PATH_MAX], config[PATH_MAX], tables[PATH_MAX], script_file[PATH_MAX], dir[PATH_MAX],
        work[PATH_MAX + 16], orig[PATH_MAX + 16], in[PATH_MAX * 2], out[PATH_MAX * 2],
        err[SVC_ERR_LEN], cerr[CTP_ERR_LEN], errors[1536] = "";
    cJSON *headers = cJSON_Parse(call->headers), *params = cJSON_Parse(call->params);
    const char *rel, *secret = getenv("ANONYMIZER_SECRET");
    ctp_script *script = NULL;
    ctp_lut *lut = NULL;
    files list = {0};
    char **ids = NULL, **pseudo = NULL;
    int *from = NULL;
    size_t nids = 0, i, failed = 0, skipped = 0, noid = 0;
    int32_t rc = DCMP_ERROR;
    int created = 0;
    time_t now = time(NULL);
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (secret == NULL || strlen(secret) < 16) {
        rc = svc_fail(call,
                      "ANONYMIZER_SECRET is %s: set it in .env (at least 16 characters, e.g. "
                      "`openssl rand -hex 32`); new pseudonyms are HMAC-SHA-256 keyed with it",
                      secret ? "shorter than 16 characters" : "not set");
        goto done;
    }
    if (!cJSON_IsObject(headers)) {
        rc = svc_fail(call, "headers are not a JSON object");
        goto done;
    }
    /* The series: headers.dcmpath (relative to DATA), else the seriesId, as the original. */
    if ((rel = svc_json_str(headers, "dcmpath")) == NULL &&
        (rel = svc_json_str(headers, "seriesId")) == NULL) {
        rc = svc_fail(call, "headers have neither dcmpath nor seriesId: add \"dcmpath\" to "
                            "headerFields in the system settings");
        goto done;
    }
    if (svc_data_path(call->data_dir, rel, 0, dir, err) < 0) {
        rc = svc_fail(call, "dcmpath %s", err);
        goto done;
    }
    snprintf(work, sizeof work, "%s.anonymizing", dir);
    snprintf(orig, sizeof orig, "%s.original", dir);
    if (recover(call, dir, orig, err) < 0) {
        rc = svc_fail(call, "%s", err);
        goto done;
    }
    if (!exists(dir)) {
        rc = svc_fail(call, "the series folder %s does not exist", dir);
        goto done;
    }
    if (svc_library_dir(&anchor, moddir) < 0 ||
        snprintf(config, sizeof config, "%s/config", moddir) >= (int)sizeof config) {
        rc = svc_fail(call, "cannot find the service's own folder");
        goto done;
    }
    if (tables_dir(call, tables) < 0) {
        rc = svc_fail(call, "pseudonym tables: cannot make the folder %s: %s", tables,
                      strerror(errno));
        goto done;
    }
    if (script_path(params, tables, config, script_file) < 0 ||
        ctp_script_load(script_file, &script, cerr) < 0) {
        rc = svc_fail(call, "anonymizer script: %s", cerr);
        goto done;
    }

    /* the files, in a stable order */
    walk_list = &list;
    walk_root_len = strlen(dir);
    if (nftw(dir, walk_one, 32, FTW_PHYS) != 0 || list.over) {
        rc = svc_fail(
            call, list.over ? "%s: more than 100000 files" : "%s: cannot list: out of memory", dir);
        goto done;
    }
    if (list.n == 0) {
        rc = svc_fail(call, "%s: no files to anonymize", dir);
        goto done;
    }
    qsort(list.path, list.n, sizeof *list.path, cmp_str);

    /* pseudonyms for every PatientID of the series; as the original, a file whose PatientID is
     * empty or missing is looked up under the empty id, which gets a pseudonym like any other */
    if ((ids = calloc(list.n, sizeof *ids)) == NULL ||
        (pseudo = calloc(list.n, sizeof *pseudo)) == NULL || (lut = ctp_lut_new()) == NULL) {
        rc = svc_fail(call, "out of memory");
        goto done;
    }
    for (i = 0; i < list.n; i++) {
        char *id = NULL;
        size_t k;
        snprintf(in, sizeof in, "%s/%s", dir, list.path[i]);
        if (ctp_file_value(in, 0x00100020, &id, cerr) < 0) {
            rc = svc_fail(call, "%s", cerr);
            goto done;
        }
        if (id == NULL || id[0] == '\0') {
            noid++;
            free(id);
            if ((id = strdup("")) == NULL) {
                rc = svc_fail(call, "out of memory");
                goto done;
            }
        }
        for (k = 0; k < nids && strcmp(ids[k], id) != 0; k++)
            ;
        if (k < nids)
            free(id);
        else
            ids[nids++] = id;
    }
    /* the original kept its tables in config/: read there too, ours win */
    if ((from = calloc(list.n, sizeof *from)) == NULL) {
        rc = svc_fail(call, "out of memory");
        goto done;
    }
    if (pn_assign(tables, strcmp(tables, config) == 0 ? NULL : config, secret,
                  (const char *const *)ids, nids, pseudo, from, &created, err) < 0) {
        rc = svc_fail(call, "pseudonyms: %s", err);
        goto done;
    }
    log_sources(call, tables, config, from, nids);
    for (i = 0; i < nids; i++) {
        char key[PN_FIELD_MAX + 8];
        snprintf(key, sizeof key, "ptid/%s", ids[i]);
        if (ctp_lut_set(lut, key, pseudo[i]) < 0) {
            rc = svc_fail(call, "out of memory");
            goto done;
        }
    }
    if (noid > 0)
        call->host->log(call, DCMP_LOG_WARN,
                        "%zu of %zu files have no PatientID (empty or missing): they get the "
                        "pseudonym of the empty PatientID",
                        noid, list.n);
    call->host->log(call, DCMP_LOG_INFO, "%zu files, %zu patient%s (%d new pseudonym%s), script %s",
                    list.n, nids, nids == 1 ? "" : "s", created, created == 1 ? "" : "s",
                    script_file);

    /* anonymize beside the series; swap only when every file succeeded */
    if (svc_rmtree(work, err) < 0 || svc_mkdirs(work, err) < 0) {
        rc = svc_fail(call, "%s", err);
        goto done;
    }
    for (i = 0; i < list.n; i++) {
        ctp_status st;
        char *slash;
        snprintf(in, sizeof in, "%s/%s", dir, list.path[i]);
        snprintf(out, sizeof out, "%s/%s", work, list.path[i]);
        if ((slash = strrchr(out, '/')) != NULL && slash > out + strlen(work)) {
            *slash = '\0';
            if (svc_mkdirs(out, err) < 0) {
                rc = svc_fail(call, "%s", err);
                goto done;
            }
            *slash = '/';
        }
        st = ctp_anonymize_file(script, lut, in, out, now, cerr);
        if (st == CTP_SKIP) {
            /* the script's author chose to drop such files: they are not passed on */
            call->host->log(call, DCMP_LOG_WARN, "%s", cerr);
            skipped++;
        } else if (st != CTP_OK) {
            size_t used = strlen(errors);
            call->host->log(call, DCMP_LOG_ERROR, "%s", cerr);
            if (failed < MAX_ERRORS && used < sizeof errors - 2)
                snprintf(errors + used, sizeof errors - used, "%s%s", used ? "; " : "", cerr);
            failed++;
        }
    }
    if (failed > 0) {
        svc_rmtree(work, err);
        rc = svc_fail(call, "%zu of %zu files not anonymized, the series is left as received: %s%s",
                      failed, list.n, errors, failed > MAX_ERRORS ? "; ..." : "");
        goto done;
    }
    if (rename(dir, orig) < 0) {
        svc_rmtree(work, err);
        rc = svc_fail(call, "cannot move %s aside: %s", dir, strerror(errno));
        goto done;
    }
    if (rename(work, dir) < 0) {
        int e = errno;
        rename(orig, dir);
        svc_rmtree(work, err);
        rc = svc_fail(call, "cannot put the anonymized series in place: %s", strerror(e));
        goto done;
    }
    if (svc_rmtree(orig, err) < 0)
        call->host->log(call, DCMP_LOG_WARN, "%s", err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    {
        char result[256];
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        snprintf(result, sizeof result,
                 "{\"files\":%zu,\"skipped\":%zu,\"patients\":%zu,\"newPseudonyms\":%d,"
                 "\"ms\":%.1f}",
                 list.n - skipped, skipped, nids, created, ms);
        call->host->set_result(call, result);
        call->host->log(call, DCMP_LOG_INFO, "anonymized %zu files in place (%.1f ms)",
                        list.n - skipped, ms);
    }
    rc = DCMP_OK;
done:
    for (i = 0; i < nids; i++) {
        free(ids[i]);
        if (pseudo)
            free(pseudo[i]);
    }
    free(ids);
    free(pseudo);
    free(from);
    files_free(&list);
    ctp_lut_free(lut);
    ctp_script_free(script);
    cJSON_Delete(headers);
    cJSON_Delete(params);
    return rc;
}

DCMP_MODULE("dicomAnonymizer", "1.0.0", DCMP_FUNCTION(worker));
