/* hold.c -- dcmp-scheduler's holds: the series folders a pending study or patient event will
 * read are marked (Redis, and DATA/.holds/<folder>/@held.<level>.<id> for systemcleaner, one
 * per holder); what the cleaner left in them is removed, with the holders' folders, once no
 * holder's pending event needs them and its rerun window passed (docs/planning.md, "Keeping
 * files from the cleaner"). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "holdmark.h"
#include "holds.h"
#include "log.h"
#include "scheduler.h"
#include "studies.h"
#include "study.h"

#define HOLD_POLL_MS  5000 /* a study holding files is looked at again after, until released */
#define HOLD_LIST_MAX (64 * 1024) /* bytes of a held folder's @deleted list read at its release */

/* 1 when every character of s is an ASCII letter, a digit or one of `extra`, else 0. */
static int plain(const char *s, const char *extra)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(extra, *s) != NULL))
            return 0;
    return 1;
}

/* 0 when rel is a path to hold or remove: relative, no empty, "." or ".." part, at most
 * DCMP_HOLDS_PATH_LEN - 1 bytes of letters, digits and "/-_."; else -1 with why. */
static int checked(const char *rel, char *why)
{
    const char *p = rel;

    if (*rel == '\0' || *rel == '/' || strlen(rel) >= DCMP_HOLDS_PATH_LEN)
        return dcmp_seterr(why, "held path \"%.80s\": not a path relative to DATA", rel);
    if (!plain(rel, "/-_."))
        return dcmp_seterr(why, "held path \"%.80s\": a character out of [A-Za-z0-9/._-]", rel);
    for (; *p; p += strcspn(p, "/"), p += *p == '/') {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return dcmp_seterr(why, "held path \"%.80s\": an empty, \".\" or \"..\" part", rel);
    }
    return 0;
}

/* DATA/<rel> into out, every folder above it checked to be a folder and no link (so nothing
 * leads out of DATA). Returns 0, 1 when a part is missing (nothing there), -1 with why. */
static int inside(const char *data, const char *rel, char *out, size_t size, char *why)
{
    struct stat st;
    size_t base;
    char *slash;

    if (checked(rel, why) < 0)
        return -1;
    if ((size_t)snprintf(out, size, "%s/%s", data, rel) >= size)
        return dcmp_seterr(why, "%s/%.80s: path too long", data, rel);
    base = strlen(data) + 1;
    for (slash = out + base; (slash = strchr(slash, '/')) != NULL; slash++) {
        *slash = '\0';
        if (lstat(out, &st) != 0) {
            *slash = '/';
            return errno == ENOENT ? 1 : dcmp_seterr(why, "%s: %s", out, strerror(errno));
        }
        if (!S_ISDIR(st.st_mode)) {
            dcmp_seterr(why, "%s: not a folder (a link is never followed)", out);
            *slash = '/';
            return -1;
        }
        *slash = '/';
    }
    return 0;
}

/* The mark of holder L/id in .holds/<rel>/ into out: "@held.<level>.<id>", id checked to be
 * an Orthanc id (letters, digits, "-", "_"; no "/" or "."), so no mark leaves its folder.
 * Returns 0, or -1 with why. */
static int mark_name(const dcmp_level *L, const char *id, char *out, size_t size, char *why)
{
    if (*id == '\0' || strlen(id) >= DCMP_STUDIES_ID_LEN)
        return dcmp_seterr(why, "%s id \"%.80s\": empty or too long to hold with", L->name, id);
    if (!plain(id, "-_"))
        return dcmp_seterr(why, "%s id \"%.80s\": a character out of [A-Za-z0-9_-]", L->name, id);
    snprintf(out, size, "@held.%s.%s", L->name, id);
    return 0;
}

/* The lock of held folder rel: holds and releases of one folder take the same one (FNV-1a of
 * its path), so a release's "no other holder's mark left?" and its removal are one step
 * against a new mark. */
static pthread_mutex_t *lock_of(scheduler *s, const char *rel)
{
    uint32_t h = 2166136261u;

    for (; *rel; rel++)
        h = (h ^ (unsigned char)*rel) * 16777619u;
    return &s->hold_locks[h % HOLD_LOCKS];
}

/* The earlier of two due times (0: none). */
static int64_t sooner(int64_t a, int64_t b)
{
    return a == 0 || (b > 0 && b < a) ? b : a;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes DATA/<rel>, a file or a folder and all under it, links never followed. Returns 0
 * (removed or already gone) or -1 with why. */
static int remove_tree(const char *data, const char *rel, char *why)
{
    char path[PATH_MAX];
    int rc = inside(data, rel, path, sizeof path, why);

    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return dcmp_seterr(why, "removing %s: %s", path, strerror(errno));
    return 0;
}

/* hold_series under the folder's lock. */
static int hold_locked(const dcmp_config *cfg, dcmp_queue *q, const dcmp_level *L,
                       const char *study, const char *dcmpath, char *err)
{
    char rel[DCMP_HOLDS_PATH_LEN + DCMP_STUDIES_ID_LEN + 32], mark[DCMP_STUDIES_ID_LEN + 24];
    char path[PATH_MAX], *slash;
    struct stat st;
    int fd;

    if (checked(dcmpath, err) < 0 || mark_name(L, study, mark, sizeof mark, err) < 0)
        return -1;
    /* Redis first: a mark is never left that nothing would release */
    if (dcmp_holds_add(q, L, study, dcmpath, cfg->seen_ttl) < 0)
        return dcmp_seterr(err, "holding %s for %s %s: %s", dcmpath, L->name, study,
                           dcmp_queue_errstr(q));
    snprintf(rel, sizeof rel, ".holds/%s/%s", dcmpath, mark);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", cfg->data, rel) >= sizeof path)
        return dcmp_seterr(err, "%s/%s: path too long", cfg->data, rel);
    for (slash = path + strlen(cfg->data) + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
        *slash = '\0';
        if ((mkdir(path, 0755) != 0 && errno != EEXIST) || lstat(path, &st) != 0 ||
            !S_ISDIR(st.st_mode))
            return dcmp_seterr(err, "holding %s: %s is not a folder of ours", dcmpath, path);
        *slash = '/';
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return dcmp_seterr(err, "holding %s: %s: %s", dcmpath, path, strerror(errno));
    if (write(fd, study, strlen(study)) < 0 || close(fd) != 0)
        return dcmp_seterr(err, "holding %s: writing %s failed", dcmpath, path);
    return 0;
}

int hold_series(scheduler *s, dcmp_queue *q, const dcmp_level *L, const char *study,
                const char *dcmpath, char *err)
{
    pthread_mutex_t *lock = lock_of(s, dcmpath);
    int rc;

    pthread_mutex_lock(lock);
    rc = hold_locked(s->cfg, q, L, study, dcmpath, err);
    pthread_mutex_unlock(lock);
    return rc;
}

/* Removes what systemcleaner left in held folder rel and listed in its @deleted (rel itself or
 * paths inside it; a path that cannot be removed is logged and left, as the cleaner leaves
 * it). Returns how many paths were listed. */
static int deferred(const char *data, const dcmp_level *L, const char *study, const char *rel)
{
    char path[PATH_MAX], why[DCMP_ERR_LEN], *buf, *line, *next;
    size_t len = strlen(rel);
    int fd, n = 0;

    if ((size_t)snprintf(path, sizeof path, "%s/.holds/%s/@deleted", data, rel) >= sizeof path)
        return 0;
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return 0; /* no cleaner asked: the files stay */
    buf = dcmp_xcalloc(1, HOLD_LIST_MAX);
    if (dcmp_fdio_read_until(fd, buf, HOLD_LIST_MAX, dcmp_clock_mono_ms() + 10000) < 0)
        buf[0] = '\0';
    close(fd);
    for (line = buf; (next = strchr(line, '\n')) != NULL; line = next) {
        *next++ = '\0';
        n++;
        if (strncmp(line, rel, len) != 0 || (line[len] != '\0' && line[len] != '/'))
            dcmp_log_warn("%s %s: %s lists %.200s, not in the held folder: left", L->name, study,
                          path, line);
        else if (remove_tree(data, line, why) < 0)
            dcmp_log_warn("%s %s: %s: left", L->name, study, why);
    }
    if (*line)
        dcmp_log_warn("%s %s: %s: more than %d bytes: the rest left", L->name, study, path,
                      HOLD_LIST_MAX - 1);
    free(buf);
    return n;
}

/* release, under rel's lock. */
static int release_locked(const dcmp_config *cfg, dcmp_queue *q, const dcmp_level *L,
                          const char *study, const char *rel, char *why)
{
    char path[PATH_MAX], mark[DCMP_STUDIES_ID_LEN + 24], *slash, *top_folder;
    size_t top;
    int asked;

    if (checked(rel, why) < 0 || mark_name(L, study, mark, sizeof mark, why) < 0)
        return -1;
    /* rel is checked: .holds/<rel> is made of our own folders */
    if ((size_t)snprintf(path, sizeof path, "%s/.holds/%s/%s", cfg->data, rel, mark) >= sizeof path)
        return dcmp_seterr(why, "%s/.holds/%.80s: path too long", cfg->data, rel);
    if (unlink(path) != 0 && errno != ENOENT)
        return dcmp_seterr(why, "%s: %s", path, strerror(errno));
    *strrchr(path, '/') = '\0'; /* .holds/<rel> */
    top = strlen(path);
    snprintf(path + top, sizeof path - top, "/@deleted");
    asked = access(path, F_OK) == 0;
    path[top] = '\0';
    if (dcmp_holdmark_any(path)) {
        dcmp_log_debug("%s %s: %s stays held by another holder", L->name, study, rel);
    } else {
        deferred(cfg->data, L, study, rel);
        snprintf(path + top, sizeof path - top, "/@deleted");
        if (unlink(path) != 0 && errno != ENOENT)
            return dcmp_seterr(why, "%s: %s", path, strerror(errno));
        path[top] = '\0';
        /* .holds/<rel>/ and the folders above it as long as they are empty, but not
         * .holds/<first part> (.holds/dicom), which another folder's hold may be entering */
        top_folder = strchr(path + strlen(cfg->data) + 8, '/');
        while (rmdir(path) == 0 && (slash = strrchr(path, '/')) != NULL && top_folder &&
               slash > top_folder)
            *slash = '\0';
    }
    if (dcmp_holds_drop(q, L, study, rel) < 0)
        return dcmp_seterr(why, "%s", dcmp_queue_errstr(q));
    return asked;
}

/* Releases held path rel for holder L/study, under rel's lock: unless it was held again after
 * since_ms, removes its own mark; when no other holder's mark is left, what the cleaner left in
 * rel and listed, then the list and the marks' emptied folders; then the hold in Redis.
 * Returns 1 when the cleaner was asked to remove something in rel (removed now, or by the last
 * holder's release), 0 when not (or held again), or -1 with why (tried again later). */
static int release(scheduler *s, dcmp_queue *q, const dcmp_level *L, const char *study,
                   const char *rel, int64_t since_ms, char *why)
{
    pthread_mutex_t *lock = lock_of(s, rel);
    int rc;

    pthread_mutex_lock(lock);
    rc = dcmp_holds_again(q, L, study, rel, since_ms);
    if (rc < 0)
        dcmp_seterr(why, "%s", dcmp_queue_errstr(q));
    else if (rc == 0)
        rc = release_locked(s->cfg, q, L, study, rel, why);
    else
        rc = 0; /* held again since the state was read: its study decides again */
    pthread_mutex_unlock(lock);
    return rc;
}

int64_t hold_next(scheduler *s, dcmp_queue *q, const dcmp_level *L, const char *study,
                  const dcmp_trigger *const *t, int n, int quiet, int64_t since_ms, int64_t due_ms)
{
    char why[DCMP_ERR_LEN], folder[DCMP_HOLDS_PATH_LEN];
    int64_t poll = dcmp_clock_wall_ms() + HOLD_POLL_MS, until = 0;
    dcmp_holds h;
    int i, failed = 0, released = 0, cleaned = 0;

    if (dcmp_holds_load(q, L, study, since_ms, &h) < 0) {
        dcmp_log_warn("%s %s: %s (looked at again)", L->name, study, dcmp_queue_errstr(q));
        return sooner(due_ms, poll);
    }
    if (h.n == 0) {
        dcmp_holds_clear(&h);
        return due_ms;
    }
    if (!h.releasing && h.state_ttl_ms != -2) { /* else: expired, or a release to finish */
        if (!(quiet && h.ended)) {
            /* held while an entry waits or a study event is not over: its window starts
             * again once it is quiet */
            if (h.quiet_ms > 0 && dcmp_holds_unquiet(q, L, study) < 0)
                dcmp_log_warn("%s %s: %s", L->name, study, dcmp_queue_errstr(q));
            dcmp_holds_clear(&h);
            return sooner(due_ms, poll);
        }
        if (h.quiet_ms == 0 && dcmp_holds_quiet(q, L, study, since_ms, &h.quiet_ms) < 0) {
            dcmp_log_warn("%s %s: %s", L->name, study, dcmp_queue_errstr(q));
            dcmp_holds_clear(&h);
            return sooner(due_ms, poll);
        }
        if (dcmp_study_keep(t, n, h.quiet_ms, since_ms, &until)) {
            /* the rerun window: a late series plans the study again with every series' files */
            dcmp_holds_clear(&h);
            return sooner(due_ms, until > 0 ? until : poll);
        }
        if ((i = dcmp_holds_claim(q, L, study, since_ms)) <= 0) {
            if (i < 0)
                dcmp_log_warn("%s %s: %s", L->name, study, dcmp_queue_errstr(q));
            dcmp_holds_clear(&h); /* a study event begins, or a series joined: decided again */
            return sooner(due_ms, poll);
        }
    }
    /* claimed: no pending study event needs them; what the cleaner left in them is removed */
    for (i = 0; i < h.n; i++) {
        int asked = release(s, q, L, study, h.paths[i], since_ms, why);
        if (asked < 0) {
            dcmp_log_warn("%s %s: releasing %s: %s", L->name, study, h.paths[i], why);
            failed++;
        } else {
            released++;
            cleaned += asked;
        }
    }
    /* and the study's folder of links, in a stack that cleans the series folders it links to */
    snprintf(folder, sizeof folder, "%s/%s", L->folder, study);
    if (cleaned > 0 && remove_tree(s->cfg->data, folder, why) < 0) {
        dcmp_log_warn("%s %s: %s", L->name, study, why);
        failed++;
    }
    /* ended even when a path failed: it stays held and is released by a later claim, and
     * study events are not kept waiting meanwhile */
    if (dcmp_holds_released(q, L, study) < 0) {
        dcmp_log_warn("%s %s: %s", L->name, study, dcmp_queue_errstr(q));
        failed++;
    }
    dcmp_log_info("%s %s: %d held path%s released%s", L->name, study, released,
                  released == 1 ? "" : "s", h.state_ttl_ms == -2 ? " (its state expired)" : "");
    dcmp_holds_clear(&h);
    return failed == 0 ? due_ms : sooner(due_ms, poll);
}
