/* nodesc.c -- a shared library that is no service: it exports no descriptor. */
#include <stdint.h>

__attribute__((visibility("default"))) int32_t nodesc_worker(void);

int32_t nodesc_worker(void)
{
    return 0;
}
