/* probe.c -- the end-to-end tests' probe service, workers: `record` writes what the job got
 * (headers, params, added_params, how many files its series has under DATA/dcmpath, which
 * process ran it) to DATA/probe/<seriesId>/<jobName>.json, and with params.copy a copy of the
 * series' files (as the job saw them) in DATA/probe/<seriesId>/series/; `barrier` passes only when
 * params.barrier jobs of its series wait at once, so it succeeds only when that many workers
 * run in parallel. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <dcmp/service.h>

static const char *text_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Letters, digits, '-' and '.' only: the series id becomes a folder name. */
static int safe_name(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 128 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* Entries of a folder other than . and .. (-1 when it cannot be read). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* DATA/probe/<series>, made when missing. */
static int series_dir(const dcmp_call *call, const char *sub, const char *series, char *out,
                      size_t len)
{
    char top[4096];

    snprintf(top, sizeof top, "%s/probe", call->data_dir);
    mkdir(top, 0755);
    if (sub) {
        snprintf(top, sizeof top, "%s/probe/%s", call->data_dir, sub);
        mkdir(top, 0755);
    }
    if ((size_t)snprintf(out, len, "%s/%s", top, series) >= len)
        return -1;
    return mkdir(out, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* Copies the regular files of folder `from` into folder `to` (made). Returns 0 or -1. */
static int copy_files(const char *from, const char *to)
{
    DIR *d = opendir(from);
    struct dirent *e;
    char buf[65536], src[4400], dst[4400];
    int rc = 0;

    if (d == NULL || (mkdir(to, 0755) < 0 && errno != EEXIST)) {
        if (d)
            closedir(d);
        return -1;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        int in, outfd;
        ssize_t n;
        if (e->d_name[0] == '.')
            continue;
        snprintf(src, sizeof src, "%s/%s", from, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", to, e->d_name);
        if ((in = open(src, O_RDONLY)) < 0)
            continue;
        if ((outfd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
            close(in);
            rc = -1;
            break;
        }
        while ((n = read(in, buf, sizeof buf)) > 0)
            if (write(outfd, buf, (size_t)n) != n) {
                rc = -1;
                break;
            }
        close(in);
        if (close(outfd) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

static int32_t record(const dcmp_call *call)
{
    cJSON *headers = cJSON_Parse(call->headers), *out = cJSON_CreateObject();
    cJSON *params = cJSON_Parse(call->params);
    const char *series = text_of(headers, "seriesId"), *dcmpath = text_of(headers, "dcmpath");
    char dir[4096], path[4200], tmp[4300], host[256] = "", *text = NULL;
    int32_t rc = DCMP_ERROR;
    FILE *fp;

    if (!safe_name(series)) {
        call->host->set_error(call, "headers.seriesId is missing or not a plain name");
        goto done;
    }
    gethostname(host, sizeof host - 1);
    cJSON_AddStringToObject(out, "jobName", call->job_name);
    cJSON_AddStringToObject(out, "jobId", call->job_id);
    cJSON_AddItemToObject(out, "headers", cJSON_Parse(call->headers));
    cJSON_AddItemToObject(out, "params", cJSON_Parse(call->params));
    cJSON_AddItemToObject(out, "added_params", cJSON_Parse(call->added_params));
    cJSON_AddStringToObject(out, "host", host);
    cJSON_AddNumberToObject(out, "pid", (double)getpid());
    if (dcmpath != NULL && strstr(dcmpath, "..") == NULL) {
        snprintf(path, sizeof path, "%s/%s", call->data_dir, dcmpath);
        cJSON_AddNumberToObject(out, "files", count_entries(path));
    }
    if (series_dir(call, NULL, series, dir, sizeof dir) < 0) {
        call->host->set_error(call, "cannot make the probe's folder under DATA");
        goto done;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, "copy")) && dcmpath != NULL &&
        strstr(dcmpath, "..") == NULL) {
        char from[4096], to[4200];
        snprintf(from, sizeof from, "%s/%s", call->data_dir, dcmpath);
        snprintf(to, sizeof to, "%s/series", dir);
        if (copy_files(from, to) < 0) {
            call->host->set_error(call, "cannot copy the series' files");
            goto done;
        }
    }
    snprintf(path, sizeof path, "%s/%s.json", dir, call->job_name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    text = cJSON_Print(out);
    if (text == NULL || (fp = fopen(tmp, "w")) == NULL) {
        call->host->set_error(call, "cannot write the record");
        goto done;
    }
    fputs(text, fp);
    if (fclose(fp) != 0 || rename(tmp, path) != 0) {
        call->host->set_error(call, "cannot write the record");
        goto done;
    }
    call->host->log(call, DCMP_LOG_INFO, "recorded %s for series %s", call->job_name, series);
    rc = DCMP_OK;
done:
    cJSON_free(text);
    cJSON_Delete(out);
    cJSON_Delete(headers);
    cJSON_Delete(params);
    return rc;
}

static int32_t barrier(const dcmp_call *call)
{
    cJSON *headers = cJSON_Parse(call->headers), *params = cJSON_Parse(call->params);
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(params, "barrier");
    const char *series = text_of(headers, "seriesId");
    char dir[4096], mark[4200], msg[256];
    int32_t rc = DCMP_ERROR;
    int n = 0, i, fd;

    if (!safe_name(series) || !cJSON_IsNumber(want)) {
        call->host->set_error(call, "needs headers.seriesId and params.barrier");
        goto done;
    }
    if (series_dir(call, "barrier", series, dir, sizeof dir) < 0) {
        call->host->set_error(call, "cannot make the barrier folder");
        goto done;
    }
    snprintf(mark, sizeof mark, "%s/%s", dir, call->job_name);
    if ((fd = open(mark, O_WRONLY | O_CREAT, 0644)) >= 0)
        close(fd);
    /* up to 2 minutes: the other jobs run only if other workers are free to take them */
    for (i = 0; i < 1200; i++) {
        n = count_entries(dir);
        if (n >= want->valueint) {
            call->host->log(call, DCMP_LOG_INFO, "%d jobs at the barrier at once", n);
            rc = DCMP_OK;
            goto done;
        }
        usleep(100000);
    }
    snprintf(msg, sizeof msg, "only %d of %d jobs reached the barrier at once", n, want->valueint);
    call->host->set_error(call, msg);
done:
    cJSON_Delete(headers);
    cJSON_Delete(params);
    return rc;
}

DCMP_MODULE("probe", "1.0.0", DCMP_FUNCTION(record), DCMP_FUNCTION(barrier));
