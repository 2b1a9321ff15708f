/* trigger_entry.h -- for the unit tests of triggers: an entry text read into a dcmp_trigger. */
#ifndef DCMP_TEST_TRIGGER_ENTRY_H
#define DCMP_TEST_TRIGGER_ENTRY_H

#include <cjson/cJSON.h>

#include "harness.h"
#include "trigger.h"

/* The trigger of an entry text (which must be valid). */
static cJSON *entry_of(const char *text, dcmp_trigger *t)
{
    cJSON *e = cJSON_Parse(text);
    const char *field = NULL;
    char why[DCMP_ERR_LEN] = "";

    CHECK(e != NULL);
    CHECK(dcmp_trigger_read(e, t, &field, why) == 0);
    if (why[0])
        fprintf(stderr, "  %s: %s\n", field, why);
    return e;
}

#endif
