/* fuzz_manifest.c -- libFuzzer target: an image's file out of the engine's tar answer (tar.c)
 * and a MAP's manifest (manifest.c) take any bytes without reading past them; what they
 * return stays in bounds (the file within the bytes, the paths absolute and short). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so that AddressSanitizer sees any read past them */
    unsigned char *buf = malloc(size ? size : 1);
    char err[DCMP_ERR_LEN];
    const unsigned char *file;
    dcmp_manifest m;
    size_t len;

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    if (dcmp_tar_file(buf, size, DCMP_MANIFEST_MAX, &file, &len, err) == 0 &&
        (file < buf || file + len > buf + size))
        abort();
    if (dcmp_manifest_parse((const char *)buf, size, &m, err) == 0) {
        if (m.input[0] != '/' || m.output[0] != '/' || strlen(m.input) >= DCMP_MANIFEST_PATH ||
            m.nwords > DCMP_MANIFEST_WORDS || m.timeout < 0)
            abort();
        dcmp_manifest_free(&m);
    }
    free(buf);
    return 0;
}
