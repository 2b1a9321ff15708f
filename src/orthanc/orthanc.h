/* orthanc.h -- Orthanc REST client: JSON GETs, series download into DATA/dicom, /changes. */
#ifndef DCMP_ORTHANC_H
#define DCMP_ORTHANC_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define DCMP_ORTHANC_ID_MAX        64 /* Orthanc ids are 44 characters */
#define DCMP_ORTHANC_ID_LEN        (DCMP_ORTHANC_ID_MAX + 1)
#define DCMP_ORTHANC_TYPE_LEN      48   /* a ChangeType; the longest known is 17 characters */
#define DCMP_ORTHANC_BASE_MAX      512  /* ORTHANC_REST_URL */
#define DCMP_ORTHANC_URL_MAX       1024 /* base URL + path */
#define DCMP_ORTHANC_CRED_MAX      256  /* username, password */
#define DCMP_ORTHANC_JSON_MAX      ((size_t)64 << 20) /* a JSON answer: 64 MiB */
#define DCMP_ORTHANC_FILE_MAX      ((int64_t)2 << 30) /* one DICOM file: 2 GiB */
#define DCMP_ORTHANC_MAX_INSTANCES 100000             /* one series */
#define DCMP_ORTHANC_CONNECT_MS    5000               /* default connect timeout */
#define DCMP_ORTHANC_TIMEOUT_MS    60000              /* default total time per request */

/* A client: base URL, credentials, timeouts and one reusable libcurl easy handle (so
 * connections are kept alive). One handle per thread. */
typedef struct dcmp_orthanc dcmp_orthanc;

/* One row of GET /changes. */
typedef struct dcmp_orthanc_change {
    char type[DCMP_ORTHANC_TYPE_LEN]; /* ChangeType: "StableSeries", "NewSeries", ... */
    char id[DCMP_ORTHANC_ID_LEN];     /* ID of the resource ("" when the change has none) */
    int64_t seq;                      /* Seq, increasing */
} dcmp_orthanc_change;

/* One instance id, as dcmp_orthanc_order_instances lists them. */
typedef struct dcmp_orthanc_instance {
    char id[DCMP_ORTHANC_ID_LEN];
} dcmp_orthanc_instance;

/*
 * Creates a client for `url` (ORTHANC_REST_URL: "http://host:port" or "https://...", an
 * optional path prefix, trailing '/' ignored; credentials inside the URL are refused so they
 * never show in messages). `user`/`password` are for HTTP basic auth; NULL or "" user means no
 * auth. Timeouts start at DCMP_ORTHANC_CONNECT_MS / DCMP_ORTHANC_TIMEOUT_MS. Makes no request.
 * Returns a new client (free with dcmp_orthanc_free), or NULL with the reason in err.
 */
dcmp_orthanc *dcmp_orthanc_new(const char *url, const char *user, const char *password, char *err);

/* Frees the client and its connections. NULL is allowed. */
void dcmp_orthanc_free(dcmp_orthanc *o);

/* Sets the connect timeout and the total time one request may take, in ms; a value <= 0 leaves
 * that one as it was. The total also bounds each file download: big files on a slow link need
 * more than the default. */
void dcmp_orthanc_set_timeouts(dcmp_orthanc *o, long connect_ms, long total_ms);

/* 1 when `id` may name an Orthanc resource in a URL or a file name: 1 to DCMP_ORTHANC_ID_MAX
 * ASCII letters, digits or '-'. Pure. */
int dcmp_orthanc_id_ok(const char *id);

/*
 * Writes the full URL of `path` into dst[size]: the base URL, then `path`, which starts with
 * '/' and holds printable ASCII only, without spaces, '"', '\\' or '#'. Makes no request.
 * Returns 0, or -1 with err naming the path.
 */
int dcmp_orthanc_url(const dcmp_orthanc *o, const char *path, char *dst, size_t size, char *err);

/*
 * GET `path` (for example "/system") and parse the answer as JSON, at most
 * DCMP_ORTHANC_JSON_MAX bytes. Any status outside 2xx is an error naming the URL and status
 * ("GET http://127.0.0.1:8042/series/x: HTTP 404 (Unknown resource)").
 * Returns 0 with *out new (free with cJSON_Delete), or -1 with err set and *out NULL.
 */
int dcmp_orthanc_get_json(dcmp_orthanc *o, const char *path, cJSON **out, char *err);

/* GET `path` as text (for example "/tools/now", which is not JSON), with the caps and errors
 * of dcmp_orthanc_get_json. Returns 0 with *text new (NUL-terminated, free it) and *len, or
 * -1 with err set and *text NULL. */
int dcmp_orthanc_get_text(dcmp_orthanc *o, const char *path, char **text, size_t *len, char *err);

/*
 * Orders a series' instances for download. `instances` is the answer of
 * GET /series/{id}/instances (an array of objects with "ID" and maybe "IndexInSeries");
 * `slices` the answer of GET /series/{id}/ordered-slices or NULL when it did not answer.
 * The order is SlicesShort's when it lists exactly the same instances once each, else
 * ascending IndexInSeries (instances without one last), else the list's order. Every id
 * must pass dcmp_orthanc_id_ok. *how says which order won ("ordered-slices",
 * "IndexInSeries"); it may be NULL. Pure.
 * Returns 0 with *ids new (free with free()) holding *n >= 1 ids, or -1 with err set.
 */
int dcmp_orthanc_order_instances(const cJSON *instances, const cJSON *slices,
                                 dcmp_orthanc_instance **ids, int *n, const char **how, char *err);

/*
 * Downloads series `series_id` into DATA/dicom/<series_id>/ (DATA = data_dir): one file per
 * instance, "<index>-<instanceId>.dcm" with a 0-based index of 4 digits (5 beyond 10000
 * instances, so names always sort in slice order), in the order dcmp_orthanc_order_instances
 * picks from GET /series/{id}/instances and GET /series/{id}/ordered-slices. Each file is
 * streamed from GET /instances/{id}/file to disk (at most DCMP_ORTHANC_FILE_MAX bytes) and
 * synced. Creates DATA and DATA/dicom when missing.
 *
 * Files go to a temp folder DATA/dicom/.tmp-<series_id>-XXXXXX first, which then takes the
 * final name in one step: renameat2(RENAME_EXCHANGE) with an existing folder (the series
 * planned again after new instances), then the old content is removed; on filesystems without
 * exchange the old folder moves aside to DATA/dicom/.old-<series_id>-XXXXXX first. The final
 * name never holds a partial series. A crash may leave .tmp-/.old- folders behind: they are
 * garbage, never read.
 *
 * Refuses an invalid series_id before any request. Writes "dicom/<series_id>" (relative to
 * DATA) into dcmpath[size] and the number of files into *ninstances (may be NULL).
 * Returns 0, or -1 with err naming the series and the instance or URL that failed; the temp
 * folder is removed and an existing DATA/dicom/<series_id> is left as it was.
 */
int dcmp_orthanc_fetch_series(dcmp_orthanc *o, const char *series_id, const char *data_dir,
                              char *dcmpath, size_t size, int *ninstances, char *err);

/*
 * Parses an answer of GET /changes ({"Changes":[{"ChangeType","ID","Seq",...}],"Done","Last"},
 * `len` bytes) into out[max]: *n rows, *last (Last), *done (Done as 0/1). More than `max`
 * rows, a missing or mistyped field, a type longer than DCMP_ORTHANC_TYPE_LEN - 1 or an ID
 * that fails dcmp_orthanc_id_ok is an error. Pure.
 * Returns 0, or -1 with err saying which row is wrong.
 */
int dcmp_orthanc_parse_changes(const char *json, size_t len, dcmp_orthanc_change *out, int max,
                               int *n, int64_t *last, int *done, char *err);

/*
 * GET /changes?since=<since>&limit=<limit>: the changes with Seq > since, at most `limit`
 * (1 <= limit <= max) into out[max], parsed as dcmp_orthanc_parse_changes does.
 *
 * Catch-up loop: start with since = the last Seq handled (0 the first time), handle the rows,
 * then since = *last, and call again until *done is 1. Orthanc may answer fewer rows than
 * `limit` with *done 0; an empty page with *done 1 means caught up. When there are no newer
 * changes Orthanc sets Last to its newest Seq, which is below `since` after its index was
 * reset (a new database): the caller should then start again from 0.
 * Orthanc 1.10.1 has no type= filter: every type comes back (NewInstance, NewSeries,
 * StableSeries, StableStudy, ...) and the caller picks. A series cut off by an Orthanc shutdown
 * before StableAge never gets a StableSeries row (look for NewSeries without one), and deleting
 * a resource removes its rows.
 * Returns 0, or -1 with err set.
 */
int dcmp_orthanc_changes(dcmp_orthanc *o, int64_t since, int limit, dcmp_orthanc_change *out,
                         int max, int *n, int64_t *last, int *done, char *err);

#endif
