/* test_holds.c -- a study's held files in a real Redis: the quiet note of its rerun window, and
 * the release claimed against a study event being planned (pin), both ways round. */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "holds.h"
#include "redis.h"
#include "studies.h"

static fixture f;

/* Series `series` of study st joins it (its event unknown: planned and ended). */
static void join(const char *series)
{
    CHECK(dcmp_studies_series(f.q, dcmp_level_named("study"), "st", series,
                              "{\"event\":\"none\",\"uid\":\"1.2\",\"dcmpath\":\"dicom/x\"}", "{}",
                              16, 3600) == 0);
}

/* Redis' time the study's state is read at now. */
static int64_t read_at(void)
{
    cJSON *state = NULL;
    int64_t at;

    CHECK(dcmp_studies_load(f.q, dcmp_level_named("study"), "st", &state) == 0);
    at = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(state, "loaded"));
    cJSON_Delete(state);
    return at;
}

static void set_state(const char *event, const char *state)
{
    redisContext *c = redisConnect("127.0.0.1", f.port);
    redisReply *r =
        c && !c->err ? redisCommand(c, "HSET dcmp:event:%s state %s", event, state) : NULL;

    CHECK(r != NULL);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
}

/* The window's start: noted once from a read that saw the study quiet, kept by later notes,
 * removed by a join; a read older than the last join notes nothing. */
static void test_quiet_note(void)
{
    const dcmp_level *L = dcmp_level_named("study");
    int64_t since, later, quiet = -1;
    dcmp_holds h;

    join("s1");
    CHECK(dcmp_holds_add(f.q, L, "st", "dicom/s1", 3600) == 0);
    since = read_at();
    CHECK(dcmp_holds_quiet(f.q, L, "st", since, &quiet) == 0 && quiet == since);
    later = read_at();
    CHECK(dcmp_holds_quiet(f.q, L, "st", later, &quiet) == 0 && quiet == since);
    CHECK(dcmp_holds_load(f.q, L, "st", later, &h) == 0);
    CHECK(h.n == 1 && h.ended && !h.releasing && h.quiet_ms == since);
    dcmp_holds_clear(&h);
    join("s2"); /* news: the note goes, and a read from before it notes nothing */
    CHECK(dcmp_holds_load(f.q, L, "st", later, &h) == 0 && h.quiet_ms == 0);
    dcmp_holds_clear(&h);
    CHECK(dcmp_holds_quiet(f.q, L, "st", later, &quiet) == 0 && quiet == 0);
    CHECK(dcmp_holds_claim(f.q, L, "st", later) == 0); /* nor claims a release */
    /* a path held again after a read is not that read's to release */
    CHECK(dcmp_holds_again(f.q, L, "st", "dicom/s1", later) == 0);
    CHECK(dcmp_holds_add(f.q, L, "st", "dicom/s1", 3600) == 0);
    CHECK(dcmp_holds_again(f.q, L, "st", "dicom/s1", later) == 1);
}

/* A study event pinned before the claim keeps the release from beginning until it is over; a
 * claim made first makes the next pin wait until the release ended. */
static void test_pin_and_claim(void)
{
    const dcmp_level *L = dcmp_level_named("study");
    char dup[DCMP_ID_LEN];
    int64_t since;
    dcmp_holds h;

    CHECK(dcmp_studies_accept(f.q, L, "ev-1", "st", "", "{}", "watch", 3600, dup) == 1);
    CHECK(dcmp_holds_pin(f.q, L, "st", "ev-1") == 1);
    since = read_at();
    CHECK(dcmp_holds_load(f.q, L, "st", since, &h) == 0 && h.n == 1 && !h.ended);
    dcmp_holds_clear(&h);
    CHECK(dcmp_holds_claim(f.q, L, "st", since) == 0); /* being planned */
    set_state("ev-1", "planning");
    CHECK(dcmp_holds_claim(f.q, L, "st", since) == 0);
    set_state("ev-1", "ignored"); /* over, with nothing planned: its pin goes */
    CHECK(dcmp_holds_claim(f.q, L, "st", since) == 1);
    CHECK(dcmp_holds_load(f.q, L, "st", since, &h) == 0 && h.ended && h.releasing);
    dcmp_holds_clear(&h);
    CHECK(dcmp_holds_pin(f.q, L, "st", "ev-2") == 0); /* a release runs: the event waits */
    CHECK(dcmp_holds_released(f.q, L, "st") == 0);
    CHECK(dcmp_holds_pin(f.q, L, "st", "ev-2") == 1);
    CHECK(dcmp_holds_load(f.q, L, "st", since, &h) == 0 && !h.releasing);
    dcmp_holds_clear(&h);
}

int main(void)
{
    if (fixture_start(&f) < 0)
        return 1;
    RUN(test_quiet_note);
    RUN(test_pin_and_claim);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
