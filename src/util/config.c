/* config.c -- settings from the .env file and the environment, with the original's names. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"

static int env_set(dcmp_env *env, const char *key, size_t klen, const char *value)
{
    size_t i;
    char *v, *k;

    for (i = 0; i < env->n; i++)
        if (strlen(env->keys[i]) == klen && memcmp(env->keys[i], key, klen) == 0) {
            if ((v = strdup(value)) == NULL)
                return -1;
            free(env->values[i]);
            env->values[i] = v;
            return 0;
        }
    if (env->n >= DCMP_ENV_MAX_ITEMS)
        return -1;
    if ((k = strndup(key, klen)) == NULL)
        return -1;
    if ((v = strdup(value)) == NULL) {
        free(k);
        return -1;
    }
    env->keys[env->n] = k;
    env->values[env->n] = v;
    env->n++;
    return 0;
}

static const char *env_get(const dcmp_env *env, const char *key, size_t klen)
{
    size_t i;

    for (i = env->n; i-- > 0;)
        if (strlen(env->keys[i]) == klen && memcmp(env->keys[i], key, klen) == 0)
            return env->values[i];
    return NULL;
}

static int is_key_char(int c, int first)
{
    return c == '_' || isalpha(c) || (!first && isdigit(c));
}

/* Appends the value text [p, end) to out, expanding $NAME and ${NAME}. */
static int expand(const dcmp_env *env, const char *p, const char *end, char *out, size_t outsize,
                  const char *origin, int line, char *err)
{
    size_t used = 0;

    while (p < end) {
        const char *val = NULL;
        if (*p == '$' && p + 1 < end && (p[1] == '{' || is_key_char((unsigned char)p[1], 1))) {
            const char *name = p + 1, *name_end;
            int braced = *name == '{';
            char tmp[256];
            if (braced)
                name++;
            name_end = name;
            while (name_end < end && is_key_char((unsigned char)*name_end, name_end == name))
                name_end++;
            if (braced && (name_end >= end || *name_end != '}'))
                return dcmp_seterr(err, "%s:%d: unterminated ${ in value", origin, line);
            if ((size_t)(name_end - name) >= sizeof tmp)
                return dcmp_seterr(err, "%s:%d: variable name too long", origin, line);
            memcpy(tmp, name, (size_t)(name_end - name));
            tmp[name_end - name] = '\0';
            /* the environment overrides the file here too: BASEDIR=/x in the environment
             * makes REGISTRY=${BASEDIR}/registry of the file /x/registry */
            val = getenv(tmp);
            if (val == NULL)
                val = env_get(env, tmp, strlen(tmp));
            if (val == NULL)
                val = "";
            p = name_end + (braced ? 1 : 0);
        }
        if (val) {
            size_t vlen = strlen(val);
            if (used + vlen >= outsize)
                return dcmp_seterr(err, "%s:%d: value longer than %zu bytes", origin, line,
                                   outsize);
            memcpy(out + used, val, vlen);
            used += vlen;
            continue;
        }
        if (used + 1 >= outsize)
            return dcmp_seterr(err, "%s:%d: value longer than %zu bytes", origin, line, outsize);
        out[used++] = *p++;
    }
    out[used] = '\0';
    return 0;
}

int dcmp_config_parse_env(dcmp_env *env, const char *text, const char *origin, char *err)
{
    char value[DCMP_ENV_MAX_VALUE];
    const char *p = text;
    int line = 0;

    while (*p) {
        const char *eol = strchr(p, '\n'), *key, *key_end, *v, *v_end;
        if (eol == NULL)
            eol = p + strlen(p);
        line++;
        while (p < eol && isspace((unsigned char)*p))
            p++;
        if (p == eol || *p == '#') {
            p = *eol ? eol + 1 : eol;
            continue;
        }
        if (strncmp(p, "export", 6) == 0 && p + 6 < eol && isspace((unsigned char)p[6]))
            for (p += 6; p < eol && isspace((unsigned char)*p); p++)
                ;
        key = p;
        while (p < eol && is_key_char((unsigned char)*p, p == key))
            p++;
        key_end = p;
        while (p < eol && (*p == ' ' || *p == '\t'))
            p++;
        if (key_end == key || p >= eol || *p != '=')
            return dcmp_seterr(err, "%s:%d: expected KEY=VALUE", origin, line);
        v = p + 1;
        v_end = eol;
        while (v < v_end && (*v == ' ' || *v == '\t'))
            v++;
        while (v_end > v && isspace((unsigned char)v_end[-1]))
            v_end--;
        if (v < v_end && (*v == '"' || *v == '\'')) {
            const char *close = memchr(v + 1, *v, (size_t)(v_end - v - 1)), *after;
            /* After the closing quote only blanks and a # comment may follow. */
            after = close ? close + 1 : v_end;
            while (after < v_end && isspace((unsigned char)*after))
                after++;
            if (close != NULL && after < v_end && *after != '#')
                return dcmp_seterr(err, "%s:%d: %.*s: text after the closing quote", origin, line,
                                   (int)(key_end - key), key);
            if (close == NULL)
                return dcmp_seterr(err, "%s:%d: %.*s: unterminated quote", origin, line,
                                   (int)(key_end - key), key);
            if (*v == '\'') {
                if ((size_t)(close - v - 1) >= sizeof value)
                    return dcmp_seterr(err, "%s:%d: value too long", origin, line);
                memcpy(value, v + 1, (size_t)(close - v - 1));
                value[close - v - 1] = '\0';
            } else if (expand(env, v + 1, close, value, sizeof value, origin, line, err) < 0) {
                return -1;
            }
        } else {
            /* A bare value ends at a " #" comment. */
            const char *c;
            for (c = v; c < v_end; c++)
                if (*c == '#' && c > v && isspace((unsigned char)c[-1]))
                    break;
            while (c > v && isspace((unsigned char)c[-1]))
                c--;
            if (expand(env, v, c, value, sizeof value, origin, line, err) < 0)
                return -1;
        }
        if (env_set(env, key, (size_t)(key_end - key), value) < 0)
            return dcmp_seterr(err, "%s:%d: too many keys (at most %d)", origin, line,
                               DCMP_ENV_MAX_ITEMS);
        p = *eol ? eol + 1 : eol;
    }
    return 0;
}

int dcmp_config_load_env(dcmp_env *env, const char *path, char *err)
{
    char *text;
    struct stat st;
    ssize_t got;
    size_t used = 0;
    int fd, rc;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return dcmp_seterr(err, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dcmp_seterr(err, "%s: not a regular file", path);
    }
    if (st.st_size > DCMP_ENV_MAX_FILE) {
        close(fd);
        return dcmp_seterr(err, "%s: larger than %d bytes", path, DCMP_ENV_MAX_FILE);
    }
    if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return dcmp_seterr(err, "%s: out of memory", path);
    }
    while (used < (size_t)st.st_size &&
           (got = read(fd, text + used, (size_t)st.st_size - used)) > 0)
        used += (size_t)got;
    close(fd);
    text[used] = '\0';
    if (memchr(text, '\0', used) != NULL) {
        free(text);
        return dcmp_seterr(err, "%s: contains a NUL byte: not a text file", path);
    }
    rc = dcmp_config_parse_env(env, text, path, err);
    free(text);
    return rc;
}

void dcmp_config_free_env(dcmp_env *env)
{
    size_t i;

    for (i = 0; i < env->n; i++) {
        free(env->keys[i]);
        free(env->values[i]);
    }
    env->n = 0;
}

const char *dcmp_config_lookup(const dcmp_env *env, const char *const *names)
{
    const char *v;
    size_t i;

    for (i = 0; names[i]; i++) {
        if ((v = getenv(names[i])) != NULL)
            return v;
        if (env && (v = env_get(env, names[i], strlen(names[i]))) != NULL)
            return v;
    }
    return NULL;
}

static int get_str(const dcmp_env *env, const char *const *names, const char *dflt, char *out,
                   size_t size, char *err)
{
    const char *v = dcmp_config_lookup(env, names);

    if (v == NULL || *v == '\0')
        v = dflt;
    if (dcmp_strlcpy(out, v, size) < 0)
        return dcmp_seterr(err, "%s: value longer than %zu bytes", names[0], size - 1);
    return 0;
}

static int get_int(const dcmp_env *env, const char *const *names, int64_t dflt, int64_t min,
                   int64_t max, int64_t *out, char *err)
{
    const char *v = dcmp_config_lookup(env, names);
    char *end;
    long long n;

    if (v == NULL || *v == '\0') {
        *out = dflt;
        return 0;
    }
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < min || n > max)
        return dcmp_seterr(err, "%s=\"%s\": expected a whole number from %lld to %lld", names[0], v,
                           (long long)min, (long long)max);
    *out = n;
    return 0;
}

static int get_duration(const dcmp_env *env, const char *const *names, int64_t dflt, int64_t *out,
                        char *err)
{
    const char *v = dcmp_config_lookup(env, names);
    char why[DCMP_ERR_LEN];

    if (v == NULL || *v == '\0') {
        *out = dflt;
        return 0;
    }
    if (dcmp_duration_parse(v, out, why) < 0)
        return dcmp_seterr(err, "%s: %s", names[0], why);
    if (*out < 0)
        return dcmp_seterr(err, "%s: must be a positive duration, not -1", names[0]);
    return 0;
}

/* A size in bytes: digits with an optional K, M, G or T (powers of 1024); absent, "" or 0 =
 * none (0). At least 16 MiB when set: less cannot even load a library. */
static int get_size(const dcmp_env *env, const char *const *names, int64_t *out, char *err)
{
    const char *v = dcmp_config_lookup(env, names);
    char *end;
    long long n;
    int shift = 0;

    *out = 0;
    if (v == NULL || *v == '\0')
        return 0;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (*end != '\0' && end[1] == '\0') {
        const char *units = "KMGT", *u = strchr(units, toupper((unsigned char)*end));
        if (u != NULL) {
            shift = 10 * (int)(u - units + 1);
            end++;
        }
    }
    if (errno || end == v || *end != '\0' || n < 0 || n > (1LL << (62 - shift)) ||
        (n > 0 && (n << shift) < (16LL << 20)))
        return dcmp_seterr(err,
                           "%s=\"%s\": expected a size such as 512M or 4G (at least 16M), or 0 "
                           "for none",
                           names[0], v);
    *out = (int64_t)n << shift;
    return 0;
}

/* 1/0 from 1, true, yes, on / 0, false, no, off (any case); absent or "" = dflt. */
static int get_bool(const dcmp_env *env, const char *const *names, int dflt, int *out, char *err)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no",
                                                                                "off"};
    const char *v = dcmp_config_lookup(env, names);
    size_t i;

    *out = dflt;
    if (v == NULL || *v == '\0')
        return 0;
    for (i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(v, no[i]) == 0)
            return *out = 0, 0;
    }
    return dcmp_seterr(err, "%s=\"%s\": expected 1 or 0 (true/false, yes/no, on/off)", names[0], v);
}

static int under_base(const dcmp_env *env, const char *const *names, const char *base,
                      const char *leaf, char *out, char *err)
{
    char dflt[PATH_MAX];

    if (snprintf(dflt, sizeof dflt, "%s/%s", base, leaf) >= (int)sizeof dflt)
        return dcmp_seterr(err, "BASEDIR too long");
    return get_str(env, names, dflt, out, PATH_MAX, err);
}

/* SETTINGS, or settings.json in the folder that holds REGISTRY (as the original laid out
 * BASEDIR: settings.json beside registry/ and modules/). */
static int settings_path(const dcmp_env *env, const char *const *names, dcmp_config *cfg, char *err)
{
    char dflt[PATH_MAX], dir[PATH_MAX];
    char *slash;

    dcmp_strlcpy(dir, cfg->registry, sizeof dir);
    while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
        dir[strlen(dir) - 1] = '\0';
    slash = strrchr(dir, '/');
    if (slash == NULL)
        dcmp_strlcpy(dir, ".", sizeof dir);
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (snprintf(dflt, sizeof dflt, "%s/settings.json", dir) >= (int)sizeof dflt)
        return dcmp_seterr(err, "REGISTRY too long");
    return get_str(env, names, dflt, cfg->settings, sizeof cfg->settings, err);
}

int dcmp_config_load(dcmp_config *cfg, const char *env_path, char *err)
{
    static const char *const k_host[] = {"REDIS_HOST", NULL};
    static const char *const k_port[] = {"REDIS_PORT", NULL};
    static const char *const k_pswd[] = {"REDIS_PSWD", "REDIS_PASSWORD", NULL};
    static const char *const k_jobs[] = {"WORKER_JOBS", NULL};
    static const char *const k_prio[] = {"DEFUALT_PRIORITY", "DEFAULT_PRIORITY", NULL};
    static const char *const k_base[] = {"BASEDIR", NULL};
    static const char *const k_mod[] = {"MODULES", NULL};
    static const char *const k_reg[] = {"REGISTRY", NULL};
    static const char *const k_data[] = {"DATA", NULL};
    static const char *const k_logs[] = {"LOGS", NULL};
    static const char *const k_level[] = {"LOG_LEVEL", NULL};
    static const char *const k_ttlf[] = {"JOB_TTL_FINISHED", NULL};
    static const char *const k_ttlx[] = {"JOB_TTL_FAILED", NULL};
    static const char *const k_crash[] = {"WORKER_MAX_CRASHES", NULL};
    static const char *const k_wttl[] = {"WORKER_TTL", NULL};
    static const char *const k_grace[] = {"WORKER_STOP_GRACE", NULL};
    static const char *const k_exec[] = {"WORKER_EXECUTOR", NULL};
    static const char *const k_recycle[] = {"WORKER_RECYCLE", NULL};
    static const char *const k_settings[] = {"SETTINGS", NULL};
    static const char *const k_jenv[] = {"JOB_ENV", NULL};
    static const char *const k_jmem[] = {"JOB_MEMORY_LIMIT", NULL};
    static const char *const k_jcpu[] = {"JOB_CPU_LIMIT", NULL};
    static const char *const k_jfiles[] = {"JOB_FILES_LIMIT", NULL};
    static const char *const k_cbtime[] = {"CALLBACK_TIMEOUT", NULL};
    static const char *const k_cbrecycle[] = {"CALLBACK_RECYCLE", NULL};
    static const char *const k_sport[] = {"SCHEDULER_PORT", NULL};
    static const char *const k_sbind[] = {"SCHEDULER_BIND", NULL};
    static const char *const k_sname[] = {"SCHEDULER_NAME", NULL};
    static const char *const k_token[] = {"WEBHOOK_TOKEN", NULL};
    static const char *const k_body[] = {"SCHEDULER_MAX_BODY", NULL};
    static const char *const k_mtoken[] = {"METRICS_TOKEN", NULL};
    static const char *const k_rate[] = {"WEBHOOK_RATE", NULL};
    static const char *const k_seen[] = {"EVENT_DEDUP_TTL", NULL};
    static const char *const k_takes[] = {"EVENT_MAX_TAKES", NULL};
    static const char *const k_plantime[] = {"PLAN_TIMEOUT", NULL};
    static const char *const k_ourl[] = {"ORTHANC_REST_URL", NULL};
    static const char *const k_ouser[] = {"ORTHANC_REST_USERNAME", "ORTHANC_REST_USER", NULL};
    static const char *const k_opass[] = {"ORTHANC_REST_PASSWORD", NULL};
    static const char *const k_catchup[] = {"CATCHUP_INTERVAL", NULL};
    static const char *const k_stable[] = {"CATCHUP_STABLE_AFTER", NULL};
    static const char *const k_planners[] = {"SCHEDULER_PLANNERS", NULL};
    static const char *const k_mininst[] = {"MIN_INSTANCES", NULL};
    static const char *const k_stable_age[] = {"STABLE_AGE", NULL};
    static const char *const k_early[] = {"EARLY_STABLE", NULL};
    static const char *const k_modal[] = {"SUPPORTED_MODALITY", NULL};
    static const char *const k_dport[] = {"DASHBOARD_PORT", NULL};
    static const char *const k_dbind[] = {"DASHBOARD_BIND", NULL};
    static const char *const k_duser[] = {"DASHBOARD_USER", NULL};
    static const char *const k_dpass[] = {"DASHBOARD_PASSWORD", NULL};
    static const char *const k_dro[] = {"DASHBOARD_READONLY", NULL};
    static const char *const k_dsample[] = {"DASHBOARD_SAMPLE_INTERVAL", NULL};
    static const char *const k_dpub[] = {"DASHBOARD_PUBLISHED", NULL};
    static const char *const k_dhosts[] = {"DASHBOARD_HOSTS", NULL};
    static const char *const k_dfail[] = {"DASHBOARD_LOGIN_FAILURES", NULL};
    static const char *const k_cjobs[] = {"CONTAINER_JOBS", NULL};
    dcmp_env env = {0};
    int64_t port, wttl;
    int rc = -1;

    memset(cfg, 0, sizeof *cfg);
    if (env_path == NULL)
        env_path = getenv("DCMP_ENV");
    if (env_path == NULL && access(".env", R_OK) == 0)
        env_path = ".env";
    if (env_path != NULL && *env_path == '\0')
        env_path = NULL; /* DCMP_ENV= (empty): no file, the environment only */
    if (env_path != NULL) {
        if (dcmp_config_load_env(&env, env_path, err) < 0)
            goto out;
        dcmp_strlcpy(cfg->env_file, env_path, sizeof cfg->env_file);
    }
    if (get_str(&env, k_host, "127.0.0.1", cfg->redis_host, sizeof cfg->redis_host, err) < 0 ||
        get_int(&env, k_port, 6379, 1, 65535, &port, err) < 0 ||
        get_str(&env, k_pswd, "", cfg->redis_password, sizeof cfg->redis_password, err) < 0 ||
        get_str(&env, k_jobs, "default", cfg->worker_jobs, sizeof cfg->worker_jobs, err) < 0 ||
        get_str(&env, k_prio, "default", cfg->default_priority, sizeof cfg->default_priority, err) <
            0 ||
        get_str(&env, k_base, ".", cfg->basedir, sizeof cfg->basedir, err) < 0 ||
        under_base(&env, k_mod, cfg->basedir, "modules", cfg->modules, err) < 0 ||
        under_base(&env, k_reg, cfg->basedir, "registry", cfg->registry, err) < 0 ||
        under_base(&env, k_data, cfg->basedir, "data", cfg->data, err) < 0 ||
        under_base(&env, k_logs, cfg->basedir, "logs", cfg->logs, err) < 0 ||
        get_str(&env, k_level, "info", cfg->log_level, sizeof cfg->log_level, err) < 0 ||
        get_duration(&env, k_ttlf, 86400, &cfg->ttl_finished, err) < 0 ||
        get_duration(&env, k_ttlx, 30 * 86400, &cfg->ttl_failed, err) < 0 ||
        get_int(&env, k_crash, 3, 1, 1000, &cfg->max_crashes, err) < 0 ||
        get_duration(&env, k_wttl, 5, &wttl, err) < 0 ||
        get_int(&env, k_grace, 8, 0, 86400, &cfg->stop_grace, err) < 0 ||
        get_str(&env, k_exec, "pool", cfg->executor, sizeof cfg->executor, err) < 0 ||
        get_int(&env, k_recycle, 1000, 1, 1000000000, &cfg->recycle, err) < 0 ||
        get_str(&env, k_jenv, "", cfg->job_env, sizeof cfg->job_env, err) < 0 ||
        get_size(&env, k_jmem, &cfg->job_memory, err) < 0 ||
        get_duration(&env, k_jcpu, 0, &cfg->job_cpu, err) < 0 ||
        get_int(&env, k_jfiles, 0, 0, 1 << 20, &cfg->job_files, err) < 0 ||
        get_duration(&env, k_cbtime, 10, &cfg->callback_timeout, err) < 0 ||
        get_int(&env, k_cbrecycle, 10000, 1, 1000000000, &cfg->callback_recycle, err) < 0 ||
        settings_path(&env, k_settings, cfg, err) < 0 ||
        get_int(&env, k_sport, 5000, 1, 65535, &cfg->scheduler_port, err) < 0 ||
        get_str(&env, k_sbind, "127.0.0.1", cfg->scheduler_bind, sizeof cfg->scheduler_bind, err) <
            0 ||
        get_str(&env, k_sname, "scheduler", cfg->scheduler_name, sizeof cfg->scheduler_name, err) <
            0 ||
        get_str(&env, k_token, "", cfg->webhook_token, sizeof cfg->webhook_token, err) < 0 ||
        get_str(&env, k_mtoken, "", cfg->metrics_token, sizeof cfg->metrics_token, err) < 0 ||
        get_int(&env, k_rate, 200, 0, 1000000, &cfg->webhook_rate, err) < 0 ||
        get_int(&env, k_body, 8 << 20, 1024, 1 << 30, &cfg->max_body, err) < 0 ||
        get_duration(&env, k_seen, 30 * 86400, &cfg->seen_ttl, err) < 0 ||
        get_int(&env, k_takes, 3, 1, 1000, &cfg->event_max_takes, err) < 0 ||
        get_duration(&env, k_plantime, 1800, &cfg->plan_timeout, err) < 0 ||
        get_str(&env, k_ourl, "", cfg->orthanc_url, sizeof cfg->orthanc_url, err) < 0 ||
        get_str(&env, k_ouser, "", cfg->orthanc_user, sizeof cfg->orthanc_user, err) < 0 ||
        get_str(&env, k_opass, "", cfg->orthanc_password, sizeof cfg->orthanc_password, err) < 0 ||
        get_duration(&env, k_catchup, 60, &cfg->catchup_interval, err) < 0 ||
        get_duration(&env, k_stable, 120, &cfg->catchup_stable_after, err) < 0 ||
        get_int(&env, k_planners, 2, 1, 8, &cfg->planners, err) < 0 ||
        get_int(&env, k_mininst, 4, 0, 1000000, &cfg->min_instances, err) < 0 ||
        get_duration(&env, k_stable_age, 5, &cfg->stable_age, err) < 0 ||
        get_bool(&env, k_early, 1, &cfg->early_stable, err) < 0 ||
        get_str(&env, k_modal, "", cfg->supported_modality, sizeof cfg->supported_modality, err) <
            0)
        goto out;
    if (get_int(&env, k_dport, 8080, 1, 65535, &cfg->dashboard_port, err) < 0 ||
        get_str(&env, k_dbind, "127.0.0.1", cfg->dashboard_bind, sizeof cfg->dashboard_bind, err) <
            0 ||
        get_str(&env, k_duser, "", cfg->dashboard_user, sizeof cfg->dashboard_user, err) < 0 ||
        get_str(&env, k_dpass, "", cfg->dashboard_password, sizeof cfg->dashboard_password, err) <
            0 ||
        get_bool(&env, k_dro, 0, &cfg->dashboard_readonly, err) < 0 ||
        get_duration(&env, k_dsample, 10, &cfg->dashboard_sample, err) < 0 ||
        get_str(&env, k_dpub, "", cfg->dashboard_published, sizeof cfg->dashboard_published, err) <
            0 ||
        get_str(&env, k_dhosts, "", cfg->dashboard_hosts, sizeof cfg->dashboard_hosts, err) < 0 ||
        get_int(&env, k_dfail, 10, 0, 1000000, &cfg->dashboard_login_failures, err) < 0 ||
        get_bool(&env, k_cjobs, -1, &cfg->container_jobs, err) < 0)
        goto out;
    if (cfg->job_files > 0 && cfg->job_files < 16) {
        /* fewer cannot even hold the executor's own pipes and a library */
        dcmp_seterr(err, "JOB_FILES_LIMIT=%lld: at least 16, or 0 for none",
                    (long long)cfg->job_files);
        goto out;
    }
    if (cfg->dashboard_sample > 600) {
        dcmp_seterr(err, "DASHBOARD_SAMPLE_INTERVAL: at most 600s (the chart shows one hour)");
        goto out;
    }
    if (strcmp(cfg->log_level, "debug") != 0 && strcmp(cfg->log_level, "info") != 0 &&
        strcmp(cfg->log_level, "warn") != 0 && strcmp(cfg->log_level, "error") != 0) {
        dcmp_seterr(err, "LOG_LEVEL=\"%s\": expected debug, info, warn or error", cfg->log_level);
        goto out;
    }
    if (strcmp(cfg->executor, "fork") != 0 && strcmp(cfg->executor, "pool") != 0) {
        dcmp_seterr(err, "WORKER_EXECUTOR=\"%s\": expected fork or pool", cfg->executor);
        goto out;
    }
    if (wttl < 2)
        wttl = 2;
    cfg->redis_port = (int)port;
    cfg->heartbeat_ttl_ms = wttl * 1000;
    rc = 0;
out:
    if (rc < 0 && env_path != NULL && strstr(err, env_path) == NULL) {
        char tmp[DCMP_ERR_LEN];
        dcmp_strlcpy(tmp, err, sizeof tmp);
        dcmp_seterr(err, "%s (settings from %s and the environment)", tmp, env_path);
    }
    dcmp_config_free_env(&env);
    return rc;
}

static int queue_char(int c)
{
    return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':';
}

int dcmp_config_split_queues(const char *list, char *buf, size_t bufsize, const char **names,
                             int max, char *err)
{
    const char *p = list;
    size_t used = 0;
    int n = 0;

    while (*p) {
        const char *start;
        size_t len;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        start = p;
        while (*p && *p != ' ' && *p != '\t' && *p != ',')
            p++;
        len = (size_t)(p - start);
        for (size_t i = 0; i < len; i++)
            if (!queue_char((unsigned char)start[i]))
                return dcmp_seterr(
                    err, "queue name \"%.*s\" in \"%s\": use letters, digits, _ - . :", (int)len,
                    start, list);
        if (n >= max)
            return dcmp_seterr(err, "\"%s\": more than %d queues", list, max);
        if (used + len + 1 > bufsize)
            return dcmp_seterr(err, "\"%s\": queue list too long", list);
        memcpy(buf + used, start, len);
        buf[used + len] = '\0';
        names[n++] = buf + used;
        used += len + 1;
    }
    if (n == 0)
        return dcmp_seterr(err, "no queue names in \"%s\"", list);
    return n;
}

int dcmp_config_modality_ok(const dcmp_config *cfg, const char *modality)
{
    const char *p = cfg->supported_modality;
    size_t mlen = modality ? strlen(modality) : 0;

    while (*p) {
        size_t n;
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        n = strcspn(p, " ,\t");
        if (n > 0 && n == mlen && strncasecmp(p, modality, n) == 0)
            return 1;
        p += n;
    }
    /* an empty list allows every modality */
    for (p = cfg->supported_modality; *p; p++)
        if (*p != ' ' && *p != ',' && *p != '\t')
            return 0;
    return 1;
}
