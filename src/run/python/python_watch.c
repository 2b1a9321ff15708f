/* python_watch.c -- the files an imported service was loaded from, to see that they changed. */
#include "python_watch.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* splitmix64's finalizer: spreads every input bit over the whole word. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t of_file(const char *path, const struct stat *st)
{
    uint64_t h = mix((uint64_t)st->st_ino);
    size_t i;

    h = mix(h ^ (uint64_t)st->st_size);
    h = mix(h ^ ((uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec));
    h = mix(h ^ ((uint64_t)st->st_ctim.tv_sec * 1000000000ull + (uint64_t)st->st_ctim.tv_nsec));
    for (i = 0; path[i]; i++)
        h = mix(h ^ (unsigned char)path[i]);
    return h;
}

/* Adds (order-free) the fingerprints of the files under dir into *sum. */
static void walk(const char *dir, int depth, uint64_t *sum, int *files)
{
    DIR *d;
    struct dirent *de;
    char path[PATH_MAX];
    struct stat st;

    if (depth > DCMP_PYTHON_WATCH_DEPTH || (d = opendir(dir)) == NULL)
        return;
    while (*files < DCMP_PYTHON_WATCH_FILES && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "__pycache__") == 0)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path ||
            lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            walk(path, depth + 1, sum, files);
            continue;
        }
        if (S_ISLNK(st.st_mode) && (stat(path, &st) != 0 || !S_ISREG(st.st_mode)))
            continue;
        if (!S_ISREG(st.st_mode))
            continue;
        *sum += of_file(path, &st);
        (*files)++;
    }
    closedir(d);
}

uint64_t dcmp_python_watch_fingerprint(const char *path)
{
    struct stat st;
    uint64_t sum = 0;
    int files = 0;

    if (stat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return of_file(path, &st) | 1;
    walk(path, 0, &sum, &files);
    return mix(sum ^ (uint64_t)files) | 1; /* never 0: that is "absent" */
}

/* The fingerprint of one file as it is now; 0 when it is not there. */
static uint64_t file_print(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? of_file(path, &st) | 1 : 0;
}

void dcmp_python_watch_init(dcmp_python_watch_set *set, const char *folder)
{
    memset(set, 0, sizeof *set);
    snprintf(set->folder, sizeof set->folder, "%s", folder);
}

/* Drops the file list and watches the whole folder from now on. */
static void to_walk(dcmp_python_watch_set *set)
{
    char folder[PATH_MAX];

    memcpy(folder, set->folder, sizeof folder);
    dcmp_python_watch_free(set);
    memcpy(set->folder, folder, sizeof folder);
    set->walk = 1;
    set->folder_print = dcmp_python_watch_fingerprint(set->folder);
}

void dcmp_python_watch_add(dcmp_python_watch_set *set, const char *path)
{
    char **paths;
    uint64_t *prints;
    int i, cap;

    if (set->walk)
        return;
    for (i = 0; i < set->count; i++)
        if (strcmp(set->paths[i], path) == 0)
            return;
    if (set->count == set->cap) {
        cap = set->cap ? set->cap * 2 : 8;
        if (cap > DCMP_PYTHON_WATCH_SET_MAX) {
            to_walk(set);
            return;
        }
        paths = realloc(set->paths, (size_t)cap * sizeof *paths);
        if (paths != NULL)
            set->paths = paths;
        prints = paths ? realloc(set->prints, (size_t)cap * sizeof *prints) : NULL;
        if (prints == NULL) {
            to_walk(set);
            return;
        }
        set->prints = prints;
        set->cap = cap;
    }
    if ((set->paths[set->count] = strdup(path)) == NULL) {
        to_walk(set);
        return;
    }
    set->prints[set->count++] = file_print(path);
}

int dcmp_python_watch_changed(const dcmp_python_watch_set *set)
{
    int i;

    if (set->walk)
        return dcmp_python_watch_fingerprint(set->folder) != set->folder_print;
    for (i = 0; i < set->count; i++)
        if (file_print(set->paths[i]) != set->prints[i])
            return 1;
    return 0;
}

void dcmp_python_watch_free(dcmp_python_watch_set *set)
{
    int i;

    for (i = 0; i < set->count; i++)
        free(set->paths[i]);
    free(set->paths);
    free(set->prints);
    memset(set, 0, sizeof *set);
}
