/* python_watch.h -- a fingerprint of a service's files, to see that they changed. */
#ifndef DCMP_PYTHON_WATCH_H
#define DCMP_PYTHON_WATCH_H

#include <stdint.h>

/* Caps of one walk: files looked at and folder depth; what lies beyond is not watched. */
#define DCMP_PYTHON_WATCH_FILES 10000
#define DCMP_PYTHON_WATCH_DEPTH 16

/*
 * A fingerprint of path, a file or a folder walked recursively (symbolic links to folders are
 * not followed; folders named __pycache__ or starting with a dot are skipped): it changes when
 * a file is added, removed, replaced or written (inode, size, modification and change times
 * of every file). A path that does not exist has the fingerprint 0. No error: what cannot be
 * read counts as absent.
 */
uint64_t dcmp_python_watch_fingerprint(const char *path);

#endif
