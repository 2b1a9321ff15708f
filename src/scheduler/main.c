/* main.c -- dcmp-scheduler: Orthanc's stable-series webhooks in, job graphs out to Redis. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "perms.h"
#include "scheduler.h"

static volatile sig_atomic_t stop_requests;

static void on_stop(int sig)
{
    (void)sig;
    stop_requests = 1;
}

/* Joins t, waiting until `by` (CLOCK_REALTIME) at most. Returns 0, or -1 when it still runs. */
static int join_by(pthread_t t, const struct timespec *by)
{
    return pthread_timedjoin_np(t, NULL, by) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"env", required_argument, NULL, 'e'},
                                         {"check", no_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *env = NULL;
    char err[DCMP_ERR_LEN], exe[PATH_MAX], dicom[PATH_MAX];
    struct sigaction sa;
    dcmp_config cfg;
    scheduler s;
    pthread_t catchup, watcher, studies, threads[SCHEDULER_MAX_PLANNERS];
    planner planners[SCHEDULER_MAX_PLANNERS];
    struct timespec by;
    int c, i, check = 0, have_catchup = 0, have_watcher = 0, have_studies = 0, busy = 0;

    while ((c = getopt_long(argc, argv, "e:ch", opts, NULL)) != -1) {
        switch (c) {
        case 'e': env = optarg; break;
        case 'c': check = 1; break;
        case 'h':
            printf("usage: dcmp-scheduler [--env FILE] [--check]\n"
                   "Answers POST /stable-series on SCHEDULER_BIND:SCHEDULER_PORT, keeps every\n"
                   "event in Redis before it answers, and plans the events into job graphs.\n");
            return 0;
        default: return 2;
        }
    }
    /* patient data and secrets: everything this program creates is its user's alone */
    dcmp_perms_owner_only();
    dcmp_log_init("dcmp-scheduler", NULL);
    if (dcmp_config_load(&cfg, env, err) < 0)
        dcmp_fatal("%s", err);
    dcmp_log_init(NULL, cfg.log_level);
    /* the callbacks run in dcmp-executor: a missing one stops the start, not each event */
    if (dcmp_pool_executor(exe, sizeof exe, err) < 0)
        dcmp_fatal("%s", err);
    /* Orthanc and DICOM files are dcmp-dicom's work: the daemon links neither libcurl nor
     * DCMTK (and a file that crashes DCMTK ends the helper, not the scheduler) */
    if (dcmp_pool_program("dcmp-dicom", "DCMP_DICOM_HELPER", dicom, sizeof dicom, err) < 0)
        dcmp_fatal("%s", err);
    if (check) {
        printf("settings: %s\nredis: %s:%d\nlisten: %s:%lld\nregistry: %s\nsystem settings: %s\n",
               cfg.env_file[0] ? cfg.env_file : "(none)", cfg.redis_host, cfg.redis_port,
               cfg.scheduler_bind, (long long)cfg.scheduler_port, cfg.registry, cfg.settings);
        return 0;
    }
    memset(&s, 0, sizeof s);
    memset(planners, 0, sizeof planners);
    s.cfg = &cfg;
    s.dicom_program = dicom;
    s.stop = &stop_requests;
    pthread_mutex_init(&s.watch_lock, NULL);
    pthread_mutex_init(&s.health_lock, NULL);
    for (i = 0; i < HOLD_LOCKS; i++)
        pthread_mutex_init(&s.hold_locks[i], NULL);
    if (cfg.orthanc_url[0]) {
        /* a bad ORTHANC_REST_URL stops the start, as a bad setting does */
        helper h;
        helper_init(&h, &cfg, dicom);
        if (helper_check(&h, err) != 0)
            dcmp_fatal("ORTHANC_REST_URL: %s", err);
        helper_stop(&h);
    }
    for (i = 0; i < SCHEDULER_HTTP_THREADS; i++)
        if ((s.intake[i] = dcmp_queue_from_config(&cfg)) == NULL)
            dcmp_fatal("out of memory");
    for (i = 0; i < cfg.planners; i++) {
        planners[i].s = &s;
        planners[i].index = i;
        planner_name(&cfg, i, planners[i].name, sizeof planners[i].name);
        if ((planners[i].q = dcmp_queue_from_config(&cfg)) == NULL ||
            (planners[i].seen = dcmp_queue_from_config(&cfg)) == NULL)
            dcmp_fatal("out of memory");
        dcmp_callbacks_init(&planners[i].callbacks, cfg.registry, cfg.data, cfg.callback_timeout,
                            (long)cfg.callback_recycle);
        if ((planners[i].settings = dcmp_settings_cache_new(cfg.settings, cfg.registry,
                                                            DCMP_SETTINGS_CACHE_RACY_MS)) == NULL)
            dcmp_fatal("out of memory");
        helper_init(&planners[i].dicom, &cfg, dicom);
        planner_ticks(&planners[i]);
    }
    /* what planners of an earlier run with more of them had taken goes back to the inbox */
    for (i = (int)cfg.planners; i < SCHEDULER_MAX_PLANNERS; i++) {
        char name[96];
        planner_name(&cfg, i, name, sizeof name);
        dcmp_queue_event_recover(s.intake[0], name, NULL);
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    study_init(&s);
    if (http_start(&s, err) < 0)
        dcmp_fatal("%s", err);
    dcmp_log_info("listening on %s:%lld; redis %s:%d; registry %s", cfg.scheduler_bind,
                  (long long)cfg.scheduler_port, cfg.redis_host, cfg.redis_port, cfg.registry);
    if (cfg.orthanc_url[0] && pthread_create(&catchup, NULL, catchup_main, &s) == 0)
        have_catchup = 1;
    if (cfg.orthanc_url[0] && cfg.early_stable &&
        pthread_create(&watcher, NULL, watch_main, &s) == 0)
        have_watcher = 1;
    if (pthread_create(&studies, NULL, study_main, &s) == 0)
        have_studies = 1;
    for (i = 0; i < cfg.planners; i++)
        if (pthread_create(&threads[i], NULL, planner_main, &planners[i]) != 0)
            dcmp_fatal("cannot start planning thread %d", i);
    while (!stop_requests)
        dcmp_clock_sleep_ms(100);
    /* The threads see the stop within about a second: a helper request or a callback is ended
     * by its tick, a take waits one second at most. Whatever still runs after the grace (a
     * Redis that does not answer) is left: the events it holds stay in its processing list,
     * planned again after the restart, as after a kill. */
    dcmp_log_info("stopping");
    clock_gettime(CLOCK_REALTIME, &by);
    by.tv_sec += SCHEDULER_STOP_GRACE;
    for (i = 0; i < cfg.planners; i++)
        busy += join_by(threads[i], &by) < 0;
    if (have_catchup)
        busy += join_by(catchup, &by) < 0;
    if (have_watcher)
        busy += join_by(watcher, &by) < 0;
    if (have_studies)
        busy += join_by(studies, &by) < 0;
    if (busy) {
        dcmp_log_warn("stopped: %d thread(s) still busy after %d s (their events are planned "
                      "again after the restart)",
                      busy, SCHEDULER_STOP_GRACE);
        _exit(0);
    }
    http_stop(&s);
    for (i = 0; i < cfg.planners; i++) {
        dcmp_callbacks_stop(&planners[i].callbacks);
        dcmp_settings_cache_free(planners[i].settings);
        helper_stop(&planners[i].dicom);
        dcmp_queue_free(planners[i].q);
        dcmp_queue_free(planners[i].seen);
    }
    for (i = 0; i < SCHEDULER_HTTP_THREADS; i++)
        dcmp_queue_free(s.intake[i]);
    dcmp_log_info("stopped");
    return 0;
}
