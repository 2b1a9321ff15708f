/* worker.c (module) -- the template service's worker: writes a one-page PDF about the series.
 *
 * A worker runs in a dcmp-worker's executor process, once per job, after every job it depends
 * on has finished (pre services, and its settings.json "dependsOn"). It gets the same headers
 * and params as the callback and added_params: everything every callback injected, keyed by
 * jobName. Return DCMP_OK, DCMP_SKIP (nothing to do) or DCMP_ERROR with set_error(): a failed
 * job shows its error and the tail of its log (everything printed) in the dashboard, and its
 * dependents wait until it is requeued and succeeds. Rules: write only under DATA
 * (call->data_dir), never assume an order between jobs that do not depend on each other, and
 * expect to be killed at the job's timeout. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dcmp/service.h"

/* The service's name, from CMakeLists.txt's set(SERVICE ...): the descriptor's name and the
 * folder under DATA its files go to. */
#ifndef SERVICE_NAME
#define SERVICE_NAME "temp"
#endif

/* Writes a minimal one-page PDF holding one line of text (ASCII letters, digits, spaces). */
static int write_pdf(const char *path, const char *line)
{
    char content[512], clean[200];
    long offsets[6];
    size_t i, k = 0;
    int n;
    FILE *f;

    for (i = 0; line[i] && k < sizeof clean - 1; i++)
        if ((line[i] >= 'a' && line[i] <= 'z') || (line[i] >= 'A' && line[i] <= 'Z') ||
            (line[i] >= '0' && line[i] <= '9') || strchr(" .,:-_", line[i]))
            clean[k++] = line[i];
    clean[k] = '\0';
    n = snprintf(content, sizeof content, "BT /F1 14 Tf 72 720 Td (%s) Tj ET", clean);
    if ((f = fopen(path, "wb")) == NULL)
        return -1;
    fputs("%PDF-1.4\n", f);
    offsets[1] = ftell(f);
    fputs("1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n", f);
    offsets[2] = ftell(f);
    fputs("2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n", f);
    offsets[3] = ftell(f);
    fputs("3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
          "/Resources << /Font << /F1 5 0 R >> >> >> endobj\n",
          f);
    offsets[4] = ftell(f);
    fprintf(f, "4 0 obj << /Length %d >> stream\n%s\nendstream endobj\n", n, content);
    offsets[5] = ftell(f);
    fputs("5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj\n", f);
    {
        long xref = ftell(f);
        fputs("xref\n0 6\n0000000000 65535 f \n", f);
        for (i = 1; i <= 5; i++)
            fprintf(f, "%010ld 00000 n \n", offsets[i]);
        fprintf(f, "trailer << /Size 6 /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", xref);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int32_t worker(const dcmp_call *call)
{
    cJSON *headers = cJSON_Parse(call->headers), *added = cJSON_Parse(call->added_params);
    /* what our own callback injected */
    const cJSON *mine = cJSON_GetObjectItemCaseSensitive(added, call->job_name);
    const cJSON *storage = cJSON_GetObjectItemCaseSensitive(mine, "storage");
    const cJSON *rel = cJSON_GetObjectItemCaseSensitive(storage, "path");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(headers, "SeriesDescription");
    char path[4096], dir[4096 + 8], line[256], msg[512];
    int32_t rc = DCMP_ERROR;

    if (!cJSON_IsString(rel) || strstr(rel->valuestring, "..") != NULL) {
        call->host->set_error(call, "added_params has no storage path from the " SERVICE_NAME
                                    " callback");
        goto done;
    }
    /* Everything lives under DATA: make DATA/<SERVICE>, write DATA/<SERVICE>/<seriesId>.pdf */
    snprintf(dir, sizeof dir, "%s/" SERVICE_NAME, call->data_dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(msg, sizeof msg, "cannot create %s: %s", dir, strerror(errno));
        call->host->set_error(call, msg);
        goto done;
    }
    snprintf(path, sizeof path, "%s/%s", call->data_dir, rel->valuestring);
    snprintf(line, sizeof line, "dcm-processor " SERVICE_NAME " service: %s",
             cJSON_IsString(desc) ? desc->valuestring : "a series");
    if (write_pdf(path, line) < 0) {
        snprintf(msg, sizeof msg, "cannot write %s: %s", path, strerror(errno));
        call->host->set_error(call, msg);
        goto done;
    }
    /* Logged lines (and anything printed) are kept with the job. */
    call->host->log(call, DCMP_LOG_INFO, "wrote %s; storageManager will store it", path);
    rc = DCMP_OK;
done:
    cJSON_Delete(headers);
    cJSON_Delete(added);
    return rc;
}

/* settings.json's "worker": "<SERVICE>.worker" finds MODULES/<SERVICE>/<SERVICE>.so and this
 * `worker`. */
DCMP_MODULE(SERVICE_NAME, "1.0.0", DCMP_FUNCTION(worker));
