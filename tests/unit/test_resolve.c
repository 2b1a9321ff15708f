/* test_resolve.c -- unit tests of dotted service names to library candidate paths. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "resolve.h"

static void test_two_parts(void)
{
    dcmp_resolved r;
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_resolve_name("/m", "dcm2nii.worker", &r, err) == 0);
    CHECK_STR(r.paths[0], "/m/dcm2nii.so");
    CHECK_STR(r.paths[1], "/m/dcm2nii/dcm2nii.so");
    CHECK_STR(r.paths[2], "/m/dcm2nii/libdcm2nii.so");
    CHECK_STR(r.function, "worker");
    CHECK_STR(err, "");
}

static void test_three_parts(void)
{
    dcmp_resolved r;
    char err[DCMP_ERR_LEN];

    CHECK(dcmp_resolve_name("/m", "base.storageManager.worker", &r, err) == 0);
    CHECK_STR(r.paths[0], "/m/base/storageManager.so");
    CHECK_STR(r.paths[1], "/m/base/storageManager/storageManager.so");
    CHECK_STR(r.paths[2], "/m/base/storageManager/libstorageManager.so");
    CHECK_STR(r.function, "worker");

    CHECK(dcmp_resolve_name("/opt/mods", "a.b.c.fn_2", &r, err) == 0);
    CHECK_STR(r.paths[0], "/opt/mods/a/b/c.so");
    CHECK_STR(r.paths[1], "/opt/mods/a/b/c/c.so");
    CHECK_STR(r.paths[2], "/opt/mods/a/b/c/libc.so");
    CHECK_STR(r.function, "fn_2");
}

static void test_allowed_characters(void)
{
    dcmp_resolved r;
    char err[DCMP_ERR_LEN];

    CHECK(dcmp_resolve_name("/m", "My-Mod_9.Run-It_0", &r, err) == 0);
    CHECK_STR(r.paths[0], "/m/My-Mod_9.so");
    CHECK_STR(r.paths[2], "/m/My-Mod_9/libMy-Mod_9.so");
    CHECK_STR(r.function, "Run-It_0");
    CHECK(dcmp_resolve_name("/m", "a.b", &r, err) == 0);
    CHECK_STR(r.paths[1], "/m/a/a.so");
    CHECK_STR(r.function, "b");
}

static void test_root_forms(void)
{
    dcmp_resolved r;
    char err[DCMP_ERR_LEN];

    CHECK(dcmp_resolve_name("/m/", "dcm2nii.worker", &r, err) == 0);
    CHECK_STR(r.paths[0], "/m/dcm2nii.so");
    CHECK_STR(r.paths[1], "/m/dcm2nii/dcm2nii.so");
    CHECK_STR(r.paths[2], "/m/dcm2nii/libdcm2nii.so");
    CHECK(dcmp_resolve_name("/m///", "dcm2nii.worker", &r, err) == 0);
    CHECK_STR(r.paths[0], "/m/dcm2nii.so");
    CHECK(dcmp_resolve_name("modules", "x.y", &r, err) == 0);
    CHECK_STR(r.paths[0], "modules/x.so");
    CHECK_STR(r.paths[2], "modules/x/libx.so");
    CHECK(dcmp_resolve_name("./modules/", "x.y", &r, err) == 0);
    CHECK_STR(r.paths[1], "./modules/x/x.so");
}

/* Expects a rejected name; err mentions `needle` and the result is cleared. */
static void rejects(const char *dotted, const char *needle)
{
    dcmp_resolved r;
    char err[DCMP_ERR_LEN] = "";

    memset(&r, 'x', sizeof r);
    CHECK(dcmp_resolve_name("/m", dotted, &r, err) == -1);
    CHECK(err[0] != '\0');
    if (needle != NULL)
        CHECK_CONTAINS(err, needle);
    CHECK_STR(r.function, "");
}

static void test_errors(void)
{
    rejects("worker", "no module part");
    rejects("", "empty");
    rejects(NULL, "empty");
    rejects("a..b", "\"a..b\"");
    rejects(".a.b", "\".a.b\"");
    rejects("a.b.", "\"a.b.\"");
    rejects(".", NULL);
    rejects("..", NULL);
    rejects("a/b.c", "\"a/b.c\"");
    rejects("../x.y", "\"../x.y\"");
    rejects("a.../x", NULL);
    rejects("x./y", NULL);
    rejects("a b.c", "\"a b.c\"");
    rejects("a.b c", NULL);
    rejects("a\tb.c", NULL);
    rejects("a.b\n", NULL);
    rejects("a$b.c", NULL);
    rejects("a\\b.c", NULL);
    rejects("\xc3\xa9t\xc3\xa9.run", NULL);
    /* the bad part is quoted */
    rejects("good.b@d.fn", "\"b@d\"");
}

static void test_long_names(void)
{
    char name[DCMP_DOTTED_MAX + 64], root[PATH_MAX + 16];
    dcmp_resolved r;
    char err[DCMP_ERR_LEN];
    size_t i;

    /* exactly DCMP_DOTTED_MAX characters is accepted */
    memset(name, 'a', DCMP_DOTTED_MAX);
    name[DCMP_DOTTED_MAX] = '\0';
    name[DCMP_DOTTED_MAX - 3] = '.';
    CHECK(dcmp_resolve_name("/m", name, &r, err) == 0);
    CHECK_STR(r.function, "aa");

    /* one more is not */
    memset(name, 'a', DCMP_DOTTED_MAX + 1);
    name[DCMP_DOTTED_MAX + 1] = '\0';
    name[10] = '.';
    err[0] = '\0';
    CHECK(dcmp_resolve_name("/m", name, &r, err) == -1);
    CHECK_CONTAINS(err, "longer than");

    /* a function part of DCMP_NAME_LEN characters does not fit */
    memcpy(name, "mod.", 4);
    memset(name + 4, 'f', DCMP_NAME_LEN);
    name[4 + DCMP_NAME_LEN] = '\0';
    err[0] = '\0';
    CHECK(dcmp_resolve_name("/m", name, &r, err) == -1);
    CHECK_CONTAINS(err, "function part too long");
    /* one less does */
    name[4 + DCMP_NAME_LEN - 1] = '\0';
    CHECK(dcmp_resolve_name("/m", name, &r, err) == 0);
    CHECK(strlen(r.function) == DCMP_NAME_LEN - 1);

    /* a root that leaves no room for the paths */
    root[0] = '/';
    for (i = 1; i < PATH_MAX - 4; i++)
        root[i] = 'r';
    root[i] = '\0';
    err[0] = '\0';
    CHECK(dcmp_resolve_name(root, "mod.fn", &r, err) == -1);
    CHECK_CONTAINS(err, "path for \"mod.fn\" under /rrr");
    /* room for ROOT/mod.so but not for ROOT/mod/libmod.so */
    root[PATH_MAX - 1 - 8] = '\0';
    err[0] = '\0';
    CHECK(dcmp_resolve_name(root, "mod.fn", &r, err) == -1);
    CHECK_CONTAINS(err, "path for \"mod.fn\" under /rrr");
}

/* A temporary root; removed by cleanup_root. */
static char tmp_root[64];

static int make_root(void)
{
    dcmp_strlcpy(tmp_root, "/tmp/dcmp-resolve-XXXXXX", sizeof tmp_root);
    return mkdtemp(tmp_root) != NULL ? 0 : -1;
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    if (f != NULL)
        fclose(f);
}

static void path_in_root(char *out, size_t size, const char *rel)
{
    CHECK(snprintf(out, size, "%s/%s", tmp_root, rel) < (int)size);
}

static void test_find(void)
{
    dcmp_resolved r;
    char err[DCMP_ERR_LEN] = "", p[PATH_MAX];

    CHECK(make_root() == 0);
    CHECK(dcmp_resolve_name(tmp_root, "svc.worker", &r, err) == 0);

    /* none exists: every path is named */
    CHECK(dcmp_resolve_find(&r, "svc.worker", err) == -1);
    CHECK_CONTAINS(err, "svc.worker");
    CHECK_CONTAINS(err, r.paths[0]);
    CHECK_CONTAINS(err, r.paths[1]);
    CHECK_CONTAINS(err, r.paths[2]);

    /* only the 3rd */
    path_in_root(p, sizeof p, "svc");
    CHECK(mkdir(p, 0755) == 0);
    touch(r.paths[2]);
    CHECK(dcmp_resolve_find(&r, "svc.worker", err) == 2);

    /* the 2nd and the 3rd: the 2nd wins */
    touch(r.paths[1]);
    CHECK(dcmp_resolve_find(&r, "svc.worker", err) == 1);

    /* only the 2nd */
    CHECK(unlink(r.paths[2]) == 0);
    CHECK(dcmp_resolve_find(&r, "svc.worker", err) == 1);

    /* all three: the 1st wins */
    touch(r.paths[0]);
    touch(r.paths[2]);
    CHECK(dcmp_resolve_find(&r, "svc.worker", err) == 0);

    unlink(r.paths[0]);
    unlink(r.paths[1]);
    unlink(r.paths[2]);
    rmdir(p);
    CHECK(rmdir(tmp_root) == 0);
}

/* Only regular files count: a directory named like a candidate is skipped. */
static void test_find_skips_directories(void)
{
    dcmp_resolved r;
    char err[DCMP_ERR_LEN] = "", p[PATH_MAX];

    CHECK(make_root() == 0);
    CHECK(dcmp_resolve_name(tmp_root, "svc.worker", &r, err) == 0);
    CHECK(mkdir(r.paths[0], 0755) == 0);
    path_in_root(p, sizeof p, "svc");
    CHECK(mkdir(p, 0755) == 0);
    CHECK(mkdir(r.paths[1], 0755) == 0);
    CHECK(dcmp_resolve_find(&r, "svc.worker", err) == -1);
    CHECK_CONTAINS(err, r.paths[2]);
    touch(r.paths[2]);
    CHECK(dcmp_resolve_find(&r, "svc.worker", err) == 2);

    /* a symbolic link to a regular file counts */
    CHECK(unlink(r.paths[2]) == 0);
    touch(r.paths[2]);
    CHECK(rmdir(r.paths[1]) == 0);
    CHECK(symlink(r.paths[2], r.paths[1]) == 0);
    CHECK(dcmp_resolve_find(&r, "svc.worker", err) == 1);

    unlink(r.paths[1]);
    unlink(r.paths[2]);
    rmdir(p);
    rmdir(r.paths[0]);
    CHECK(rmdir(tmp_root) == 0);
}

int main(void)
{
    RUN(test_two_parts);
    RUN(test_three_parts);
    RUN(test_allowed_characters);
    RUN(test_root_forms);
    RUN(test_errors);
    RUN(test_long_names);
    RUN(test_find);
    RUN(test_find_skips_directories);
    return HARNESS_RESULT();
}
