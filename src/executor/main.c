/* main.c -- dcmp-executor: runs service functions for dcmp-worker and dcmp-scheduler, which
 * start it with posix_spawn, send it jobs on descriptor 4 and read its reports on 3. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "perms.h"
#include "pool.h"

int main(int argc, char **argv)
{
    if (argc != 3 || fcntl(3, F_GETFD) < 0 || fcntl(4, F_GETFD) < 0) {
        fprintf(stderr, "usage: dcmp-executor MODULES DATA_DIR\n"
                        "Runs the jobs it reads on descriptor 4 and reports on descriptor 3.\n"
                        "dcmp-worker and dcmp-scheduler start it; it is not run by hand.\n");
        return 2;
    }
    /* patient data and secrets: everything this program creates is its user's alone */
    dcmp_perms_owner_only();
    /* posix_spawn set every signal to its default; this undoes what a sanitizer runtime
     * installed at start, so a crashing service ends the executor by its signal in every
     * build, which is what the caller reports */
    dcmp_executor_child_setup();
    dcmp_pool_executor_main(argv[1], argv[2]);
}
