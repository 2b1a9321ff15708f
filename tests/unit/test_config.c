/* test_config.c -- unit tests of .env parsing, settings lookup and loading, queue lists. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"

/* Every variable dcmp_config_load reads, and the ones these tests set. */
static const char *const all_vars[] = {"DCMP_ENV",
                                       "REDIS_HOST",
                                       "REDIS_PORT",
                                       "REDIS_PSWD",
                                       "REDIS_PASSWORD",
                                       "WORKER_JOBS",
                                       "DEFUALT_PRIORITY",
                                       "DEFAULT_PRIORITY",
                                       "BASEDIR",
                                       "MODULES",
                                       "REGISTRY",
                                       "DATA",
                                       "LOGS",
                                       "LOG_LEVEL",
                                       "JOB_TTL_FINISHED",
                                       "JOB_TTL_FAILED",
                                       "WORKER_MAX_CRASHES",
                                       "WORKER_TTL",
                                       "WORKER_STOP_GRACE",
                                       "JOB_ENV",
                                       "JOB_MEMORY_LIMIT",
                                       "JOB_CPU_LIMIT",
                                       "JOB_FILES_LIMIT",
                                       "DASHBOARD_PORT",
                                       "DASHBOARD_BIND",
                                       "DASHBOARD_USER",
                                       "DASHBOARD_PASSWORD",
                                       "DASHBOARD_READONLY",
                                       "DASHBOARD_SAMPLE_INTERVAL",
                                       "CONTAINER_JOBS",
                                       "DCMPT_FROM_ENV",
                                       "DCMPT_SHADOW",
                                       "DCMPT_UNSET",
                                       "DCMPT_A1",
                                       "DCMPT_A2",
                                       "DCMPT_LONG",
                                       NULL};

static void clear_environment(void)
{
    size_t i;

    for (i = 0; all_vars[i]; i++)
        unsetenv(all_vars[i]);
}

/* The temporary directory of this run; files in it are removed by remove_tmp. */
static char tmp_dir[64];

static void tmp_path(char *out, size_t size, const char *name)
{
    CHECK(snprintf(out, size, "%s/%s", tmp_dir, name) < (int)size);
}

/* Writes len bytes of text to tmp_dir/name and puts its path in out. */
static void write_file_len(char *out, const char *name, const char *text, size_t len)
{
    FILE *f;

    tmp_path(out, PATH_MAX, name);
    f = fopen(out, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    CHECK(fwrite(text, 1, len, f) == len);
    fclose(f);
}

static void write_file(char *out, const char *name, const char *text)
{
    write_file_len(out, name, text, strlen(text));
}

/* The value of key in env, or NULL. */
static const char *env_value(const dcmp_env *env, const char *key)
{
    size_t i;

    for (i = 0; i < env->n; i++)
        if (strcmp(env->keys[i], key) == 0)
            return env->values[i];
    return NULL;
}

/* A quoted value may be followed by a comment, but not by other text. */
static void test_parse_quoted_comment(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_config_parse_env(&env, "K='x y' # c\nL=\"z\"   # d\n", "x.env", err) == 0);
    CHECK_STR(env_value(&env, "K"), "x y");
    CHECK_STR(env_value(&env, "L"), "z");
    dcmp_config_free_env(&env);
    CHECK(dcmp_config_parse_env(&env, "A=1\nK='x' y\n", "x.env", err) == -1);
    CHECK_CONTAINS(err, "x.env:2:");
    CHECK_CONTAINS(err, "after the closing quote");
    dcmp_config_free_env(&env);
}

/* ---- dcmp_config_parse_env ---- */

static void test_parse_basic(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "";
    const char *text = "# a comment\n"
                       "\n"
                       "   \n"
                       "A=1\n"
                       "export B=two\n"
                       "  export   C  =  three  \n"
                       "\t# indented comment\n"
                       "D_9=four\n"
                       "exported=5\n"
                       "export=6\n"
                       "LAST=no newline";

    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == 0);
    CHECK_STR(err, "");
    CHECK(env.n == 7);
    CHECK_STR(env_value(&env, "A"), "1");
    CHECK_STR(env_value(&env, "B"), "two");
    CHECK_STR(env_value(&env, "C"), "three");
    CHECK_STR(env_value(&env, "D_9"), "four");
    CHECK_STR(env_value(&env, "exported"), "5");
    CHECK_STR(env_value(&env, "export"), "6");
    CHECK_STR(env_value(&env, "LAST"), "no newline");
    CHECK(env_value(&env, "export B") == NULL);
    dcmp_config_free_env(&env);
    CHECK(env.n == 0);
}

static void test_parse_empty(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_config_parse_env(&env, "", "x.env", err) == 0);
    CHECK(env.n == 0);
    CHECK(dcmp_config_parse_env(&env, "\n\n# only comments\n  \n", "x.env", err) == 0);
    CHECK(env.n == 0);
    CHECK(dcmp_config_parse_env(&env, "E1=\nE2=\"\"\nE3=''\nE4= \n", "x.env", err) == 0);
    CHECK(env.n == 4);
    CHECK_STR(env_value(&env, "E1"), "");
    CHECK_STR(env_value(&env, "E2"), "");
    CHECK_STR(env_value(&env, "E3"), "");
    CHECK_STR(env_value(&env, "E4"), "");
    dcmp_config_free_env(&env);
}

static void test_parse_quotes(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "";
    const char *text = "A=1\n"
                       "S='$A ${A} # not a comment'\n"
                       "D=\"x${A}y $A # kept\"\n"
                       "SP=\"  padded  \"\n"
                       "MIX='say \"hi\"'\n"
                       "MIX2=\"it's\"\n";

    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == 0);
    CHECK_STR(err, "");
    CHECK_STR(env_value(&env, "S"), "$A ${A} # not a comment");
    CHECK_STR(env_value(&env, "D"), "x1y 1 # kept");
    CHECK_STR(env_value(&env, "SP"), "  padded  ");
    CHECK_STR(env_value(&env, "MIX"), "say \"hi\"");
    CHECK_STR(env_value(&env, "MIX2"), "it's");
    dcmp_config_free_env(&env);
}

static void test_parse_expansion(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "";
    const char *text = "A=1\n"
                       "B=two\n"
                       "BARE=pre-$A-${B}-post\n"
                       "ENVB=${DCMPT_FROM_ENV}/x\n"
                       "ENVD=\"$DCMPT_FROM_ENV\"\n"
                       "DCMPT_SHADOW=file\n"
                       "SHADOW=$DCMPT_SHADOW\n"
                       "UNSET=[$DCMPT_UNSET][${DCMPT_UNSET}]\n"
                       "CHAIN=${BARE}+$A\n"
                       "ADJ=$A$B\n"
                       "DOLLAR=cost$\n"
                       "DIGIT=$1x\n"
                       "SPACE=a $ b\n";

    unsetenv("DCMPT_UNSET");
    setenv("DCMPT_FROM_ENV", "env!", 1);
    setenv("DCMPT_SHADOW", "env", 1);
    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == 0);
    CHECK_STR(err, "");
    CHECK_STR(env_value(&env, "BARE"), "pre-1-two-post");
    CHECK_STR(env_value(&env, "ENVB"), "env!/x");
    CHECK_STR(env_value(&env, "ENVD"), "env!");
    /* the environment overrides the file in expansions too: BASEDIR=/x in the environment
     * makes REGISTRY=${BASEDIR}/registry of the file /x/registry */
    CHECK_STR(env_value(&env, "SHADOW"), "env");
    CHECK_STR(env_value(&env, "UNSET"), "[][]");
    CHECK_STR(env_value(&env, "CHAIN"), "pre-1-two-post+1");
    CHECK_STR(env_value(&env, "ADJ"), "1two");
    CHECK_STR(env_value(&env, "DOLLAR"), "cost$");
    CHECK_STR(env_value(&env, "DIGIT"), "$1x");
    CHECK_STR(env_value(&env, "SPACE"), "a $ b");
    dcmp_config_free_env(&env);
    unsetenv("DCMPT_FROM_ENV");
    unsetenv("DCMPT_SHADOW");
}

/* Only keys before the line expand; a key set later is not seen yet. */
static void test_parse_expansion_order(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_config_parse_env(&env, "X=[$Y]\nY=1\nZ=[$Y]\n", "x.env", err) == 0);
    CHECK_STR(env_value(&env, "X"), "[]");
    CHECK_STR(env_value(&env, "Z"), "[1]");
    dcmp_config_free_env(&env);
}

static void test_parse_comments_in_bare_values(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "";
    const char *text = "H=value # comment\n"
                       "I=a#b\n"
                       "J=a\t# tab comment\n"
                       "K=url#frag  # comment\n"
                       "L=two words   # c\n";

    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == 0);
    CHECK_STR(err, "");
    CHECK_STR(env_value(&env, "H"), "value");
    CHECK_STR(env_value(&env, "I"), "a#b");
    CHECK_STR(env_value(&env, "J"), "a");
    CHECK_STR(env_value(&env, "K"), "url#frag");
    CHECK_STR(env_value(&env, "L"), "two words");
    dcmp_config_free_env(&env);
}

static void test_parse_override(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_config_parse_env(&env, "K=1\nM=x\nK=2\nL=$K\n", "x.env", err) == 0);
    CHECK(env.n == 3);
    CHECK_STR(env_value(&env, "K"), "2");
    CHECK_STR(env_value(&env, "L"), "2");
    /* a second text adds to the same env and overrides it too */
    CHECK(dcmp_config_parse_env(&env, "K=3\nN=$M\n", "y.env", err) == 0);
    CHECK(env.n == 4);
    CHECK_STR(env_value(&env, "K"), "3");
    CHECK_STR(env_value(&env, "N"), "x");
    dcmp_config_free_env(&env);
}

static void test_parse_crlf(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_config_parse_env(&env, "# c\r\nA=1\r\nB=\"q\"\r\nC='s'\r\n\r\n", "x.env", err) == 0);
    CHECK_STR(err, "");
    CHECK_STR(env_value(&env, "A"), "1");
    CHECK_STR(env_value(&env, "B"), "q");
    CHECK_STR(env_value(&env, "C"), "s");
    dcmp_config_free_env(&env);
}

/* Parses a bad text; expects err to hold `where` and `what`, and env to keep `kept` keys. */
static void parse_rejects(const char *text, const char *where, const char *what, size_t kept)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == -1);
    CHECK_CONTAINS(err, where);
    if (what != NULL)
        CHECK_CONTAINS(err, what);
    CHECK(env.n == kept);
    dcmp_config_free_env(&env);
}

static void test_parse_errors(void)
{
    parse_rejects("A=1\n# comment\nno equals sign\nB=2\n", "x.env:3:", "KEY=VALUE", 1);
    parse_rejects("A=1\n\nB=\"abc\n", "x.env:3:", "unterminated quote", 1);
    parse_rejects("A='abc\n", "x.env:1:", "unterminated quote", 0);
    parse_rejects("A=\"abc'\n", "x.env:1:", "unterminated quote", 0);
    parse_rejects("A=\"\n", "x.env:1:", "unterminated quote", 0);
    parse_rejects("A='\n", "x.env:1:", "unterminated quote", 0);
    parse_rejects("A=1\nB=${A\n", "x.env:2:", "unterminated ${", 1);
    parse_rejects("A=\"${A\"\n", "x.env:1:", "unterminated ${", 0);
    parse_rejects("A=${A B}\n", "x.env:1:", "unterminated ${", 0);
    parse_rejects("=value\n", "x.env:1:", "KEY=VALUE", 0);
    parse_rejects("1A=value\n", "x.env:1:", "KEY=VALUE", 0);
    parse_rejects("A B=value\n", "x.env:1:", "KEY=VALUE", 0);
    parse_rejects("A-B=value\n", "x.env:1:", "KEY=VALUE", 0);
    parse_rejects("KEY\n", "x.env:1:", "KEY=VALUE", 0);
    parse_rejects("export\n", "x.env:1:", "KEY=VALUE", 0);
    parse_rejects("export \n", "x.env:1:", "KEY=VALUE", 0);
    parse_rejects("A=1\r\nB\r\n", "x.env:2:", "KEY=VALUE", 1);
}

static void test_parse_caps(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "", *text;
    size_t len = DCMP_ENV_MAX_VALUE + 64, i, used;

    /* a bare value of DCMP_ENV_MAX_VALUE bytes does not fit (NUL), one less does */
    text = malloc(len + 16);
    CHECK(text != NULL);
    if (text == NULL)
        return;
    memcpy(text, "V=", 2);
    memset(text + 2, 'v', DCMP_ENV_MAX_VALUE);
    text[2 + DCMP_ENV_MAX_VALUE] = '\0';
    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == -1);
    CHECK_CONTAINS(err, "x.env:1:");
    dcmp_config_free_env(&env);
    text[2 + DCMP_ENV_MAX_VALUE - 1] = '\0';
    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == 0);
    CHECK(env.n == 1 && strlen(env.values[0]) == DCMP_ENV_MAX_VALUE - 1);
    dcmp_config_free_env(&env);

    /* the same for a single-quoted value */
    memcpy(text, "V='", 3);
    memset(text + 3, 'q', DCMP_ENV_MAX_VALUE);
    memcpy(text + 3 + DCMP_ENV_MAX_VALUE, "'", 2);
    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == -1);
    CHECK_CONTAINS(err, "x.env:1:");
    dcmp_config_free_env(&env);

    /* expansion that grows past the cap */
    setenv("DCMPT_LONG", "0123456789012345678901234567890123456789", 1);
    used = (size_t)snprintf(text, len, "V=");
    for (i = 0; i < 120; i++)
        used += (size_t)snprintf(text + used, len - used, "$DCMPT_LONG");
    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == -1);
    CHECK_CONTAINS(err, "x.env:1:");
    dcmp_config_free_env(&env);
    unsetenv("DCMPT_LONG");
    free(text);

    /* DCMP_ENV_MAX_ITEMS keys fit, one more does not */
    len = (DCMP_ENV_MAX_ITEMS + 1) * 16;
    text = malloc(len);
    CHECK(text != NULL);
    if (text == NULL)
        return;
    used = 0;
    for (i = 0; i < DCMP_ENV_MAX_ITEMS; i++)
        used += (size_t)snprintf(text + used, len - used, "K%zu=%zu\n", i, i);
    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == 0);
    CHECK(env.n == DCMP_ENV_MAX_ITEMS);
    dcmp_config_free_env(&env);
    /* overriding an existing key does not count */
    used += (size_t)snprintf(text + used, len - used, "K0=again\n");
    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == 0);
    CHECK_STR(env_value(&env, "K0"), "again");
    dcmp_config_free_env(&env);
    snprintf(text + used, len - used, "ONE_TOO_MANY=1\n");
    CHECK(dcmp_config_parse_env(&env, text, "x.env", err) == -1);
    CHECK_CONTAINS(err, "x.env:514:");
    CHECK_CONTAINS(err, "too many keys");
    CHECK(env.n == DCMP_ENV_MAX_ITEMS);
    dcmp_config_free_env(&env);
    free(text);
}

/* ---- dcmp_config_load_env ---- */

static void test_load_env_file(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "", path[PATH_MAX], *big;

    write_file(path, "ok.env", "A=1\nB=\"$A 2\"\n");
    CHECK(dcmp_config_load_env(&env, path, err) == 0);
    CHECK_STR(env_value(&env, "B"), "1 2");
    dcmp_config_free_env(&env);

    /* errors in the file name the file and line */
    write_file(path, "bad.env", "A=1\nB=\"x\n");
    CHECK(dcmp_config_load_env(&env, path, err) == -1);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, "bad.env:2:");
    dcmp_config_free_env(&env);

    /* a NUL byte */
    write_file_len(path, "nul.env", "A=1\0B=2\n", 8);
    CHECK(dcmp_config_load_env(&env, path, err) == -1);
    CHECK_CONTAINS(err, "NUL");
    dcmp_config_free_env(&env);

    /* larger than the cap */
    big = malloc(DCMP_ENV_MAX_FILE + 2);
    CHECK(big != NULL);
    if (big != NULL) {
        memset(big, '#', DCMP_ENV_MAX_FILE + 1);
        big[DCMP_ENV_MAX_FILE] = '\n';
        write_file_len(path, "big.env", big, DCMP_ENV_MAX_FILE + 1);
        CHECK(dcmp_config_load_env(&env, path, err) == -1);
        CHECK_CONTAINS(err, "larger than");
        dcmp_config_free_env(&env);
        /* exactly the cap is fine */
        write_file_len(path, "big.env", big, DCMP_ENV_MAX_FILE);
        CHECK(dcmp_config_load_env(&env, path, err) == 0);
        dcmp_config_free_env(&env);
        free(big);
    }

    /* missing, and a directory */
    tmp_path(path, sizeof path, "missing.env");
    CHECK(dcmp_config_load_env(&env, path, err) == -1);
    CHECK_CONTAINS(err, path);
    CHECK(dcmp_config_load_env(&env, tmp_dir, err) == -1);
    CHECK_CONTAINS(err, "not a regular file");
    dcmp_config_free_env(&env);
}

/* ---- dcmp_config_lookup ---- */

static void test_lookup(void)
{
    dcmp_env env = {0};
    char err[DCMP_ERR_LEN] = "";
    const char *const one[] = {"DCMPT_A1", NULL};
    const char *const two[] = {"DCMPT_A1", "DCMPT_A2", NULL};
    const char *const none[] = {NULL};

    clear_environment();
    CHECK(dcmp_config_lookup(NULL, one) == NULL);
    CHECK(dcmp_config_lookup(&env, one) == NULL);
    CHECK(dcmp_config_lookup(&env, none) == NULL);

    CHECK(dcmp_config_parse_env(&env, "DCMPT_A2=file2\n", "x.env", err) == 0);
    CHECK(dcmp_config_lookup(&env, one) == NULL);
    CHECK_STR(dcmp_config_lookup(&env, two), "file2");

    CHECK(dcmp_config_parse_env(&env, "DCMPT_A1=file1\n", "x.env", err) == 0);
    CHECK_STR(dcmp_config_lookup(&env, one), "file1");
    /* the first alias wins */
    CHECK_STR(dcmp_config_lookup(&env, two), "file1");

    /* the environment wins over the file */
    setenv("DCMPT_A1", "proc1", 1);
    CHECK_STR(dcmp_config_lookup(&env, one), "proc1");
    CHECK_STR(dcmp_config_lookup(&env, two), "proc1");
    CHECK_STR(dcmp_config_lookup(NULL, two), "proc1");
    unsetenv("DCMPT_A1");
    CHECK_STR(dcmp_config_lookup(&env, one), "file1");

    /* alias order comes first: the first name from the file beats the second from the
     * environment */
    setenv("DCMPT_A2", "proc2", 1);
    CHECK_STR(dcmp_config_lookup(&env, two), "file1");
    CHECK_STR(dcmp_config_lookup(NULL, two), "proc2");
    unsetenv("DCMPT_A2");

    /* set but empty counts as set */
    setenv("DCMPT_A1", "", 1);
    CHECK_STR(dcmp_config_lookup(&env, two), "");
    unsetenv("DCMPT_A1");
    dcmp_config_free_env(&env);
}

/* ---- dcmp_config_load ---- */

static void test_load_defaults(void)
{
    dcmp_config cfg;
    char err[DCMP_ERR_LEN] = "";

    clear_environment();
    setenv("DCMP_ENV", "", 1); /* no file at all */
    memset(&cfg, 'x', sizeof cfg);
    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK_STR(err, "");
    CHECK_STR(cfg.env_file, "");
    CHECK_STR(cfg.redis_host, "127.0.0.1");
    CHECK(cfg.redis_port == 6379);
    CHECK_STR(cfg.redis_password, "");
    CHECK_STR(cfg.worker_jobs, "default");
    CHECK_STR(cfg.default_priority, "default");
    CHECK_STR(cfg.basedir, ".");
    CHECK_STR(cfg.modules, "./modules");
    CHECK_STR(cfg.registry, "./registry");
    CHECK_STR(cfg.data, "./data");
    CHECK_STR(cfg.logs, "./logs");
    CHECK_STR(cfg.log_level, "info");
    CHECK(cfg.ttl_finished == 86400);
    CHECK(cfg.ttl_failed == 2592000);
    CHECK(cfg.max_crashes == 3);
    CHECK(cfg.heartbeat_ttl_ms == 5000);
    CHECK(cfg.stop_grace == 8);

    /* an explicit "" path also means no file, whatever DCMP_ENV says */
    setenv("DCMP_ENV", "/nonexistent/dcmp.env", 1);
    CHECK(dcmp_config_load(&cfg, "", err) == 0);
    CHECK_STR(cfg.env_file, "");
    clear_environment();
}

/* CONTAINER_JOBS: unset (-1, the mode's default), 0 or 1 from .env, the environment winning;
 * anything else an error naming it. */
static void test_load_container_jobs(void)
{
    dcmp_config cfg;
    char err[DCMP_ERR_LEN] = "", path[PATH_MAX];

    clear_environment();
    setenv("DCMP_ENV", "", 1);
    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK(cfg.container_jobs == -1);
    write_file(path, "cj.env", "CONTAINER_JOBS=0\n");
    CHECK(dcmp_config_load(&cfg, path, err) == 0);
    CHECK(cfg.container_jobs == 0);
    setenv("CONTAINER_JOBS", "1", 1);
    CHECK(dcmp_config_load(&cfg, path, err) == 0);
    CHECK(cfg.container_jobs == 1);
    setenv("CONTAINER_JOBS", "maybe", 1);
    CHECK(dcmp_config_load(&cfg, path, err) == -1);
    CHECK_CONTAINS(err, "CONTAINER_JOBS=\"maybe\": expected 1 or 0");
    clear_environment();
}

static void test_load_file(void)
{
    dcmp_config cfg;
    char err[DCMP_ERR_LEN] = "", path[PATH_MAX];

    clear_environment();
    write_file(path, "main.env",
               "# the original's .env\n"
               "REDIS_HOST=redis.example\n"
               "REDIS_PORT=6380\n"
               "REDIS_PSWD=s3cret\n"
               "WORKER_JOBS=\"high default low\"\n"
               "DEFUALT_PRIORITY=high\n"
               "BASEDIR=/srv/dcmp\n");
    CHECK(dcmp_config_load(&cfg, path, err) == 0);
    CHECK_STR(err, "");
    CHECK_STR(cfg.env_file, path);
    CHECK_STR(cfg.redis_host, "redis.example");
    CHECK(cfg.redis_port == 6380);
    CHECK_STR(cfg.redis_password, "s3cret");
    CHECK_STR(cfg.worker_jobs, "high default low");
    CHECK_STR(cfg.default_priority, "high");
    CHECK_STR(cfg.basedir, "/srv/dcmp");
    CHECK_STR(cfg.modules, "/srv/dcmp/modules");
    CHECK_STR(cfg.registry, "/srv/dcmp/registry");
    CHECK_STR(cfg.data, "/srv/dcmp/data");
    CHECK_STR(cfg.logs, "/srv/dcmp/logs");
    CHECK_STR(cfg.log_level, "info");
    CHECK(cfg.ttl_finished == 86400);
    CHECK(cfg.ttl_failed == 2592000);
    CHECK(cfg.max_crashes == 3);
    CHECK(cfg.heartbeat_ttl_ms == 5000);
    CHECK(cfg.stop_grace == 8);

    /* the same file through DCMP_ENV */
    setenv("DCMP_ENV", path, 1);
    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK_STR(cfg.env_file, path);
    CHECK_STR(cfg.redis_host, "redis.example");
    clear_environment();
}

static void test_load_every_setting(void)
{
    dcmp_config cfg;
    char err[DCMP_ERR_LEN] = "", path[PATH_MAX];

    clear_environment();
    write_file(path, "all.env",
               "BASEDIR=/b\n"
               "MODULES=/mods\n"
               "REGISTRY=$BASEDIR/reg\n"
               "DATA=/d\n"
               "LOGS=/l\n"
               "LOG_LEVEL=debug\n"
               "JOB_TTL_FINISHED=2h\n"
               "JOB_TTL_FAILED=7d\n"
               "WORKER_MAX_CRASHES=5\n"
               "WORKER_TTL=10s\n"
               "WORKER_STOP_GRACE=0\n");
    CHECK(dcmp_config_load(&cfg, path, err) == 0);
    CHECK_STR(err, "");
    CHECK_STR(cfg.modules, "/mods");
    CHECK_STR(cfg.registry, "/b/reg");
    CHECK_STR(cfg.data, "/d");
    CHECK_STR(cfg.logs, "/l");
    CHECK_STR(cfg.log_level, "debug");
    CHECK(cfg.ttl_finished == 7200);
    CHECK(cfg.ttl_failed == 7 * 86400);
    CHECK(cfg.max_crashes == 5);
    CHECK(cfg.heartbeat_ttl_ms == 10000);
    CHECK(cfg.stop_grace == 0);

    /* a worker TTL under 2 s is raised to 2 s */
    setenv("WORKER_TTL", "1", 1);
    CHECK(dcmp_config_load(&cfg, path, err) == 0);
    CHECK(cfg.heartbeat_ttl_ms == 2000);
    clear_environment();
}

static void test_load_aliases(void)
{
    dcmp_config cfg;
    char err[DCMP_ERR_LEN] = "", path[PATH_MAX];

    clear_environment();
    write_file(path, "alias.env", "REDIS_PASSWORD=pw2\nDEFAULT_PRIORITY=low\n");
    CHECK(dcmp_config_load(&cfg, path, err) == 0);
    CHECK_STR(cfg.redis_password, "pw2");
    CHECK_STR(cfg.default_priority, "low");

    /* both spellings: the original's wins */
    write_file(path, "both.env",
               "REDIS_PASSWORD=pw2\nREDIS_PSWD=pw1\nDEFAULT_PRIORITY=low\nDEFUALT_PRIORITY=high\n");
    CHECK(dcmp_config_load(&cfg, path, err) == 0);
    CHECK_STR(cfg.redis_password, "pw1");
    CHECK_STR(cfg.default_priority, "high");

    /* the aliases from the environment */
    setenv("DCMP_ENV", "", 1);
    setenv("REDIS_PASSWORD", "envpw", 1);
    setenv("DEFAULT_PRIORITY", "envprio", 1);
    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK_STR(cfg.redis_password, "envpw");
    CHECK_STR(cfg.default_priority, "envprio");
    clear_environment();
}

static void test_load_environment_overrides(void)
{
    dcmp_config cfg;
    char err[DCMP_ERR_LEN] = "", path[PATH_MAX];

    clear_environment();
    write_file(path, "over.env",
               "REDIS_HOST=filehost\nREDIS_PORT=1111\nBASEDIR=/filebase\nWORKER_JOBS=a\n");
    setenv("REDIS_HOST", "envhost", 1);
    setenv("REDIS_PORT", "2222", 1);
    setenv("BASEDIR", "/envbase", 1);
    CHECK(dcmp_config_load(&cfg, path, err) == 0);
    CHECK_STR(cfg.redis_host, "envhost");
    CHECK(cfg.redis_port == 2222);
    CHECK_STR(cfg.basedir, "/envbase");
    CHECK_STR(cfg.modules, "/envbase/modules");
    CHECK_STR(cfg.worker_jobs, "a");

    /* an empty value means the default */
    setenv("REDIS_HOST", "", 1);
    setenv("REDIS_PORT", "", 1);
    CHECK(dcmp_config_load(&cfg, path, err) == 0);
    CHECK_STR(cfg.redis_host, "127.0.0.1");
    CHECK(cfg.redis_port == 6379);
    clear_environment();
}

/* Loads with `name`=`value` in the environment and no file; expects an error naming `name`. */
static void load_rejects(const char *name, const char *value, const char *what)
{
    dcmp_config cfg;
    char err[DCMP_ERR_LEN] = "";

    clear_environment();
    setenv("DCMP_ENV", "", 1);
    setenv(name, value, 1);
    CHECK(dcmp_config_load(&cfg, NULL, err) == -1);
    CHECK_CONTAINS(err, name);
    if (what != NULL)
        CHECK_CONTAINS(err, what);
    clear_environment();
}

static void test_load_bad_values(void)
{
    char host[300];

    load_rejects("REDIS_PORT", "70000", "70000");
    load_rejects("LOG_LEVEL", "verbose", "verbose");
    load_rejects("REDIS_PORT", "abc", "abc");
    load_rejects("REDIS_PORT", "0", NULL);
    load_rejects("REDIS_PORT", "65536", NULL);
    load_rejects("REDIS_PORT", "-1", NULL);
    load_rejects("REDIS_PORT", "80x", NULL);
    load_rejects("REDIS_PORT", "99999999999999999999", NULL);
    load_rejects("WORKER_MAX_CRASHES", "0", NULL);
    load_rejects("WORKER_MAX_CRASHES", "1001", NULL);
    load_rejects("WORKER_STOP_GRACE", "-1", NULL);
    load_rejects("WORKER_STOP_GRACE", "86401", NULL);
    load_rejects("JOB_TTL_FINISHED", "-1", "positive");
    load_rejects("JOB_TTL_FINISHED", "0", "bad duration");
    load_rejects("JOB_TTL_FAILED", "abc", "bad duration");
    load_rejects("WORKER_TTL", "-1", "positive");
    load_rejects("WORKER_TTL", "abc", "bad duration");
    load_rejects("WORKER_TTL", "1.5s", "bad duration");
    load_rejects("JOB_MEMORY_LIMIT", "8M", "at least 16M");
    load_rejects("JOB_MEMORY_LIMIT", "4X", "such as 512M");
    load_rejects("JOB_MEMORY_LIMIT", "-1", NULL);
    load_rejects("JOB_MEMORY_LIMIT", "99999999999T", NULL);
    load_rejects("JOB_CPU_LIMIT", "abc", "bad duration");
    load_rejects("JOB_FILES_LIMIT", "3", "at least 16");

    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    load_rejects("REDIS_HOST", host, "longer than");
    load_rejects("LOG_LEVEL", "a-level-name-that-is-too-long", "longer than");
}

/* The jobs' limits and extra variables: none by default, sizes with units. */
static void test_load_job_limits(void)
{
    char err[DCMP_ERR_LEN] = "";
    dcmp_config cfg;

    clear_environment();
    setenv("DCMP_ENV", "", 1);
    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK(cfg.job_memory == 0 && cfg.job_cpu == 0 && cfg.job_files == 0);
    CHECK_STR(cfg.job_env, "");
    setenv("JOB_MEMORY_LIMIT", "4G", 1);
    setenv("JOB_CPU_LIMIT", "10m", 1);
    setenv("JOB_FILES_LIMIT", "256", 1);
    setenv("JOB_ENV", "SITE_A SITE_B", 1);
    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK(cfg.job_memory == (int64_t)4 << 30);
    CHECK(cfg.job_cpu == 600);
    CHECK(cfg.job_files == 256);
    CHECK_STR(cfg.job_env, "SITE_A SITE_B");
    setenv("JOB_MEMORY_LIMIT", "536870912", 1);
    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK(cfg.job_memory == 512 << 20);
    clear_environment();
}

/* The dashboard's settings: defaults (loopback, no login, actions on), values, and refusals. */
static void test_load_dashboard(void)
{
    static const char *const yes[] = {"1", "true", "YES", "on"}, *const no[] = {"0", "False", "no",
                                                                                "off"};
    dcmp_config cfg;
    char err[DCMP_ERR_LEN] = "";
    size_t i;

    clear_environment();
    setenv("DCMP_ENV", "", 1);
    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK(cfg.dashboard_port == 8080);
    CHECK_STR(cfg.dashboard_bind, "127.0.0.1");
    CHECK_STR(cfg.dashboard_user, "");
    CHECK_STR(cfg.dashboard_password, "");
    CHECK(cfg.dashboard_readonly == 0);
    CHECK(cfg.dashboard_sample == 10);

    setenv("DASHBOARD_PORT", "9181", 1);
    setenv("DASHBOARD_BIND", "0.0.0.0", 1);
    setenv("DASHBOARD_USER", "admin", 1);
    setenv("DASHBOARD_PASSWORD", "p w:d", 1);
    setenv("DASHBOARD_SAMPLE_INTERVAL", "1m", 1);
    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK(cfg.dashboard_port == 9181);
    CHECK_STR(cfg.dashboard_bind, "0.0.0.0");
    CHECK_STR(cfg.dashboard_user, "admin");
    CHECK_STR(cfg.dashboard_password, "p w:d");
    CHECK(cfg.dashboard_sample == 60);
    for (i = 0; i < 4; i++) {
        setenv("DASHBOARD_READONLY", yes[i], 1);
        CHECK(dcmp_config_load(&cfg, NULL, err) == 0 && cfg.dashboard_readonly == 1);
        setenv("DASHBOARD_READONLY", no[i], 1);
        CHECK(dcmp_config_load(&cfg, NULL, err) == 0 && cfg.dashboard_readonly == 0);
    }
    clear_environment();

    load_rejects("DASHBOARD_READONLY", "maybe", "maybe");
    load_rejects("DASHBOARD_PORT", "0", NULL);
    load_rejects("DASHBOARD_PORT", "65536", NULL);
    load_rejects("DASHBOARD_SAMPLE_INTERVAL", "0", "bad duration");
    load_rejects("DASHBOARD_SAMPLE_INTERVAL", "2h", "at most 600s");
}

static void test_load_bad_file(void)
{
    dcmp_config cfg;
    char err[DCMP_ERR_LEN] = "", path[PATH_MAX];

    clear_environment();
    /* a bad value in the file: the error names the variable and the file */
    write_file(path, "port.env", "REDIS_PORT=70000\n");
    CHECK(dcmp_config_load(&cfg, path, err) == -1);
    CHECK_CONTAINS(err, "REDIS_PORT");
    CHECK_CONTAINS(err, path);

    /* a bad value in the environment while a file is read */
    write_file(path, "fine.env", "REDIS_HOST=h\n");
    setenv("REDIS_PORT", "abc", 1);
    CHECK(dcmp_config_load(&cfg, path, err) == -1);
    CHECK_CONTAINS(err, "REDIS_PORT");
    unsetenv("REDIS_PORT");

    /* a syntax error: file and line */
    write_file(path, "syntax.env", "REDIS_HOST=h\nnonsense\n");
    CHECK(dcmp_config_load(&cfg, path, err) == -1);
    CHECK_CONTAINS(err, "syntax.env:2:");

    /* a missing file, given or through DCMP_ENV */
    tmp_path(path, sizeof path, "no-such.env");
    CHECK(dcmp_config_load(&cfg, path, err) == -1);
    CHECK_CONTAINS(err, path);
    setenv("DCMP_ENV", path, 1);
    err[0] = '\0';
    CHECK(dcmp_config_load(&cfg, NULL, err) == -1);
    CHECK_CONTAINS(err, path);
    clear_environment();
}

/* Without a path and without DCMP_ENV, ./.env is read when it exists. */
static void test_load_dot_env(void)
{
    dcmp_config cfg;
    char err[DCMP_ERR_LEN] = "", path[PATH_MAX], cwd[PATH_MAX], sub[PATH_MAX];

    clear_environment();
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    tmp_path(sub, sizeof sub, "cwd");
    CHECK(mkdir(sub, 0755) == 0);
    CHECK(chdir(sub) == 0);

    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK_STR(cfg.env_file, "");
    CHECK_STR(cfg.redis_host, "127.0.0.1");

    write_file(path, "cwd/.env", "REDIS_HOST=dothost\n");
    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK_STR(cfg.env_file, ".env");
    CHECK_STR(cfg.redis_host, "dothost");

    /* DCMP_ENV="" turns it off */
    setenv("DCMP_ENV", "", 1);
    CHECK(dcmp_config_load(&cfg, NULL, err) == 0);
    CHECK_STR(cfg.env_file, "");
    CHECK_STR(cfg.redis_host, "127.0.0.1");

    CHECK(unlink(path) == 0);
    CHECK(chdir(cwd) == 0);
    CHECK(rmdir(sub) == 0);
    clear_environment();
}

/* ---- dcmp_config_split_queues ---- */

static void test_split_queues(void)
{
    char buf[256], err[DCMP_ERR_LEN] = "";
    const char *names[8];

    CHECK(dcmp_config_split_queues("default medium low", buf, sizeof buf, names, 8, err) == 3);
    CHECK_STR(names[0], "default");
    CHECK_STR(names[1], "medium");
    CHECK_STR(names[2], "low");

    CHECK(dcmp_config_split_queues("a,b  c", buf, sizeof buf, names, 8, err) == 3);
    CHECK_STR(names[0], "a");
    CHECK_STR(names[1], "b");
    CHECK_STR(names[2], "c");

    CHECK(dcmp_config_split_queues(" ,x,,\ty ,", buf, sizeof buf, names, 8, err) == 2);
    CHECK_STR(names[0], "x");
    CHECK_STR(names[1], "y");

    CHECK(dcmp_config_split_queues("q:1.x-y_Z", buf, sizeof buf, names, 8, err) == 1);
    CHECK_STR(names[0], "q:1.x-y_Z");

    /* exactly max, and exactly the buffer's size */
    CHECK(dcmp_config_split_queues("a b c", buf, sizeof buf, names, 3, err) == 3);
    CHECK(dcmp_config_split_queues("ab cd", buf, 6, names, 8, err) == 2);
    CHECK_STR(names[1], "cd");
}

static void split_rejects(const char *list, size_t bufsize, int max, const char *what)
{
    char buf[256], err[DCMP_ERR_LEN] = "";
    const char *names[8];

    CHECK(dcmp_config_split_queues(list, buf, bufsize, names, max, err) == -1);
    CHECK(err[0] != '\0');
    if (what != NULL)
        CHECK_CONTAINS(err, what);
}

static void test_split_queues_errors(void)
{
    split_rejects("", 256, 8, "no queue names");
    split_rejects(" , \t,", 256, 8, "no queue names");
    split_rejects("bad name!", 256, 8, "\"name!\"");
    split_rejects("a/b", 256, 8, "\"a/b\"");
    split_rejects("a;b", 256, 8, NULL);
    split_rejects("q\"x", 256, 8, NULL);
    split_rejects("a b c d", 256, 3, "more than 3");
    split_rejects("a b", 256, 0, "more than 0");
    split_rejects("ab cd", 5, 8, "too long");
    split_rejects("abcdef", 6, 8, "too long");
}

/* SUPPORTED_MODALITY: blank or comma separated, any case; empty allows every modality. */
static void test_modality_ok(void)
{
    dcmp_config cfg;

    memset(&cfg, 0, sizeof cfg);
    CHECK(dcmp_config_modality_ok(&cfg, "CT") == 1);
    CHECK(dcmp_config_modality_ok(&cfg, NULL) == 1);
    snprintf(cfg.supported_modality, sizeof cfg.supported_modality, " , ");
    CHECK(dcmp_config_modality_ok(&cfg, "MR") == 1);
    snprintf(cfg.supported_modality, sizeof cfg.supported_modality, "CT, mr PT");
    CHECK(dcmp_config_modality_ok(&cfg, "CT") == 1);
    CHECK(dcmp_config_modality_ok(&cfg, "MR") == 1);
    CHECK(dcmp_config_modality_ok(&cfg, "pt") == 1);
    CHECK(dcmp_config_modality_ok(&cfg, "C") == 0);
    CHECK(dcmp_config_modality_ok(&cfg, "CTX") == 0);
    CHECK(dcmp_config_modality_ok(&cfg, "US") == 0);
    CHECK(dcmp_config_modality_ok(&cfg, "") == 0);
    CHECK(dcmp_config_modality_ok(&cfg, NULL) == 0);
}

int main(void)
{
    dcmp_strlcpy(tmp_dir, "/tmp/dcmp-config-XXXXXX", sizeof tmp_dir);
    if (mkdtemp(tmp_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    clear_environment();
    RUN(test_parse_basic);
    RUN(test_parse_empty);
    RUN(test_parse_quotes);
    RUN(test_parse_expansion);
    RUN(test_parse_expansion_order);
    RUN(test_parse_comments_in_bare_values);
    RUN(test_parse_override);
    RUN(test_parse_crlf);
    RUN(test_parse_errors);
    RUN(test_parse_caps);
    RUN(test_load_env_file);
    RUN(test_lookup);
    RUN(test_load_defaults);
    RUN(test_load_file);
    RUN(test_load_container_jobs);
    RUN(test_load_every_setting);
    RUN(test_load_aliases);
    RUN(test_load_environment_overrides);
    RUN(test_load_bad_values);
    RUN(test_load_job_limits);
    RUN(test_load_bad_file);
    RUN(test_load_dashboard);
    RUN(test_load_dot_env);
    RUN(test_parse_quoted_comment);
    RUN(test_split_queues);
    RUN(test_split_queues_errors);
    RUN(test_modality_ok);
    {
        static const char *const files[] = {
            "ok.env",   "bad.env",  "nul.env",  "big.env",  "main.env",   "all.env", "alias.env",
            "both.env", "over.env", "port.env", "fine.env", "syntax.env", NULL};
        char path[PATH_MAX];
        size_t i;
        for (i = 0; files[i]; i++) {
            tmp_path(path, sizeof path, files[i]);
            unlink(path);
        }
        rmdir(tmp_dir);
    }
    return HARNESS_RESULT();
}
