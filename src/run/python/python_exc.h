/* python_exc.h -- the pending Python exception as text: one line, or with its traceback. */
#ifndef DCMP_PYTHON_EXC_H
#define DCMP_PYTHON_EXC_H

#include <stddef.h>

/* Takes (clears) the pending exception and writes "Type: message (at FILE, line N)" into err,
 * N being the innermost frame, when there is one. Writes "unknown error" when none is set. */
void dcmp_python_exc_summary(char *err, size_t errlen);

/* Takes (clears) the pending exception and writes "Type: message", a newline, then the
 * traceback as Python prints it. When it does not fit in errlen the traceback's start is cut
 * (its end says where it was raised), marked "[... N bytes cut ...]". */
void dcmp_python_exc_traceback(char *err, size_t errlen);

#endif
