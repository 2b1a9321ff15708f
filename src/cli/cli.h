/* cli.h -- the dcm-processor command line: one function per subcommand. */
#ifndef DCMP_CLI_H
#define DCMP_CLI_H

#include "config.h"

/* A subcommand: argv[0] is its name. Returns the process's exit status. */
typedef int (*cli_fn)(const dcmp_config *cfg, int argc, char **argv);

typedef struct cli_command {
    const char *name;
    cli_fn fn;
    const char *usage; /* the arguments, for the help text */
    const char *help;  /* one line */
} cli_command;

int cli_plan(const dcmp_config *cfg, int argc, char **argv);
int cli_status(const dcmp_config *cfg, int argc, char **argv);
int cli_jobs(const dcmp_config *cfg, int argc, char **argv);
int cli_job(const dcmp_config *cfg, int argc, char **argv);
/* requeue, cancel and delete: argv[0] says which */
int cli_action(const dcmp_config *cfg, int argc, char **argv);

#endif
