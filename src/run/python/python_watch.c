/* python_watch.c -- a fingerprint of a service's files, to see that they changed. */
#include "python_watch.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
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
