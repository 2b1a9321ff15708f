/* test_loader.c -- unit tests of loading service libraries and checking their descriptors. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "loader.h"

/* build/tests/modules: testmods.so, badabi.so, nodesc.so */
static const char *root;

/* ---- a minimal host for calling a loaded function ---- */

static char host_last_log[512], host_last_error[512], host_last_result[512];
static int host_logs;

__attribute__((format(printf, 3, 4))) static void host_log(const dcmp_call *call, int32_t level,
                                                           const char *fmt, ...)
{
    va_list ap;

    (void)call;
    (void)level;
    va_start(ap, fmt);
    vsnprintf(host_last_log, sizeof host_last_log, fmt, ap);
    va_end(ap);
    host_logs++;
}

static int32_t host_set_result(const dcmp_call *call, const char *json)
{
    (void)call;
    dcmp_strlcpy(host_last_result, json, sizeof host_last_result);
    return 0;
}

static int32_t host_set_error(const dcmp_call *call, const char *message)
{
    (void)call;
    dcmp_strlcpy(host_last_error, message, sizeof host_last_error);
    return 0;
}

static const dcmp_host test_host = {DCMP_ABI_VERSION, (uint32_t)sizeof(dcmp_host), host_log,
                                    host_set_result, host_set_error};

static void make_call(dcmp_call *call)
{
    memset(call, 0, sizeof *call);
    call->abi_version = DCMP_ABI_VERSION;
    call->size = (uint32_t)sizeof *call;
    call->job_name = "test";
    call->job_id = "";
    call->headers = "{}";
    call->params = "null";
    call->added_params = "{}";
    call->data_dir = "/nonexistent";
    call->host = &test_host;
}

static void expect_closed(const dcmp_loaded *l)
{
    CHECK(l->handle == NULL);
    CHECK(l->module == NULL);
    CHECK(l->fn == NULL);
}

/* ---- dcmp_loader_open ---- */

static void test_open_noop(void)
{
    dcmp_loaded l;
    dcmp_call call;
    char err[DCMP_ERR_LEN] = "", want[PATH_MAX];

    CHECK(dcmp_loader_open(root, "testmods.noop", &l, err) == 0);
    CHECK_STR(err, "");
    CHECK(l.handle != NULL);
    CHECK(l.module != NULL);
    CHECK(l.fn != NULL);
    snprintf(want, sizeof want, "%s/testmods.so", root);
    CHECK_STR(l.path, want);
    if (l.module != NULL) {
        CHECK_STR(l.module->name, "testmods");
        CHECK_STR(l.module->version, "1.0.0");
        CHECK(l.module->abi_version == DCMP_ABI_VERSION);
        CHECK(l.module->size == sizeof(dcmp_module));
    }
    if (l.fn != NULL) {
        make_call(&call);
        CHECK(l.fn(&call) == DCMP_OK);
    }
    dcmp_loader_close(&l);
    expect_closed(&l);
    /* closing twice is harmless */
    dcmp_loader_close(&l);
    expect_closed(&l);
}

/* The other functions of the sample library, through the host table. */
static void test_open_calls(void)
{
    dcmp_loaded l;
    dcmp_call call;
    char err[DCMP_ERR_LEN] = "";

    make_call(&call);
    CHECK(dcmp_loader_open(root, "testmods.fail", &l, err) == 0);
    if (l.fn != NULL) {
        host_logs = 0;
        host_last_error[0] = '\0';
        CHECK(l.fn(&call) == DCMP_ERROR);
        CHECK_STR(host_last_error, "failed on purpose");
        CHECK(host_logs == 1);
        CHECK_STR(host_last_log, "failing on purpose");
    }
    dcmp_loader_close(&l);

    CHECK(dcmp_loader_open(root, "testmods.weird", &l, err) == 0);
    if (l.fn != NULL)
        CHECK(l.fn(&call) == 42);
    dcmp_loader_close(&l);
}

/* Two functions of one library open at once: two references to the same library. */
static void test_open_twice(void)
{
    dcmp_loaded a, b;
    char err[DCMP_ERR_LEN];
    dcmp_call call;

    make_call(&call);
    CHECK(dcmp_loader_open(root, "testmods.noop", &a, err) == 0);
    CHECK(dcmp_loader_open(root, "testmods.weird", &b, err) == 0);
    CHECK(a.module == b.module);
    CHECK(a.fn != b.fn);
    dcmp_loader_close(&a);
    if (b.fn != NULL)
        CHECK(b.fn(&call) == 42); /* still loaded */
    dcmp_loader_close(&b);
}

static void test_open_bad_abi(void)
{
    dcmp_loaded l;
    char err[DCMP_ERR_LEN] = "", path[PATH_MAX];

    CHECK(dcmp_loader_open(root, "badabi.worker", &l, err) == -1);
    CHECK_CONTAINS(err, "ABI version");
    CHECK_CONTAINS(err, "99");
    snprintf(path, sizeof path, "%s/badabi.so", root);
    CHECK_CONTAINS(err, path);
    expect_closed(&l);
}

static void test_open_no_function(void)
{
    dcmp_loaded l;
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_loader_open(root, "testmods.nosuch", &l, err) == -1);
    CHECK_CONTAINS(err, "\"nosuch\"");
    CHECK_CONTAINS(err, "testmods.so");
    CHECK_CONTAINS(err, "noop");
    CHECK_CONTAINS(err, "record");
    CHECK_CONTAINS(err, "weird");
    expect_closed(&l);
}

static void test_open_no_descriptor(void)
{
    dcmp_loaded l;
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_loader_open(root, "nodesc.worker", &l, err) == -1);
    CHECK_CONTAINS(err, "dcmp_module_descriptor");
    CHECK_CONTAINS(err, "nodesc.so");
    expect_closed(&l);
}

static void test_open_missing(void)
{
    dcmp_loaded l;
    char err[DCMP_ERR_LEN] = "", path[PATH_MAX];

    CHECK(dcmp_loader_open(root, "missing.worker", &l, err) == -1);
    snprintf(path, sizeof path, "%s/missing.so", root);
    CHECK_CONTAINS(err, path);
    snprintf(path, sizeof path, "%s/missing/missing.so", root);
    CHECK_CONTAINS(err, path);
    snprintf(path, sizeof path, "%s/missing/libmissing.so", root);
    CHECK_CONTAINS(err, path);
    expect_closed(&l);
}

static void test_open_bad_name(void)
{
    dcmp_loaded l;
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_loader_open(root, "../testmods.noop", &l, err) == -1);
    CHECK(err[0] != '\0');
    expect_closed(&l);
    CHECK(dcmp_loader_open(root, "noop", &l, err) == -1);
    CHECK_CONTAINS(err, "no module part");
    expect_closed(&l);
}

/* Whatever the struct held before, a failure leaves it closed. */
static void test_open_failure_resets(void)
{
    dcmp_loaded l;
    char err[DCMP_ERR_LEN];

    memset(&l, 0x5a, sizeof l);
    CHECK(dcmp_loader_open(root, "testmods.nosuch", &l, err) == -1);
    expect_closed(&l);
    memset(&l, 0x5a, sizeof l);
    CHECK(dcmp_loader_open(root, "missing.worker", &l, err) == -1);
    expect_closed(&l);
    /* and closing the result is harmless */
    dcmp_loader_close(&l);
    expect_closed(&l);
}

/* A temporary module root; cleaned by the test that made it. */
static char tmp_root[64];

static void test_open_not_a_library(void)
{
    dcmp_loaded l;
    char err[DCMP_ERR_LEN] = "", path[PATH_MAX];
    FILE *f;

    dcmp_strlcpy(tmp_root, "/tmp/dcmp-loader-XXXXXX", sizeof tmp_root);
    CHECK(mkdtemp(tmp_root) != NULL);
    snprintf(path, sizeof path, "%s/junk.so", tmp_root);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs("not an ELF file\n", f);
        fclose(f);
    }
    CHECK(dcmp_loader_open(tmp_root, "junk.worker", &l, err) == -1);
    CHECK_CONTAINS(err, "cannot load");
    CHECK_CONTAINS(err, path);
    expect_closed(&l);
    unlink(path);
    CHECK(rmdir(tmp_root) == 0);
}

/* The third candidate, ROOT/a/liba.so, is loaded when it is the only one. */
static void test_open_third_candidate(void)
{
    dcmp_loaded l;
    char err[DCMP_ERR_LEN] = "", dir[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
    dcmp_call call;

    dcmp_strlcpy(tmp_root, "/tmp/dcmp-loader-XXXXXX", sizeof tmp_root);
    CHECK(mkdtemp(tmp_root) != NULL);
    snprintf(dir, sizeof dir, "%s/alias", tmp_root);
    snprintf(link, sizeof link, "%s/alias/libalias.so", tmp_root);
    snprintf(target, sizeof target, "%s/testmods.so", root);
    CHECK(mkdir(dir, 0755) == 0);
    CHECK(symlink(target, link) == 0);
    CHECK(dcmp_loader_open(tmp_root, "alias.noop", &l, err) == 0);
    CHECK_STR(l.path, link);
    if (l.module != NULL)
        CHECK_STR(l.module->name, "testmods");
    make_call(&call);
    if (l.fn != NULL)
        CHECK(l.fn(&call) == DCMP_OK);
    dcmp_loader_close(&l);
    unlink(link);
    rmdir(dir);
    CHECK(rmdir(tmp_root) == 0);
}

/* ---- dcmp_loader_check and dcmp_loader_function on hand-made descriptors ---- */

static int32_t fn_a(const dcmp_call *call)
{
    (void)call;
    return DCMP_OK;
}

static int32_t fn_b(const dcmp_call *call)
{
    (void)call;
    return DCMP_SKIP;
}

static const dcmp_function two_functions[] = {{"a", fn_a}, {"b", fn_b}, {NULL, NULL}};
static const dcmp_function no_functions[] = {{NULL, NULL}};
static const dcmp_function null_fn[] = {{"a", NULL}, {"b", fn_b}, {NULL, NULL}};

static void test_check(void)
{
    dcmp_module m = {DCMP_ABI_VERSION, (uint32_t)sizeof(dcmp_module), "hand", "0", two_functions};
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_loader_check(&m, "/x/hand.so", err) == 0);
    CHECK_STR(err, "");

    /* a descriptor from a newer library with appended members */
    m.size = (uint32_t)sizeof(dcmp_module) + 16;
    CHECK(dcmp_loader_check(&m, "/x/hand.so", err) == 0);
    m.size = (uint32_t)sizeof(dcmp_module);

    m.abi_version = DCMP_ABI_VERSION + 1;
    CHECK(dcmp_loader_check(&m, "/x/hand.so", err) == -1);
    CHECK_CONTAINS(err, "/x/hand.so");
    CHECK_CONTAINS(err, "ABI version 2");
    m.abi_version = 0;
    CHECK(dcmp_loader_check(&m, "/x/hand.so", err) == -1);
    CHECK_CONTAINS(err, "ABI version 0");
    m.abi_version = DCMP_ABI_VERSION;

    m.size = (uint32_t)sizeof(dcmp_module) - 1;
    CHECK(dcmp_loader_check(&m, "/x/hand.so", err) == -1);
    CHECK_CONTAINS(err, "/x/hand.so");
    CHECK_CONTAINS(err, "bytes");
    m.size = 0;
    CHECK(dcmp_loader_check(&m, "/x/hand.so", err) == -1);
    CHECK_CONTAINS(err, "0 bytes");
    m.size = (uint32_t)sizeof(dcmp_module);

    m.functions = NULL;
    CHECK(dcmp_loader_check(&m, "/x/hand.so", err) == -1);
    CHECK_CONTAINS(err, "/x/hand.so");
    CHECK_CONTAINS(err, "no functions");

    /* err may be NULL */
    CHECK(dcmp_loader_check(&m, "/x/hand.so", NULL) == -1);
}

static void test_function(void)
{
    dcmp_module m = {DCMP_ABI_VERSION, (uint32_t)sizeof(dcmp_module), "hand", "0", two_functions};
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_loader_function(&m, "/x/hand.so", "a", err) == fn_a);
    CHECK(dcmp_loader_function(&m, "/x/hand.so", "b", err) == fn_b);
    CHECK(dcmp_loader_function(&m, "/x/hand.so", "c", err) == NULL);
    CHECK_CONTAINS(err, "/x/hand.so");
    CHECK_CONTAINS(err, "\"c\"");
    CHECK_CONTAINS(err, "a, b");
    CHECK(dcmp_loader_function(&m, "/x/hand.so", "A", err) == NULL);
    CHECK(dcmp_loader_function(&m, "/x/hand.so", "", err) == NULL);

    m.functions = no_functions;
    CHECK(dcmp_loader_check(&m, "/x/hand.so", err) == 0);
    CHECK(dcmp_loader_function(&m, "/x/hand.so", "a", err) == NULL);
    CHECK_CONTAINS(err, "none");

    /* an entry without a function pointer is not a match */
    m.functions = null_fn;
    CHECK(dcmp_loader_function(&m, "/x/hand.so", "a", err) == NULL);
    CHECK(dcmp_loader_function(&m, "/x/hand.so", "b", err) == fn_b);
}

/* A library with more names than the error can list: the list is cut, not overrun. */
static void test_function_long_list(void)
{
    enum { N = 64 };
    static dcmp_function many[N + 1];
    static char names[N][40];
    dcmp_module m = {DCMP_ABI_VERSION, (uint32_t)sizeof(dcmp_module), "many", "0", many};
    char err[DCMP_ERR_LEN] = "";
    int i;

    for (i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "function_with_a_long_name_%02d", i);
        many[i].name = names[i];
        many[i].fn = fn_a;
    }
    many[N].name = NULL;
    many[N].fn = NULL;
    CHECK(dcmp_loader_function(&m, "/x/many.so", names[N - 1], err) == fn_a);
    CHECK(dcmp_loader_function(&m, "/x/many.so", "zzz", err) == NULL);
    CHECK_CONTAINS(err, "\"zzz\"");
    CHECK_CONTAINS(err, "function_with_a_long_name_00");
    CHECK(strlen(err) < DCMP_ERR_LEN);
}

/* A descriptor made with DCMP_MODULE, as a service author writes it, passes the check. */
static int32_t worker(const dcmp_call *call)
{
    (void)call;
    return DCMP_SKIP;
}

DCMP_MODULE("unit", "9.9.9", DCMP_FUNCTION(worker), DCMP_FUNCTION(fn_a));

static void test_module_macro(void)
{
    char err[DCMP_ERR_LEN] = "";
    dcmp_fn fn;

    CHECK(dcmp_module_descriptor.abi_version == DCMP_ABI_VERSION);
    CHECK(dcmp_module_descriptor.size == sizeof(dcmp_module));
    CHECK_STR(dcmp_module_descriptor.name, "unit");
    CHECK_STR(dcmp_module_descriptor.version, "9.9.9");
    CHECK(dcmp_loader_check(&dcmp_module_descriptor, "self", err) == 0);
    fn = dcmp_loader_function(&dcmp_module_descriptor, "self", "worker", err);
    CHECK(fn == worker);
    CHECK(fn != NULL && fn(NULL) == DCMP_SKIP);
    CHECK(dcmp_loader_function(&dcmp_module_descriptor, "self", "fn_a", err) == fn_a);
    CHECK(dcmp_module_descriptor.functions[2].name == NULL);
    CHECK(dcmp_module_descriptor.functions[2].fn == NULL);
    CHECK_STR(DCMP_MODULE_SYMBOL, "dcmp_module_descriptor");
}

int main(void)
{
    root = getenv("DCMP_TEST_MODULES");
    if (root == NULL || *root == '\0') {
        fprintf(stderr, "DCMP_TEST_MODULES is not set: run through ctest\n");
        return 1;
    }
    RUN(test_open_noop);
    RUN(test_open_calls);
    RUN(test_open_twice);
    RUN(test_open_bad_abi);
    RUN(test_open_no_function);
    RUN(test_open_no_descriptor);
    RUN(test_open_missing);
    RUN(test_open_bad_name);
    RUN(test_open_failure_resets);
    RUN(test_open_not_a_library);
    RUN(test_open_third_candidate);
    RUN(test_check);
    RUN(test_function);
    RUN(test_function_long_list);
    RUN(test_module_macro);
    return HARNESS_RESULT();
}
