/* infolder.h -- a container interface's input folder: the series' DICOM files under its names. */
#ifndef DCMP_INFOLDER_H
#define DCMP_INFOLDER_H

#include <cjson/cJSON.h>

#include "iface.h"

#define DCMP_INFOLDER_MAX  100000 /* files of one job's input folder */
#define DCMP_INFOLDER_HEAD 65536  /* bytes of a file read to find its meta group */

/*
 * Fills the existing, empty folder in with the DICOM files under DATA/headers.dcmpath (a
 * series folder, or a study's folder of series links, which are followed while they lead to
 * files under DATA), each hard-linked
 * (copied when a link cannot be made, for example across file systems) under the name
 * f->input_name gives from its SOP Instance UID, with f->input_tags' file beside it when the
 * interface has one. Files that are not DICOM Part 10 are passed over; a second file with the
 * same SOP Instance UID is passed over with a line on stderr (the job's log).
 * Returns how many files were linked, or -1 with err naming the path: dcmpath missing from the
 * headers or not a path under DATA, a file that leads outside DATA, no DICOM file there, more
 * than DCMP_INFOLDER_MAX files, or a file that cannot be read, linked or written.
 */
int dcmp_infolder_link(const dcmp_iface *f, const cJSON *headers, const char *data_dir,
                       const char *in, char *err);

#endif
