/* settings_cache.c -- the system settings and the registry's settings files kept parsed between
 * events: every file is stat'ed on each refresh, and read and parsed again only when it
 * changed. */
#include "settings_cache.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* What identifies the version of a file or folder without reading it. */
typedef struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    mode_t mode;
    struct timespec mtime, ctime;
} file_id;

/* One settings file as last read. */
typedef struct cached_file {
    file_id id;      /* of the bytes below (fstat before they were read) */
    int64_t read_ns; /* wall clock before they were read */
    char *text;      /* owned: the bytes, to compare when the identity is not trusted */
    size_t len;
    cJSON *root; /* owned: the parsed tree; NULL when nothing is cached */
} cached_file;

/* One subfolder of the registry. */
typedef struct folder {
    char *name;        /* owned */
    char *dir;         /* owned: REGISTRY/name */
    char *path;        /* owned: REGISTRY/name/settings.x when file >= 0, else NULL */
    file_id id;        /* the folder's, when its files were looked for */
    int64_t looked_ns; /* wall clock before they were looked for; 0: look again */
    int file;          /* index into dcmp_settings_names, -1 when none */
    int stat_errno;    /* the settings file exists but cannot be stat'ed */
    char *load_error;  /* owned: why it could not be read, NULL when it was */
    cached_file f;
} folder;

struct dcmp_settings_cache {
    const char *system_path, *registry;
    int registry_len; /* without trailing slashes, as dcmp_settings_registry prints it */
    int64_t racy_ns;
    cached_file system;
    file_id reg_id; /* the registry folder's, when it was listed */
    int64_t reg_listed_ns;
    int listed;
    folder *folders; /* sorted by name */
    int nfolders;
    dcmp_settings_files view; /* the planner's view: borrows from folders */
    dcmp_settings_cache_stats stats;
};

static int64_t ts_ns(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int64_t now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    return ts_ns(t);
}

static void id_of(file_id *id, const struct stat *st)
{
    memset(id, 0, sizeof *id);
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mode = st->st_mode;
    id->mtime = st->st_mtim;
    id->ctime = st->st_ctim;
}

static int same_id(const file_id *id, const struct stat *st)
{
    return id->dev == st->st_dev && id->ino == st->st_ino && id->size == st->st_size &&
           id->mode == st->st_mode && ts_ns(id->mtime) == ts_ns(st->st_mtim) &&
           ts_ns(id->ctime) == ts_ns(st->st_ctim);
}

/* True when a change after `seen_ns` might have kept the identity: the file's last change
 * was within the racy window before it was seen. */
static int racy(const dcmp_settings_cache *c, const file_id *id, int64_t seen_ns)
{
    int64_t changed = ts_ns(id->mtime) > ts_ns(id->ctime) ? ts_ns(id->mtime) : ts_ns(id->ctime);

    return seen_ns - changed < c->racy_ns;
}

static void file_drop(cached_file *f)
{
    free(f->text);
    cJSON_Delete(f->root);
    memset(f, 0, sizeof *f);
}

/*
 * Makes f hold the file at path. st: a stat of path taken just now. Reuses the tree when the
 * identity is the same and was trusted, or when the bytes are the same. Returns 0 (f->root
 * set), or -1 with err (f emptied).
 */
static int file_refresh(dcmp_settings_cache *c, cached_file *f, const char *path,
                        const struct stat *st, char *err)
{
    struct stat got;
    cJSON *root = NULL;
    int64_t t;
    size_t len;
    char *text;

    if (f->root && same_id(&f->id, st) && !racy(c, &f->id, f->read_ns))
        return 0;
    t = now_ns();
    if (dcmp_settings_read(path, &text, &len, &got, err) < 0) {
        file_drop(f);
        return -1;
    }
    c->stats.reads++;
    if (f->root && len == f->len && memcmp(text, f->text, len) == 0) {
        free(text);
    } else {
        if (dcmp_settings_parse(text, len, path, dcmp_settings_is_yaml(path), &root, err) < 0) {
            free(text);
            file_drop(f);
            return -1;
        }
        c->stats.parses++;
        file_drop(f);
        f->root = root;
        f->text = text;
        f->len = len;
    }
    id_of(&f->id, &got);
    f->read_ns = t;
    return 0;
}

static void folder_free(folder *d)
{
    free(d->name);
    free(d->dir);
    free(d->path);
    free(d->load_error);
    file_drop(&d->f);
    memset(d, 0, sizeof *d);
}

static char *joined(const char *a, int alen, const char *b, const char *c)
{
    char buf[PATH_MAX];
    int n = c ? snprintf(buf, sizeof buf, "%.*s/%s/%s", alen, a, b, c)
              : snprintf(buf, sizeof buf, "%.*s/%s", alen, a, b);

    return n < 0 || n >= (int)sizeof buf ? NULL : strdup(buf);
}

dcmp_settings_cache *dcmp_settings_cache_new(const char *system_path, const char *registry_dir,
                                             int64_t racy_ms)
{
    dcmp_settings_cache *c = calloc(1, sizeof *c);
    size_t len = strlen(registry_dir);

    if (c == NULL)
        return NULL;
    while (len > 1 && registry_dir[len - 1] == '/')
        len--;
    c->system_path = system_path;
    c->registry = registry_dir;
    c->registry_len = len > INT_MAX ? INT_MAX : (int)len;
    c->racy_ns = racy_ms * 1000000;
    return c;
}

void dcmp_settings_cache_free(dcmp_settings_cache *c)
{
    int i;

    if (c == NULL)
        return;
    file_drop(&c->system);
    for (i = 0; i < c->nfolders; i++)
        folder_free(&c->folders[i]);
    free(c->folders);
    free(c->view.files);
    free(c->view.names);
    free(c);
}

dcmp_settings_cache_stats dcmp_settings_cache_counts(const dcmp_settings_cache *c)
{
    return c->stats;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const folder *)a)->name, ((const folder *)b)->name);
}

/*
 * Lists the registry folder again: its subfolders not starting with '.' (a link to a folder
 * counts), sorted by name. Folders listed before keep what they cached. st: the registry's
 * stat taken before the listing; t: the wall clock before that stat.
 */
static int list_registry(dcmp_settings_cache *c, const struct stat *st, int64_t t, char *err)
{
    folder *fresh = NULL, key;
    char *moved = NULL;
    struct dirent *de;
    struct stat sub;
    int n = 0, cap = 0, i, rc = -1;
    DIR *d;

    if ((d = opendir(c->registry)) == NULL)
        return dcmp_seterr(err, "%s: %s", c->registry, strerror(errno));
    c->stats.scans++;
    if (c->nfolders > 0 && (moved = calloc((size_t)c->nfolders, 1)) == NULL) {
        dcmp_seterr(err, "%s: out of memory", c->registry);
        goto out;
    }
    memset(&key, 0, sizeof key);
    for (;;) {
        folder *old;
        errno = 0;
        if ((de = readdir(d)) == NULL) {
            if (errno != 0) {
                dcmp_seterr(err, "%s: %s", c->registry, strerror(errno));
                goto out;
            }
            break;
        }
        if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &sub, 0) < 0 ||
            !S_ISDIR(sub.st_mode))
            continue;
        if (n >= DCMP_SETTINGS_CACHE_MAX_FOLDERS) {
            dcmp_seterr(err, "%s: more than %d folders", c->registry,
                        DCMP_SETTINGS_CACHE_MAX_FOLDERS);
            goto out;
        }
        if (n == cap) {
            int more = cap ? 2 * cap : 16;
            folder *p = realloc(fresh, (size_t)more * sizeof *fresh);
            if (p == NULL) {
                dcmp_seterr(err, "%s: out of memory", c->registry);
                goto out;
            }
            fresh = p;
            cap = more;
        }
        memset(&fresh[n], 0, sizeof fresh[n]);
        key.name = de->d_name;
        old = c->nfolders
                  ? bsearch(&key, c->folders, (size_t)c->nfolders, sizeof *c->folders, by_name)
                  : NULL;
        if (old && !moved[old - c->folders]) {
            fresh[n] = *old;
            moved[old - c->folders] = 1;
        } else {
            fresh[n].file = -1;
            if ((fresh[n].name = strdup(de->d_name)) == NULL ||
                (fresh[n].dir = joined(c->registry, c->registry_len, de->d_name, NULL)) == NULL) {
                folder_free(&fresh[n]);
                dcmp_seterr(err, "%s: out of memory", c->registry);
                goto out;
            }
        }
        n++;
    }
    if (n > 0)
        qsort(fresh, (size_t)n, sizeof *fresh, by_name);
    for (i = 0; i < c->nfolders; i++)
        if (!moved[i])
            folder_free(&c->folders[i]); /* gone from the registry */
    free(c->folders);
    c->folders = fresh;
    c->nfolders = n;
    fresh = NULL;
    id_of(&c->reg_id, st);
    c->reg_listed_ns = t;
    c->listed = 1;
    rc = 0;
out:
    if (fresh) /* failed: the old list stays whole; only what is new here is freed */
        for (i = 0; i < n; i++)
            if (!(c->nfolders && moved &&
                  bsearch(&fresh[i], c->folders, (size_t)c->nfolders, sizeof *c->folders, by_name)))
                folder_free(&fresh[i]);
    free(fresh);
    free(moved);
    closedir(d);
    return rc;
}

/* Looks for the folder's settings file as dcmp_settings_registry does; *st gets the chosen
 * file's stat. Returns 0, or -1 when out of memory. */
static int look(dcmp_settings_cache *c, folder *d, struct stat *st, char *err)
{
    char path[PATH_MAX];
    int k, e = 0;

    for (k = 0; k < DCMP_SETTINGS_NAMES; k++) {
        snprintf(path, sizeof path, "%s/%s", d->dir, dcmp_settings_names[k]);
        if (stat(path, st) == 0)
            break;
        if (errno != ENOENT) {
            e = errno;
            break;
        }
    }
    if (k == DCMP_SETTINGS_NAMES)
        k = -1;
    if (k != d->file) {
        file_drop(&d->f);
        free(d->path);
        d->path = NULL;
        d->file = k;
        if (k >= 0 && (d->path = joined(c->registry, c->registry_len, d->name,
                                        dcmp_settings_names[k])) == NULL) {
            d->file = -1;
            return dcmp_seterr(err, "%s: out of memory", c->registry);
        }
    }
    d->stat_errno = e;
    return 0;
}

/* Brings one folder up to date. t: the wall clock at the start of this refresh. */
static int folder_refresh(dcmp_settings_cache *c, folder *d, int64_t t, char *err)
{
    char lerr[DCMP_ERR_LEN];
    struct stat st, dst;

    free(d->load_error);
    d->load_error = NULL;
    /* settings.json comes first: while it stays, nothing else in the folder matters */
    if (d->file == 0 && d->looked_ns && !racy(c, &d->id, d->looked_ns)) {
        if (stat(d->path, &st) == 0) {
            d->stat_errno = 0;
            goto load;
        }
        if (errno != ENOENT) {
            d->stat_errno = errno;
            goto load;
        }
    }
    if (stat(d->dir, &dst) < 0 || !S_ISDIR(dst.st_mode)) {
        /* gone or replaced since the listing: as if it held no settings, looked at again */
        file_drop(&d->f);
        free(d->path);
        d->path = NULL;
        d->file = -1;
        d->looked_ns = 0;
        return 0;
    }
    if (d->looked_ns != 0 && d->file != 0 && same_id(&d->id, &dst) &&
        !racy(c, &d->id, d->looked_ns)) {
        /* the folder did not change: the same file, or still none */
        if (d->file < 0)
            return 0;
        if (stat(d->path, &st) == 0) {
            d->stat_errno = 0;
            goto load;
        }
        if (errno != ENOENT) {
            d->stat_errno = errno;
            goto load;
        }
    }
    if (look(c, d, &st, err) < 0)
        return -1;
    id_of(&d->id, &dst);
    d->looked_ns = t;
    if (d->file < 0)
        return 0;
load:
    if (d->stat_errno != 0) {
        file_drop(&d->f);
        dcmp_seterr(lerr, "%s: %s", d->path, strerror(d->stat_errno));
    } else if (file_refresh(c, &d->f, d->path, &st, lerr) == 0) {
        return 0;
    }
    if ((d->load_error = strdup(lerr)) == NULL)
        return dcmp_seterr(err, "%s: out of memory", c->registry);
    return 0;
}

int dcmp_settings_cache_refresh(dcmp_settings_cache *c, const cJSON **system,
                                const dcmp_settings_files **reg, char *err)
{
    int64_t t = now_ns();
    struct stat st;
    int i, n = 0;

    *system = NULL;
    *reg = NULL;
    if (stat(c->system_path, &st) < 0) {
        file_drop(&c->system);
        return dcmp_seterr(err, "%s: %s", c->system_path, strerror(errno));
    }
    if (file_refresh(c, &c->system, c->system_path, &st, err) < 0)
        return -1;
    if (stat(c->registry, &st) < 0)
        return dcmp_seterr(err, "%s: %s", c->registry, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return dcmp_seterr(err, "%s: %s", c->registry, strerror(ENOTDIR));
    if ((!c->listed || !same_id(&c->reg_id, &st) || racy(c, &c->reg_id, c->reg_listed_ns)) &&
        list_registry(c, &st, t, err) < 0)
        return -1;
    for (i = 0; i < c->nfolders; i++) {
        if (folder_refresh(c, &c->folders[i], t, err) < 0)
            return -1;
        n += c->folders[i].file >= 0;
    }
    if (n > DCMP_SETTINGS_MAX_SERVICES)
        return dcmp_seterr(err, "%s: more than %d services", c->registry,
                           DCMP_SETTINGS_MAX_SERVICES);
    free(c->view.files);
    free(c->view.names);
    memset(&c->view, 0, sizeof c->view);
    if (n > 0 && ((c->view.files = calloc((size_t)n, sizeof *c->view.files)) == NULL ||
                  (c->view.names = calloc((size_t)n, sizeof *c->view.names)) == NULL))
        return dcmp_seterr(err, "%s: out of memory", c->registry);
    for (i = 0; i < c->nfolders; i++) {
        folder *d = &c->folders[i];
        dcmp_plan_file *f;
        if (d->file < 0)
            continue;
        f = &c->view.files[c->view.n];
        f->path = d->path;
        f->root = d->load_error ? NULL : d->f.root;
        f->load_error = d->load_error;
        c->view.names[c->view.n++] = d->name;
    }
    *system = c->system.root;
    *reg = &c->view;
    return 0;
}
