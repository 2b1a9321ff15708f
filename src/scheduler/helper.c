/* helper.c -- dcmp-scheduler's side of dcmp-dicom, the helper process that talks to Orthanc and
 * reads DICOM headers: one request at a time over the executor's pipes, with a time limit; a
 * crash or an overrun fails the request with the reason, and the next one starts a new
 * helper. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcmp/service.h"
#include "jsonw.h"
#include "log.h"
#include "scheduler.h"

void helper_init(helper *h, const dcmp_config *cfg, const char *program)
{
    memset(h, 0, sizeof *h);
    dcmp_pool_init_program(&h->pool, program, "-", cfg->data, 1000);
    h->cfg = cfg;
}

void helper_stop(helper *h)
{
    dcmp_pool_stop(&h->pool);
}

/* Runs one request. Returns 0 with *result (new: free it), 1 when it failed for good, -1 when
 * it may work later; why[DCMP_ERR_LEN] says why. */
static int request(helper *h, const char *what, const char *kwargs, int64_t timeout, char **result,
                   char *why)
{
    dcmp_executor_outcome o;
    dcmp_job job;
    int rc;

    *result = NULL;
    memset(&job, 0, sizeof job);
    job.name = (char *)what;
    job.func = (char *)what;
    job.kwargs = (char *)kwargs;
    job.timeout = timeout;
    if (dcmp_pool_run(&h->pool, &job, h->tick, h->tick_arg, &o) < 0) {
        free(o.result);
        return dcmp_seterr(why, "%s", o.error); /* no helper could start: later */
    }
    if (o.status == DCMP_EXEC_OK && o.code == DCMP_OK) {
        *result = o.result;
        return 0;
    }
    if (o.status == DCMP_EXEC_OK) {
        snprintf(why, DCMP_ERR_LEN, "%s", o.result); /* DCMP_SKIP: the reason, try later */
        rc = -1;
    } else if (o.status == DCMP_EXEC_FAILED) {
        snprintf(why, DCMP_ERR_LEN, "%s", o.error);
        rc = 1;
    } else {
        /* crashed or overran: the same input would do it again */
        snprintf(why, DCMP_ERR_LEN, "dcmp-dicom (%s): %.440s", what, o.error);
        rc = 1;
    }
    free(o.result);
    return rc;
}

/* Starts the arguments of a request to Orthanc: {"url","user","password", */
static void orthanc_args(helper *h, dcmp_jsonw *w)
{
    dcmp_jsonw_init(w, 4 * PATH_MAX);
    dcmp_jsonw_lit(w, "{\"url\":");
    dcmp_jsonw_str(w, h->cfg->orthanc_url);
    dcmp_jsonw_lit(w, ",\"user\":");
    dcmp_jsonw_str(w, h->cfg->orthanc_user);
    dcmp_jsonw_lit(w, ",\"password\":");
    dcmp_jsonw_str(w, h->cfg->orthanc_password);
}

/* Parses a helper's result; returns the tree or NULL (why set). */
static cJSON *parsed(char *result, const char *what, char *why)
{
    cJSON *v = cJSON_Parse(result);

    free(result);
    if (v == NULL)
        dcmp_seterr(why, "dcmp-dicom (%s): an answer that is not JSON", what);
    return v;
}

/* Ends the request's arguments begun in w ("}"), sends them as `verb`, and sets *result (a new
 * string, free it). Returns request's code: 0, > 0 failed for good, < 0 failed for now. */
static int ask(helper *h, const char *verb, dcmp_jsonw *w, int timeout, char **result, char *why)
{
    char *kwargs;
    int rc;

    *result = NULL;
    dcmp_jsonw_lit(w, "}");
    if ((kwargs = dcmp_jsonw_finish(w)) == NULL)
        return dcmp_seterr(why, "out of memory");
    rc = request(h, verb, kwargs, timeout, result, why);
    free(kwargs);
    return rc;
}

/* ask, with the answer parsed: *out a new tree (cJSON_Delete it). An answer that is not JSON
 * fails for good (1). */
static int ask_json(helper *h, const char *verb, dcmp_jsonw *w, int timeout, cJSON **out, char *why)
{
    char *result;
    int rc = ask(h, verb, w, timeout, &result, why);

    *out = NULL;
    if (rc != 0)
        return rc;
    return (*out = parsed(result, verb, why)) != NULL ? 0 : 1;
}

int helper_check(helper *h, char *why)
{
    char *result;
    dcmp_jsonw w;
    int rc;

    orthanc_args(h, &w);
    rc = ask(h, "check", &w, HELPER_GET_TIMEOUT, &result, why);
    free(result);
    return rc;
}

int helper_fetch(helper *h, const char *series, char *dcmpath, size_t size, int *n, char *why)
{
    const cJSON *p, *k;
    dcmp_jsonw w;
    cJSON *v;
    int rc;

    orthanc_args(h, &w);
    dcmp_jsonw_lit(&w, ",\"series\":");
    dcmp_jsonw_str(&w, series);
    if ((rc = ask_json(h, "fetch", &w, HELPER_FETCH_TIMEOUT, &v, why)) != 0)
        return rc;
    p = cJSON_GetObjectItemCaseSensitive(v, "dcmpath");
    k = cJSON_GetObjectItemCaseSensitive(v, "instances");
    rc = cJSON_IsString(p) && dcmp_strlcpy(dcmpath, p->valuestring, size) == 0 ? 0 : 1;
    if (rc)
        dcmp_seterr(why, "dcmp-dicom (fetch): an answer without dcmpath");
    *n = cJSON_IsNumber(k) ? k->valueint : 0;
    cJSON_Delete(v);
    return rc;
}

int helper_header(helper *h, const char *dcmpath, const char *series_uid, int instances,
                  cJSON **out, char *why)
{
    dcmp_jsonw w;
    int rc;

    *out = NULL;
    dcmp_jsonw_init(&w, 3 * PATH_MAX);
    dcmp_jsonw_lit(&w, "{\"dcmpath\":");
    dcmp_jsonw_str(&w, dcmpath);
    if (series_uid && series_uid[0]) {
        dcmp_jsonw_lit(&w, ",\"seriesUid\":");
        dcmp_jsonw_str(&w, series_uid);
        dcmp_jsonw_lit(&w, ",\"instances\":");
        dcmp_jsonw_int(&w, instances);
    }
    if ((rc = ask_json(h, "header", &w, HELPER_HEADER_TIMEOUT, out, why)) != 0)
        return rc;
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        dcmp_seterr(why, "dcmp-dicom (header): an answer that is not an object");
        return 1;
    }
    return 0;
}

int helper_get(helper *h, const char *path, cJSON **out, char *why)
{
    dcmp_jsonw w;

    *out = NULL;
    orthanc_args(h, &w);
    dcmp_jsonw_lit(&w, ",\"path\":");
    dcmp_jsonw_str(&w, path);
    return ask_json(h, "get", &w, HELPER_GET_TIMEOUT, out, why);
}

int helper_text(helper *h, const char *path, char *text, size_t size, char *why)
{
    char *result;
    dcmp_jsonw w;
    int rc;

    text[0] = '\0';
    orthanc_args(h, &w);
    dcmp_jsonw_lit(&w, ",\"path\":");
    dcmp_jsonw_str(&w, path);
    if ((rc = ask(h, "text", &w, HELPER_GET_TIMEOUT, &result, why)) != 0)
        return rc;
    rc = dcmp_strlcpy(text, result, size) < 0 ? 1 : 0;
    if (rc)
        dcmp_seterr(why, "GET %s: an answer longer than %zu bytes", path, size - 1);
    free(result);
    return rc;
}

int helper_changes(helper *h, int64_t since, int limit, helper_change *rows, int max, int *n,
                   int64_t *last, int *done, char *why)
{
    const cJSON *list, *row, *l, *d;
    dcmp_jsonw w;
    cJSON *v;
    int rc;

    *n = 0;
    orthanc_args(h, &w);
    dcmp_jsonw_lit(&w, ",\"since\":");
    dcmp_jsonw_int(&w, since);
    dcmp_jsonw_lit(&w, ",\"limit\":");
    dcmp_jsonw_int(&w, limit < max ? limit : max);
    if ((rc = ask_json(h, "changes", &w, HELPER_GET_TIMEOUT, &v, why)) != 0)
        return rc;
    list = cJSON_GetObjectItemCaseSensitive(v, "changes");
    l = cJSON_GetObjectItemCaseSensitive(v, "last");
    d = cJSON_GetObjectItemCaseSensitive(v, "done");
    if (!cJSON_IsArray(list) || !cJSON_IsNumber(l) || !cJSON_IsBool(d)) {
        cJSON_Delete(v);
        dcmp_seterr(why, "dcmp-dicom (changes): an answer of the wrong form");
        return 1;
    }
    cJSON_ArrayForEach(row, list)
    {
        const cJSON *t = cJSON_GetArrayItem(row, 0), *id = cJSON_GetArrayItem(row, 1),
                    *seq = cJSON_GetArrayItem(row, 2);
        if (*n >= max || !cJSON_IsString(t) || !cJSON_IsString(id) || !cJSON_IsNumber(seq) ||
            dcmp_strlcpy(rows[*n].type, t->valuestring, sizeof rows[*n].type) < 0 ||
            dcmp_strlcpy(rows[*n].id, id->valuestring, sizeof rows[*n].id) < 0) {
            cJSON_Delete(v);
            dcmp_seterr(why, "dcmp-dicom (changes): a row of the wrong form");
            return 1;
        }
        rows[*n].seq = (int64_t)seq->valuedouble;
        (*n)++;
    }
    *last = (int64_t)l->valuedouble;
    *done = cJSON_IsTrue(d);
    cJSON_Delete(v);
    return 0;
}
