/* holdmark.c -- whether a folder of DATA/.holds still holds a holder's mark (holdmark.h). */
#include "holdmark.h"

#include <dirent.h>
#include <string.h>

int dcmp_holdmark_any(const char *marks)
{
    DIR *d = opendir(marks);
    const struct dirent *e;
    int held = 0;

    if (d == NULL)
        return 0;
    while (!held && (e = readdir(d)) != NULL)
        held = strncmp(e->d_name, "@held", 5) == 0 && (e->d_name[5] == '\0' || e->d_name[5] == '.');
    closedir(d);
    return held;
}
