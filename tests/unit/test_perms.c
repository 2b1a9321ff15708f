/* test_perms.c -- unit tests of the owner-only creation mask every program sets first. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "perms.h"

/* A file and a folder created as openly as code may ask (0666, 0777) end up owner-only, and
 * the mask is what a child process inherits. */
static void test_owner_only(void)
{
    char dir[] = "/tmp/dcmp-perms.XXXXXX", file[64], sub[64];
    struct stat st;
    mode_t old;
    int fd;

    umask(022);
    CHECK(mkdtemp(dir) != NULL);
    dcmp_perms_owner_only();
    snprintf(file, sizeof file, "%s/f", dir);
    snprintf(sub, sizeof sub, "%s/d", dir);
    fd = open(file, O_CREAT | O_WRONLY, 0666);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    CHECK(mkdir(sub, 0777) == 0);
    CHECK(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700);
    old = umask(0);
    CHECK(old == 077);
    unlink(file);
    rmdir(sub);
    rmdir(dir);
}

int main(void)
{
    RUN(test_owner_only);
    return HARNESS_RESULT();
}
