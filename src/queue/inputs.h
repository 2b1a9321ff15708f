/* inputs.h -- what a job's finished dependencies gave, merged into its added_params at start. */
#ifndef DCMP_INPUTS_H
#define DCMP_INPUTS_H

#include "log.h"

#define DCMP_INPUTS_ENTRY_MAX (512 * 1024) /* one dependency's added_params + storage + deleted */

/* Told about each dependency's result: warn 1 when it was ignored (msg says why), 0 when
 * merged. msg is borrowed for the call. */
typedef void (*dcmp_inputs_note)(void *arg, int warn, const char *msg);

/*
 * Merges the results of a job's finished dependencies (`inputs`: what fetch.lua adds to the
 * job, as queue.c gives it, [{"id","name","result"} or {"id","name","size"}], "" or NULL for
 * none) into the
 * job's kwargs (JSON text). A result that is a JSON object with an `added_params` object
 * and/or a `storage` list (or object) is merged into kwargs.added_params[<its jobName>]: the
 * result's `added_params` keys replace what a callback injected under the same key, the
 * other keys of the injection stay, and `storage` (when given) replaces an injected
 * `storage`; the result's top-level `deleted` (a path or a list of paths under DATA, for
 * systemcleaner: a container job names its folder so) is added to the `deleted` already there,
 * which becomes a list. A result of any other JSON kind, or an object with none of the three
 * members, gives nothing. A result that is not JSON, whose `added_params` is not an object,
 * whose `storage` is neither a list nor an object, whose `deleted` is neither a string nor a
 * list of strings, whose members together print to more than DCMP_INPUTS_ENTRY_MAX bytes,
 * or that fetch.lua left out for its size, is ignored and `note` (may be NULL) told why.
 * Pure: no I/O.
 * Returns 1 with *out set (new kwargs text: free it) when something was merged, 0 when
 * nothing was (*out NULL), -1 with err when kwargs is not a JSON object or memory ran out.
 */
int dcmp_inputs_merge(const char *kwargs, const char *inputs, char **out, dcmp_inputs_note note,
                      void *arg, char *err);

#endif
