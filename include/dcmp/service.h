/* service.h -- the dcm-processor service ABI: what a service library exports and receives. */
#ifndef DCMP_SERVICE_H
#define DCMP_SERVICE_H

/*
 * A service is a shared library (.so) that exports exactly one symbol,
 * `dcmp_module_descriptor`, built with DCMP_MODULE(). The descriptor lists
 * the library's named functions. The same format serves both kinds of
 * function the original dcm-processor had:
 *
 *   - callbacks, run by dcmp-scheduler for every stable series, which decide
 *     whether a job runs and may inject a JSON object for later jobs
 *     (`added_params[jobName]`);
 *   - workers, run by dcmp-worker for every job.
 *
 * Both are called with one argument, a `dcmp_call`, and return a dcmp_status.
 * Everything crosses the boundary as NUL-terminated UTF-8 JSON text; no
 * structure of the host is ever shared. Only fixed-width types are used.
 *
 * Process model: a function never runs in a daemon's own process. Worker
 * jobs run in an executor process of their worker, in its own process group:
 * by default (WORKER_EXECUTOR=pool) one executor runs job after job and is
 * replaced when a job crashes it, when a job overruns its timeout (the whole
 * group gets SIGKILL), when the job's library file changed on disk, and every
 * WORKER_RECYCLE jobs; with WORKER_EXECUTOR=fork each job gets a process
 * forked for it alone. Callbacks run in a child per event with a time limit.
 * A crash or a hang therefore ends only that call. Do not rely on globals:
 * they may or may not survive to the next call, and the working directory,
 * environment and open files a function changes may be seen by later jobs
 * of the same executor (restore what you change).
 *
 * Naming: a dotted name from settings.json, `a.b.fn`, names the function
 * `fn` of the library found from the path `a/b` under the root folder
 * (MODULES for workers, REGISTRY for callbacks). The candidates, in order:
 *
 *     ROOT/a/b.so   ROOT/a/b/b.so   ROOT/a/b/libb.so
 *
 * The first that exists is loaded; if none exists the error lists all three.
 * Every part must match [A-Za-z0-9_-]+ (no dots, slashes or "..").
 * So `"worker": "dcm2nii.worker"` is the function `worker` of
 * MODULES/dcm2nii.so, MODULES/dcm2nii/dcm2nii.so or MODULES/dcm2nii/libdcm2nii.so.
 *
 * Versioning: the descriptor and the host table begin with their ABI version
 * and their size. The host refuses a library whose abi_version differs from
 * its own DCMP_ABI_VERSION. Members are only ever appended to dcmp_host and
 * dcmp_call; a library tests for a member with DCMP_HAS().
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. */
#define DCMP_ABI_VERSION 1u

/* The one symbol a service library exports. */
#define DCMP_MODULE_SYMBOL "dcmp_module_descriptor"

/* What a callback or worker function returns. */
typedef enum dcmp_status {
    /* Worker: the job succeeded. Callback: schedule the job, and store
     * added_params[jobName]: what set_result() set, or {}. It is 0: a callback
     * ported from Python's `return False` must return DCMP_SKIP, not 0. */
    DCMP_OK = 0,
    /* Worker: nothing to do, counted as success. Callback: do not schedule the job and
     * store nothing (what set_result() set is dropped); a message given to
     * host->set_error() before is kept as the reason (shown by `dcm-processor plan` and
     * in the dashboard's event view). */
    DCMP_SKIP = 1,
    /* Either: the call failed. Give the reason with host->set_error(); the
     * job ends failed (its dependents stay blocked), a callback counts as
     * "do not schedule" and the reason is kept on the event. Any value not
     * in this enum is treated as DCMP_ERROR with "unknown return code N". */
    DCMP_ERROR = 2
} dcmp_status;

/* Log levels for host->log(). */
#define DCMP_LOG_DEBUG 0
#define DCMP_LOG_INFO  1
#define DCMP_LOG_WARN  2
#define DCMP_LOG_ERROR 3

struct dcmp_call;

/*
 * Services of the host, reached through call->host. All members are called
 * on the process the function runs in, from the thread that called the
 * function. Strings passed in are copied before the member returns.
 */
typedef struct dcmp_host {
    uint32_t abi_version; /* DCMP_ABI_VERSION of the host */
    uint32_t size;        /* sizeof(dcmp_host) as the host built it */

    /* Appends one line to the job's log (the tail is kept with the job and
     * shown in the dashboard). printf-style. Lines longer than 4 KiB are
     * cut. Writing to stdout/stderr also lands in the job's log. */
    void (*log)(const struct dcmp_call *call, int32_t level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Sets the call's result, a JSON text (copied). For a callback it is the
     * object injected into added_params[jobName] when it returns DCMP_OK (with
     * DCMP_SKIP or DCMP_ERROR it is dropped); it must be a JSON object.
     * For a worker it is stored with the job as its result. Returns 0, or -1
     * (with nothing set) when the text is not valid JSON of the right kind or
     * larger than 1 MiB. The last successful call wins. */
    int32_t (*set_result)(const struct dcmp_call *call, const char *json);

    /* Sets the error message shown when the function returns DCMP_ERROR
     * (copied, cut at 4 KiB). Returns 0. */
    int32_t (*set_error)(const struct dcmp_call *call, const char *message);
} dcmp_host;

/*
 * The call context. Every pointer is borrowed from the host, valid until the
 * function returns, and must not be written through or freed.
 */
typedef struct dcmp_call {
    uint32_t abi_version; /* DCMP_ABI_VERSION of the host */
    uint32_t size;        /* sizeof(dcmp_call) as the host built it */

    const char *job_name;     /* the jobName from settings.json */
    const char *job_id;       /* the job's id; "" in a callback */
    const char *headers;      /* JSON object: the selected DICOM header fields */
    const char *params;       /* JSON: the entry's params, "null" when absent */
    const char *added_params; /* JSON object: injected dicts keyed by jobName */
    const char *data_dir;     /* absolute path of DATA (dcmpath is relative to it) */
    const dcmp_host *host;    /* host services */
    void *host_data;          /* the host's own; do not touch */
} dcmp_call;

/* A callback or worker function. Called once per call, on a child process. */
typedef int32_t (*dcmp_fn)(const dcmp_call *call);

/* One named function of a library. */
typedef struct dcmp_function {
    const char *name; /* the last part of the dotted name */
    dcmp_fn fn;
} dcmp_function;

/* The descriptor a library exports as DCMP_MODULE_SYMBOL. */
typedef struct dcmp_module {
    uint32_t abi_version;           /* DCMP_ABI_VERSION the library was built with */
    uint32_t size;                  /* sizeof(dcmp_module) as the library built it */
    const char *name;               /* the service's name, for logs */
    const char *version;            /* the service's version, for logs */
    const dcmp_function *functions; /* ends with {NULL, NULL} */
} dcmp_module;

/* True when a struct the other side built (size recorded in ->size) has `member`. */
#define DCMP_HAS(ptr, type, member) \
    ((ptr)->size >= offsetof(type, member) + sizeof(((type *)0)->member))

/* Makes a function visible outside a library built with -fvisibility=hidden. */
#define DCMP_EXPORT __attribute__((visibility("default")))

/* Names a function for DCMP_MODULE: DCMP_FUNCTION(worker) is {"worker", worker}. */
#define DCMP_FUNCTION(fn) \
    {                     \
#fn, fn           \
    }

/*
 * Defines the library's descriptor. Use once per library, at file scope:
 *
 *     static int32_t worker(const dcmp_call *call) { ... return DCMP_OK; }
 *     DCMP_MODULE("dcm2nii", "1.0.0", DCMP_FUNCTION(worker));
 */
#define DCMP_MODULE(modname, modversion, ...)                                                    \
    static const dcmp_function dcmp_module_functions_[] = {__VA_ARGS__, {NULL, NULL}};           \
    DCMP_EXPORT extern const dcmp_module dcmp_module_descriptor;                                 \
    const dcmp_module dcmp_module_descriptor = {DCMP_ABI_VERSION, (uint32_t)sizeof(dcmp_module), \
                                                modname, modversion, dcmp_module_functions_}

#ifdef __cplusplus
}
#endif

#endif
