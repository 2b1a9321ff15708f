/* plan.h -- the planner: from settings entries, an event's data and callback answers to a job
 * graph, with the original dcm-processor's semantics (docs/planning.md). Pure: no I/O. */
#ifndef DCMP_PLAN_H
#define DCMP_PLAN_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "job.h"
#include "log.h"

/* The three groups of entries, in the order their callbacks run. */
enum { DCMP_GROUP_PRE, DCMP_GROUP_REGISTRY, DCMP_GROUP_POST };

/* One parsed registry file (REGISTRY/<service>/settings.json or .yaml). All borrowed. */
typedef struct dcmp_plan_file {
    const char *path;       /* shown in reports */
    const cJSON *root;      /* an entry object or an array of them; NULL when unreadable */
    const char *load_error; /* why root is NULL ("not valid JSON at line 3"), else NULL */
} dcmp_plan_file;

/*
 * Runs one callback. `callback` is the entry's dotted callback name; the JSON
 * texts are the call's inputs. Returns 1 (schedule the job), 0 (do not), or
 * -1 with the reason in err[DCMP_ERR_LEN]. May set *inject to a new JSON
 * object text (free with free). Only a 1 stores added_params[job_name]: the
 * injected object, or {} when there is none (dcmp_plan_inject); with 0 or -1
 * what it injected is dropped.
 */
typedef int (*dcmp_plan_callback)(void *arg, const char *job_name, const char *callback,
                                  const char *headers, const char *params, const char *added_params,
                                  char **inject, char *err);

/* One call of a batch of callbacks. */
typedef struct dcmp_plan_call {
    const char *job_name, *callback, *params; /* the call's inputs, borrowed */
    int rc;                                   /* out: 1 (schedule), 0 (do not), -1 (error) */
    char *inject;                             /* out: as dcmp_plan_callback's (free), or NULL */
    char err[DCMP_ERR_LEN];                   /* out: with rc -1, why */
} dcmp_plan_call;

/*
 * Runs n callbacks in order, with the result of calling dcmp_plan_callback for each: call i
 * gets the headers and, as added_params, the `added_params` text given with the injections of
 * calls 0..i-1 applied by dcmp_plan_inject. Fills each call's rc, inject and err. Returns 0,
 * or -1 when nothing could be run (out of memory): the planner then counts every call as an
 * error with err.
 */
typedef int (*dcmp_plan_batch)(void *arg, const char *headers, const char *added_params,
                               dcmp_plan_call *calls, int n, char *err);

typedef struct dcmp_plan_input {
    const cJSON *system;            /* the system settings object; NULL: none */
    const char *system_path;        /* shown in reports */
    const dcmp_plan_file *registry; /* registry files, in the order given (sort them first) */
    int nregistry;
    const cJSON *data;           /* the event's data: header keywords and the event's own keys */
    const char *default_queue;   /* DEFUALT_PRIORITY */
    dcmp_plan_callback callback; /* one call at a time; NULL: every job is scheduled */
    dcmp_plan_batch batch;       /* when set, used instead: all of an event's calls at once */
    void *callback_arg;          /* given to either */
    int level; /* the event's level, DCMP_LEVEL_* (trigger.h): only entries whose `trigger`
                * names it are planned; 0 (series) for a stable-series event */
    /* NULL, or asked for each valid entry of the event's level before its callback runs: 1
     * when it is due in this event, 0 when not (why[DCMP_ERR_LEN] says why: its decision is
     * then "not-due" with that reason). A study event plans only the entries whose study is
     * complete for them (the scheduler's study.c). */
    int (*due)(void *arg, const char *job_name, char *why);
    void *due_arg;
} dcmp_plan_input;

/* What became of one entry. */
typedef struct dcmp_plan_decision {
    char *job_name; /* owned; "" when the entry had none */
    char *source;   /* owned: "FILE: entry N" or "FILE: preServices[N]" */
    int group;      /* DCMP_GROUP_* */
    int level;      /* its `trigger`, DCMP_LEVEL_* (series when it could not be read) */
    /* "scheduled", "skipped" (callback false), "error" (callback error), "dropped"
     * (a dependency was not scheduled), "invalid", "disabled", "duplicate" or "other-level"
     * (its trigger is not the event's level: planned from another event) or "not-due" (the
     * input's due said no) */
    const char *decision;
    char *reason; /* owned; "" for scheduled and skipped */
    int job;      /* index into jobs when scheduled, else -1 */
} dcmp_plan_decision;

/* One job of the graph, in enqueue order (every dependency comes before). */
typedef struct dcmp_plan_job {
    char id[DCMP_ID_LEN];
    char *name;      /* owned: jobName */
    char *worker;    /* owned: dotted worker function, or "container:IMAGE" */
    char *container; /* owned: a container entry's object, every default written (JSON), or
                      * NULL (docs/containers.md) */
    char *queue;     /* owned */
    char *kwargs;    /* owned: {"jobName","headers","params","added_params"} */
    int group;
    int level; /* DCMP_LEVEL_*: the event's */
    int64_t timeout, retry_max, retry_interval;
    int ndeps;
    int *deps; /* owned: indexes into jobs, all smaller than this job's */
} dcmp_plan_job;

typedef struct dcmp_plan {
    char *headers;      /* owned: the selected header fields, JSON object */
    char *added_params; /* owned: everything the callbacks injected, JSON object */
    dcmp_plan_job *jobs;
    int njobs;
    dcmp_plan_decision *decisions; /* one per entry, in callback order, then the invalid ones */
    int ndecisions;
    char **reports; /* owned: every problem found, one line each */
    int nreports;
} dcmp_plan;

/*
 * Plans one event. Fills *out (free with dcmp_plan_free, also on failure).
 * Problems in the settings never fail the plan: each is reported in
 * out->reports and skips only its entry. Returns 0, or -1 with err on out
 * of memory or when job ids cannot be made.
 */
int dcmp_plan_make(const dcmp_plan_input *in, dcmp_plan *out, char *err);

void dcmp_plan_free(dcmp_plan *plan);

/*
 * The plan as JSON: {"headers","added_params","jobs":[{"id","jobName","worker",
 * "container" (container entries only),"queue","trigger","timeout","retry":{"max","interval"},
 * "dependsOn":[jobName...],"dependsOnIds":[id...]}],"decisions":[{"jobName","source","group",
 * "trigger","decision","reason","jobId"}],"reports":[...]}. New string (free) or NULL.
 */
char *dcmp_plan_json(const dcmp_plan *plan);

/* The same; with kwargs 1 each job also carries "kwargs": the object its worker receives
 * (jobName, headers, params, added_params), as `dcm-processor plan` shows it. */
char *dcmp_plan_json_with(const dcmp_plan *plan, int kwargs);

/* The kwargs of a call, as workers and callbacks receive them:
 * {"jobName","headers","params","added_params"} from the JSON texts given. New string (free)
 * or NULL when out of memory. */
char *dcmp_plan_kwargs(const char *job_name, const char *headers, const char *params,
                       const char *added_params);

/*
 * The one rule for injections, as the original: only a callback that says yes (`yes` 1)
 * stores added[job_name] (replacing what was there): what it injected (JSON text) when that
 * is a JSON object, else {} (none injected: inject NULL or ""). A no or an error (`yes` 0)
 * stores nothing, whatever it injected. Used by the planner and by whoever runs a batch of
 * callbacks. Returns 0, or -1 when a yes injected something that is not a JSON object ({} is
 * stored; the planner reports it) or out of memory.
 */
int dcmp_plan_inject(cJSON *added, const char *job_name, int yes, const char *inject);

/* The job specs for dcmp_job_encode_graph; specs[i] borrows from plan and
 * dep_ids (which must hold njobs * DCMP_DEPS_MAX pointers). */
void dcmp_plan_specs(const dcmp_plan *plan, dcmp_job_spec *specs, const char **dep_ids);

#endif
