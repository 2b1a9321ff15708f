/* validate.c -- dcm-processor validate: checks one service before it runs: its settings file
 * against the planner's rules, and every named worker and callback function resolvable and
 * loadable (a C library, or a Python module) as the executor would. What service.sh install and
 * validate run. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "duration.h"
#include "fdio.h"
#include "executor.h"
#include "enginelib.h"
#include "loader.h"
#include "plan.h"
#include "runner.h"
#include "settings.h"
#include "trigger.h"

int cli_validate(const dcmp_config *cfg, int argc, char **argv);

#define CHECK_TIMEOUT_MS 60000 /* a library constructor or a module import that never ends */

#define USAGE \
    "usage: dcm-processor validate SERVICE|SETTINGS_FILE [--registry DIR] [--modules DIR]\n"

/* Every callback says "run", so the planner checks every entry and its dependencies. */
static int yes_callback(void *arg, const char *job_name, const char *callback, const char *headers,
                        const char *params, const char *added_params, char **inject, char *err)
{
    (void)arg, (void)job_name, (void)callback, (void)headers, (void)params, (void)added_params;
    (void)inject, (void)err;
    return 1;
}

/* The settings file of service `name` under `registry`: settings.json, .yaml or .yml. */
static int service_file(const char *registry, const char *name, char *out, size_t len)
{
    static const char *const names[] = {"settings.json", "settings.yaml", "settings.yml"};
    struct stat st;
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if ((size_t)snprintf(out, len, "%s/%s/%s", registry, name, names[i]) >= len)
            return -1;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
            return 0;
    }
    return -1;
}

/* In the child: finds `dotted` under root as the executor would (C library first, then a
 * Python module; a callback from REGISTRY), loads or imports it without calling it, writes
 * "0" or "1" and what was found or why not on fd. Never returns. */
static void __attribute__((noreturn))
describe_child(int fd, int callback, const char *root, const char *dotted)
{
    char out[DCMP_ERR_LEN];
    dcmp_executor_input in;
    int rc;

    /* what service code prints when it is loaded stays off validate's own lines */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    memset(&in, 0, sizeof in);
    in.job_id = "";
    in.job_name = "";
    in.func = dotted;
    in.modules = root;
    in.callback = callback;
    in.system_python = 1; /* see executor.h; docs/python.md says what it checks then */
    rc = dcmp_runner_describe(&in, out, sizeof out);
    dcmp_executor_write_all(fd, rc == 0 ? "0" : "1", 1);
    dcmp_executor_write_all(fd, out, strlen(out));
    _exit(0);
}

/*
 * Checks that `dotted` can be called from `root` as a worker or a callback (`what`), in a
 * child process: a library's constructors, a module's import (and Python's one kind per
 * process), a crash or a hang stay there. Prints the outcome. Returns 0 when the function is
 * there.
 */
static int check_function(const char *what, const char *root, const char *job, const char *dotted)
{
    char text[DCMP_ERR_LEN + 2];
    int fd[2], status = 0, late;
    pid_t pid;

    fflush(stdout);
    if (pipe2(fd, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
        printf("  error  %s: %s %s: cannot start a process to check it: %s\n", job, what, dotted,
               strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        describe_child(fd[1], strcmp(what, "callback") == 0, root, dotted);
    }
    close(fd[1]);
    late =
        dcmp_fdio_read_until(fd[0], text, sizeof text, dcmp_clock_mono_ms() + CHECK_TIMEOUT_MS) < 0;
    close(fd[0]);
    if (late)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (late) {
        printf("  error  %s: %s %s: loading it took over %d s\n", job, what, dotted,
               CHECK_TIMEOUT_MS / 1000);
        return -1;
    }
    if (text[0] == '0') {
        printf("  ok     %s: %s %s -> %s\n", job, what, dotted, text + 1);
        return 0;
    }
    if (text[0] == '1')
        printf("  error  %s: %s %s: %s\n", job, what, dotted, text + 1);
    else if (WIFSIGNALED(status))
        printf("  error  %s: %s %s: loading it crashed: signal %d (%s)\n", job, what, dotted,
               WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        printf("  error  %s: %s %s: loading it ended the process (status %d)\n", job, what, dotted,
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return -1;
}

/* A container entry's image is stored by the engine that will run it (jobs never pull).
 * The object itself is checked by the planner. Returns 0 when it is there. */
static int check_image(const char *job, const cJSON *container)
{
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(container, "image");
    const dcmp_engine_ops *ops;
    char err[DCMP_ERR_LEN];
    dcmp_engine e;
    int rc;

    if (!cJSON_IsString(image))
        return -1; /* the planner's report says why */
    if (dcmp_enginelib_open(&e, &ops, err) <= 0 || ops->ping(&e, err) < 0 ||
        (rc = ops->image_exists(&e, image->valuestring, err)) < 0) {
        printf("  error  %s: container image %s: %s\n", job, image->valuestring, err);
        return -1;
    }
    if (rc == 0) {
        printf("  error  %s: container image %s: not stored by the docker engine at %s (jobs "
               "never pull: build or load it first)\n",
               job, image->valuestring, e.socket);
        return -1;
    }
    printf("  ok     %s: container image %s (stored by the docker engine at %s)\n", job,
           image->valuestring, e.socket);
    return 0;
}

/* For a study or patient entry that reads: when it is decided and how long its study's files
 * are held for a rerun (docs/planning.md). */
static void show_level(const char *job, const cJSON *entry)
{
    char why[DCMP_ERR_LEN], complete[32], window[32];
    const char *field = NULL;
    dcmp_trigger t;

    if (dcmp_trigger_read(entry, &t, &field, why) < 0 || t.level == DCMP_LEVEL_SERIES)
        return; /* invalid: reported by the planner above */
    dcmp_duration_format(t.complete_timeout, complete, sizeof complete);
    dcmp_duration_format(t.rerun_window, window, sizeof window);
    printf("  ok     %s: trigger %s, %d condition%s in requires, completeTimeout %s, onTimeout "
           "%s, rerun %s",
           job, dcmp_trigger_levels[t.level], t.nrequires, t.nrequires == 1 ? "" : "s", complete,
           t.on_timeout == DCMP_ON_TIMEOUT_PLAN ? "plan" : "drop",
           t.rerun == DCMP_RERUN_NEVER ? "never" : "new-series");
    if (t.rerun == DCMP_RERUN_NEVER)
        printf(" (its %s's files released once its jobs ended)\n", dcmp_trigger_levels[t.level]);
    else
        printf(", rerunWindow %s (its %s's files held that long after its last jobs ended)\n",
               window, dcmp_trigger_levels[t.level]);
}

/* Checks the worker and callback names of one entry. Returns the number of problems. */
static int check_entry(const dcmp_config *cfg, const char *registry, const char *modules,
                       const cJSON *entry, int index)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(entry, "jobName");
    const cJSON *worker = cJSON_GetObjectItemCaseSensitive(entry, "worker");
    const cJSON *callback = cJSON_GetObjectItemCaseSensitive(entry, "callback");
    const cJSON *container = cJSON_GetObjectItemCaseSensitive(entry, "container");
    char job[160];
    int bad = 0;

    (void)cfg;
    if (cJSON_IsString(name))
        snprintf(job, sizeof job, "entry %d (%.128s)", index, name->valuestring);
    else
        snprintf(job, sizeof job, "entry %d", index);
    if (cJSON_IsString(worker))
        bad += check_function("worker", modules, job, worker->valuestring) < 0;
    if (cJSON_IsObject(container))
        bad += check_image(job, container) < 0;
    if (cJSON_IsString(callback))
        bad += check_function("callback", registry, job, callback->valuestring) < 0;
    show_level(job, entry);
    return bad;
}

/* The library walk's state (nftw passes none): problems and libraries seen. */
static int walk_bad, walk_libs;

static int check_one_library(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    size_t len = strlen(path);
    dcmp_loaded l;
    char err[DCMP_ERR_LEN];

    (void)st, (void)ftw;
    if ((type != FTW_F && type != FTW_SL) || len < 4 || strcmp(path + len - 3, ".so") != 0)
        return 0;
    walk_libs++;
    if (dcmp_loader_open_file(path, &l, err) < 0) {
        printf("  error  %s\n", err);
        walk_bad++;
        return 0;
    }
    printf("  ok     library %s (%s %s)\n", path, l.module->name ? l.module->name : "?",
           l.module->version ? l.module->version : "?");
    dcmp_loader_close(&l);
    return 0;
}

/* Whether two folder names are the same folder (a service looked at through one path). */
static int same_folder(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Every .so under root/name loads and has a valid descriptor. Returns the problems. */
static int check_libraries(const char *root, const char *name)
{
    char dir[PATH_MAX];

    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root, name) >= sizeof dir)
        return 1;
    walk_bad = 0;
    if (nftw(dir, check_one_library, 16, FTW_PHYS) != 0) {
        printf("  error  %s: cannot read it\n", dir);
        return 1;
    }
    return walk_bad;
}

/* The system settings' pre and post entries whose worker or callback is a function of service
 * `name` ("name.…"). Returns the problems; *n counts the entries checked. */
static int check_system_entries(const dcmp_config *cfg, const char *registry, const char *modules,
                                const char *name, int *n)
{
    static const char *const groups[] = {"preServices", "postServices"};
    char err[DCMP_ERR_LEN], job[200];
    size_t plen = strlen(name);
    cJSON *root = NULL;
    const cJSON *entry;
    int bad = 0, g, index;
    struct stat st;

    *n = 0;
    if (stat(cfg->settings, &st) < 0)
        return 0;
    if (dcmp_settings_load(cfg->settings, &root, err) < 0) {
        printf("  error  %s\n", err);
        return 1;
    }
    for (g = 0; g < 2; g++) {
        index = 0;
        cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(root, groups[g]))
        {
            const cJSON *w = cJSON_GetObjectItemCaseSensitive(entry, "worker");
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(entry, "callback");
            int mine_w = cJSON_IsString(w) && strncmp(w->valuestring, name, plen) == 0 &&
                         w->valuestring[plen] == '.';
            int mine_c = cJSON_IsString(c) && strncmp(c->valuestring, name, plen) == 0 &&
                         c->valuestring[plen] == '.';
            index++;
            if (!mine_w && !mine_c)
                continue;
            (*n)++;
            snprintf(job, sizeof job, "%.120s %s entry %d", cfg->settings, groups[g], index);
            if (mine_w)
                bad += check_function("worker", modules, job, w->valuestring) < 0;
            if (mine_c)
                bad += check_function("callback", registry, job, c->valuestring) < 0;
        }
    }
    cJSON_Delete(root);
    return bad;
}

/*
 * A service without settings of its own, such as base, whose jobs the system settings name:
 * every library of its registry and module parts loads with a valid descriptor, and every
 * system settings entry naming one of its functions resolves.
 */
static int validate_libraries(const dcmp_config *cfg, const char *registry, const char *modules,
                              const char *name)
{
    int bad, entries;

    printf("%s/%s: a service without settings of its own (its jobs are named by the system "
           "settings)\n",
           registry, name);
    walk_libs = 0;
    bad = check_libraries(registry, name);
    if (!same_folder(registry, modules))
        bad += check_libraries(modules, name);
    if (walk_libs == 0) {
        printf("  error  no library (.so) in %s/%s or %s/%s\n", registry, name, modules, name);
        bad++;
    }
    bad += check_system_entries(cfg, registry, modules, name, &entries);
    if (entries == 0) {
        /* libraries nothing names never run: a wrong --registry, or settings not written */
        printf("  error  no settings file of its own, and no entry of %s names a function of "
               "%s: nothing would run it\n",
               cfg->settings, name);
        bad++;
    }
    printf("%s\n", bad ? "invalid" : "valid");
    return bad ? 1 : 0;
}

/*
 * dcm-processor validate: prints one line per check and returns 0 when the service is valid,
 * 1 when something is wrong (each problem printed, naming the file, the entry and the name),
 * 2 for a usage error. Each function is loaded or imported in a child process (a library's
 * constructors, a module's top level run there): validate only what you mean to install.
 */
int cli_validate(const dcmp_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"registry", required_argument, NULL, 'r'},
                                         {"modules", required_argument, NULL, 'm'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *registry = cfg->registry, *modules = cfg->modules, *arg;
    char path[PATH_MAX], err[DCMP_ERR_LEN];
    cJSON *root = NULL, *data = NULL;
    const cJSON *entry;
    dcmp_plan_file file;
    dcmp_plan_input in;
    dcmp_plan plan;
    int c, i, level, bad = 0, index = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': registry = optarg; break;
        case 'm': modules = optarg; break;
        case 'h': printf(USAGE); return 0;
        default: fprintf(stderr, USAGE); return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, USAGE);
        return 2;
    }
    arg = argv[optind];
    if (strchr(arg, '/') != NULL) {
        if ((size_t)snprintf(path, sizeof path, "%s", arg) >= sizeof path) {
            fprintf(stderr, "dcm-processor validate: %s: path too long\n", arg);
            return 2;
        }
    } else if (service_file(registry, arg, path, sizeof path) < 0) {
        struct stat st;
        char dir[PATH_MAX];
        if ((size_t)snprintf(dir, sizeof dir, "%s/%s", registry, arg) < sizeof dir &&
            stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return validate_libraries(cfg, registry, modules, arg);
        fprintf(stderr,
                "dcm-processor validate: service %s: no settings.json, settings.yaml or "
                "settings.yml in %s/%s\n",
                arg, registry, arg);
        return 1;
    }
    printf("%s:\n", path);
    if (dcmp_settings_load(path, &root, err) < 0) {
        printf("  error  %s\ninvalid\n", err);
        return 1;
    }
    data = cJSON_CreateObject();
    memset(&in, 0, sizeof in);
    file.path = path;
    file.root = root;
    file.load_error = NULL;
    in.registry = &file;
    in.nregistry = 1;
    in.data = data;
    in.default_queue = cfg->default_priority;
    in.callback = yes_callback;
    /* each entry is judged in a plan of its own trigger's level (a study entry's dependsOn
     * are study entries), and its decision shown once: from that plan */
    for (level = 0; level < DCMP_LEVELS; level++) {
        in.level = level;
        if (data == NULL || dcmp_plan_make(&in, &plan, err) < 0) {
            printf("  error  %s\n", data ? err : "out of memory");
            dcmp_plan_free(&plan);
            bad++;
            break;
        }
        for (i = 0; i < plan.ndecisions; i++) {
            const dcmp_plan_decision *d = &plan.decisions[i];
            if (d->level != level || strcmp(d->decision, "other-level") == 0)
                continue;
            if (strcmp(d->decision, "invalid") == 0 || strcmp(d->decision, "duplicate") == 0) {
                printf("  error  %s: %s: %s\n", d->source, d->decision, d->reason);
                bad++;
            } else if (strcmp(d->decision, "scheduled") != 0) {
                /* dropped (a dependency on another service's job) or disabled: not an error
                 * of this service alone */
                printf("  note   %s (%s): %s%s%s\n", d->source, d->job_name, d->decision,
                       d->reason[0] ? ": " : "", d->reason);
            }
        }
        dcmp_plan_free(&plan);
    }
    if (cJSON_IsArray(root)) {
        cJSON_ArrayForEach(entry, root)
        {
            index++;
            if (cJSON_IsObject(entry))
                bad += check_entry(cfg, registry, modules, entry, index);
        }
    } else if (cJSON_IsObject(root)) {
        bad += check_entry(cfg, registry, modules, root, 1);
    }
    cJSON_Delete(data);
    cJSON_Delete(root);
    printf("%s\n", bad ? "invalid" : "valid");
    return bad ? 1 : 0;
}
