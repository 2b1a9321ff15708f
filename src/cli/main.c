/* main.c -- dcm-processor: the command line (plan, validate, status, jobs, job, requeue,
 * cancel, delete). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "perms.h"

int cli_validate(const dcmp_config *cfg, int argc, char **argv);

static const cli_command commands[] = {
    {"plan", cli_plan, "EVENT.json [--registry DIR] [--settings FILE] [--json]",
     "plan an event as the scheduler would, callbacks included, without Redis"},
    {"validate", cli_validate, "SERVICE|SETTINGS_FILE [--registry DIR] [--modules DIR]",
     "check a service: its settings entries, and every worker and callback loadable"},
    {"status", cli_status, "[--json]",
     "every queue's jobs per state and every worker (as the dashboard's overview)"},
    {"jobs", cli_jobs, "[--queue Q] [--state STATE] [--name JOBNAME] [--series ID] [--count N]",
     "the jobs of a queue in a state, newest first (default: failed jobs of queue default)"},
    {"job", cli_job, "ID", "one job: its state, links, error, result and the tail of its log"},
    {"requeue", cli_action, "ID | --failed QUEUE",
     "run a failed job again (its blocked dependents follow), or every failed job of a queue"},
    {"cancel", cli_action, "ID", "cancel a job not yet run, and its dependents"},
    {"delete", cli_action, "ID", "delete a job that is not running (its dependents canceled)"},
};

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: dcm-processor [--env FILE] COMMAND [ARGS]\n\ncommands:\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %s %s\n      %s\n", commands[i].name, commands[i].usage, commands[i].help);
    fprintf(f, "\nSettings come from .env (or --env FILE) and the environment, as for the "
               "daemons.\n");
}

int main(int argc, char **argv)
{
    const char *env = NULL;
    char err[DCMP_ERR_LEN];
    dcmp_config cfg;
    size_t i;
    int a = 1;

    /* patient data and secrets: everything this program creates is its user's alone */
    dcmp_perms_owner_only();
    dcmp_log_init("dcm-processor", "warn");
    /* --env FILE anywhere (before or after the command, as the scripts take it): taken out
     * of argv before the command reads its own options */
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--env") != 0)
            continue;
        if (k + 1 >= argc) {
            fprintf(stderr, "dcm-processor: --env needs a file\n");
            return 2;
        }
        env = argv[k + 1];
        memmove(&argv[k], &argv[k + 2], (size_t)(argc - k - 1) * sizeof *argv); /* + NULL */
        argc -= 2;
        k--;
    }
    if (a >= argc || strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
        usage(a >= argc ? stderr : stdout);
        return a >= argc ? 2 : 0;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[a], commands[i].name) == 0) {
            if (dcmp_config_load(&cfg, env, err) < 0) {
                fprintf(stderr, "dcm-processor: %s\n", err);
                return 1;
            }
            return commands[i].fn(&cfg, argc - a, argv + a);
        }
    fprintf(stderr, "dcm-processor: unknown command \"%s\"\n", argv[a]);
    usage(stderr);
    return 2;
}
