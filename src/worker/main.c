/* main.c -- dcmp-worker: runs the jobs of its queues, one forked child per job. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "perms.h"
#include "venvs.h"
#include "worker.h"

static volatile sig_atomic_t stop_requests;

static void on_stop(int sig)
{
    (void)sig;
    if (stop_requests < 2)
        stop_requests++;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: dcmp-worker [--env FILE] [--queues 'default medium low'] [--name NAME]\n"
               "                   [--burst] [--no-scripts] [--check]\n"
               "Runs jobs from Redis queues in priority order (WORKER_JOBS), one forked child\n"
               "per job. SIGTERM stops after the running job (WORKER_STOP_GRACE seconds at\n"
               "most, then the job goes back to its queue); a second SIGTERM stops at once.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"env", required_argument, NULL, 'e'},  {"queues", required_argument, NULL, 'q'},
        {"name", required_argument, NULL, 'n'}, {"burst", no_argument, NULL, 'b'},
        {"no-scripts", no_argument, NULL, 's'}, {"check", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *env = NULL, *queues = NULL, *name = NULL;
    int burst = 0, scripts = 1, check = 0, c, rc;
    char err[DCMP_ERR_LEN];
    struct sigaction sa;
    dcmp_config cfg;
    worker w;

    while ((c = getopt_long(argc, argv, "e:q:n:bsch", opts, NULL)) != -1) {
        switch (c) {
        case 'e': env = optarg; break;
        case 'q': queues = optarg; break;
        case 'n': name = optarg; break;
        case 'b': burst = 1; break;
        case 's': scripts = 0; break;
        case 'c': check = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    /* patient data and secrets: everything this program creates is its user's alone */
    dcmp_perms_owner_only();
    dcmp_log_init("dcmp-worker", NULL);
    if (dcmp_config_load(&cfg, env, err) < 0)
        dcmp_fatal("%s", err);
    dcmp_log_init(NULL, cfg.log_level);
    /* CONTAINER_JOBS as read (the environment, else .env) for what this process and its
     * executors ask (enginelib.c): 0 turns container jobs and the sweeps off here */
    if (cfg.container_jobs >= 0 && setenv("CONTAINER_JOBS", cfg.container_jobs ? "1" : "0", 1) < 0)
        dcmp_fatal("CONTAINER_JOBS: %s", strerror(errno));
    if (worker_init(&w, &cfg, queues, name, &stop_requests, err) < 0)
        dcmp_fatal("%s", err);
    w.burst = burst;
    if (check) {
        printf("settings: %s\nredis: %s:%d\nqueues:", cfg.env_file[0] ? cfg.env_file : "(none)",
               cfg.redis_host, cfg.redis_port);
        for (int i = 0; i < w.nqueues; i++)
            printf(" %s", w.queues[i]);
        printf("\nmodules: %s\ndata: %s\n", cfg.modules, cfg.data);
        if (cfg.container_jobs == 0)
            printf("container jobs: off (CONTAINER_JOBS=0)\n");
        worker_free(&w);
        return 0;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: a stop cuts sleeps short */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* before any job: a Python service's environment, when missing (docs/python.md) */
    (void)worker_venvs_make(cfg.modules, cfg.logs, NULL, NULL, 0);
    if (scripts) {
        w.scripts_on = 1;
        worker_run_scripts(&w);
    }
    rc = worker_run(&w);
    worker_free(&w);
    return rc;
}
