/* test_abi.c -- pins the service ABI's layout, constants and DCMP_HAS. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "dcmp/service.h"
#include "harness.h"

/*
 * The literals below are the layout on x86_64 (LP64: 8-byte pointers, 4-byte uint32_t).
 * Service libraries built against an older header rely on them. Changing any of them is
 * an ABI break: it requires DCMP_ABI_VERSION to change (and these literals with it).
 * Appending a member to dcmp_host or dcmp_call only grows the sizeof; the offsets of the
 * existing members must never move.
 */

static void test_version(void)
{
    CHECK(DCMP_ABI_VERSION == 1u);
    CHECK(sizeof(DCMP_ABI_VERSION) == sizeof(unsigned int));
    CHECK_STR(DCMP_MODULE_SYMBOL, "dcmp_module_descriptor");
}

static void test_constants(void)
{
    CHECK(DCMP_OK == 0);
    CHECK(DCMP_SKIP == 1);
    CHECK(DCMP_ERROR == 2);
    CHECK(DCMP_LOG_DEBUG == 0);
    CHECK(DCMP_LOG_INFO == 1);
    CHECK(DCMP_LOG_WARN == 2);
    CHECK(DCMP_LOG_ERROR == 3);
}

static void test_host_layout(void)
{
    CHECK(sizeof(dcmp_host) == 32);
    CHECK(alignof(dcmp_host) == 8);
    CHECK(offsetof(dcmp_host, abi_version) == 0);
    CHECK(offsetof(dcmp_host, size) == 4);
    CHECK(offsetof(dcmp_host, log) == 8);
    CHECK(offsetof(dcmp_host, set_result) == 16);
    CHECK(offsetof(dcmp_host, set_error) == 24);
    CHECK(sizeof(((dcmp_host *)0)->abi_version) == 4);
    CHECK(sizeof(((dcmp_host *)0)->size) == 4);
}

static void test_call_layout(void)
{
    CHECK(sizeof(dcmp_call) == 72);
    CHECK(alignof(dcmp_call) == 8);
    CHECK(offsetof(dcmp_call, abi_version) == 0);
    CHECK(offsetof(dcmp_call, size) == 4);
    CHECK(offsetof(dcmp_call, job_name) == 8);
    CHECK(offsetof(dcmp_call, job_id) == 16);
    CHECK(offsetof(dcmp_call, headers) == 24);
    CHECK(offsetof(dcmp_call, params) == 32);
    CHECK(offsetof(dcmp_call, added_params) == 40);
    CHECK(offsetof(dcmp_call, data_dir) == 48);
    CHECK(offsetof(dcmp_call, host) == 56);
    CHECK(offsetof(dcmp_call, host_data) == 64);
    CHECK(sizeof(((dcmp_call *)0)->abi_version) == 4);
    CHECK(sizeof(((dcmp_call *)0)->size) == 4);
}

static void test_module_layout(void)
{
    CHECK(sizeof(dcmp_module) == 32);
    CHECK(alignof(dcmp_module) == 8);
    CHECK(offsetof(dcmp_module, abi_version) == 0);
    CHECK(offsetof(dcmp_module, size) == 4);
    CHECK(offsetof(dcmp_module, name) == 8);
    CHECK(offsetof(dcmp_module, version) == 16);
    CHECK(offsetof(dcmp_module, functions) == 24);
    CHECK(sizeof(((dcmp_module *)0)->abi_version) == 4);
    CHECK(sizeof(((dcmp_module *)0)->size) == 4);
}

static void test_function_layout(void)
{
    CHECK(sizeof(dcmp_function) == 16);
    CHECK(offsetof(dcmp_function, name) == 0);
    CHECK(offsetof(dcmp_function, fn) == 8);
    CHECK(sizeof(dcmp_fn) == 8);
    /* the return value crosses the boundary as int32_t */
    CHECK(sizeof(dcmp_status) == 4);
}

/* A host built from an older header: its size ends before the later members. */
static void test_has_host(void)
{
    dcmp_host h = {DCMP_ABI_VERSION, (uint32_t)sizeof(dcmp_host), NULL, NULL, NULL};

    CHECK(DCMP_HAS(&h, dcmp_host, abi_version));
    CHECK(DCMP_HAS(&h, dcmp_host, log));
    CHECK(DCMP_HAS(&h, dcmp_host, set_result));
    CHECK(DCMP_HAS(&h, dcmp_host, set_error));

    /* set_error ends at 32: 31 bytes do not hold it */
    h.size = (uint32_t)offsetof(dcmp_host, set_error) + 7;
    CHECK(DCMP_HAS(&h, dcmp_host, set_result));
    CHECK(!DCMP_HAS(&h, dcmp_host, set_error));
    h.size = (uint32_t)offsetof(dcmp_host, set_error);
    CHECK(DCMP_HAS(&h, dcmp_host, set_result));
    CHECK(!DCMP_HAS(&h, dcmp_host, set_error));
    h.size = (uint32_t)offsetof(dcmp_host, set_result);
    CHECK(DCMP_HAS(&h, dcmp_host, log));
    CHECK(!DCMP_HAS(&h, dcmp_host, set_result));
    CHECK(!DCMP_HAS(&h, dcmp_host, set_error));
    h.size = 8;
    CHECK(DCMP_HAS(&h, dcmp_host, size));
    CHECK(!DCMP_HAS(&h, dcmp_host, log));
    h.size = 0;
    CHECK(!DCMP_HAS(&h, dcmp_host, abi_version));
    /* a newer, larger host still has everything */
    h.size = (uint32_t)sizeof(dcmp_host) + 64;
    CHECK(DCMP_HAS(&h, dcmp_host, set_error));
}

static void test_has_call(void)
{
    dcmp_call c = {0};

    c.size = (uint32_t)sizeof(dcmp_call);
    CHECK(DCMP_HAS(&c, dcmp_call, host_data));
    c.size = (uint32_t)offsetof(dcmp_call, host_data);
    CHECK(DCMP_HAS(&c, dcmp_call, host));
    CHECK(!DCMP_HAS(&c, dcmp_call, host_data));
    c.size = (uint32_t)offsetof(dcmp_call, data_dir) + 4;
    CHECK(DCMP_HAS(&c, dcmp_call, added_params));
    CHECK(!DCMP_HAS(&c, dcmp_call, data_dir));
    CHECK(!DCMP_HAS(&c, dcmp_call, host));
}

int main(void)
{
    RUN(test_version);
    RUN(test_constants);
    RUN(test_host_layout);
    RUN(test_call_layout);
    RUN(test_module_layout);
    RUN(test_function_layout);
    RUN(test_has_host);
    RUN(test_has_call);
    return HARNESS_RESULT();
}
