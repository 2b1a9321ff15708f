/* python_watch.h -- the files an imported service was loaded from, to see that they changed. */
#ifndef DCMP_PYTHON_WATCH_H
#define DCMP_PYTHON_WATCH_H

#include <limits.h>
#include <stdint.h>

/* Caps of one folder walk: files looked at and folder depth; what lies beyond is not watched. */
#define DCMP_PYTHON_WATCH_FILES 10000
#define DCMP_PYTHON_WATCH_DEPTH 16
/* Files one set remembers; a service that loaded more is watched by walking its folder. */
#define DCMP_PYTHON_WATCH_SET_MAX 512

/*
 * A fingerprint of path, a file or a folder walked recursively (symbolic links to folders are
 * not followed; folders named __pycache__ or starting with a dot are skipped): it changes when
 * a file is added, removed, replaced or written (inode, size, modification and change times
 * of every file). A path that does not exist has the fingerprint 0. No error: what cannot be
 * read counts as absent.
 */
uint64_t dcmp_python_watch_fingerprint(const char *path);

/* The files of one service's imported modules (their __file__), each with its fingerprint
 * when it was added; or, past DCMP_PYTHON_WATCH_SET_MAX files, the service's whole folder. */
typedef struct dcmp_python_watch_set {
    char **paths;
    uint64_t *prints;
    int count, cap;
    int walk;              /* over the cap: folder and folder_print are watched instead */
    char folder[PATH_MAX]; /* the service's folder or file, for the walk */
    uint64_t folder_print;
} dcmp_python_watch_set;

/* An empty set for the service at folder (ROOT/top or ROOT/top.py). */
void dcmp_python_watch_init(dcmp_python_watch_set *set, const char *folder);

/* Adds path with its fingerprint as it is now; a path the set has already keeps the one it
 * had. Past the cap (or out of memory) the set turns to walking its folder, fingerprinted now. */
void dcmp_python_watch_add(dcmp_python_watch_set *set, const char *path);

/* Whether a file of the set was replaced, written or removed since it was added (one stat per
 * file), or, for a walked set, anything under its folder. */
int dcmp_python_watch_changed(const dcmp_python_watch_set *set);

/* Frees what the set holds (it is empty after). */
void dcmp_python_watch_free(dcmp_python_watch_set *set);

#endif
