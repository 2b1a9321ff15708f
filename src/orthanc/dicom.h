/* dicom.h -- the DICOM header of an instance or of a series (a folder of instances), read with
 * DCMTK up to the pixel data, as Orthanc's simplified tags (keyword: text). */
#ifndef DCMP_DICOM_H
#define DCMP_DICOM_H

#include <cjson/cJSON.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "log.h" /* C declarations without guards of their own */

#define DCMP_DICOM_MAX_DEPTH    16                 /* sequences nested in one another */
#define DCMP_DICOM_MAX_NODES    500000             /* keys and sequence items in one header */
#define DCMP_DICOM_MAX_VALUE    65536              /* bytes of one value; longer values give null */
#define DCMP_DICOM_MAX_FILES    100000             /* regular files in one series folder */
#define DCMP_DICOM_MAX_INFLATED (32 * 1024 * 1024) /* bytes of a deflated data set inflated */

/*
 * Reads the header of the DICOM file at path: the data set up to the pixel data (7FE0,0010),
 * which is never loaded. The result is an object in the form of Orthanc's "simplified" tags
 * (checked against Orthanc 1.10.1's /instances/{id}/simplified-tags):
 *   - keys are the dictionary keywords of the data set's elements (PatientID,
 *     ImagePositionPatient, ...). Left out, unlike Orthanc: the file meta group (0002), group
 *     lengths (gggg,0000), private tags and their creators, tags the dictionary does not know.
 *     When two elements map to one keyword (repeating groups such as 60xx) the first is kept;
 *   - string VRs (AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT) give their text as
 *     stored, several values joined with '\' ("0\0\2.5"); trailing padding (spaces, or NUL
 *     for UI) of the whole value is removed, leading and inner spaces are kept, as Orthanc
 *     does; an empty element gives "";
 *   - numbers stored in binary give decimal text, several values joined with '\': US SS UL SL
 *     SV UV as integers, FL and FD as "%.17g" of the value as a double (FL 0.1 gives
 *     "0.10000000149011612", FD 0.1 "0.10000000000000001", like Orthanc), AT as "gggg,eeee"
 *     (lower-case hex; Orthanc gives only the first of several); such an element without a
 *     value gives null, like Orthanc;
 *   - sequences (SQ) give an array with one such object per item, at most
 *     DCMP_DICOM_MAX_DEPTH sequences deep (deeper is an error);
 *   - values longer than DCMP_DICOM_MAX_VALUE bytes give null (Orthanc: longer than 256);
 *   - binary VRs (OB OW OF OD OL OV UN) are left out (Orthanc gives null). Elements of a known
 *     tag that a sender wrote as UN (explicit VR, defined length) are read with their
 *     dictionary VR, so they come out as Orthanc shows them.
 * Text is not converted from the Specific Character Set (Orthanc converts it): bytes are kept
 * as stored, and any byte that is not part of valid UTF-8 (and any NUL) becomes U+FFFD, so
 * ASCII and UTF-8 (ISO_IR 192) values come out exact while Latin-1 accents become U+FFFD.
 * A file with the DICM preamble is read as a DICOM file; without it, as a bare data set, which
 * must then parse and hold SOPClassUID or SOPInstanceUID. Every transfer syntax DCMTK reads is
 * read; a deflated data set is inflated in memory first, at most DCMP_DICOM_MAX_INFLATED bytes
 * of it (a header needing more is an error).
 * Messages name path ("x/1.dcm: not a DICOM file (no DICM preamble and no readable dataset)").
 * On first use, DCMTK's logger "dcmtk.dcmdata" is limited to fatal messages and its global
 * dcmEnableUnknownVRConversion is set, for the whole process. Thread-safe.
 * Returns 0 with *out a new object (free with cJSON_Delete), or -1 with *out NULL and
 * err[DCMP_ERR_LEN].
 */
int dcmp_dicom_read_header(const char *path, cJSON **out, char *err);

/*
 * The same as dcmp_dicom_read_header for a file's bytes already in memory (data borrowed for
 * the call; len may be 0). Messages name the input as "(memory, N bytes)".
 */
int dcmp_dicom_parse_header(const void *data, size_t len, cJSON **out, char *err);

/*
 * Finds the first instance of a series folder: among the regular files directly in dir
 * (names starting with '.' are ignored; symbolic links are passed over, never followed), the
 * DICOM file with the
 * lowest InstanceNumber (0020,0013); files without one come after all that have one; ties are
 * broken by strcmp order of the name. Each file is read only up to InstanceNumber. Files that
 * are not DICOM or cannot be read are passed over. Writes "dir/name" to path[size].
 * Returns 0, or -1 with err naming dir when it cannot be read, holds more than
 * DCMP_DICOM_MAX_FILES regular files, holds no readable DICOM file (the message quotes the
 * first file's error), or when the path does not fit in size.
 */
int dcmp_dicom_series_first(const char *dir, char *path, size_t size, char *err);

/*
 * dcmp_dicom_series_first then dcmp_dicom_read_header on that file. Returns 0 with *out a new
 * object (free with cJSON_Delete), or -1 with *out NULL and err naming the folder or the file.
 */
int dcmp_dicom_series_header(const char *dir, cJSON **out, char *err);

/*
 * The header of a series folder that must hold exactly the series' instances: dirfd (an open
 * folder, borrowed; dir names it in messages) holds `instances` regular files (names starting
 * with '.' are not counted), each a DICOM file whose SeriesInstanceUID is series_uid, and
 * nothing else (no symbolic link, folder or other entry, whatever its name); no link is
 * followed (files are opened with O_NOFOLLOW and read through their descriptor). The header
 * is then dcmp_dicom_read_header's of the first instance (the order of
 * dcmp_dicom_series_first). Returns 0 with *out a new object (free with cJSON_Delete), or -1
 * with *out NULL and err saying which entry is not the series'.
 */
int dcmp_dicom_series_check(int dirfd, const char *dir, const char *series_uid, long instances,
                            cJSON **out, char *err);

#ifdef __cplusplus
}
#endif

#endif
