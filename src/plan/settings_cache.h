/* settings_cache.h -- the system settings and the registry's settings files kept parsed between
 * events: every file is stat'ed on each refresh, and read and parsed again only when it
 * changed. */
#ifndef DCMP_SETTINGS_CACHE_H
#define DCMP_SETTINGS_CACHE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "settings.h"

/* A file or folder whose mtime or ctime is less than this before the moment it was read is
 * read again on each refresh until it is older: on a file system with coarse timestamps
 * (FAT: 2 s, ext3 and HFS+: 1 s) a change in the same tick keeps the same identity. */
#define DCMP_SETTINGS_CACHE_RACY_MS 2000

/* Subfolders of the registry watched (with or without a settings file). */
#define DCMP_SETTINGS_CACHE_MAX_FOLDERS (4 * DCMP_SETTINGS_MAX_SERVICES)

typedef struct dcmp_settings_cache dcmp_settings_cache;

/* What a cache did since it was made: for tests and logs. */
typedef struct dcmp_settings_cache_stats {
    long reads;  /* files read */
    long parses; /* files parsed (read with other bytes than the cached ones) */
    long scans;  /* listings of the registry folder */
} dcmp_settings_cache_stats;

/* A cache of the system settings file at system_path and of the registry registry_dir (both
 * borrowed: they must outlive the cache); nothing is read yet. racy_ms: see
 * DCMP_SETTINGS_CACHE_RACY_MS (tests pass 0). New (free with dcmp_settings_cache_free), or
 * NULL when out of memory. One cache serves one thread. */
dcmp_settings_cache *dcmp_settings_cache_new(const char *system_path, const char *registry_dir,
                                             int64_t racy_ms);

void dcmp_settings_cache_free(dcmp_settings_cache *c);

/*
 * Brings the cache up to date with the files, and gives what dcmp_settings_load(system_path)
 * and dcmp_settings_registry(registry_dir) would give now, with the same errors and reports.
 * Each refresh stats the system settings, the registry folder, each service's settings file
 * and the folders whose settings file is not settings.json (a settings.json may appear there);
 * a file is read again when its identity (device, inode, size, mode, mtime, ctime) changed,
 * and parsed again when its bytes did. The registry is listed again when its folder changed.
 * Returns 0 with *system and *reg borrowed from the cache until the next refresh or free, or
 * -1 with err (the system settings or the registry folder cannot be read, more than
 * DCMP_SETTINGS_MAX_SERVICES services, more than DCMP_SETTINGS_CACHE_MAX_FOLDERS folders, out
 * of memory).
 */
int dcmp_settings_cache_refresh(dcmp_settings_cache *c, const cJSON **system,
                                const dcmp_settings_files **reg, char *err);

/* Its counters since dcmp_settings_cache_new. */
dcmp_settings_cache_stats dcmp_settings_cache_counts(const dcmp_settings_cache *c);

#endif
