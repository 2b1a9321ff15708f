/* perms.c -- owner-only files: what a program of the stack creates is its user's alone. */
#include "perms.h"

#include <sys/stat.h>

void dcmp_perms_owner_only(void)
{
    umask(S_IRWXG | S_IRWXO);
}
