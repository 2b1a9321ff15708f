/* badabi.c -- a library built for an ABI version this host does not speak. */
#include "dcmp/service.h"

static int32_t worker(const dcmp_call *call)
{
    (void)call;
    return DCMP_OK;
}

static const dcmp_function functions[] = {DCMP_FUNCTION(worker), {NULL, NULL}};

DCMP_EXPORT extern const dcmp_module dcmp_module_descriptor;
const dcmp_module dcmp_module_descriptor = {DCMP_ABI_VERSION + 98, (uint32_t)sizeof(dcmp_module),
                                            "badabi", "0.0.1", functions};
