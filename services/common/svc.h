/* svc.h -- helpers the shipped services share: paths inside DATA, trees, JSON, their folder. */
#ifndef DCMP_SVC_H
#define DCMP_SVC_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stddef.h>

#include "dcmp/service.h"

#define SVC_ERR_LEN 512

/*
 * Resolves `rel`, a path relative to DATA, to an absolute path inside it. Refused: an empty or
 * absolute path, a ".." part, a path longer than PATH_MAX, and (when the path exists) one that
 * leads outside DATA through a symbolic link. `must_exist`: the path must exist.
 * Returns 0 and out, or -1 with err naming the path and the reason.
 */
int svc_data_path(const char *data_dir, const char *rel, int must_exist, char out[PATH_MAX],
                  char err[SVC_ERR_LEN]);

/*
 * Whether `path` (absolute, as svc_data_path gave it, and existing) is held for a study or
 * patient event the scheduler has yet to plan or whose jobs still run. 2: it is, or is inside,
 * a folder marked held (DATA/.holds/<folder>/@held.<level>.<id>, one per holder: held while
 * any is left), and is recorded (a line appended to
 * DATA/.holds/<folder>/@deleted) for the scheduler to remove when it releases the folder.
 * 1: held and not recorded: it holds such a folder, lies under DATA/.holds, cannot be resolved,
 * or the record could not be written. 0: not held. Its parent is resolved (links included),
 * its last part is not (the cleaner never follows it).
 */
int svc_held(const char *data_dir, const char *path);

/* Removes a file, or a folder with everything under it, never following symbolic links.
 * Returns 0, or -1 with err (what was removed stays removed). */
int svc_rmtree(const char *path, char err[SVC_ERR_LEN]);

/* mkdir -p with mode 0755. Returns 0 or -1 with err. */
int svc_mkdirs(const char *path, char err[SVC_ERR_LEN]);

/* The folder of the shared library holding `addr` (the address of one of its static
 * objects). Returns 0 or -1. */
int svc_library_dir(const void *addr, char out[PATH_MAX]);

/* The string member `name` of a JSON object, or NULL. Borrowed from obj. */
const char *svc_json_str(const cJSON *obj, const char *name);

/* Fails a service function: the message (printf-style, cut at 2 KiB) goes into the job's log
 * and is set as its error. Returns DCMP_ERROR, for `return svc_fail(call, ...)`. */
int32_t svc_fail(const dcmp_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
