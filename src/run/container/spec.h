/* spec.h -- a settings entry's `container` object: parsed, normalized, and turned into the
 * Docker Engine's create body. Pure: no I/O. */
#ifndef DCMP_SPEC_H
#define DCMP_SPEC_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "iface.h"
#include "log.h"

#define DCMP_SPEC_IMAGE_MAX 256          /* bytes of an image reference */
#define DCMP_SPEC_LIST_MAX  64           /* env entries, command words, GPU ids */
#define DCMP_SPEC_STR_MAX   4096         /* bytes of one env value or command word */
#define DCMP_SPEC_NAME_MAX  128          /* an env name, a network name, a user */
#define DCMP_SPEC_FUNC      "container:" /* a container job's func: this, then the image */

/* A parsed `container` object. The strings are borrowed from the cJSON tree it was parsed
 * from, valid while that tree lives. */
typedef struct dcmp_spec {
    const char *image;
    const dcmp_iface *iface; /* container.interface (static); &dcmp_iface_dcmp unless given */
    const char *env_name[DCMP_SPEC_LIST_MAX], *env_value[DCMP_SPEC_LIST_MAX];
    int nenv;
    const char *command[DCMP_SPEC_LIST_MAX]; /* ncommand 0: the image's own */
    int ncommand;
    int gpus_all;                            /* "all" */
    int gpus_count;                          /* a count, 0 when none */
    const char *gpu_ids[DCMP_SPEC_LIST_MAX]; /* device ids */
    int ngpu_ids;
    int64_t memory, shm_size; /* bytes, 0: the engine's default */
    double cpus;              /* 0: no limit */
    const char *network;      /* "none" unless given */
    const char *user;         /* "UID", "UID:GID" or "worker"; the interface's unless given */
} dcmp_spec;

#define DCMP_SPEC_USER "65534:65534" /* nobody: the `dcmp` interface's user */

/*
 * Reads a `container` object into *out. Keys: image (required: a reference of letters,
 * digits and . _ - / : @, at most 255), interface ("dcmp", "mercure" or "monai", default
 * "dcmp"), env (an object of string values; names [A-Za-z_][A-Za-z0-9_]*, not starting with
 * DCMP_ or MERCURE_ and not the MAP paths' HOLOSCAN_/MONAI_ names, which the runner sets), command
 * (a list of strings), gpus ("all", a count or a list of device ids), memory and shm_size (bytes,
 * or a string such as "512m", "2g"), cpus (a number above 0), network ("none" by default; a network
 * name; "host" is refused), user ("UID", "UID:GID", or "worker": the worker's own ids; the
 * interface's default, below, when absent). Any other key is an error (a typo would silently be
 * ignored). Returns 0, or -1 with err naming the key ("container.memory: ...").
 */
int dcmp_spec_parse(const cJSON *obj, dcmp_spec *out, char *err);

/* The spec as JSON text with every default written out, as a job carries it (its kwargs'
 * `container`). New (free it), or NULL when out of memory. dcmp_spec_parse reads it back. */
char *dcmp_spec_json(const dcmp_spec *s);

/* What one run of a container job adds to the spec. All borrowed. */
typedef struct dcmp_spec_run {
    const char *job_id, *worker;   /* the labels dcmp.job and dcmp.worker */
    const char *user;              /* "UID" or "UID:GID": s->user with "worker" resolved */
    const dcmp_iface_setup *setup; /* the interface's binds and environment */
} dcmp_spec_run;

/*
 * The body of POST /containers/create for s and run: the image, command (the entry's, else
 * the interface's with the image's entrypoint reset, else none: the image's), working
 * directory (the interface's), environment (the entry's env, then the interface's variables
 * the entry does not set), labels, the user, and the strict host config:
 * NetworkMode (none unless given), CapDrop ALL, no-new-privileges, a pids limit, the
 * interface's binds (read-only but for its output folder), the memory (swap equal: none
 * beyond it), cpus, shm size and GPU device requests asked for.
 * New (free it), or NULL when it would pass max bytes or out of memory.
 */
char *dcmp_spec_create_body(const dcmp_spec *s, const dcmp_spec_run *run, size_t max);

/*
 * `path`, under DATA as this process sees it (`data_dir`), as the engine's host sees it: the
 * same path under `data_host` (DCMP_DATA_HOST: the worker runs in a container that mounts
 * DATA at another path than the host's), or `path` itself when data_host is NULL or "".
 * Every path given to the engine goes through here. Returns 0, or -1 with err when
 * data_host is not absolute, path is not under data_dir, or the result passes size bytes.
 */
int dcmp_spec_host_path(const char *path, const char *data_dir, const char *data_host, char *out,
                        size_t size, char *err);

#define DCMP_SPEC_PIDS_LIMIT 4096 /* processes a container may hold */

#endif
