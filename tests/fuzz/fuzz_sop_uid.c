/* fuzz_sop_uid.c -- libFuzzer target: a DICOM file's SOP Instance UID read from its meta group
 * (container inputs) takes any bytes without reading past them, and what it returns is a UID. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iface.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char uid[DCMP_IFACE_UID_LEN];
    /* a copy of exactly size bytes, so that AddressSanitizer sees any read past them */
    unsigned char *buf = malloc(size ? size : 1);

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    if (dcmp_iface_sop_uid(buf, size, uid) == 0 &&
        (uid[0] == '\0' || strlen(uid) >= DCMP_IFACE_UID_LEN ||
         strspn(uid, "0123456789.") != strlen(uid)))
        abort();
    free(buf);
    return 0;
}
