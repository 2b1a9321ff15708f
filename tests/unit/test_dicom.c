/* test_dicom.c -- unit tests of the DICOM header reader on files made at run time by dump2dcm. */
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "dicom.h"
#include "harness.h"

extern char **environ;

static char tmp_dir[64];
static int have_dump2dcm = 1;

/* The shared part of every slice of the test series. */
#define STUDY_UID  "1.2.826.0.1.3680043.9999.1"
#define SERIES_UID "1.2.826.0.1.3680043.9999.1.2"

/* Writes len bytes to path; returns 0 or -1. */
static int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return -1;
    ok = fwrite(data, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Reads a whole file (at most 1 MB) into a new buffer (free); *len gets its size. */
static unsigned char *read_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = malloc(1 << 20);

    *len = 0;
    if (f == NULL || buf == NULL) {
        if (f != NULL)
            fclose(f);
        free(buf);
        return NULL;
    }
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* Runs "dump2dcm -q [extra] dump out" (no shell); returns its exit status, or -1. */
static int dump2dcm(const char *dump, const char *out, const char *extra)
{
    char *argv[8];
    int argc = 0, status;
    pid_t pid;

    argv[argc++] = "dump2dcm";
    argv[argc++] = "-q";
    argv[argc++] = "+l"; /* long lines: values longer than 4096 bytes */
    argv[argc++] = "200000";
    if (extra != NULL)
        argv[argc++] = (char *)extra;
    argv[argc++] = (char *)dump;
    argv[argc++] = (char *)out;
    argv[argc] = NULL;
    if (posix_spawnp(&pid, "dump2dcm", NULL, NULL, argv, environ) != 0)
        return -1;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* Writes the dump text to <out>.dump and converts it to out with dump2dcm; returns 0 or -1. */
static int make_dicom(const char *out, const char *extra, const char *text)
{
    char dump[512];

    snprintf(dump, sizeof dump, "%s.dump", out);
    if (write_bytes(dump, text, strlen(text)) != 0)
        return -1;
    if (dump2dcm(dump, out, extra) != 0) {
        fprintf(stderr, "  dump2dcm failed on %s\n", dump);
        return -1;
    }
    unlink(dump);
    return 0;
}

/* A slice of the test series: InstanceNumber number (none when number < 0), ImagePositionPatient
 * 0\0\z, with a sequence, private tags, numbers of several VRs and 4x4 pixels; option is
 * one more dump2dcm option (a transfer syntax) or NULL. */
static int make_slice(const char *path, int number, const char *z, const char *option)
{
    char text[4096], in[64] = "";

    if (number >= 0)
        snprintf(in, sizeof in, "(0020,0013) IS [%d]\n", number);
    snprintf(text, sizeof text,
             "(0008,0005) CS [ISO_IR 192]\n"
             "(0008,0016) UI =CTImageStorage\n"
             "(0008,0018) UI [" SERIES_UID ".%d]\n"
             "(0008,0060) CS [CT]\n"
             "(0008,0090) PN []\n"
             "(0008,103e) LO [Chest 1mm]\n"
             "(0008,1140) SQ (Sequence with undefined length #=1)\n"
             "  (fffe,e000) na (Item with undefined length #=2)\n"
             "    (0008,1150) UI =CTImageStorage\n"
             "    (0008,1155) UI [1.2.826.0.1.3680043.9999.7]\n"
             "  (fffe,e00d) na (ItemDelimitationItem)\n"
             "(fffe,e0dd) na (SequenceDelimitationItem)\n"
             "(0009,0010) LO [ACME 1.1]\n"
             "(0009,1001) LO [secret]\n"
             "(0010,0010) PN [Doe^John]\n"
             "(0010,0020) LO [PID123]\n"
             "(0010,9431) FL 0.1\n"
             "(0018,0050) DS [2.5]\n"
             "(0018,1310) US 0\\4\\4\\0\n"
             "(0018,6020) SL -5\n"
             "(0018,9306) FD 0.1\\2.5\n"
             "(0020,000d) UI [" STUDY_UID "]\n"
             "(0020,000e) UI [" SERIES_UID "]\n"
             "%s"
             "(0020,0032) DS [0\\0\\%s]\n"
             "(0028,0002) US 1\n"
             "(0028,0004) CS [MONOCHROME2]\n"
             "(0028,0009) AT (0018,1063)\n"
             "(0028,0010) US 4\n"
             "(0028,0011) US 4\n"
             "(0028,0030) DS [0.5\\0.5]\n"
             "(0028,0100) US 16\n"
             "(0028,0101) US 16\n"
             "(0028,0102) US 15\n"
             "(0028,0103) US 0\n"
             "(7fe0,0010) OW 0000\\0001\\0002\\0003\\0004\\0005\\0006\\0007"
             "\\0008\\0009\\000a\\000b\\000c\\000d\\000e\\000f\n",
             number < 0 ? 999 : number, in, z);
    return make_dicom(path, option, text);
}

/* tmp_dir/name into buf[size]. */
static const char *tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmp_dir, name);
    return buf;
}

/* The string value of key in obj, or NULL. */
static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Expects dcmp_dicom_read_header(path) to fail with a message holding path and reason. */
static void read_fails(const char *path, const char *reason)
{
    char err[DCMP_ERR_LEN] = "";
    cJSON *out = (cJSON *)&out; /* must be reset to NULL */

    CHECK(dcmp_dicom_read_header(path, &out, err) == -1);
    CHECK(out == NULL);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, reason);
}

/* Expects dcmp_dicom_parse_header on the file's bytes to fail with reason. */
static void parse_fails(const char *path, const char *reason)
{
    char err[DCMP_ERR_LEN] = "";
    size_t len;
    unsigned char *data = read_bytes(path, &len);
    cJSON *out = NULL;

    CHECK(data != NULL);
    CHECK(dcmp_dicom_parse_header(data, len, &out, err) == -1);
    CHECK(out == NULL);
    CHECK_CONTAINS(err, "(memory, ");
    CHECK_CONTAINS(err, reason);
    free(data);
}

static void test_dump2dcm(void)
{
    char path[256];

    have_dump2dcm = make_slice(tmp_path(path, sizeof path, "probe.dcm"), 1, "0", NULL) == 0;
    if (!have_dump2dcm)
        fprintf(stderr, "  dump2dcm (Debian package dcmtk) is needed to make the test files\n");
    CHECK(have_dump2dcm);
}

static void test_header(void)
{
    char path[256], err[DCMP_ERR_LEN] = "";
    cJSON *h = NULL, *seq, *item, *v;

    if (!have_dump2dcm)
        return;
    CHECK(make_slice(tmp_path(path, sizeof path, "one.dcm"), 7, "2.5", NULL) == 0);
    CHECK(dcmp_dicom_read_header(path, &h, err) == 0);
    if (h == NULL) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK(cJSON_IsObject(h));
    CHECK_STR(str(h, "SpecificCharacterSet"), "ISO_IR 192");
    CHECK_STR(str(h, "SOPClassUID"), "1.2.840.10008.5.1.4.1.1.2");
    CHECK_STR(str(h, "SOPInstanceUID"), SERIES_UID ".7");
    CHECK_STR(str(h, "StudyInstanceUID"), STUDY_UID);
    CHECK_STR(str(h, "SeriesInstanceUID"), SERIES_UID);
    CHECK_STR(str(h, "Modality"), "CT");
    CHECK_STR(str(h, "SeriesDescription"), "Chest 1mm");
    CHECK_STR(str(h, "PatientName"), "Doe^John");
    CHECK_STR(str(h, "PatientID"), "PID123");
    CHECK_STR(str(h, "ReferringPhysicianName"), "");
    CHECK_STR(str(h, "InstanceNumber"), "7");
    CHECK_STR(str(h, "ImagePositionPatient"), "0\\0\\2.5");
    CHECK_STR(str(h, "PixelSpacing"), "0.5\\0.5");
    CHECK_STR(str(h, "SliceThickness"), "2.5");
    CHECK_STR(str(h, "Rows"), "4");
    CHECK_STR(str(h, "Columns"), "4");
    CHECK_STR(str(h, "BitsStored"), "16");
    CHECK_STR(str(h, "AcquisitionMatrix"), "0\\4\\4\\0");
    CHECK_STR(str(h, "ReferencePixelX0"), "-5");
    CHECK_STR(str(h, "ExaminedBodyThickness"), "0.10000000149011612"); /* as Orthanc */
    CHECK_STR(str(h, "SingleCollimationWidth"), "0.10000000000000001\\2.5");
    CHECK_STR(str(h, "FrameIncrementPointer"), "0018,1063");
    /* left out: pixels, private tags and their creator, the meta header */
    CHECK(cJSON_GetObjectItemCaseSensitive(h, "PixelData") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(h, "PrivateCreator") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(h, "TransferSyntaxUID") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(h, "FileMetaInformationGroupLength") == NULL);
    cJSON_ArrayForEach(v, h)
    {
        CHECK(strstr(v->string, "Unknown") == NULL);
        if (!cJSON_IsString(v) && !cJSON_IsArray(v))
            fprintf(stderr, "  %s is neither a string nor an array\n", v->string);
        CHECK(cJSON_IsString(v) || cJSON_IsArray(v));
    }
    CHECK(cJSON_GetArraySize(h) == 28);
    /* the sequence: an array of objects */
    seq = cJSON_GetObjectItemCaseSensitive(h, "ReferencedImageSequence");
    CHECK(cJSON_IsArray(seq));
    CHECK(cJSON_GetArraySize(seq) == 1);
    item = cJSON_GetArrayItem(seq, 0);
    CHECK(cJSON_IsObject(item));
    CHECK_STR(str(item, "ReferencedSOPClassUID"), "1.2.840.10008.5.1.4.1.1.2");
    CHECK_STR(str(item, "ReferencedSOPInstanceUID"), "1.2.826.0.1.3680043.9999.7");
    CHECK(cJSON_GetArraySize(item) == 2);
    cJSON_Delete(h);
}

/* The memory entry point gives the same object as the file. */
static void test_parse_memory(void)
{
    char path[256], err[DCMP_ERR_LEN] = "";
    cJSON *a = NULL, *b = NULL;
    unsigned char *data;
    size_t len;

    if (!have_dump2dcm)
        return;
    CHECK(make_slice(tmp_path(path, sizeof path, "mem.dcm"), 3, "-1.25", NULL) == 0);
    CHECK(dcmp_dicom_read_header(path, &a, err) == 0);
    data = read_bytes(path, &len);
    CHECK(data != NULL && len > 132);
    CHECK(dcmp_dicom_parse_header(data, len, &b, err) == 0);
    CHECK(a != NULL && b != NULL && cJSON_Compare(a, b, 1));
    CHECK_STR(str(b, "ImagePositionPatient"), "0\\0\\-1.25");
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(data);
    CHECK(dcmp_dicom_parse_header(NULL, 0, &a, err) == -1);
    CHECK(a == NULL);
    CHECK_CONTAINS(err, "(memory, 0 bytes): empty");
}

/* Values longer than DCMTK keeps in memory while parsing (4096 bytes) are read on demand;
 * values over DCMP_DICOM_MAX_VALUE give null. Both from a file and from memory. */
static void test_long_values(void)
{
    char path[256], err[DCMP_ERR_LEN] = "";
    static char text[2 * DCMP_DICOM_MAX_VALUE + 4096];
    static char lt[5001], ut[DCMP_DICOM_MAX_VALUE + 2];
    cJSON *a = NULL, *b = NULL;
    unsigned char *data;
    size_t len;

    if (!have_dump2dcm)
        return;
    memset(lt, 'x', sizeof lt - 1);
    memset(ut, 'y', sizeof ut - 1);
    snprintf(text, sizeof text,
             "(0008,0016) UI =CTImageStorage\n"
             "(0008,0018) UI [1.2.3.4]\n"
             "(0020,4000) LT [%s]\n"
             "(0040,a160) UT [%s]\n",
             lt, ut);
    CHECK(make_dicom(tmp_path(path, sizeof path, "long.dcm"), NULL, text) == 0);
    CHECK(dcmp_dicom_read_header(path, &a, err) == 0);
    CHECK_STR(str(a, "ImageComments"), lt);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a, "TextValue")));
    data = read_bytes(path, &len);
    CHECK(dcmp_dicom_parse_header(data, len, &b, err) == 0);
    CHECK(a != NULL && b != NULL && cJSON_Compare(a, b, 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(data);
}

/* Appends one explicit VR little endian element to buf at *n (room assumed). */
static void put(unsigned char *buf, size_t *n, unsigned g, unsigned e, const char *vr,
                const void *value, size_t len)
{
    static const char long_vrs[] = "OB OD OF OL OV OW SQ SV UC UN UR UT UV";
    unsigned char *p = buf + *n;

    p[0] = (unsigned char)g, p[1] = (unsigned char)(g >> 8);
    p[2] = (unsigned char)e, p[3] = (unsigned char)(e >> 8);
    p[4] = (unsigned char)vr[0], p[5] = (unsigned char)vr[1];
    if (strstr(long_vrs, vr) != NULL) {
        p[6] = p[7] = 0;
        p[8] = (unsigned char)len, p[9] = (unsigned char)(len >> 8);
        p[10] = (unsigned char)(len >> 16), p[11] = (unsigned char)(len >> 24);
        *n += 12;
    } else {
        p[6] = (unsigned char)len, p[7] = (unsigned char)(len >> 8);
        *n += 8;
    }
    memcpy(buf + *n, value, len);
    *n += len;
}

/* Values written byte by byte, as dump2dcm would not: padding, UN, NUL, empty numbers. */
static void test_raw_values(void)
{
    static const unsigned char group_length[4] = {28, 0, 0, 0}, zero[4] = {0};
    static const unsigned char four[2] = {4, 0}, eight[2] = {8, 0};
    unsigned char buf[1024] = {0};
    char path[256], err[DCMP_ERR_LEN] = "";
    size_t n = 128;
    cJSON *h = NULL, *f = NULL, *v;

    memcpy(buf + n, "DICM", 4);
    n += 4;
    put(buf, &n, 0x0002, 0x0000, "UL", group_length, 4);
    put(buf, &n, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1", 20); /* with its NUL */
    put(buf, &n, 0x0008, 0x0000, "UL", zero, 4);
    put(buf, &n, 0x0008, 0x0008, "CS", "DERIVED \\PRIMARY", 16);
    put(buf, &n, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.7", 26);
    put(buf, &n, 0x0008, 0x0018, "UI", "1.2.3.55", 8);
    put(buf, &n, 0x0008, 0x1030, "LO", "  lead trail  ", 14);
    put(buf, &n, 0x0008, 0x9999, "LO", "unknown ", 8);
    put(buf, &n, 0x0009, 0x0010, "LO", "ACME", 4);
    put(buf, &n, 0x0009, 0x1001, "LO", "secret", 6);
    put(buf, &n, 0x0010, 0x0020, "UN", "PID7", 4);
    put(buf, &n, 0x0010, 0x1030, "DS", " 70.5 ", 6);
    put(buf, &n, 0x0010, 0x2160, "SH", "a\0b ", 4);
    put(buf, &n, 0x0028, 0x0010, "US", "", 0);
    put(buf, &n, 0x0028, 0x0011, "US", four, 2);
    put(buf, &n, 0x6000, 0x0010, "US", four, 2);
    put(buf, &n, 0x6002, 0x0010, "US", eight, 2);
    CHECK(n < sizeof buf);

    CHECK(dcmp_dicom_parse_header(buf, n, &h, err) == 0);
    if (h == NULL) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK_STR(str(h, "ImageType"), "DERIVED \\PRIMARY"); /* inner space kept, as Orthanc */
    CHECK_STR(str(h, "SOPClassUID"), "1.2.840.10008.5.1.4.1.1.7");
    CHECK_STR(str(h, "StudyDescription"), "  lead trail");
    CHECK_STR(str(h, "PatientID"), "PID7");
    CHECK_STR(str(h, "PatientWeight"), " 70.5");
    CHECK_STR(str(h, "EthnicGroup"), "a\xef\xbf\xbd"
                                     "b");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(h, "Rows")));
    CHECK_STR(str(h, "Columns"), "4");
    CHECK_STR(str(h, "OverlayRows"), "4");
    CHECK(cJSON_GetArraySize(h) == 10);
    cJSON_ArrayForEach(v, h) CHECK(strcmp(v->string, "TransferSyntaxUID") != 0);

    /* the same bytes from a file */
    CHECK(write_bytes(tmp_path(path, sizeof path, "raw.dcm"), buf, n) == 0);
    CHECK(dcmp_dicom_read_header(path, &f, err) == 0);
    CHECK(f != NULL && cJSON_Compare(h, f, 1));
    cJSON_Delete(h);
    cJSON_Delete(f);
}

/* Bytes are kept as stored: UTF-8 exact, anything else replaced by U+FFFD. */
static void test_character_sets(void)
{
    char path[256], err[DCMP_ERR_LEN] = "";
    cJSON *h = NULL;

    if (!have_dump2dcm)
        return;
    CHECK(make_dicom(tmp_path(path, sizeof path, "latin1.dcm"), NULL,
                     "(0008,0005) CS [ISO_IR 100]\n"
                     "(0008,0016) UI =CTImageStorage\n"
                     "(0008,0018) UI [1.2.3.5]\n"
                     "(0008,1030) LO [\xc3\xa9t\xc3\xa9 \xe2\x82\xac]\n"
                     "(0010,0010) PN [M\xfcller^Hans]\n"
                     "(0010,0020) LO [\xff\xfe\xc3]\n") == 0);
    CHECK(dcmp_dicom_read_header(path, &h, err) == 0);
    CHECK_STR(str(h, "StudyDescription"), "\xc3\xa9t\xc3\xa9 \xe2\x82\xac");
    CHECK_STR(str(h, "PatientName"), "M\xef\xbf\xbdller^Hans");
    CHECK_STR(str(h, "PatientID"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    cJSON_Delete(h);
}

/* Nested sequences: DCMP_DICOM_MAX_DEPTH levels are read, one more is an error. */
static void test_depth(void)
{
    char path[256], err[DCMP_ERR_LEN] = "";
    static char text[16384];
    cJSON *h = NULL, *v;
    int levels, i, depth;

    if (!have_dump2dcm)
        return;
    for (levels = DCMP_DICOM_MAX_DEPTH; levels <= DCMP_DICOM_MAX_DEPTH + 1; levels++) {
        size_t n = (size_t)snprintf(text, sizeof text,
                                    "(0008,0016) UI =CTImageStorage\n"
                                    "(0008,0018) UI [1.2.3.6]\n");
        for (i = 0; i < levels; i++)
            n += (size_t)snprintf(text + n, sizeof text - n,
                                  "(0040,a730) SQ (Sequence)\n(fffe,e000) na (Item)\n"
                                  "(0040,a010) CS [CONTAINS]\n");
        for (i = 0; i < levels; i++)
            n += (size_t)snprintf(text + n, sizeof text - n,
                                  "(fffe,e00d) na (ItemDelimitationItem)\n"
                                  "(fffe,e0dd) na (SequenceDelimitationItem)\n");
        CHECK(n < sizeof text);
        CHECK(make_dicom(tmp_path(path, sizeof path, "deep.dcm"), NULL, text) == 0);
        h = NULL;
        if (levels == DCMP_DICOM_MAX_DEPTH) {
            CHECK(dcmp_dicom_read_header(path, &h, err) == 0);
            for (depth = 0, v = h; v != NULL; depth++) {
                v = cJSON_GetObjectItemCaseSensitive(v, "ContentSequence");
                v = cJSON_GetArrayItem(v, 0);
                if (v != NULL)
                    CHECK_STR(str(v, "RelationshipType"), "CONTAINS");
            }
            CHECK(depth == DCMP_DICOM_MAX_DEPTH + 1);
            cJSON_Delete(h);
        } else {
            CHECK(dcmp_dicom_read_header(path, &h, err) == -1);
            CHECK(h == NULL);
            CHECK_CONTAINS(err, "deep.dcm: (0040,a730) ContentSequence: sequences nested deeper");
        }
    }
}

/* Every transfer syntax dump2dcm writes gives the same header, deflated included, from a file
 * and from memory. */
static void test_transfer_syntaxes(void)
{
    static const char *const options[] = {"+ti", "+tb", "+td"};
    char path[256], err[DCMP_ERR_LEN] = "";
    cJSON *want = NULL;
    size_t i;

    if (!have_dump2dcm)
        return;
    CHECK(make_slice(tmp_path(path, sizeof path, "xfer.dcm"), 5, "7.5", NULL) == 0);
    CHECK(dcmp_dicom_read_header(path, &want, err) == 0);
    for (i = 0; i < sizeof options / sizeof options[0]; i++) {
        cJSON *got = NULL, *mem = NULL;
        unsigned char *data;
        size_t len;

        snprintf(path, sizeof path, "%s/xfer%s.dcm", tmp_dir, options[i]);
        CHECK(make_slice(path, 5, "7.5", options[i]) == 0);
        CHECK(dcmp_dicom_read_header(path, &got, err) == 0);
        if (got == NULL)
            fprintf(stderr, "  %s: %s\n", options[i], err);
        CHECK(want != NULL && got != NULL && cJSON_Compare(want, got, 1));
        data = read_bytes(path, &len);
        CHECK(dcmp_dicom_parse_header(data, len, &mem, err) == 0);
        CHECK(want != NULL && mem != NULL && cJSON_Compare(want, mem, 1));
        cJSON_Delete(got);
        cJSON_Delete(mem);
        free(data);
    }
    cJSON_Delete(want);
}

/* A data set without the file meta header and preamble is read when it has a SOP UID. */
static void test_bare_dataset(void)
{
    char path[256], err[DCMP_ERR_LEN] = "";
    cJSON *h = NULL;

    if (!have_dump2dcm)
        return;
    CHECK(make_dicom(tmp_path(path, sizeof path, "bare.dcm"), "-F",
                     "(0008,0016) UI =MRImageStorage\n"
                     "(0008,0018) UI [1.2.3.7]\n"
                     "(0020,0013) IS [4]\n") == 0);
    CHECK(dcmp_dicom_read_header(path, &h, err) == 0);
    CHECK_STR(str(h, "SOPInstanceUID"), "1.2.3.7");
    CHECK_STR(str(h, "InstanceNumber"), "4");
    cJSON_Delete(h);
    CHECK(make_dicom(tmp_path(path, sizeof path, "nosop.dcm"), "-F",
                     "(0010,0010) PN [Doe^Jane]\n") == 0);
    read_fails(path, "not a DICOM file (no DICM preamble and no readable dataset)");
}

static void test_errors(void)
{
    char path[256], bad[256];
    static const char text[] = "This is not DICOM, just a line of text that is long enough to "
                               "fill a preamble of 128 bytes and some more bytes after it.\n";
    unsigned char *data;
    size_t len;

    read_fails(tmp_path(path, sizeof path, "missing.dcm"), "No such file");
    read_fails(tmp_dir, "is a directory");
    CHECK(write_bytes(tmp_path(path, sizeof path, "text.txt"), text, strlen(text)) == 0);
    read_fails(path, "not a DICOM file (no DICM preamble and no readable dataset)");
    parse_fails(path, "not a DICOM file (no DICM preamble and no readable dataset)");
    CHECK(write_bytes(tmp_path(path, sizeof path, "short.txt"), "hi", 2) == 0);
    read_fails(path, "not a DICOM file");
    CHECK(write_bytes(tmp_path(path, sizeof path, "empty.dcm"), "", 0) == 0);
    read_fails(path, "empty file");
    if (!have_dump2dcm)
        return;
    /* the first 200 bytes of a real file: the preamble and a part of the meta header */
    CHECK(make_slice(tmp_path(path, sizeof path, "whole.dcm"), 1, "0", NULL) == 0);
    data = read_bytes(path, &len);
    CHECK(data != NULL && len > 400);
    CHECK(write_bytes(tmp_path(bad, sizeof bad, "cut200.dcm"), data, 200) == 0);
    read_fails(bad, "corrupt or truncated DICOM file");
    parse_fails(bad, "corrupt or truncated DICOM file");
    /* cut in the middle of the data set, in the sequence */
    CHECK(write_bytes(tmp_path(bad, sizeof bad, "cut450.dcm"), data, 450) == 0);
    read_fails(bad, "corrupt or truncated DICOM file");
    parse_fails(bad, "corrupt or truncated DICOM file");
    /* the preamble only */
    CHECK(write_bytes(tmp_path(bad, sizeof bad, "cut132.dcm"), data, 132) == 0);
    read_fails(bad, "corrupt or truncated DICOM file");
    /* a value length far past the end of the file */
    if (data != NULL && len > 400) {
        size_t meta = 132 + 12 + ((size_t)data[140] | (size_t)data[141] << 8);
        static const unsigned char huge[] = {0x40, 0x00, 0x60, 0xa1, 'U',  'T', 0,
                                             0,    0xf0, 0xff, 0xff, 0xff, 'a', 'b'};
        memcpy(data + meta, huge, sizeof huge);
        CHECK(write_bytes(tmp_path(bad, sizeof bad, "huge.dcm"), data, meta + sizeof huge) == 0);
        read_fails(bad, "corrupt or truncated DICOM file");
        parse_fails(bad, "corrupt or truncated DICOM file");
    }
    free(data);
}

/* Makes tmp_dir/name as a folder and returns its path in buf. */
static const char *make_dir(char *buf, size_t size, const char *name)
{
    tmp_path(buf, size, name);
    CHECK(mkdir(buf, 0755) == 0);
    return buf;
}

/* Makes dir/name as a slice with that InstanceNumber (-1: none). */
static void slice_in(const char *dir, const char *name, int number)
{
    char path[512], z[32];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(z, sizeof z, "%d", number * 3);
    CHECK(make_slice(path, number, z, NULL) == 0);
}

/* Expects dcmp_dicom_series_first(dir) to choose dir/name. */
static void first_is(const char *dir, const char *name)
{
    char path[512], want[512], err[DCMP_ERR_LEN] = "";

    snprintf(want, sizeof want, "%s/%s", dir, name);
    CHECK(dcmp_dicom_series_first(dir, path, sizeof path, err) == 0);
    CHECK_STR(path, want);
    if (err[0] != '\0')
        fprintf(stderr, "  %s\n", err);
}

static void test_series_first(void)
{
    char dir[256], sub[512], path[512], err[DCMP_ERR_LEN] = "";
    cJSON *h = NULL;

    if (!have_dump2dcm)
        return;
    /* named in another order than numbered; numbers compared as numbers */
    make_dir(dir, sizeof dir, "series");
    slice_in(dir, "01.dcm", 10);
    slice_in(dir, "02.dcm", 9);
    slice_in(dir, "03.dcm", 2);
    slice_in(dir, "10.dcm", 1);
    slice_in(dir, "11.dcm", -1);
    slice_in(dir, ".hidden.dcm", 0);
    CHECK(write_bytes(tmp_path(path, sizeof path, "series/README.txt"), "notes\n", 6) == 0);
    CHECK(write_bytes(tmp_path(path, sizeof path, "series/00.dcm"), "", 0) == 0);
    snprintf(sub, sizeof sub, "%s/00sub", dir);
    CHECK(mkdir(sub, 0755) == 0);
    first_is(dir, "10.dcm");
    CHECK(dcmp_dicom_series_header(dir, &h, err) == 0);
    CHECK_STR(str(h, "InstanceNumber"), "1");
    CHECK_STR(str(h, "ImagePositionPatient"), "0\\0\\3");
    CHECK_STR(str(h, "SeriesInstanceUID"), SERIES_UID);
    cJSON_Delete(h);
    /* the path must fit */
    CHECK(dcmp_dicom_series_first(dir, path, strlen(dir) + 4, err) == -1);
    CHECK_CONTAINS(err, "10.dcm");
    /* ties by name; a file without InstanceNumber after those with one */
    make_dir(dir, sizeof dir, "ties");
    slice_in(dir, "b.dcm", 5);
    slice_in(dir, "a.dcm", 5);
    slice_in(dir, "0.dcm", -1);
    first_is(dir, "a.dcm");
    make_dir(dir, sizeof dir, "nonumbers");
    slice_in(dir, "z.dcm", -1);
    slice_in(dir, "y.dcm", -1);
    first_is(dir, "y.dcm");
    /* errors */
    CHECK(dcmp_dicom_series_first(tmp_path(dir, sizeof dir, "nosuchdir"), path, sizeof path, err) ==
          -1);
    CHECK_CONTAINS(err, "nosuchdir: No such file");
    make_dir(dir, sizeof dir, "empty");
    CHECK(dcmp_dicom_series_first(dir, path, sizeof path, err) == -1);
    CHECK_CONTAINS(err, "empty: no files");
    make_dir(dir, sizeof dir, "nodicom");
    CHECK(write_bytes(tmp_path(path, sizeof path, "nodicom/a.txt"), "text\n", 5) == 0);
    h = (cJSON *)&h;
    CHECK(dcmp_dicom_series_header(dir, &h, err) == -1);
    CHECK(h == NULL);
    CHECK_CONTAINS(err, "nodicom: no DICOM file among 1 files (");
    CHECK_CONTAINS(err, "a.txt: not a DICOM file");
}

/* dcmp_dicom_series_check on dir (opened here) with the series' UID and count. */
static int check_series(const char *dir, const char *uid, long n, cJSON **h, char *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY), rc;

    CHECK(fd >= 0);
    rc = dcmp_dicom_series_check(fd, dir, uid, n, h, err);
    close(fd);
    return rc;
}

/* A folder is the series' only when it holds exactly its instances and nothing else. */
static void test_series_check(void)
{
    static const char *const names[] = {"c.dcm", "a.dcm", "b.dcm"}; /* numbered 3, 1, 2 */
    char dir[256], path[512], link[512], err[DCMP_ERR_LEN] = "";
    cJSON *h = NULL;
    int i;

    if (!have_dump2dcm)
        return;
    make_dir(dir, sizeof dir, "checked");
    for (i = 0; i < 3; i++)
        slice_in(dir, names[i], (i + 2) % 3 + 1);
    CHECK(check_series(dir, SERIES_UID, 3, &h, err) == 0);
    CHECK_STR(str(h, "InstanceNumber"), "1");
    cJSON_Delete(h);
    /* another series' UID, another count */
    CHECK(check_series(dir, "1.2.3.4", 3, &h, err) == -1);
    CHECK(h == NULL);
    CHECK_CONTAINS(err, "not the series' 1.2.3.4");
    CHECK(check_series(dir, SERIES_UID, 4, &h, err) == -1);
    CHECK_CONTAINS(err, "3 file(s), not the series' 4 instance(s)");
    CHECK(check_series(dir, SERIES_UID, 2, &h, err) == -1);
    CHECK_CONTAINS(err, "more files than the series' 2 instance(s)");
    /* a file that is not DICOM among them */
    CHECK(write_bytes(tmp_path(path, sizeof path, "checked/notes.txt"), "notes\n", 6) == 0);
    CHECK(check_series(dir, SERIES_UID, 4, &h, err) == -1);
    CHECK_CONTAINS(err, "notes.txt: not a DICOM file");
    CHECK(unlink(path) == 0);
    /* a link, even a hidden one, even to a file of the series: never followed */
    snprintf(path, sizeof path, "%s/a.dcm", dir);
    snprintf(link, sizeof link, "%s/.d.dcm", dir);
    CHECK(symlink(path, link) == 0);
    CHECK(check_series(dir, SERIES_UID, 3, &h, err) == -1);
    CHECK_CONTAINS(err, ".d.dcm: a symbolic link, not a file of the series");
    CHECK(unlink(link) == 0);
    snprintf(link, sizeof link, "%s/passwd", dir);
    CHECK(symlink("/etc/passwd", link) == 0);
    CHECK(check_series(dir, SERIES_UID, 4, &h, err) == -1);
    CHECK_CONTAINS(err, "passwd: a symbolic link");
    CHECK(unlink(link) == 0);
    /* a sub-folder */
    snprintf(path, sizeof path, "%s/sub", dir);
    CHECK(mkdir(path, 0755) == 0);
    CHECK(check_series(dir, SERIES_UID, 3, &h, err) == -1);
    CHECK_CONTAINS(err, "sub: a folder");
}

/* Real third-party files: Debian's python3-pydicom test files (scripts/packages/test.txt
 * installs them; missing files fail the test). */
static void test_pydicom_files(void)
{
    static const char dir[] = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
    char path[512], err[DCMP_ERR_LEN] = "";
    cJSON *h = NULL;

    snprintf(path, sizeof path, "%s/CT_small.dcm", dir);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "  %s is missing: install python3-pydicom (scripts/deps.sh test)\n", path);
        CHECK(!"python3-pydicom's test files");
        return;
    }
    CHECK(dcmp_dicom_read_header(path, &h, err) == 0);
    CHECK_STR(str(h, "Modality"), "CT");
    CHECK(str(h, "SOPInstanceUID") != NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(h, "PixelData") == NULL);
    cJSON_Delete(h);
    h = NULL;
    /* a real 5-slice CT: the first by InstanceNumber is 2062 (6; the others 7 to 10) */
    snprintf(path, sizeof path, "%s/dicomdirtests/98892001/CT5N", dir);
    CHECK(dcmp_dicom_series_header(path, &h, err) == 0);
    CHECK_STR(str(h, "InstanceNumber"), "6");
    CHECK_STR(str(h, "PatientID"), "98890234");
    CHECK_STR(str(h, "PatientName"), "Doe^Peter");
    CHECK_STR(str(h, "SeriesDescription"), "SmartScore - Gated 0.5 sec");
    CHECK_STR(str(h, "SOPInstanceUID"), "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.12");
    CHECK_STR(str(h, "ImagePositionPatient"), "-72.199997\\-143.000000\\8.762500");
    CHECK_STR(str(h, "StudyDescription"), "");
    CHECK(cJSON_GetObjectItemCaseSensitive(h, "PixelData") == NULL);
    cJSON_Delete(h);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(void)
{
    CHECK(snprintf(tmp_dir, sizeof tmp_dir, "/tmp/dcmp-dicom-XXXXXX") < (int)sizeof tmp_dir);
    CHECK(mkdtemp(tmp_dir) != NULL);
    RUN(test_dump2dcm);
    RUN(test_header);
    RUN(test_parse_memory);
    RUN(test_long_values);
    RUN(test_raw_values);
    RUN(test_character_sets);
    RUN(test_depth);
    RUN(test_transfer_syntaxes);
    RUN(test_bare_dataset);
    RUN(test_errors);
    RUN(test_series_first);
    RUN(test_series_check);
    RUN(test_pydicom_files);
    CHECK(nftw(tmp_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
    return HARNESS_RESULT();
}
