/* test_nifti.c -- storageManager's NIfTI -> DICOM conversion: a NIfTI of known geometry and
 * values becomes a series whose positions, orientation, spacing and rescaled pixels match,
 * read back with DCMTK; integer data kept as it is; the private block and tags set. */
#include <math.h>
#include <nifti2_io.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "ctp.h"
#include "harness.h"
#include "nifti2dcm.h"

static char dir[64];

static char *val(const char *file, uint32_t tag)
{
    static char out[4096];
    char path[256], err[CTP_ERR_LEN], *v = NULL;

    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (ctp_file_value(path, tag, &v, err) != 1)
        return NULL;
    snprintf(out, sizeof out, "%s", v);
    free(v);
    return out;
}

/* Pixel (r, c) of a 16-bit image, from dcmdump's OW line: hex words joined by '\'. */
static long pixel(const char *file, int r, int c, int cols)
{
    char path[256], dump[256], line[8192], *p = NULL;
    char *argv[] = {"dcmdump", "-q", "+L", path, NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    FILE *f;
    int i, st;

    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(dump, sizeof dump, "%s/dump.txt", dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, dump, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawnp(&pid, "dcmdump", &fa, NULL, argv, environ) != 0)
        return -1;
    posix_spawn_file_actions_destroy(&fa);
    waitpid(pid, &st, 0);
    if ((f = fopen(dump, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "(7fe0,0010) OW ", 15) == 0) {
            p = line + 15;
            break;
        }
    fclose(f);
    unlink(dump);
    for (i = 0; p && i < r * cols + c; i++)
        p = strchr(p, '\\') ? strchr(p, '\\') + 1 : NULL;
    return p ? strtol(p, NULL, 16) : -1;
}

static nifti_image *volume(int dt)
{
    int64_t dims[8] = {3, 4, 3, 2, 1, 1, 1, 1};
    nifti_image *nim = nifti_make_new_nim(dims, dt, 1);
    int i, j, k;

    /* i: 2 mm to the right, j: 3 mm anterior, k: 5 mm superior, origin (10, 20, 30) RAS */
    memset(&nim->sto_xyz, 0, sizeof nim->sto_xyz);
    nim->sto_xyz.m[0][0] = 2;
    nim->sto_xyz.m[1][1] = 3;
    nim->sto_xyz.m[2][2] = 5;
    nim->sto_xyz.m[0][3] = 10;
    nim->sto_xyz.m[1][3] = 20;
    nim->sto_xyz.m[2][3] = 30;
    nim->sto_xyz.m[3][3] = 1;
    nim->sform_code = 1;
    nim->qform_code = 0;
    for (k = 0; k < 2; k++)
        for (j = 0; j < 3; j++)
            for (i = 0; i < 4; i++) {
                size_t at = (size_t)(k * 12 + j * 4 + i);
                if (dt == DT_FLOAT32)
                    ((float *)nim->data)[at] = (float)(i + 10 * j + 100 * k) + 0.5f;
                else
                    ((int16_t *)nim->data)[at] = (int16_t)(i + 10 * j + 100 * k - 50);
            }
    return nim;
}

static void write_nifti(nifti_image *nim, const char *name)
{
    char path[128];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    nifti_set_filenames(nim, path, 0, 1);
    nifti_image_write(nim);
    nifti_image_free(nim);
}

static void test_float_geometry(void)
{
    char err[N2D_ERR_LEN], path[128];
    n2d_options opt = {NULL,
                       "{\"Series Description\":\"Segmentation\",\"Modality\":\"SEG\","
                       "\"BodyPartExamined\":\"HEAD\"}",
                       "nifti", "PACS1"};
    double slope, inter;
    int r, c;

    write_nifti(volume(DT_FLOAT32), "f.nii.gz");
    snprintf(path, sizeof path, "%s/f.nii.gz", dir);
    CHECK(n2d_convert(path, dir, &opt, err) == 2);
    CHECK_STR(val("00001.dcm", 0x00200032), "-10\\-20\\30"); /* LPS */
    CHECK_STR(val("00002.dcm", 0x00200032), "-10\\-20\\35");
    CHECK_STR(val("00001.dcm", 0x00200037), "-1\\0\\0\\0\\-1\\0");
    CHECK_STR(val("00001.dcm", 0x00280030), "3\\2"); /* row spacing (j), column spacing (i) */
    CHECK_STR(val("00001.dcm", 0x00180050), "5");
    CHECK_STR(val("00001.dcm", 0x00280010), "3"); /* Rows = ny */
    CHECK_STR(val("00001.dcm", 0x00280011), "4"); /* Columns = nx */
    CHECK_STR(val("00002.dcm", 0x00200013), "2");
    CHECK_STR(val("00001.dcm", 0x0008103E), "Segmentation");
    CHECK_STR(val("00001.dcm", 0x00080060), "SEG");
    CHECK_STR(val("00001.dcm", 0x00180015), "HEAD");
    CHECK_STR(val("00001.dcm", 0x04050010), "DCM-PROCESSOR");
    CHECK_STR(val("00001.dcm", 0x04051001), "store-data");
    CHECK_STR(val("00001.dcm", 0x04051003), "nifti");
    CHECK_STR(val("00001.dcm", 0x04051005), "dcm-processor");
    CHECK_STR(val("00001.dcm", 0x04051007), "PACS1");
    {
        char uid1[128];
        snprintf(uid1, sizeof uid1, "%s", val("00001.dcm", 0x0020000E));
        CHECK_STR(val("00002.dcm", 0x0020000E), uid1); /* one new series */
    }
    slope = strtod(val("00001.dcm", 0x00281053), NULL);
    inter = strtod(val("00001.dcm", 0x00281052), NULL);
    CHECK(fabs(inter - 0.5) < 1e-6);
    for (r = 0; r < 3; r++)
        for (c = 0; c < 4; c++) {
            double want = c + 10 * r + 100 + 0.5, got = pixel("00002.dcm", r, c, 4) * slope + inter;
            CHECK(fabs(got - want) <= slope / 2 + 1e-6);
        }
}

static void test_int16_kept(void)
{
    char err[N2D_ERR_LEN], path[128];
    n2d_options opt = {NULL, NULL, "nifti", "PACS1"};

    write_nifti(volume(DT_INT16), "i.nii");
    snprintf(path, sizeof path, "%s/i.nii", dir);
    CHECK(n2d_convert(path, dir, &opt, err) == 2);
    CHECK_STR(val("00001.dcm", 0x00280103), "1"); /* signed */
    CHECK_STR(val("00001.dcm", 0x00281053), "1");
    CHECK_STR(val("00001.dcm", 0x00281052), "0");
    CHECK_STR(val("00001.dcm", 0x0008103E), "Processed Information");
    CHECK(pixel("00001.dcm", 0, 0, 4) == 0xffce); /* -50 */
    CHECK(pixel("00002.dcm", 2, 3, 4) == 73);     /* 3 + 20 + 100 - 50 */
    CHECK(n2d_convert("/nonexistent.nii", dir, &opt, err) < 0);
    CHECK_CONTAINS(err, "not a NIfTI file");
    opt.tags = "{\"NoSuchKeyword\":\"x\"}";
    CHECK(n2d_convert(path, dir, &opt, err) < 0);
    CHECK_CONTAINS(err, "\"NoSuchKeyword\" is not a DICOM keyword");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dcmp-n2d-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    RUN(test_float_geometry);
    RUN(test_int16_kept);
    if (harness_failed == 0) {
        char p[128];
        const char *names[] = {"00001.dcm", "00002.dcm", "f.nii.gz", "i.nii"};
        for (int i = 0; i < 4; i++) {
            snprintf(p, sizeof p, "%s/%s", dir, names[i]);
            unlink(p);
        }
        rmdir(dir);
    }
    return HARNESS_RESULT();
}
