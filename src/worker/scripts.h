/* scripts.h -- MODULES/<service>/script.sh, run at the worker's start and when new or changed. */
#ifndef DCMP_WORKER_SCRIPTS_H
#define DCMP_WORKER_SCRIPTS_H

#include <stdint.h>
#include <sys/types.h>

#define SCRIPTS_MAX      256  /* services with a script.sh one worker keeps track of */
#define SCRIPTS_LINE_MAX 4096 /* a longer output line is logged in pieces */

/* One script.sh the worker ran: its service folder's name and the file's identity. */
typedef struct worker_script {
    char name[256];
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    int present; /* seen by the current scan */
} worker_script;

/* The scripts one worker ran; zero it before the first scan. */
typedef struct worker_scripts {
    worker_script seen[SCRIPTS_MAX];
    int n;
    int warned; /* MODULES unreadable, logged once */
} worker_scripts;

/*
 * Runs, one after the other in name order, every MODULES/<service>/script.sh that this worker
 * has not run yet or that changed since (another file, size or mtime: a reinstalled service),
 * with /bin/sh in the service's folder; each output line is logged as "PATH: line". While a
 * script runs, beat(arg) is called every beat_ms (beat may be NULL). Never fails: problems are
 * logged.
 */
void worker_scripts_run(worker_scripts *s, const char *modules, void (*beat)(void *), void *arg,
                        int64_t beat_ms);

/*
 * Runs argv (argv[0] a path; borrowed) in the folder dir with the worker's environment,
 * logging each line of its output as "LABEL: line", and calls beat(arg) every beat_ms while it
 * runs (beat may be NULL: a script that installs packages may take minutes). Returns 0 when it
 * exited with status 0, -1 otherwise (logged).
 */
int worker_scripts_exec(const char *dir, char *const *argv, const char *label, void (*beat)(void *),
                        void *arg, int64_t beat_ms);

#endif
