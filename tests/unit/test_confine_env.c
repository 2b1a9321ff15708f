/* test_confine_env.c -- a job's environment: the allow-list, JOB_ENV, the variables of one service,
 * the limits carried to the executor. */
#include <stdlib.h>
#include <string.h>

#include "confine.h"
#include "log.h"
#include "harness.h"

/* Whether env holds exactly the entry `want`. */
static int has(char **env, const char *want)
{
    int i;

    for (i = 0; env && env[i]; i++)
        if (strcmp(env[i], want) == 0)
            return 1;
    return 0;
}

/* Whether env holds a variable named `name`. */
static int has_name(char **env, const char *name)
{
    size_t n = strlen(name);
    int i;

    for (i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return 1;
    return 0;
}

static void test_allow_list(void)
{
    char *daemon[] = {"PATH=/usr/bin",
                      "LC_ALL=C.UTF-8",
                      "DATA=/base/data",
                      "MODULES=/daemon/modules",
                      "ORTHANC_REST_PASSWORD=o",
                      "REDIS_PSWD=r",
                      "REDIS_PASSWORD=r",
                      "DASHBOARD_PASSWORD=d",
                      "WEBHOOK_TOKEN=w",
                      "ANONYMIZER_SECRET=a",
                      "DCMP_ENV=/base/.env",
                      "DCMP_JOB_LIMITS=0 0 0",
                      "SITE_A=1",
                      "SITE_B=2",
                      "PATHOLOGY=x",
                      "noequals",
                      NULL};
    dcmp_confine c = {"SITE_A", {1 << 30, 60, 64}, NULL};
    char **env = dcmp_confine_env(daemon, &c);

    CHECK(env != NULL);
    CHECK(has(env, "PATH=/usr/bin"));
    CHECK(has(env, "LC_ALL=C.UTF-8"));
    CHECK(has(env, "DATA=/base/data"));
    CHECK(has(env, "ORTHANC_REST_PASSWORD=o"));
    CHECK(has(env, "SITE_A=1"));
    CHECK(!has_name(env, "SITE_B"));
    CHECK(!has_name(env, "PATHOLOGY")); /* a name, not a prefix */
    CHECK(!has_name(env, "REDIS_PSWD"));
    CHECK(!has_name(env, "REDIS_PASSWORD"));
    CHECK(!has_name(env, "DASHBOARD_PASSWORD"));
    CHECK(!has_name(env, "WEBHOOK_TOKEN"));
    CHECK(!has_name(env, "ANONYMIZER_SECRET"));
    CHECK(!has_name(env, "DCMP_ENV"));
    /* the limits: the daemon's own DCMP_JOB_LIMITS is replaced */
    CHECK(has(env, "DCMP_JOB_LIMITS=1073741824 60 64"));
    CHECK(!has(env, "DCMP_JOB_LIMITS=0 0 0"));
    dcmp_confine_free_env(env);

    /* no confine: the allow-list alone, no limits */
    env = dcmp_confine_env(daemon, NULL);
    CHECK(!has_name(env, "SITE_A"));
    CHECK(has(env, "DCMP_JOB_LIMITS=0 0 0"));
    dcmp_confine_free_env(env);

    /* the root of the service code, by the name the original's containers gave it */
    env = dcmp_confine_env_root(daemon, NULL, 1, "/srv/registry");
    CHECK(has(env, "REGISTRY=/srv/registry"));
    CHECK(has(env, "DATA=/base/data"));
    CHECK(!has_name(env, "REDIS_PSWD"));
    dcmp_confine_free_env(env);
    env = dcmp_confine_env_root(daemon, NULL, 0, "/srv/modules");
    CHECK(has(env, "MODULES=/srv/modules"));
    CHECK(!has(env, "MODULES=/daemon/modules")); /* replaced, not twice */
    CHECK(!has_name(env, "REGISTRY"));
    dcmp_confine_free_env(env);
}

static void test_scoped(void)
{
    char out[DCMP_CONFINE_SCOPED_MAX];

    setenv("ANONYMIZER_SECRET", "s3cret-s3cret-s3cret", 1);
    unsetenv("ANONYMIZER_TABLES");
    CHECK(dcmp_confine_scoped("base.dicomAnonymizer.worker", out, sizeof out) > 0);
    CHECK_STR(out, "ANONYMIZER_SECRET=s3cret-s3cret-s3cret\n");
    CHECK(dcmp_confine_scoped("base.storageManager.worker", out, sizeof out) == 0);
    CHECK_STR(out, "");
    CHECK(dcmp_confine_scoped("evil.base.dicomAnonymizer.worker", out, sizeof out) == 0);
    /* a value with a newline would forge a second variable: left out */
    setenv("ANONYMIZER_SECRET", "x\nREDIS_PSWD=y", 1);
    CHECK(dcmp_confine_scoped("base.dicomAnonymizer.worker", out, sizeof out) == 0);

    /* applied and taken out again */
    unsetenv("ANONYMIZER_SECRET");
    dcmp_confine_apply_scoped("ANONYMIZER_SECRET=abc\nANONYMIZER_TABLES=/t\n", 1);
    CHECK(getenv("ANONYMIZER_SECRET") && strcmp(getenv("ANONYMIZER_SECRET"), "abc") == 0);
    CHECK(getenv("ANONYMIZER_TABLES") && strcmp(getenv("ANONYMIZER_TABLES"), "/t") == 0);
    dcmp_confine_apply_scoped("ANONYMIZER_SECRET=abc\nANONYMIZER_TABLES=/t\n", 0);
    CHECK(getenv("ANONYMIZER_SECRET") == NULL);
    CHECK(getenv("ANONYMIZER_TABLES") == NULL);
}

static void test_limits_from_env(void)
{
    char err[DCMP_ERR_LEN];
    dcmp_confine_limits l;

    unsetenv("DCMP_JOB_LIMITS");
    CHECK(dcmp_confine_limits_from_env(&l, err) == 0);
    CHECK(l.memory == 0 && l.cpu == 0 && l.files == 0);
    setenv("DCMP_JOB_LIMITS", "1073741824 60 64", 1);
    CHECK(dcmp_confine_limits_from_env(&l, err) == 0);
    CHECK(l.memory == 1073741824 && l.cpu == 60 && l.files == 64);
    setenv("DCMP_JOB_LIMITS", "1 2", 1);
    CHECK(dcmp_confine_limits_from_env(&l, err) == -1);
    CHECK_CONTAINS(err, "DCMP_JOB_LIMITS");
    setenv("DCMP_JOB_LIMITS", "1 2 3 4", 1);
    CHECK(dcmp_confine_limits_from_env(&l, err) == -1);
    unsetenv("DCMP_JOB_LIMITS");
}

int main(void)
{
    RUN(test_allow_list);
    RUN(test_scoped);
    RUN(test_limits_from_env);
    return HARNESS_RESULT();
}
