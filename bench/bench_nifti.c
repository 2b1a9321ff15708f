/* bench_nifti.c -- milliseconds per slice of storageManager's NIfTI -> DICOM conversion:
 * bench_nifti [NX NY NZ] (default 256 256 64, float32), written and converted in a temp folder. */
#include <nifti2_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "nifti2dcm.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int64_t nx = argc > 3 ? strtol(argv[1], NULL, 10) : 256;
    int64_t ny = argc > 3 ? strtol(argv[2], NULL, 10) : 256;
    int64_t nz = argc > 3 ? strtol(argv[3], NULL, 10) : 64;
    int64_t dims[8] = {3, nx, ny, nz, 1, 1, 1, 1}, i;
    char dir[] = "/tmp/bench-n2d-XXXXXX", path[256], err[N2D_ERR_LEN];
    n2d_options opt = {NULL, NULL, "nifti", "PACS"};
    nifti_image *nim;
    double t0, t1;
    int n;

    if (mkdtemp(dir) == NULL || (nim = nifti_make_new_nim(dims, DT_FLOAT32, 1)) == NULL)
        return 1;
    for (i = 0; i < nx * ny * nz; i++)
        ((float *)nim->data)[i] = (float)(i % 4096) * 0.37f - 1000.0f;
    snprintf(path, sizeof path, "%s/v.nii.gz", dir);
    nifti_set_filenames(nim, path, 0, 1);
    nifti_image_write(nim);
    nifti_image_free(nim);
    t0 = now_ms();
    n = n2d_convert(path, dir, &opt, err);
    t1 = now_ms();
    if (n < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("nifti export: %d slices of %lldx%lld float32 in %.1f ms: %.2f ms per slice "
           "(read + gunzip, scale, write)\n",
           n, (long long)nx, (long long)ny, t1 - t0, (t1 - t0) / n);
    for (i = 1; i <= n; i++) {
        snprintf(path, sizeof path, "%s/%05lld.dcm", dir, (long long)i);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/v.nii.gz", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}
