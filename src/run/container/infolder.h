/* infolder.h -- a container interface's input folder: the series' DICOM files under its names. */
#ifndef DCMP_INFOLDER_H
#define DCMP_INFOLDER_H

#include <cjson/cJSON.h>

#include "iface.h"

#define DCMP_INFOLDER_MAX  100000 /* files of one job's input folder */
#define DCMP_INFOLDER_HEAD 65536  /* bytes of a file read to find its meta group */

/* Reads a DICOM file's header (dicom.h's dcmp_dicom_read_header: libdcmp_dicom, DCMTK).
 * Returns 0 with *out (new), or -1 with err. */
typedef int (*dcmp_infolder_reader)(const char *path, cJSON **out, char *err);

/*
 * Fills the existing, empty folder in with the DICOM files under DATA/headers.dcmpath (a
 * series folder, or a study's folder of series links, which are followed while they lead to
 * files under DATA), each hard-linked
 * (copied when a link cannot be made, for example across file systems) under the name
 * f->input_name gives from its SOP Instance UID, with f->input_tags' file beside it when the
 * interface has one: from the file's own header when read is given (a file it cannot read
 * gets the series header's, with a line on stderr), else from the series header. Files that are not
 * DICOM Part 10 are passed over; a second file with the same SOP Instance UID is passed over with a
 * line on stderr (the job's log). Returns how many files were linked, or -1 with err naming the
 * path: dcmpath missing from the headers or not a path under DATA, a file that leads outside DATA,
 * no DICOM file there, more than DCMP_INFOLDER_MAX files, or a file that cannot be read, linked or
 * written.
 */
int dcmp_infolder_link(const dcmp_iface *f, const cJSON *headers, const char *data_dir,
                       const char *in, dcmp_infolder_reader read, char *err);

#endif
