/* holdmark.h -- whether a folder of DATA/.holds still holds a holder's mark: read alike by
 * systemcleaner (services/common/svc.c) and the scheduler's release (src/scheduler/hold.c). */
#ifndef DCMP_HOLDMARK_H
#define DCMP_HOLDMARK_H

/*
 * 1 when folder `marks` (DATA/.holds/<folder>) holds a holder's mark, a file named @held or
 * @held.<level>.<id> (the folder is held while any holder is left), else 0 (none, or no such
 * folder). Reads the folder's names only.
 */
int dcmp_holdmark_any(const char *marks);

#endif
