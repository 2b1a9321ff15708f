/* test_throttle.c -- unit tests of the per-client token buckets: burst, refill, the wait
 * until the next token, logging once per window, keys apart, a full table. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "throttle.h"

/* 10 a second, 20 at once: the burst, then one every 100 ms. */
static void test_burst_and_refill(void)
{
    dcmp_throttle *t = dcmp_throttle_new(10, 1000, 20, 60000, 42);
    dcmp_throttle_verdict v;
    int i, allowed = 0;

    CHECK(t != NULL);
    for (i = 0; i < 25; i++)
        allowed += dcmp_throttle_take(t, "10.0.0.1", 5000).allowed;
    CHECK(allowed == 20);
    v = dcmp_throttle_take(t, "10.0.0.1", 5000);
    CHECK(!v.allowed && v.retry_ms == 100);
    v = dcmp_throttle_take(t, "10.0.0.1", 5060);
    CHECK(!v.allowed && v.retry_ms == 40);
    CHECK(dcmp_throttle_take(t, "10.0.0.1", 5100).allowed);
    CHECK(!dcmp_throttle_take(t, "10.0.0.1", 5100).allowed);
    /* another client has its own bucket */
    CHECK(dcmp_throttle_take(t, "10.0.0.2", 5100).allowed);
    /* 2 s later: full again, not more */
    allowed = 0;
    for (i = 0; i < 30; i++)
        allowed += dcmp_throttle_take(t, "10.0.0.1", 8000).allowed;
    CHECK(allowed == 20);
    /* a clock that goes back takes nothing away and gives nothing */
    CHECK(!dcmp_throttle_take(t, "10.0.0.1", 7000).allowed);
    dcmp_throttle_free(t);
}

/* A refusal is to be logged once per window, whatever the number of refusals. */
static void test_log_once(void)
{
    dcmp_throttle *t = dcmp_throttle_new(1, 1000, 1, 60000, 7);
    int logs = 0, i;

    CHECK(dcmp_throttle_take(t, "a", 0).allowed);
    for (i = 0; i < 100; i++) {
        dcmp_throttle_verdict v = dcmp_throttle_take(t, "a", i * 5);
        CHECK(!v.allowed);
        logs += v.log;
    }
    CHECK(logs == 1);
    /* a minute later, refused again: logged again */
    CHECK(dcmp_throttle_take(t, "a", 60000).allowed);
    CHECK(dcmp_throttle_take(t, "a", 60001).log == 1);
    CHECK(dcmp_throttle_take(t, "a", 60002).log == 0);
    dcmp_throttle_free(t);
}

/* check looks without taking: the login's way (a token goes only with a wrong password). */
static void test_check(void)
{
    dcmp_throttle *t = dcmp_throttle_new(3, 60000, 3, 60000, 1);
    int i;

    for (i = 0; i < 10; i++)
        CHECK(dcmp_throttle_check(t, "192.0.2.9", 1000).allowed);
    for (i = 0; i < 3; i++)
        CHECK(dcmp_throttle_take(t, "192.0.2.9", 1000).allowed);
    CHECK(!dcmp_throttle_check(t, "192.0.2.9", 1000).allowed);
    CHECK(dcmp_throttle_check(t, "192.0.2.9", 1000).retry_ms == 20000);
    CHECK(dcmp_throttle_check(t, "192.0.2.9", 21000).allowed);
    dcmp_throttle_free(t);
}

/* Many more clients than slots: every call still answers, a busy client keeps its count
 * while idle ones come and go, and the work per call stays bounded (timed loosely). */
static void test_full_table(void)
{
    dcmp_throttle *t = dcmp_throttle_new(1, 1000, 2, 60000, 99);
    char key[32];
    int i, allowed = 0;

    CHECK(dcmp_throttle_take(t, "busy", 0).allowed);
    CHECK(dcmp_throttle_take(t, "busy", 0).allowed);
    for (i = 0; i < 200000; i++) {
        snprintf(key, sizeof key, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        allowed += dcmp_throttle_take(t, key, 0).allowed;
    }
    CHECK(allowed == 200000); /* each new client starts with a full bucket */
    /* "busy" may have been replaced by then (its slots all refilled clients); it is never
     * given more than its burst at once */
    allowed = 0;
    for (i = 0; i < 5; i++)
        allowed += dcmp_throttle_take(t, "busy", 0).allowed;
    CHECK(allowed <= 2);
    dcmp_throttle_free(t);
}

static void test_bad_parameters(void)
{
    CHECK(dcmp_throttle_new(0, 1000, 1, 1000, 0) == NULL);
    CHECK(dcmp_throttle_new(1, 0, 1, 1000, 0) == NULL);
    CHECK(dcmp_throttle_new(1, 1000, 0, 1000, 0) == NULL);
    CHECK(dcmp_throttle_new(1, 1000, 2000000000, 1000, 0) == NULL);
}

int main(void)
{
    RUN(test_burst_and_refill);
    RUN(test_log_once);
    RUN(test_check);
    RUN(test_full_table);
    RUN(test_bad_parameters);
    return HARNESS_RESULT();
}
