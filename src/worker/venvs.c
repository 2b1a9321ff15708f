/* venvs.c -- Python services' virtual environments, made when the worker starts: the ones
 * missing, or made from another requirements.txt (a service copied in without service.sh, a
 * worker image whose MODULES was filled on the host). */
#include "venvs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "pool.h"
#include "scripts.h"
#include "venv.h"

int worker_venvs_make(const char *modules, const char *logs, void (*beat)(void *), void *arg,
                      int64_t beat_ms)
{
    char program[PATH_MAX], why[DCMP_ERR_LEN];
    struct dirent **names = NULL;
    int n, i, failed = 0, found = 0;

    if ((n = scandir(modules, &names, NULL, alphasort)) < 0) {
        dcmp_log_warn("MODULES %s: %s: no virtual environment made", modules, strerror(errno));
        return 0;
    }
    for (i = 0; i < n; i++) {
        char dir[PATH_MAX], venv[PATH_MAX], log[PATH_MAX], label[PATH_MAX + 16];
        char err[DCMP_ERR_LEN];
        const char *name = names[i]->d_name;
        struct stat st;

        /* a service folder (not .venvs, nor a staged copy) with a requirements.txt */
        if (name[0] != '.' && snprintf(dir, sizeof dir, "%s/%s", modules, name) < (int)sizeof dir &&
            stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
            dcmp_venv_of(modules, name, venv, err) == 1 && !dcmp_venv_current(modules, name)) {
            char *argv[] = {program, dir, venv, log, NULL};
            /* looked for once, when the first environment is needed */
            if (!found && (found = dcmp_pool_program("dcmp-venv", "DCMP_VENV", program,
                                                     sizeof program, why) == 0
                                       ? 1
                                       : -1) < 0)
                dcmp_log_error("no virtual environment can be made: %s", why);
            if (found < 0) {
                failed++;
            } else if (snprintf(log, sizeof log, "%s/venv-%s.log", logs, name) >= (int)sizeof log) {
                dcmp_log_warn("%s: the path of its pip log is too long", name);
                failed++;
            } else {
                snprintf(label, sizeof label, "venv of %s", name);
                dcmp_log_info("%s: its virtual environment is missing or was made from another "
                              "requirements.txt: making %s (pip's output: %s)",
                              name, venv, log);
                if (worker_scripts_exec(dir, argv, label, beat, arg, beat_ms) < 0)
                    failed++;
            }
        }
        free(names[i]);
    }
    free(names);
    return failed;
}
