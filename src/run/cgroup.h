/* cgroup.h -- a cgroup v2 per job process, where this process may make one: everything a job
 * started is found and killed at once (cgroup.kill), whatever became of its parents. */
#ifndef DCMP_CGROUP_H
#define DCMP_CGROUP_H

#include <limits.h>
#include <sys/types.h>

/* This process' folder of job cgroups: <its own cgroup v2>/dcmp-<name>-<pid>. */
typedef struct dcmp_cgroup {
    char base[PATH_MAX]; /* "" when cgroups cannot be used here (why: in `why`) */
    char why[256];
    unsigned long next; /* numbers the job cgroups */
} dcmp_cgroup;

/*
 * Makes the folder, when the unified hierarchy (cgroup2) is mounted, this process' own cgroup
 * is writable (root, or a delegated subtree) and has cgroup.kill (Linux 5.14). First ends the
 * folders of the same name left by processes that are gone (killed with SIGKILL), and every
 * process still in them. Returns 0 with
 * g->base set, or -1 with g->base "" and g->why saying what is missing (the caller then falls
 * back to the subreaper, confine.h).
 */
int dcmp_cgroup_init(dcmp_cgroup *g, const char *name);

/* A new, empty job cgroup under g into path (PATH_MAX). Returns 0, or -1 (none used). */
int dcmp_cgroup_new(dcmp_cgroup *g, char *path);

/* Moves process pid (0: the caller) into the cgroup at path. Returns 0 or -1. */
int dcmp_cgroup_enter(const char *path, pid_t pid);

/* Kills every process in the cgroup at path (cgroup.kill), waits up to a second for it to be
 * empty, and removes it. path "" does nothing. */
void dcmp_cgroup_end(const char *path);

/* Removes g's folder (its job cgroups must be ended). */
void dcmp_cgroup_free(dcmp_cgroup *g);

#endif
