/* perms.h -- owner-only files: what a program of the stack creates is its user's alone. */
#ifndef DCMP_PERMS_H
#define DCMP_PERMS_H

/* Sets the process's file mode creation mask to 077, so every file (0600) and folder (0700)
 * it or a process it starts creates from now on is readable by its owner only: series, logs,
 * results and pseudonym tables hold patient data. Each program's main calls it first, before
 * it creates anything. Cannot fail. */
void dcmp_perms_owner_only(void);

#endif
