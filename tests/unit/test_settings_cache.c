/* test_settings_cache.c -- unit tests of the settings cache: after every kind of change to the
 * system settings or the registry, a refresh gives what a fresh read gives, and an unchanged
 * file is neither read nor parsed again. */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "settings_cache.h"

static char tmp_dir[PATH_MAX], reg_dir[PATH_MAX], sys_path[PATH_MAX];

/* Writes tmp_dir/rel through a new file renamed into place (as editors and installers do)
 * or, with in_place, by truncating and rewriting the same inode. */
static void put(const char *rel, const char *text, int in_place)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    int fd;

    CHECK(snprintf(path, sizeof path, "%s/%s", tmp_dir, rel) < (int)sizeof path);
    snprintf(tmp, sizeof tmp, "%s.new", path);
    fd = open(in_place ? path : tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    if (!in_place)
        CHECK(rename(tmp, path) == 0);
}

static void dir(const char *rel)
{
    char path[PATH_MAX];

    CHECK(snprintf(path, sizeof path, "%s/%s", tmp_dir, rel) < (int)sizeof path);
    CHECK(mkdir(path, 0755) == 0);
}

static void gone(const char *rel)
{
    char path[PATH_MAX];

    CHECK(snprintf(path, sizeof path, "%s/%s", tmp_dir, rel) < (int)sizeof path);
    CHECK(remove(path) == 0);
}

/* A text of everything a planner gets: the system settings and each registry file's path,
 * name, tree or error. */
static char *render(const cJSON *system, const dcmp_settings_files *reg)
{
    char *buf = NULL, *s;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    int i;

    s = system ? cJSON_PrintUnformatted(system) : NULL;
    fprintf(out, "system %s\n", s ? s : "-");
    free(s);
    for (i = 0; i < reg->n; i++) {
        s = reg->files[i].root ? cJSON_PrintUnformatted(reg->files[i].root) : NULL;
        fprintf(out, "%s %s %s %s\n", reg->names[i], reg->files[i].path, s ? s : "-",
                reg->files[i].load_error ? reg->files[i].load_error : "-");
        free(s);
    }
    fclose(out);
    return buf;
}

/* What dcmp_settings_load + dcmp_settings_registry give now, or "error: ..." */
static char *fresh(void)
{
    char err[DCMP_ERR_LEN], *text, *s;
    dcmp_settings_files reg;
    cJSON *system = NULL;

    if (dcmp_settings_load(sys_path, &system, err) < 0 ||
        dcmp_settings_registry(reg_dir, &reg, err) < 0) {
        cJSON_Delete(system);
        s = malloc(strlen(err) + 8);
        snprintf(s, strlen(err) + 8, "error: %s", err);
        return s;
    }
    text = render(system, &reg);
    cJSON_Delete(system);
    dcmp_settings_registry_free(&reg);
    return text;
}

/* Checks that a refresh of c gives what a fresh read gives. */
static void same_as_fresh(dcmp_settings_cache *c, const char *what)
{
    char err[DCMP_ERR_LEN], *want = fresh(), *got;
    const dcmp_settings_files *reg;
    const cJSON *system;

    if (dcmp_settings_cache_refresh(c, &system, &reg, err) < 0) {
        got = malloc(strlen(err) + 8);
        snprintf(got, strlen(err) + 8, "error: %s", err);
    } else {
        got = render(system, reg);
    }
    if (strcmp(got, want) != 0)
        fprintf(stderr, "after %s:\n got:\n%s want:\n%s", what, got, want);
    CHECK_STR(got, want);
    free(got);
    free(want);
}

static void test_follows_changes(void)
{
    /* racy window 2 s: every file here is younger, so each is compared byte for byte */
    dcmp_settings_cache *c = dcmp_settings_cache_new(sys_path, reg_dir, 2000);

    put("settings.json", "{\"headerFields\":[\"PatientID\"]}", 0);
    dir("reg");
    dir("reg/a");
    put("reg/a/settings.json", "{\"jobName\":\"a\"}", 0);
    same_as_fresh(c, "the start");
    put("reg/a/settings.json", "{\"jobName\":\"b\"}", 1); /* same size, same inode, at once */
    same_as_fresh(c, "a rewrite in place of the same size");
    put("reg/a/settings.json", "{\"jobName\":\"a2\"}", 0);
    same_as_fresh(c, "a file replaced");
    dir("reg/new");
    same_as_fresh(c, "a new folder without settings");
    put("reg/new/settings.yaml", "jobName: new\n", 0);
    same_as_fresh(c, "a settings.yaml in it");
    put("reg/new/settings.json", "{\"jobName\":\"json wins\"}", 0);
    same_as_fresh(c, "a settings.json beside it");
    gone("reg/new/settings.json");
    same_as_fresh(c, "the settings.json removed");
    put("reg/new/settings.yaml", "jobName: [unclosed\n", 1);
    same_as_fresh(c, "a syntax error");
    put("reg/new/settings.yaml", "jobName: fixed\n", 1);
    same_as_fresh(c, "the error fixed");
    gone("reg/new/settings.yaml");
    same_as_fresh(c, "the last settings file removed");
    gone("reg/new");
    dir("reg/.hidden");
    put("reg/.hidden/settings.json", "{}", 0);
    put("reg/file", "not a folder", 0);
    same_as_fresh(c, "a folder removed, a hidden one and a file added");
    put("settings.json", "{\"headerFields\":[\"Modality\"]}", 1);
    same_as_fresh(c, "the system settings changed");
    put("settings.json", "{oops", 0);
    same_as_fresh(c, "the system settings broken");
    put("settings.json", "{}", 0);
    CHECK(chmod(reg_dir, 0) == 0);
    if (access(reg_dir, R_OK) < 0) /* not as root, who reads it anyway */
        same_as_fresh(c, "the registry unreadable");
    CHECK(chmod(reg_dir, 0755) == 0);
    same_as_fresh(c, "the registry readable again");
    dcmp_settings_cache_free(c);
}

/* Without a racy window (the files are trusted by identity at once), an unchanged file is
 * neither read nor parsed again, and the registry is not listed again. */
static void test_reads_only_changes(void)
{
    dcmp_settings_cache *c = dcmp_settings_cache_new(sys_path, reg_dir, 0);
    dcmp_settings_cache_stats s0, s1;
    const dcmp_settings_files *reg;
    const cJSON *system;
    char err[DCMP_ERR_LEN];
    int i;

    put("settings.json", "{\"headerFields\":[]}", 0);
    dir("reg/b");
    dir("reg/y");
    put("reg/b/settings.json", "{\"jobName\":\"b\"}", 0);
    put("reg/y/settings.yml", "jobName: y\n", 0);
    CHECK(dcmp_settings_cache_refresh(c, &system, &reg, err) == 0);
    s0 = dcmp_settings_cache_counts(c);
    for (i = 0; i < 10; i++)
        CHECK(dcmp_settings_cache_refresh(c, &system, &reg, err) == 0);
    s1 = dcmp_settings_cache_counts(c);
    CHECK(s1.reads == s0.reads && s1.parses == s0.parses && s1.scans == s0.scans);
    CHECK(reg->n == 3);
    /* one file replaced: that file alone is read and parsed again */
    put("reg/b/settings.json", "{\"jobName\":\"b2\"}", 0);
    same_as_fresh(c, "a replaced file");
    s0 = dcmp_settings_cache_counts(c);
    CHECK(s0.reads == s1.reads + 1 && s0.parses == s1.parses + 1 && s0.scans == s1.scans);
    /* the same bytes written again: read again, not parsed */
    put("reg/b/settings.json", "{\"jobName\":\"b2\"}", 0);
    same_as_fresh(c, "the same bytes");
    s1 = dcmp_settings_cache_counts(c);
    CHECK(s1.reads == s0.reads + 1 && s1.parses == s0.parses);
    /* a new service: the registry is listed again */
    dir("reg/c");
    put("reg/c/settings.json", "{\"jobName\":\"c\"}", 0);
    same_as_fresh(c, "a new service");
    s0 = dcmp_settings_cache_counts(c);
    CHECK(s0.scans == s1.scans + 1 && s0.parses == s1.parses + 1);
    /* a settings.json beside settings.yml in an existing folder */
    put("reg/y/settings.json", "{\"jobName\":\"y.json\"}", 0);
    same_as_fresh(c, "a settings.json beside a settings.yml");
    dcmp_settings_cache_free(c);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    CHECK(snprintf(tmp_dir, sizeof tmp_dir, "/tmp/dcmp-scache-XXXXXX") < (int)sizeof tmp_dir);
    CHECK(mkdtemp(tmp_dir) != NULL);
    CHECK(snprintf(reg_dir, sizeof reg_dir, "%s/reg", tmp_dir) < (int)sizeof reg_dir);
    CHECK(snprintf(sys_path, sizeof sys_path, "%s/settings.json", tmp_dir) < (int)sizeof sys_path);
    RUN(test_follows_changes);
    RUN(test_reads_only_changes);
    CHECK(nftw(tmp_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
    return HARNESS_RESULT();
}
