/* study.c -- dcmp-scheduler's study events: a series joins its study's state in Redis as its
 * event is planned; a study is decided (dcmp_study_decide) on news, at its deadlines and while
 * its series' jobs run; a complete one gets its folder of links and its study-level entries
 * planned, as one study event (docs/planning.md, "Study events"). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "scheduler.h"
#include "settings_cache.h"
#include "holds.h"
#include "studies.h"
#include "study.h"
#include "trigger.h"

#define STUDY_MAX_ENTRIES 64    /* study-level entries decided per study (more: reported) */
#define STUDY_POLL_MS     2000  /* a study whose series are not ready is looked at again after */
#define STUDY_SLOW_POLL   60000 /* ... this, once its first series is an hour old */
#define STUDY_TICK_MS     500   /* how often the study thread looks for studies due */
#define STUDY_DUE_BATCH   32    /* studies decided per tick */
#define STUDY_FIELDS_MAX  65536 /* bytes of a series' header fields kept in the study's state */
#define STUDY_ASK_BATCH   4     /* studies the thread asks Orthanc about per tick */

/* The series fields kept when the whole header is larger than STUDY_FIELDS_MAX. */
static const char *const series_keys[] = {"SeriesInstanceUID", "SeriesDescription", "SeriesNumber",
                                          "Modality",          "ProtocolName",      "ImageType",
                                          "BodyPartExamined",  "SequenceName",      NULL};

/* One study-level entry and what was decided for it. */
typedef struct judged_entry {
    const char *name; /* borrowed from the settings */
    dcmp_trigger t;
    dcmp_study_verdict v;
} judged_entry;

/* A study (or patient) as it stands, and the verdict for each of its entries. */
typedef struct judged {
    const dcmp_level *L; /* its level */
    cJSON *state;        /* owned: dcmp_studies_load's */
    cJSON *empty;        /* owned: the fields of a series known only from Orthanc's list */
    dcmp_study_series series[DCMP_STUDY_MAX_SERIES];
    int nseries, nknown; /* all; those that joined (the rest: expected only, first) */
    judged_entry e[STUDY_MAX_ENTRIES];
    int n, plan, drop;
    int64_t due_ms;  /* when to decide again; 0: on news only */
    int64_t wait_ms; /* the same for the entries' own waits, the asking below left out */
    int64_t ask_ms;  /* when the study thread may ask Orthanc whether the study is stable (an
                      * entry waits for that only): STABLE_AGE after the last series joined
                      * and after the last time it asked; 0: nothing to ask */
} judged;

/* 1 when id is an Orthanc id: 1 to 64 letters, digits or '-'. */
static int orthanc_id(const char *id)
{
    size_t n = 0;

    for (; id && id[n]; n++)
        if (n >= 64 || !((id[n] >= 'a' && id[n] <= 'z') || (id[n] >= 'A' && id[n] <= 'Z') ||
                         (id[n] >= '0' && id[n] <= '9') || id[n] == '-'))
            return 0;
    return n > 0;
}

/* Collects the registry's valid entries of level L into e[STUDY_MAX_ENTRIES]; returns how
 * many. */
static int study_entries(const dcmp_settings_files *reg, const dcmp_level *L, judged_entry *out)
{
    dcmp_study_entry e[STUDY_MAX_ENTRIES + 1];
    int i, count = dcmp_study_entries(reg, L->level, e, STUDY_MAX_ENTRIES + 1);

    if (count > STUDY_MAX_ENTRIES) {
        dcmp_log_warn("more than %d %s-level entries: %s and later ones are not decided",
                      STUDY_MAX_ENTRIES, L->name, e[STUDY_MAX_ENTRIES].name);
        count = STUDY_MAX_ENTRIES;
    }
    for (i = 0; i < count; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].name = e[i].name;
        out[i].t = e[i].t;
    }
    return count;
}

/* The levels the registry has entries of: bit 1 << level for each (scheduler.studies). */
static int wanted(const dcmp_settings_files *reg)
{
    judged_entry e[STUDY_MAX_ENTRIES];
    int i, mask = 0;

    for (i = 0; i < DCMP_LEVEL_TABLE; i++)
        if (study_entries(reg, &dcmp_levels[i], e) > 0)
            mask |= 1 << dcmp_levels[i].level;
    return mask;
}

int study_wanted(scheduler *s, const dcmp_level *L)
{
    return (atomic_load(&s->studies) & (1 << L->level)) != 0;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* A copy of the keys of `from` named in keys (NULL-terminated; new). */
static cJSON *pick(const cJSON *from, const char *const *keys)
{
    cJSON *o = cJSON_CreateObject();
    size_t i;

    for (i = 0; o && keys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, keys[i]);
        if (v)
            cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, 1));
    }
    return o;
}

/* Adds series sid (of study `study`) to the state of its level-L parent `parent`. Returns 0,
 * or -1 with err when Redis failed. */
static int join(planner *pl, const dcmp_level *L, const char *id, const char *sid,
                const char *study, const char *parent, const cJSON *data, const series_facts *f,
                int skip, char *err)
{
    cJSON *o, *fields = NULL, *sf = NULL;
    char *text = NULL, *ftext = NULL;
    int rc = -1;

    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", id);
    cJSON_AddStringToObject(o, "uid", f && f->uid[0] ? f->uid : str(data, "SeriesInstanceUID"));
    cJSON_AddStringToObject(o, "dcmpath", str(data, "dcmpath"));
    cJSON_AddNumberToObject(o, "instances", f ? f->instances : num(data, "instances"));
    cJSON_AddStringToObject(o, "lastUpdate", f ? f->last_update : str(data, "LastUpdate"));
    cJSON_AddNumberToObject(o, "arrived", (double)time(NULL));
    cJSON_AddBoolToObject(o, "skip", skip);
    if (data) {
        char *whole = cJSON_PrintUnformatted(data);
        sf = whole && strlen(whole) <= STUDY_FIELDS_MAX ? cJSON_Duplicate(data, 1)
                                                        : pick(data, series_keys);
        free(whole);
        cJSON_DeleteItemFromObjectCaseSensitive(sf, "series");
        cJSON_DeleteItemFromObjectCaseSensitive(sf, "studies");
        cJSON_AddItemToObject(o, "fields", sf);
    }
    if (L->depth > 1) { /* a patient: the series' study and that study's own fields */
        cJSON *own = pick(data, dcmp_level_of(DCMP_LEVEL_STUDY)->own);
        cJSON_AddStringToObject(o, "study", study);
        cJSON_AddItemToObject(o, "studyFields", own);
    }
    fields = pick(data, L->own);
    if (fields && !cJSON_GetObjectItemCaseSensitive(fields, L->id_key))
        cJSON_AddStringToObject(fields, L->id_key, parent);
    text = cJSON_PrintUnformatted(o);
    ftext = cJSON_PrintUnformatted(fields);
    if (text == NULL || ftext == NULL)
        dcmp_fatal("out of memory noting series %s of %s %s", sid, L->name, parent);
    if (dcmp_studies_series(pl->seen, L, parent, sid, text, ftext, DCMP_STUDY_MAX_SERIES,
                            pl->s->cfg->seen_ttl) < 0) {
        if (dcmp_queue_err(pl->seen) == DCMP_QUEUE_EIO) {
            dcmp_seterr(err, "series %s joining %s %s: %s", sid, L->name, parent,
                        dcmp_queue_errstr(pl->seen));
            goto out;
        }
        /* a study of too many series: said, and the series event goes on */
        dcmp_log_warn("event %s: %s", id, dcmp_queue_errstr(pl->seen));
    } else if (data && str(data, "dcmpath")[0] &&
               hold_series(pl->s, pl->seen, L, parent, str(data, "dcmpath"), err) < 0) {
        goto out; /* its files would be cleaned away: the event waits */
    }
    dcmp_log_debug("event %s: series %s joins %s %s%s", id, sid, L->name, parent,
                   skip ? " (failed: not waited for)" : "");
    rc = 0;
out:
    free(text);
    free(ftext);
    cJSON_Delete(o);
    cJSON_Delete(fields);
    return rc;
}

int study_note(planner *pl, const char *id, const char *series, const dcmp_settings_files *reg,
               const cJSON *data, const series_facts *f, int skip, char *err)
{
    const char *study = f && f->study[0] ? f->study : str(data, "studyId");
    char sid[DCMP_STUDIES_ID_LEN];
    int i;

    atomic_store(&pl->s->studies, wanted(reg));
    snprintf(sid, sizeof sid, "%s", series);
    for (i = 0; i < DCMP_LEVEL_TABLE; i++) {
        const dcmp_level *L = &dcmp_levels[i];
        /* the series' study: Orthanc's; its patient: the event's (Orthanc's ParentPatient,
         * as the Lua script and the catch-up put it) */
        const char *parent = L->level == DCMP_LEVEL_STUDY ? study : str(data, L->id_key);
        if (!study_wanted(pl->s, L))
            continue;
        if (!orthanc_id(parent) || !orthanc_id(sid) || !orthanc_id(study)) {
            dcmp_log_warn("event %s: no %s, study or series id to join a %s with (\"%.80s\")", id,
                          L->id_key, L->name, parent);
            continue;
        }
        if (join(pl, L, id, sid, study, parent, data, f, skip, err) < 0)
            return -1;
    }
    return 0;
}

/* The versions decided before for entry `name`, but those of event `event` (a retry of it
 * decides again): into vers[] with their uids in uids[] (at most max in all). Returns how many
 * versions. */
static int versions_of(const judged *j, const char *name, const char *event,
                       dcmp_study_version *vers, const char **uids, int max)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j->state, "decided"), name);
    const cJSON *v, *u;
    int n = 0, used = 0;

    cJSON_ArrayForEach(v, list)
    {
        if (n == DCMP_STUDY_MAX_VERSIONS)
            break;
        if (event && strcmp(str(v, "event"), event) == 0)
            continue;
        vers[n].key = str(v, "key");
        vers[n].uids = uids + used;
        vers[n].nuids = 0;
        cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(v, "uids"))
        {
            if (cJSON_IsString(u) && used < max) {
                uids[used++] = u->valuestring;
                vers[n].nuids++;
            }
        }
        n++;
    }
    return n;
}

/* The series of the study from its state: those that joined (skipped ones left out) first,
 * then those Orthanc listed that have not joined yet (not stable for the decision). */
static void series_of(judged *j)
{
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(j->state, "series"), *s, *x;

    j->nseries = 0;
    cJSON_ArrayForEach(s, series)
    {
        dcmp_study_series *d;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "skip")))
            continue;
        if (j->nseries == DCMP_STUDY_MAX_SERIES)
            break;
        d = &j->series[j->nseries++];
        d->id = s->string;
        d->uid = str(s, "uid");
        d->dcmpath = str(s, "dcmpath");
        d->fields = cJSON_GetObjectItemCaseSensitive(s, "fields");
        if (!cJSON_IsObject(d->fields))
            d->fields = j->empty;
        d->instances = (int64_t)num(s, "instances");
        d->last_update = str(s, "lastUpdate");
        d->arrived = (int64_t)num(s, "arrived");
        d->stable = 1;
        d->planned = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "planned"));
        d->ended = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "ended"));
        d->study = str(s, "study");
        d->study_fields = cJSON_GetObjectItemCaseSensitive(s, "studyFields");
    }
    j->nknown = j->nseries;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j->state, "expect"))
    {
        dcmp_study_series *d;
        if (!cJSON_IsString(x) || cJSON_GetObjectItemCaseSensitive(series, x->valuestring))
            continue;
        if (j->nseries == DCMP_STUDY_MAX_SERIES)
            break;
        d = &j->series[j->nseries++];
        memset(d, 0, sizeof *d);
        d->id = x->valuestring;
        d->uid = x->valuestring; /* for the reason only: it waits */
        d->dcmpath = "";
        d->fields = j->empty;
        d->last_update = "";
        d->arrived = (int64_t)(num(j->state, "first") / 1000);
    }
}

/* The earlier of two due times (0: none). */
static int64_t earlier(int64_t a, int64_t b)
{
    return a == 0 || (b > 0 && b < a) ? b : a;
}

/* Loads study `study` (of level L) and decides each of its level's entries at now (event: the
 * study event deciding, or NULL). Returns 0, or -1 with err (Redis). */
static int judge(const dcmp_config *cfg, const dcmp_level *L, dcmp_queue *q,
                 const dcmp_settings_files *reg, const char *study, const char *event, judged *j,
                 char *err)
{
    static const int max_uids = DCMP_STUDY_MAX_VERSIONS * 64;
    int64_t now = time(NULL), now_ms = dcmp_clock_wall_ms(), first;
    dcmp_study_version *vers = dcmp_xcalloc(DCMP_STUDY_MAX_VERSIONS, sizeof *vers);
    const char **uids = dcmp_xcalloc((size_t)max_uids, sizeof *uids);
    int i, k, unready = 0, ask = 0;

    j->L = L;
    j->state = NULL;
    j->empty = cJSON_CreateObject();
    j->due_ms = j->ask_ms = 0;
    j->plan = j->drop = 0;
    j->n = study_entries(reg, L, j->e);
    if (dcmp_studies_load(q, L, study, &j->state) < 0) {
        free(vers);
        free(uids);
        return dcmp_seterr(err, "%s %s: %s", L->name, study, dcmp_queue_errstr(q));
    }
    series_of(j);
    for (k = 0; k < j->nseries; k++)
        unready += !(j->series[k].stable && j->series[k].planned && j->series[k].ended);
    for (i = 0; i < j->n; i++) {
        dcmp_study_view v;
        char why[DCMP_ERR_LEN];
        memset(&v, 0, sizeof v);
        v.series = j->series;
        v.nseries = j->nseries;
        v.stable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->state, "stable"));
        v.planned = vers;
        v.nplanned = versions_of(j, j->e[i].name, event, vers, uids, max_uids);
        if (dcmp_study_decide(&j->e[i].t, &v, now, &j->e[i].v, why) < 0) {
            /* bad input (a series without uid): said in the event, never planned */
            memset(&j->e[i].v, 0, sizeof j->e[i].v);
            j->e[i].v.decision = DCMP_STUDY_DONE;
            snprintf(j->e[i].v.reason, sizeof j->e[i].v.reason, "cannot be decided: %.480s", why);
            continue;
        }
        j->plan += j->e[i].v.decision == DCMP_STUDY_PLAN;
        j->drop += j->e[i].v.decision == DCMP_STUDY_DROP;
        ask |= j->e[i].v.awaits_stable;
        if (j->e[i].v.decision == DCMP_STUDY_WAIT) {
            int64_t at = j->e[i].v.wait_until * 1000;
            if (at == 0 && unready > 0) {
                first = (int64_t)num(j->state, "first");
                at = now_ms + (now_ms - first > 3600000 ? STUDY_SLOW_POLL : STUDY_POLL_MS);
            }
            j->due_ms = earlier(j->due_ms, at);
        }
    }
    j->wait_ms = j->due_ms;
    if (ask && cfg->orthanc_url[0]) {
        /* Orthanc's word may not come (docs/planning.md): asked once the study has been
         * quiet for STABLE_AGE, and again no sooner than STABLE_AGE later */
        int64_t joined = (int64_t)num(j->state, "joined"), asked = (int64_t)num(j->state, "asked");
        int64_t last = joined > 0 ? joined : (int64_t)num(j->state, "first");
        j->ask_ms = (asked > last ? asked : last) + cfg->stable_age * 1000;
        j->due_ms = earlier(j->due_ms, j->ask_ms);
    }
    free(vers);
    free(uids);
    return 0;
}

/* Redis' time the study's state was read at (ms). */
static int64_t loaded(const judged *j)
{
    return (int64_t)num(j->state, "loaded");
}

static void judged_free(judged *j)
{
    cJSON_Delete(j->state);
    cJSON_Delete(j->empty);
    j->state = j->empty = NULL;
}

int study_accept(scheduler *s, dcmp_queue *q, const dcmp_level *L, const char *study,
                 const char *version, const char *origin, char id[DCMP_ID_LEN])
{
    char body[256], dup[DCMP_ID_LEN] = "";
    int rc;

    if (dcmp_job_new_id(id) < 0)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "no randomness for an event id");
    snprintf(body, sizeof body, LEVEL_BODY_PREFIX "%s\",\"%s\":\"%.64s\",\"origin\":\"%.16s\"}",
             L->name, L->id_key, study, origin);
    rc = dcmp_studies_accept(q, L, id, study, version, body, origin, s->cfg->seen_ttl, dup);
    if (rc == 0)
        snprintf(id, DCMP_ID_LEN, "%s", dup);
    return rc;
}

/* The series ids Orthanc lists in info, its answer for a study ("Series") or for a patient
 * (each of its "Studies" asked in turn), at most DCMP_STUDY_MAX_SERIES. A new JSON list (free),
 * NULL when Orthanc failed (why says so; rc as the helper's). */
static cJSON *members(planner *pl, const dcmp_level *L, const cJSON *info, int *rc, char *why)
{
    const cJSON *x, *y;
    cJSON *list;
    int n = 0, asked = 0;

    *rc = 0;
    if (L->depth == 1) /* a study: its own list (none: an empty one) */
        return cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(info, "Series"))
                   ? cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(info, "Series"), 1)
                   : cJSON_CreateArray();
    list = cJSON_CreateArray();
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(info, "Studies"))
    {
        char path[128];
        cJSON *sinfo = NULL;
        /* one question per study, as many studies as series at most */
        if (!cJSON_IsString(x) || !orthanc_id(x->valuestring) || n >= DCMP_STUDY_MAX_SERIES ||
            asked++ >= DCMP_STUDY_MAX_SERIES)
            continue;
        snprintf(path, sizeof path, "/studies/%s", x->valuestring);
        if ((*rc = helper_get(&pl->dicom, path, &sinfo, why)) != 0) {
            if (*rc > 0) { /* gone meanwhile: none of it waited for */
                *rc = 0;
                continue;
            }
            cJSON_Delete(list);
            return NULL;
        }
        cJSON_ArrayForEach(y, cJSON_GetObjectItemCaseSensitive(sinfo, "Series"))
        {
            if (cJSON_IsString(y) && n++ < DCMP_STUDY_MAX_SERIES)
                cJSON_AddItemToArray(list, cJSON_CreateString(y->valuestring));
        }
        cJSON_Delete(sinfo);
    }
    return list;
}

/* The series Orthanc lists for the study (or patient) that have not joined it yet and will:
 * neither a result of the pipeline nor left out by MIN_INSTANCES or SUPPORTED_MODALITY (their
 * events plan no files). A new JSON list (free), NULL when Orthanc failed (why says so; rc as
 * the helper's). */
static cJSON *expected(planner *pl, const dcmp_level *L, const cJSON *info, const cJSON *state,
                       int *rc, char *why)
{
    const cJSON *known = cJSON_GetObjectItemCaseSensitive(state, "series"), *x;
    cJSON *all = members(pl, L, info, rc, why);
    cJSON *list = cJSON_CreateArray();
    int n = 0;

    if (all == NULL) {
        cJSON_Delete(list);
        return NULL;
    }
    cJSON_ArrayForEach(x, all)
    {
        char path[128], left[DCMP_ERR_LEN];
        series_facts f;
        cJSON *sinfo = NULL;
        if (!cJSON_IsString(x) || !orthanc_id(x->valuestring) || n == DCMP_STUDY_MAX_SERIES)
            continue;
        n++;
        if (cJSON_GetObjectItemCaseSensitive(known, x->valuestring))
            continue; /* joined already */
        if ((*rc = series_look(&pl->dicom, x->valuestring, &f, why)) != 0) {
            if (*rc > 0) { /* gone meanwhile: not waited for */
                *rc = 0;
                continue;
            }
            cJSON_Delete(list);
            cJSON_Delete(all);
            return NULL;
        }
        if (series_ignored(pl->s->cfg, &f, left, sizeof left))
            continue;
        snprintf(path, sizeof path, "/series/%s", x->valuestring);
        if (helper_get(&pl->dicom, path, &sinfo, why) == 0 &&
            catchup_result(&pl->dicom, x->valuestring, sinfo)) {
            cJSON_Delete(sinfo);
            continue;
        }
        cJSON_Delete(sinfo);
        cJSON_AddItemToArray(list, cJSON_CreateString(x->valuestring));
    }
    cJSON_Delete(all);
    return list;
}

/* Asks Orthanc whether the study (patient) is stable and records it so. Returns 0, 1 when the event
 * fails for good (why: Orthanc has no such study), -1 when it must wait. */
static int mark_stable(planner *pl, const dcmp_level *L, const char *study, char *why)
{
    const dcmp_config *cfg = pl->s->cfg;
    char path[128], *expect_text = NULL;
    cJSON *info = NULL, *state = NULL, *expect = NULL;
    int rc;

    if (!cfg->orthanc_url[0]) /* the body is all there is: its word is taken */
        return dcmp_studies_stable(pl->seen, L, study, NULL, NULL, cfg->seen_ttl) < 0
                   ? dcmp_seterr(why, "%s %s: %s", L->name, study, dcmp_queue_errstr(pl->seen))
                   : 0;
    snprintf(path, sizeof path, "%s/%s", L->orthanc, study);
    if ((rc = helper_get(&pl->dicom, path, &info, why)) != 0) {
        if (rc > 0 && strstr(why, "HTTP 404"))
            snprintf(why, DCMP_ERR_LEN, "Orthanc has no %s %.64s (HTTP 404): nothing planned",
                     L->name, study);
        return rc;
    }
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "IsStable"))) {
        cJSON_Delete(info);
        return 0; /* its series' events bring the study again; Orthanc's webhook follows */
    }
    if (dcmp_studies_load(pl->seen, L, study, &state) < 0) {
        cJSON_Delete(info);
        return dcmp_seterr(why, "%s %s: %s", L->name, study, dcmp_queue_errstr(pl->seen));
    }
    expect = expected(pl, L, info, state, &rc, why);
    cJSON_Delete(info);
    cJSON_Delete(state);
    if (expect == NULL)
        return rc < 0 ? -1 : 1;
    if ((expect_text = cJSON_PrintUnformatted(expect)) == NULL)
        dcmp_fatal("out of memory listing the series of %s %s", L->name, study);
    cJSON_Delete(expect);
    rc = dcmp_studies_stable(pl->seen, L, study, expect_text, NULL, cfg->seen_ttl);
    free(expect_text);
    return rc < 0 ? dcmp_seterr(why, "%s %s: %s", L->name, study, dcmp_queue_errstr(pl->seen)) : 0;
}

/* Makes the study folder: one link per series, to the folder its series pipeline read.
 * Returns 0, 1 with why when a series' files are gone, or -1 with why (a link cannot be
 * made). */
static int make_links(const dcmp_config *cfg, const char *study, const char *version,
                      const judged *j, char *why)
{
    char link[PATH_MAX], target[PATH_MAX], path[2 * PATH_MAX], dir[2 * PATH_MAX], have[PATH_MAX];
    struct stat st;
    int i;

    for (i = 0; i < j->nknown; i++) {
        const dcmp_study_series *s = &j->series[i];
        ssize_t n;
        char *slash;
        if (dcmp_study_link(j->L, study, version, s, link, target, sizeof link, why) < 0)
            return -1;
        snprintf(path, sizeof path, "%s/%s", cfg->data, s->dcmpath);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            dcmp_seterr(why, "series %s's files are gone (%s): %s not planned", s->id, s->dcmpath,
                        j->L->name);
            return 1;
        }
        snprintf(path, sizeof path, "%s/%s", cfg->data, link);
        snprintf(dir, sizeof dir, "%s", path);
        /* studies/, studies/<study>/, studies/<study>/<version>/ */
        for (slash = dir + strlen(cfg->data) + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
            *slash = '\0';
            if (mkdir(dir, 0777) != 0 && errno != EEXIST)
                return dcmp_seterr(why, "mkdir %s: %s", dir, strerror(errno));
            *slash = '/';
        }
        if (symlink(target, path) == 0)
            continue;
        if (errno != EEXIST)
            return dcmp_seterr(why, "symlink %s: %s", path, strerror(errno));
        /* made by an earlier try of this event: the same link is fine */
        n = readlink(path, have, sizeof have - 1);
        if (n < 0 || (have[n] = '\0', strcmp(have, target) != 0))
            return dcmp_seterr(why, "%s exists and is not the link to %s", path, target);
    }
    return 0;
}

/* dcmp_plan_input.due for a study event: the entries whose verdict is plan. */
static int due(void *arg, const char *name, char *why)
{
    const judged *j = arg;
    int i;

    for (i = 0; i < j->n; i++)
        if (strcmp(j->e[i].name, name) == 0) {
            if (j->e[i].v.decision == DCMP_STUDY_PLAN)
                return 1;
            snprintf(why, DCMP_ERR_LEN, "%s %s: %.480s", j->L->name,
                     dcmp_study_decisions[j->e[i].v.decision], j->e[i].v.reason);
            return 0;
        }
    snprintf(why, DCMP_ERR_LEN, "not decided for this %s (more than %d %s entries)", j->L->name,
             STUDY_MAX_ENTRIES, j->L->name);
    return 0;
}

/* The "study" object of the event's plan: the study, the version, its series and each
 * entry's verdict. */
static cJSON *summary(const char *study, const char *version, const judged *j)
{
    cJSON *o = cJSON_CreateObject(), *list, *dec;
    int i;

    cJSON_AddStringToObject(o, j->L->id_key, study);
    cJSON_AddStringToObject(o, "version", version);
    list = cJSON_AddArrayToObject(o, "series");
    for (i = 0; i < j->nseries; i++) {
        const dcmp_study_series *s = &j->series[i];
        cJSON *x = cJSON_CreateObject();
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(s->fields, "SeriesDescription");
        cJSON_AddStringToObject(x, "seriesId", s->id);
        if (s->study && s->study[0])
            cJSON_AddStringToObject(x, "studyId", s->study);
        cJSON_AddStringToObject(x, "SeriesInstanceUID", i < j->nknown ? s->uid : "");
        if (cJSON_IsString(d))
            cJSON_AddStringToObject(x, "SeriesDescription", d->valuestring);
        cJSON_AddNumberToObject(x, "instances", (double)s->instances);
        cJSON_AddBoolToObject(x, "ready", s->stable && s->planned && s->ended);
        cJSON_AddItemToArray(list, x);
    }
    dec = cJSON_AddArrayToObject(o, "decisions");
    for (i = 0; i < j->n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "jobName", j->e[i].name);
        cJSON_AddStringToObject(x, "decision", dcmp_study_decisions[j->e[i].v.decision]);
        cJSON_AddStringToObject(x, "reason", j->e[i].v.reason);
        if (j->e[i].v.wait_until > 0)
            cJSON_AddNumberToObject(x, "waitUntil", (double)j->e[i].v.wait_until);
        cJSON_AddItemToArray(dec, x);
    }
    return o;
}

/* Records the versions planned or dropped by event id, and when the study is due next. */
static int record(planner *pl, const char *study, const char *id, const judged *j, char *err)
{
    const char *names[STUDY_MAX_ENTRIES], *texts[STUDY_MAX_ENTRIES];
    char *owned[STUDY_MAX_ENTRIES];
    int i, k, n = 0, rc;

    for (i = 0; i < j->n; i++) {
        cJSON *v, *uids;
        if (j->e[i].v.decision != DCMP_STUDY_PLAN && j->e[i].v.decision != DCMP_STUDY_DROP)
            continue;
        v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "key", j->e[i].v.version);
        uids = cJSON_AddArrayToObject(v, "uids");
        for (k = 0; k < j->nknown; k++)
            cJSON_AddItemToArray(uids, cJSON_CreateString(j->series[k].uid));
        cJSON_AddStringToObject(v, "event", id);
        cJSON_AddStringToObject(v, "decision", dcmp_study_decisions[j->e[i].v.decision]);
        if ((owned[n] = cJSON_PrintUnformatted(v)) == NULL)
            dcmp_fatal("out of memory recording %s %s", j->L->name, study);
        cJSON_Delete(v);
        names[n] = j->e[i].name;
        texts[n] = owned[n];
        n++;
    }
    rc = dcmp_studies_decided(pl->seen, j->L, study, id, names, texts, n, DCMP_STUDY_MAX_VERSIONS,
                              pl->s->cfg->seen_ttl);
    for (i = 0; i < n; i++)
        free(owned[i]);
    if (rc == 0)
        rc = dcmp_studies_schedule(pl->seen, j->L, study, j->due_ms, loaded(j));
    return rc < 0 ? dcmp_seterr(err, "%s %s: %s", j->L->name, study, dcmp_queue_errstr(pl->seen))
                  : 0;
}

/* Adds the summary to out->plan (JSON text, replaced) under the level's name. */
static void add_summary(outcome *out, const dcmp_level *L, cJSON *sum)
{
    cJSON *plan = cJSON_Parse(out->plan ? out->plan : "{}");
    char *text;

    if (plan == NULL)
        plan = cJSON_CreateObject();
    cJSON_AddItemToObject(plan, L->name, sum);
    if ((text = cJSON_PrintUnformatted(plan)) == NULL)
        dcmp_fatal("out of memory writing a study plan");
    cJSON_Delete(plan);
    free(out->plan);
    out->plan = text;
}

int study_plan(planner *pl, const char *id, const char *body, outcome *out, char *err)
{
    const dcmp_config *cfg = pl->s->cfg;
    const dcmp_settings_files *reg;
    const cJSON *system;
    cJSON *b = cJSON_Parse(body), *data = NULL;
    const dcmp_level *L = dcmp_level_named(str(b, "level"));
    char study[DCMP_STUDIES_ID_LEN], origin[16], version[DCMP_STUDY_VERSION_LEN] = "";
    judged *j = dcmp_xcalloc(1, sizeof *j);
    int i, gone, rc = -1;

    memset(out, 0, sizeof *out);
    out->state = "failed";
    snprintf(study, sizeof study, "%s", L ? str(b, L->id_key) : "");
    snprintf(origin, sizeof origin, "%s", str(b, "origin"));
    cJSON_Delete(b);
    if (L == NULL || !orthanc_id(study)) {
        snprintf(out->error, sizeof out->error, "a %s event without a valid %s",
                 L ? L->name : "study or patient", L ? L->id_key : "level");
        out->plan = strdup("{}");
        free(j);
        return 0;
    }
    if (strcmp(origin, "watch") != 0) {
        /* Orthanc's StableStudy (webhook, catch-up, the thread's check): its word is checked
         * with Orthanc */
        int m = mark_stable(pl, L, study, out->error);
        if (m != 0) {
            free(j);
            if (m < 0) {
                snprintf(err, DCMP_ERR_LEN, "%s", out->error);
                return -1;
            }
            out->plan = strdup("{}");
            return 0;
        }
    }
    /* pinned before the study is read: no release of its held files begins while this event
     * is planned, and none runs now (race-free: both are one step in Redis) */
    if ((i = dcmp_holds_pin(pl->seen, L, study, id)) <= 0) {
        if (i < 0)
            dcmp_seterr(err, "%s %s: %s", L->name, study, dcmp_queue_errstr(pl->seen));
        else
            dcmp_seterr(err, "%s %s: its held files are being released: planned after that",
                        L->name, study);
        free(j);
        return -1;
    }
    if (dcmp_settings_cache_refresh(pl->settings, &system, &reg, err) < 0 ||
        judge(cfg, L, pl->seen, reg, study, id, j, err) < 0)
        goto out;
    for (i = 0; i < j->n; i++)
        if (j->e[i].v.decision == DCMP_STUDY_PLAN) {
            snprintf(version, sizeof version, "%s", j->e[i].v.version);
            break;
        }
    if (version[0] && (gone = make_links(cfg, study, version, j, out->error)) != 0) {
        /* files gone (released after an earlier version ran): this version is dropped, so it
         * is not tried again and what it held is released; else decided again on news */
        for (i = 0; i < j->n; i++)
            if (j->e[i].v.decision == DCMP_STUDY_PLAN) {
                j->e[i].v.decision = gone > 0 ? DCMP_STUDY_DROP : DCMP_STUDY_WAIT;
                if (gone > 0)
                    snprintf(j->e[i].v.reason, sizeof j->e[i].v.reason, "%.480s", out->error);
            }
        out->plan = strdup("{}");
    } else {
        char why[DCMP_ERR_LEN] = "";
        const cJSON *own = cJSON_GetObjectItemCaseSensitive(j->state, "fields");
        data = version[0] ? dcmp_study_data(L, own, study, version, j->series, j->nknown, why)
                          : pick(own, L->own);
        if (data == NULL) {
            snprintf(out->error, sizeof out->error, "%s", why);
            out->plan = strdup("{}");
        } else {
            planner_make(pl, id, system, reg, data, L->level, due, j, out);
        }
    }
    if (strcmp(out->state, "ignored") == 0 && out->error[0] == '\0')
        snprintf(out->error, sizeof out->error, "%s",
                 j->n ? j->e[0].v.reason : "no entry of this level in the registry");
    j->due_ms = hold_next(pl->s, pl->seen, L, study, NULL, 0, 0, loaded(j),
                          j->due_ms); /* held: looked at again */
    if (record(pl, study, id, j, err) < 0) {
        free(out->graph);
        free(out->plan);
        out->graph = out->plan = NULL;
        goto out;
    }
    add_summary(out, L, summary(study, version[0] ? version : (j->n ? j->e[0].v.version : ""), j));
    rc = 0;
out:
    cJSON_Delete(data);
    judged_free(j);
    free(j);
    return rc;
}

/* 1 when nothing of the study waits: every entry done, every series ready. */
static int quiet(const judged *j)
{
    int i;

    for (i = 0; i < j->n; i++)
        if (j->e[i].v.decision != DCMP_STUDY_DONE)
            return 0;
    for (i = 0; i < j->nseries; i++)
        if (i >= j->nknown || !(j->series[i].planned && j->series[i].ended))
            return 0;
    return 1;
}

/* Asks Orthanc (through the thread's helper, as a planner would) whether the study (patient),
 * whose entries wait only for that, is stable; when it is, an event of its level (origin
 * "check") whose planner records it so, as for Orthanc's own StableStudy. Sets when the study
 * is due next. */
static void ask(scheduler *s, helper *o, dcmp_queue *q, const char *study, judged *j)
{
    const dcmp_level *L = j->L;
    char path[128], why[DCMP_ERR_LEN], id[DCMP_ID_LEN];
    cJSON *info = NULL;
    int rc;

    /* the next ask is STABLE_AGE after this one, whatever Orthanc answers */
    j->due_ms = earlier(j->wait_ms, loaded(j) + s->cfg->stable_age * 1000);
    if (dcmp_studies_asked(q, L, study, loaded(j)) < 0) {
        dcmp_log_warn("%s %s: %s", L->name, study, dcmp_queue_errstr(q));
        return;
    }
    snprintf(path, sizeof path, "%s/%s", L->orthanc, study);
    if (helper_get(o, path, &info, why) != 0) {
        dcmp_log_limited(DCMP_WARN, "%s %s: asking Orthanc whether it is stable: %s", L->name,
                         study, why);
        return;
    }
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "IsStable"))) {
        dcmp_log_debug("%s %s: Orthanc does not call it stable yet", L->name, study);
        cJSON_Delete(info);
        return;
    }
    cJSON_Delete(info);
    /* no version: a webhook of the same LastUpdate may have been decided while the study
     * state was made unstable since (a series Orthanc did not list); contents are deduplicated
     * by their keys anyway */
    rc = study_accept(s, q, L, study, "", "check", id);
    if (rc < 0) {
        dcmp_log_warn("%s %s: %s", L->name, study, dcmp_queue_errstr(q));
        return;
    }
    dcmp_log_info("%s %s: Orthanc calls it stable: %s event %s", L->name, study,
                  rc ? "new" : "waits in or came as", id);
    if (rc)
        j->due_ms = 0; /* the event's planner decides when next */
}

/* Decides one due study (patient) of level L; makes an event of its level when an entry is to
 * be planned or dropped, or asks Orthanc whether it is stable when that is all it waits for
 * (at most *asks more this tick). */
static void look(scheduler *s, helper *o, dcmp_queue *q, dcmp_settings_cache *c,
                 const dcmp_level *L, const char *study, int *asks)
{
    const dcmp_settings_files *reg;
    const cJSON *system;
    char err[DCMP_ERR_LEN], id[DCMP_ID_LEN];
    judged *j = dcmp_xcalloc(1, sizeof *j);
    int rc;

    if (dcmp_settings_cache_refresh(c, &system, &reg, err) < 0 ||
        judge(s->cfg, L, q, reg, study, NULL, j, err) < 0) {
        dcmp_log_warn("%s %s: %s (decided again later)", L->name, study, err);
        goto out; /* still due: looked at again next turn */
    }
    if (j->plan + j->drop > 0) {
        rc = study_accept(s, q, L, study, NULL, "watch", id);
        if (rc < 0) {
            dcmp_log_warn("%s %s: %s", L->name, study, dcmp_queue_errstr(q));
            j->due_ms = dcmp_clock_wall_ms() + STUDY_POLL_MS;
        } else {
            dcmp_log_info("%s %s: %s event %s", L->name, study,
                          rc ? "complete for an entry:" : "waits in", id);
            j->due_ms = 0; /* the event's planner decides when next */
        }
    } else {
        const dcmp_trigger *t[STUDY_MAX_ENTRIES];
        int i;
        if (j->ask_ms > 0 && j->ask_ms <= loaded(j) && *asks > 0) {
            --*asks;
            ask(s, o, q, study, j);
        } /* else asked in a later tick: it stays due */
        /* held files: released once no event needs them and the rerun window passed
         * (hold.c) */
        for (i = 0; i < j->n; i++)
            t[i] = &j->e[i].t;
        j->due_ms = hold_next(s, q, L, study, t, j->n, quiet(j), loaded(j), j->due_ms);
    }
    if (dcmp_studies_schedule(q, L, study, j->due_ms, loaded(j)) < 0)
        dcmp_log_warn("%s %s: %s", L->name, study, dcmp_queue_errstr(q));
out:
    judged_free(j);
    free(j);
}

void study_init(scheduler *s)
{
    dcmp_settings_cache *c = dcmp_settings_cache_new(s->cfg->settings, s->cfg->registry, 0);
    const dcmp_settings_files *reg;
    const cJSON *system;
    char err[DCMP_ERR_LEN];

    if (c == NULL)
        dcmp_fatal("out of memory");
    /* unreadable settings: study and patient events are taken, the planners say what is
     * wrong */
    atomic_store(&s->studies, dcmp_settings_cache_refresh(c, &system, &reg, err) < 0
                                  ? (1 << DCMP_LEVEL_STUDY) | (1 << DCMP_LEVEL_PATIENT)
                                  : wanted(reg));
    dcmp_settings_cache_free(c);
}

void *study_main(void *arg)
{
    scheduler *s = arg;
    char(*ids)[DCMP_STUDIES_ID_LEN] = dcmp_xcalloc(STUDY_DUE_BATCH, sizeof *ids);
    dcmp_settings_cache *c;
    dcmp_queue *q;
    helper o;
    int64_t used = 0; /* monotonic ms the helper last asked Orthanc; 0: not running */
    int n, i;

    if ((q = dcmp_queue_from_config(s->cfg)) == NULL ||
        (c = dcmp_settings_cache_new(s->cfg->settings, s->cfg->registry,
                                     DCMP_SETTINGS_CACHE_RACY_MS)) == NULL)
        dcmp_fatal("out of memory");
    helper_init(&o, s->cfg, s->dicom_program);
    o.tick = scheduler_stopping; /* a request to Orthanc ends at a stop */
    o.tick_arg = s;
    while (!*s->stop) {
        const dcmp_settings_files *reg;
        const cJSON *system;
        char err[DCMP_ERR_LEN];
        int asks = STUDY_ASK_BATCH, k;
        /* a service installed or removed: whether study events are taken follows */
        if (dcmp_settings_cache_refresh(c, &system, &reg, err) == 0)
            atomic_store(&s->studies, wanted(reg));
        for (k = 0, n = 0; k < DCMP_LEVEL_TABLE; k++) {
            const dcmp_level *L = &dcmp_levels[k];
            int got = 0;
            if (!study_wanted(s, L))
                continue;
            if (dcmp_studies_due(q, L, dcmp_clock_wall_ms(), STUDY_DUE_BATCH, ids, &got) < 0) {
                dcmp_log_limited(DCMP_WARN, "%s: %s", L->due, dcmp_queue_errstr(q));
                got = 0;
            }
            for (i = 0; i < got && !*s->stop; i++)
                look(s, &o, q, c, L, ids[i], &asks);
            n = got > n ? got : n;
        }
        if (asks < STUDY_ASK_BATCH)
            used = dcmp_clock_mono_ms();
        else if (used > 0 && dcmp_clock_mono_ms() - used > HELPER_IDLE_MS) {
            helper_stop(&o); /* a helper only while studies wait for Orthanc's word */
            used = 0;
        }
        if (n < STUDY_DUE_BATCH)
            dcmp_clock_sleep_ms(STUDY_TICK_MS);
    }
    helper_stop(&o);
    dcmp_settings_cache_free(c);
    dcmp_queue_free(q);
    free(ids);
    return NULL;
}
