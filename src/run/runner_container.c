/* runner_container.c -- the container runner: a job whose entry gives a `container` runs as
 * that image through the Docker Engine API, its interface (iface.h) saying what it sees
 * (docs/containers.md). */
#include "runner.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enginelib.h"
#include "infolder.h"
#include "slots.h"
#include "spec.h"
#include "clock.h"
#include "dcmp/service.h"
#include "jsonw.h"
#include "loader.h"
#include "plan.h"

#define JOBS_DIR      "containers" /* under DATA: one folder per job id */
#define OUT_FILES_MAX 10000        /* output files named in the result */
#define STOP_GRACE_S  1            /* seconds between SIGTERM and SIGKILL at a timeout */
/* the engine client, loaded by the first container job of this process */
static const dcmp_engine_ops *ops;

#define DICOM_LIB    "libdcmp_dicom.so"       /* beside libdcmp.so: DCMTK's header reader */
#define DICOM_READER "dcmp_dicom_read_header" /* dicom.h */

/* The DCMTK header reader for the interfaces' tags files, loaded on the first job that writes
 * them (the executor, never the worker, maps DCMTK); NULL when it cannot be loaded, which the
 * job's log says: the tags then come from the series' header. */
static dcmp_infolder_reader dicom_reader(void)
{
    static char why[DCMP_ERR_LEN];
    static dcmp_infolder_reader fn;
    static int tried;
    char path[PATH_MAX];
    const void *sym;

    if (!tried) {
        tried = 1;
        if ((sym = dcmp_loader_sibling(DICOM_LIB, DICOM_READER, path, why)) != NULL)
            memcpy(&fn, &sym, sizeof fn); /* a function's address, as dlsym gives it */
    }
    if (fn == NULL) {
        printf("no DICOM reader (%s): tags files from the series' header\n", why);
        fflush(stdout);
    }
    return fn;
}

#define MANIFEST_CACHE 8 /* images whose manifest an executor process keeps */

/* Manifests read, by image id (an image re-tagged under the same name is read again): an
 * executor runs many jobs, and reading one costs a container's create and remove. */
static struct {
    char image_id[DCMP_ENGINE_ID_LEN];
    char path[64];   /* the file it was read from, "" when the image has none */
    dcmp_manifest m; /* nwords 0 and no tree when none */
} manifests[MANIFEST_CACHE];
static int manifests_next;

#define WAIT_MARGIN 5000 /* ms before the job's timeout the runner stops the container itself */

static int ctr_resolve(const dcmp_executor_input *in, char *err, size_t errlen)
{
    /* not a container job: quietly the next runner's ("" lists nothing in the error) */
    if (in->container == NULL || in->callback) {
        if (errlen)
            err[0] = '\0';
        return 0;
    }
    return 1;
}

/* The state of the output folder walk (nftw passes none). */
static struct {
    dcmp_jsonw *files, *storage;
    size_t prefix; /* bytes of DATA + "/" to cut from each path */
    int n, over;
    const char *const *not_results; /* the interface's names at the top that are not results */
    int store;                      /* container.store: DICOM files listed in storage */
} walk;

static int listed(const char *const *names, const char *name)
{
    for (; *names; names++)
        if (strcmp(*names, name) == 0)
            return 1;
    return 0;
}

/* Whether the file at path has DICOM's "DICM" at offset 128. */
static int is_dicom(const char *path)
{
    char magic[4];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    int yes = fd >= 0 && pread(fd, magic, 4, 128) == 4 && memcmp(magic, "DICM", 4) == 0;

    if (fd >= 0)
        close(fd);
    return yes;
}

static int on_output(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    const char *rel = path + walk.prefix;

    (void)st;
    if (type != FTW_F || (ftw->level == 1 && listed(walk.not_results, path + ftw->base)))
        return 0;
    if (walk.n >= OUT_FILES_MAX) {
        walk.over = 1;
        return 0;
    }
    dcmp_jsonw_lit(walk.files, walk.n++ ? "," : "");
    dcmp_jsonw_str(walk.files, rel);
    if (walk.store && is_dicom(path)) {
        dcmp_jsonw_lit(walk.storage, walk.storage->len > 1 ? ",{\"path\":" : "{\"path\":");
        dcmp_jsonw_str(walk.storage, rel);
        dcmp_jsonw_lit(walk.storage, ",\"type\":\"dicom\"}");
    }
    return 0;
}

static int on_clear(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    if (ftw->level == 0)
        return 0;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

/* Removes the input folder an interface asked for (links to the series' files, and its
 * files), once the container ended: out/ stays for the dependents. A failure is a line in the
 * job's log, not a failed job: systemcleaner removes the job's folder at the end. */
static void drop_input(const char *in)
{
    if (in[0] == '\0' || access(in, F_OK) < 0)
        return;
    if (nftw(in, on_clear, 16, FTW_DEPTH | FTW_PHYS) != 0 || rmdir(in) < 0)
        fprintf(stderr, "%s: not removed: %s\n", in, strerror(errno));
}

/* Gives path to the container's user ("UID" or "UID:GID"): owned by it when this process may
 * (root), else readable and writable by all (mode `open`). */
static int give(const char *path, const char *user, mode_t open_mode, char *err)
{
    unsigned long uid, gid;
    char *end;

    uid = strtoul(user, &end, 10);
    gid = *end == ':' ? strtoul(end + 1, NULL, 10) : uid;
    if (geteuid() == 0) {
        if (chown(path, (uid_t)uid, (gid_t)gid) < 0)
            return dcmp_seterr(err, "%s: chown %s: %s", path, user, strerror(errno));
    } else if ((uid_t)uid != geteuid() && chmod(path, open_mode) < 0) {
        return dcmp_seterr(err, "%s: %s", path, strerror(errno));
    }
    return 0;
}

/* The job's folder made, and dir in it made (or emptied, from an earlier attempt) and given
 * to the container's user: writable by it when mode says so. */
static int fresh_dir(const char *job_dir, const char *dir, const char *user, mode_t mode, char *err)
{
    char parent[PATH_MAX];
    const char *slash = strrchr(job_dir, '/');

    snprintf(parent, sizeof parent, "%.*s", (int)(slash - job_dir), job_dir);
    if ((mkdir(parent, 0755) < 0 && errno != EEXIST) ||
        (mkdir(job_dir, 0755) < 0 && errno != EEXIST) || (mkdir(dir, 0700) < 0 && errno != EEXIST))
        return dcmp_seterr(err, "%s: %s", dir, strerror(errno));
    if (nftw(dir, on_clear, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return dcmp_seterr(err, "%s: cannot empty what an earlier attempt left: %s", dir,
                           strerror(errno));
    return give(dir, user, mode, err);
}

/* Writes a file the interface asks for (it may hold the headers), given to the container's
 * user. */
static int write_file(const char *path, const char *text, const char *user, char *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    size_t len = strlen(text);

    if (fd < 0)
        return dcmp_seterr(err, "%s: %s", path, strerror(errno));
    dcmp_executor_write_all(fd, text, len);
    if (close(fd) < 0)
        return dcmp_seterr(err, "%s: %s", path, strerror(errno));
    return give(path, user, 0644, err);
}

/* The image's result.json, when it wrote one: a JSON object of at most the result cap, without
 * `deleted`. Returns its text (new), NULL when there is none, or sets err when it is bad. */
static char *read_result_json(const char *out, char *err)
{
    char path[PATH_MAX + 32], *text = NULL;
    struct stat st;
    cJSON *j;
    int fd;

    if ((size_t)snprintf(path, sizeof path, "%s/result.json", out) >= sizeof path)
        return NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
        return NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > DCMP_EXECUTOR_RESULT_MAX / 2) {
        dcmp_seterr(err, "result.json: not a regular file of at most %d bytes",
                    DCMP_EXECUTOR_RESULT_MAX / 2);
    } else if ((text = calloc(1, (size_t)st.st_size + 1)) == NULL ||
               read(fd, text, (size_t)st.st_size) != st.st_size) {
        dcmp_seterr(err, "result.json: cannot be read");
    } else if ((j = cJSON_Parse(text)) == NULL || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        dcmp_seterr(err, "result.json: not a JSON object");
    } else if (cJSON_GetObjectItemCaseSensitive(j, "deleted") != NULL) {
        /* systemcleaner removes what `deleted` names, anywhere in DATA: an image may not ask */
        cJSON_Delete(j);
        dcmp_seterr(err, "result.json: \"deleted\" is not allowed (an image cannot ask for files "
                         "to be removed; the runner names the job's own folder)");
    } else {
        cJSON_Delete(j);
        close(fd);
        return text;
    }
    free(text);
    close(fd);
    return NULL;
}

/* {"output","files","storage","added_params","deleted"}: what the container left in its
 * folder; storage lists its DICOM files unless the entry's container.store is false; deleted
 * names the job's folder, which the dependents receive and systemcleaner removes at the end of
 * the event's pipeline (docs/containers.md, "Life cycle of a job's folder"). */
static char *make_result(const char *data_dir, const char *job_dir, const char *out,
                         const dcmp_spec *spec, char *err)
{
    dcmp_jsonw files, storage, w;
    char *added = NULL, *f, *s;

    err[0] = '\0';
    added = read_result_json(out, err);
    if (err[0] != '\0')
        return NULL;
    dcmp_jsonw_init(&files, DCMP_EXECUTOR_RESULT_MAX);
    dcmp_jsonw_init(&storage, DCMP_EXECUTOR_RESULT_MAX);
    dcmp_jsonw_lit(&files, "[");
    dcmp_jsonw_lit(&storage, "[");
    walk.files = &files;
    walk.storage = &storage;
    walk.prefix = strlen(data_dir) + 1;
    walk.n = walk.over = 0;
    walk.not_results = spec->iface->not_results;
    walk.store = spec->store;
    (void)nftw(out, on_output, 16, FTW_PHYS);
    dcmp_jsonw_lit(&files, "]");
    dcmp_jsonw_lit(&storage, "]");
    f = dcmp_jsonw_finish(&files);
    s = dcmp_jsonw_finish(&storage);
    dcmp_jsonw_init(&w, DCMP_EXECUTOR_RESULT_MAX);
    dcmp_jsonw_lit(&w, "{\"output\":");
    dcmp_jsonw_str(&w, out + walk.prefix);
    dcmp_jsonw_lit(&w, ",\"files\":");
    dcmp_jsonw_lit(&w, f ? f : "[]");
    dcmp_jsonw_lit(&w, ",\"storage\":");
    dcmp_jsonw_lit(&w, s ? s : "[]");
    dcmp_jsonw_lit(&w, ",\"added_params\":");
    dcmp_jsonw_lit(&w, added ? added : "{}");
    dcmp_jsonw_lit(&w, ",\"deleted\":");
    dcmp_jsonw_str(&w, job_dir + walk.prefix);
    dcmp_jsonw_lit(&w, "}");
    free(f);
    free(s);
    free(added);
    if (f == NULL || s == NULL || walk.over) {
        free(dcmp_jsonw_finish(&w));
        dcmp_seterr(err, "%s: more than %d files or a result over %d bytes", out, OUT_FILES_MAX,
                    DCMP_EXECUTOR_RESULT_MAX);
        return NULL;
    }
    if ((f = dcmp_jsonw_finish(&w)) == NULL)
        dcmp_seterr(err, "the job's result would be over %d bytes", DCMP_EXECUTOR_RESULT_MAX);
    return f;
}

/* When (dcmp_clock_mono_ms) the runner stops waiting, -1 when the job has no timeout: ahead
 * of the worker's own kill at the timeout (counted from about when the runner began), so that
 * the container is stopped and its log read here. */
static int64_t stop_at(const dcmp_executor_input *in, int64_t began)
{
    if (in->timeout <= 0)
        return -1;
    return began + (in->timeout * 1000 > 2 * WAIT_MARGIN ? in->timeout * 1000 - WAIT_MARGIN
                                                         : in->timeout * 1000 / 2);
}

/* Takes a container slot when WORKER_CONTAINER_SLOTS limits this host's container jobs
 * (slots.h); the wait counts against the job's timeout and goes to its log. *fd gets the
 * slot (-1: no limit). Returns 0, or -1 with err. */
static int take_slot(const dcmp_executor_input *in, int64_t began, int *fd, char *err)
{
    const char *env_dir = getenv("WORKER_SLOTS_DIR");
    char dir[PATH_MAX], why[DCMP_ERR_LEN];
    int n = dcmp_slots_count(getenv("WORKER_CONTAINER_SLOTS"), err);
    int64_t t0 = dcmp_clock_mono_ms();

    *fd = -1;
    if (n <= 0)
        return n;
    if ((size_t)snprintf(dir, sizeof dir, "%s", env_dir && *env_dir ? env_dir : "") >= sizeof dir ||
        (dir[0] == '\0' &&
         (size_t)snprintf(dir, sizeof dir, "%s/" DCMP_SLOTS_DIR, in->data_dir) >= sizeof dir))
        return dcmp_seterr(err, "container slots: path too long");
    if ((*fd = dcmp_slots_acquire(dir, n, t0, err)) == -2) {
        printf("waiting for a container slot: all %d taken (WORKER_CONTAINER_SLOTS=%d, %s)\n", n, n,
               dir);
        fflush(stdout);
        if ((*fd = dcmp_slots_acquire(dir, n, stop_at(in, began), why)) == -2)
            return dcmp_seterr(err, "timed out after %llds waiting for a container slot: %s",
                               (long long)in->timeout, why);
        if (*fd < 0)
            return dcmp_seterr(err, "%s", why);
        printf("container slot taken after %.1f s\n", (double)(dcmp_clock_mono_ms() - t0) / 1e3);
        fflush(stdout);
    }
    return *fd < 0 ? -1 : 0;
}

/* The binds' sources as the engine's host sees them (DCMP_DATA_HOST; spec.h), in place: the
 * folders were made through this process' paths, the engine mounts the host's. Returns 0, or
 * -1 with err. */
static int engine_paths(const char *data_dir, dcmp_iface_setup *setup, char *err)
{
    const char *data_host = getenv("DCMP_DATA_HOST");
    char host[sizeof setup->bind[0].host];
    int i;

    for (i = 0; i < setup->nbind; i++) {
        if (dcmp_spec_host_path(setup->bind[i].host, data_dir, data_host, host, sizeof host, err) <
            0)
            return -1;
        memcpy(setup->bind[i].host, host, sizeof host);
    }
    return 0;
}

/* Waits for the started container within the job's timeout, and the interface's (a MAP's
 * manifest) when shorter, counted from now; stops it at an overrun. Returns DCMP_OK, or
 * DCMP_ERROR with err. */
static int32_t wait_for(const dcmp_engine *e, const char *id, const dcmp_executor_input *in,
                        const dcmp_spec *s, int64_t own_timeout, int64_t began, char *err,
                        size_t errlen)
{
    char why[DCMP_ERR_LEN];
    int64_t limit = stop_at(in, began), now = dcmp_clock_mono_ms();
    int code = 0, rc, oom, own = 0;

    if (own_timeout > 0 && (limit < 0 || now + own_timeout * 1000 < limit)) {
        limit = now + own_timeout * 1000;
        own = 1;
    }
    if (limit >= 0 && (limit -= now) < 1)
        limit = 1;
    rc = ops->wait(e, id, limit, &code, why);
    if (rc == 0) {
        ops->stop(e, id, STOP_GRACE_S);
        snprintf(err, errlen, "timed out after %llds%s: the container of %s was stopped",
                 (long long)(own ? own_timeout : in->timeout),
                 own ? " (the timeout of its manifest)" : "", s->image);
        return DCMP_ERROR;
    }
    if (rc < 0) {
        ops->stop(e, id, STOP_GRACE_S);
        dcmp_strlcpy(err, why, errlen);
        return DCMP_ERROR;
    }
    oom = ops->oom_killed(e, id, why);
    if (oom == 1) {
        snprintf(err, errlen,
                 "%s: killed out of memory (OOM) at its memory limit of %lld MiB "
                 "(container.memory)",
                 s->image, (long long)(s->memory >> 20));
        return DCMP_ERROR;
    }
    if (code != 0) {
        snprintf(err, errlen, "%s exited with code %d", s->image, code);
        return DCMP_ERROR;
    }
    return DCMP_OK;
}

/* Creates, starts and waits for the container; its log to the job's; removes it. */
static int32_t run_container(const dcmp_engine *e, const dcmp_executor_input *in,
                             const dcmp_spec *s, const char *body, int64_t own_timeout,
                             int64_t began, char *err, size_t errlen)
{
    char id[DCMP_ENGINE_ID_LEN], why[DCMP_ERR_LEN];
    int32_t rc;

    if (ops->create(e, body, id, why) < 0) {
        snprintf(err, errlen, "%s: %s", s->image, why);
        return DCMP_ERROR;
    }
    if (ops->start(e, id, why) < 0) {
        snprintf(err, errlen, "%s: %s", s->image, why);
        rc = DCMP_ERROR;
    } else {
        rc = wait_for(e, id, in, s, own_timeout, began, err, errlen);
    }
    fflush(stdout);
    if (ops->logs(e, id, STDOUT_FILENO, why) < 0)
        fprintf(stderr, "%s\n", why);
    if (ops->remove(e, id, why) < 0)
        fprintf(stderr, "%s (the worker removes it later)\n", why);
    return rc;
}

/* The manifest of the image (whose id is image_id) at the first of the interface's paths it
 * holds, from the cache or read through the engine; *m NULL when it holds none. Its file's
 * path goes to the job's log. Returns 0, or -1 with err naming the image and the path. */
static int manifest_of(const dcmp_engine *e, const dcmp_spec *s, const char *image_id,
                       const dcmp_executor_input *in, const dcmp_manifest **m, char *err)
{
    const char *const *paths = s->iface->manifests;
    char why[DCMP_ERR_LEN], *text = NULL;
    size_t len = 0;
    int i, which = 0, rc;

    *m = NULL;
    for (i = 0; i < MANIFEST_CACHE; i++)
        if (strcmp(manifests[i].image_id, image_id) == 0)
            break;
    if (i == MANIFEST_CACHE) {
        rc = ops->read_file(e, s->image, paths, in->job_id, in->worker ? in->worker : "",
                            DCMP_MANIFEST_MAX, &text, &len, &which, why);
        if (rc < 0)
            return dcmp_seterr(err, "%s: %s", s->image, why);
        i = manifests_next;
        manifests_next = (manifests_next + 1) % MANIFEST_CACHE;
        dcmp_manifest_free(&manifests[i].m);
        manifests[i].image_id[0] = manifests[i].path[0] = '\0';
        if (rc == 1 && dcmp_manifest_parse(text, len, &manifests[i].m, why) < 0) {
            free(text);
            return dcmp_seterr(err, "%s: %s: %s", s->image, paths[which], why);
        }
        free(text);
        if (rc == 1)
            dcmp_strlcpy(manifests[i].path, paths[which], sizeof manifests[i].path);
        dcmp_strlcpy(manifests[i].image_id, image_id, sizeof manifests[i].image_id);
    }
    if (manifests[i].path[0] == '\0') {
        printf("no manifest in %s (%s): its entrypoint runs\n", s->image, paths[0]);
    } else {
        *m = &manifests[i].m;
        printf("manifest %s of %s: %s%s, input %s, output %s, timeout %llds\n", manifests[i].path,
               s->image, (*m)->nwords ? "command " : "no command",
               (*m)->nwords ? (*m)->words[0] : "", (*m)->input, (*m)->output,
               (long long)(*m)->timeout);
    }
    fflush(stdout);
    return 0;
}

/* container.user with "worker" resolved to this process' ids: never root (nobody then). */
static void resolve_user(const char *user, char out[32])
{
    if (strcmp(user, DCMP_IFACE_WORKER) != 0)
        snprintf(out, 32, "%s", user);
    else if (geteuid() == 0)
        snprintf(out, 32, "%s", DCMP_SPEC_USER);
    else
        snprintf(out, 32, "%u:%u", (unsigned)geteuid(), (unsigned)getegid());
}

/* What the interface asks for on disk: the output folder, the input folder with the series,
 * its files. Returns 0, or -1 with err. */
static int make_folders(const dcmp_spec *s, const dcmp_iface_job *job,
                        const dcmp_iface_setup *setup, const char *user, char *err)
{
    char path[PATH_MAX + 64];
    int i;

    if (fresh_dir(job->job_dir, setup->out, user, 0777, err) < 0)
        return -1;
    if (setup->in[0] != '\0' &&
        (fresh_dir(job->job_dir, setup->in, user, 0755, err) < 0 ||
         dcmp_infolder_link(s->iface, job->headers, job->data_dir, setup->in,
                            s->iface->input_tags ? dicom_reader() : NULL, err) < 0))
        return -1;
    for (i = 0; i < setup->nfile; i++) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", job->job_dir, setup->file[i].name) >=
            sizeof path)
            return dcmp_seterr(err, "%s: path too long", job->job_dir);
        if (write_file(path, setup->file[i].text, user, err) < 0)
            return -1;
    }
    return 0;
}

static int32_t ctr_run(const dcmp_executor_input *in, char loaded[PATH_MAX], char **result,
                       char *err, size_t errlen)
{
    char job_dir[PATH_MAX], why[DCMP_ERR_LEN], user[32], image_id[DCMP_ENGINE_ID_LEN];
    char *kwargs = NULL, *body = NULL;
    cJSON *tree, *kwtree = NULL;
    dcmp_iface_setup setup;
    dcmp_iface_job job;
    int64_t began = dcmp_clock_mono_ms();
    int slot = -1;
    dcmp_spec_run run;
    dcmp_engine e;
    dcmp_spec s;
    int32_t rc = DCMP_ERROR;
    int n;

    (void)loaded; /* no library to watch */
    *result = NULL;
    memset(&setup, 0, sizeof setup);
    if ((tree = cJSON_Parse(in->container)) == NULL || dcmp_spec_parse(tree, &s, why) < 0) {
        snprintf(err, errlen, "%s: %s", in->func, tree ? why : "container: not JSON");
        cJSON_Delete(tree);
        return DCMP_ERROR;
    }
    if (dcmp_enginelib_open(&e, &ops, why) <= 0 || ops->ping(&e, why) < 0) {
        snprintf(err, errlen, "%s: %s", s.image, why);
        goto out;
    }
    if ((n = ops->image_id(&e, s.image, image_id, why)) <= 0) {
        if (n < 0)
            snprintf(err, errlen, "%s", why);
        else
            snprintf(err, errlen,
                     "image %s is not stored by the docker engine at %s (images "
                     "are never pulled by a job: build or load it first)",
                     s.image, e.socket);
        goto out;
    }
    n = snprintf(job_dir, sizeof job_dir, "%s/" JOBS_DIR "/%s", in->data_dir, in->job_id);
    if (n < 0 || (size_t)n >= sizeof job_dir) {
        snprintf(err, errlen, "%s: DATA's path is too long", in->func);
        goto out;
    }
    kwargs = dcmp_plan_kwargs(in->job_name ? in->job_name : "", in->headers, in->params,
                              in->added_params);
    if (kwargs == NULL || (kwtree = cJSON_Parse(kwargs)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", s.image);
        goto out;
    }
    job = (dcmp_iface_job){in->job_id,
                           in->job_name,
                           in->data_dir,
                           job_dir,
                           kwargs,
                           cJSON_GetObjectItemCaseSensitive(kwtree, "headers"),
                           cJSON_GetObjectItemCaseSensitive(kwtree, "params"),
                           NULL};
    resolve_user(s.user, user);
    if (s.iface->manifests && manifest_of(&e, &s, image_id, in, &job.manifest, why) < 0) {
        snprintf(err, errlen, "%s", why);
        goto out;
    }
    if (s.iface->prepare(&job, &setup, why) < 0 || make_folders(&s, &job, &setup, user, why) < 0 ||
        engine_paths(in->data_dir, &setup, why) < 0) {
        snprintf(err, errlen, "%s (%s interface): %s", s.image, s.iface->name, why);
        goto out;
    }
    memset(&run, 0, sizeof run);
    run.job_id = in->job_id;
    run.worker = in->worker ? in->worker : "";
    run.user = user;
    run.setup = &setup;
    if ((body = dcmp_spec_create_body(&s, &run, DCMP_JSONW_MAX)) == NULL) {
        snprintf(err, errlen, "%s: the container's settings are too large", s.image);
        goto out;
    }
    if (take_slot(in, began, &slot, why) < 0) {
        snprintf(err, errlen, "%s: %s", s.image, why);
        goto out;
    }
    rc = run_container(&e, in, &s, body, setup.timeout, began, err, errlen);
    dcmp_slots_release(slot);
    if (rc == DCMP_OK &&
        (*result = make_result(in->data_dir, job_dir, setup.out, &s, why)) == NULL) {
        snprintf(err, errlen, "%s: %s", s.image, why);
        rc = DCMP_ERROR;
    }
out:
    drop_input(setup.in);
    dcmp_iface_setup_free(&setup);
    cJSON_Delete(kwtree);
    free(kwargs);
    free(body);
    cJSON_Delete(tree);
    return rc;
}

/* Names the job's image; validate asks the engine whether it is stored (check_image). */
static int ctr_describe(const dcmp_executor_input *in, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", in->func);
    return 0;
}

const dcmp_runner dcmp_runner_container = {"container image", ctr_resolve, ctr_run, ctr_describe};
