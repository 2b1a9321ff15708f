/* log.h -- logging to stderr with time, program and level, one escaped line per message,
 * optionally rate-limited per call site; fatal exits. */
#ifndef DCMP_LOG_H
#define DCMP_LOG_H

#include <stddef.h>

#define DCMP_ERR_LEN 512

enum { DCMP_DEBUG, DCMP_INFO, DCMP_WARN, DCMP_ERROR_LEVEL };

/* Sets the program name shown on every line and the lowest level printed
 * (from the string "debug", "info", "warn" or "error"; NULL keeps info). */
void dcmp_log_init(const char *program, const char *level);

/* Prints one line: "2026-11-25T16:30:01.123Z dcmp-worker[123] INFO text". In the text, control
 * characters (newlines, terminal escape codes, C1 controls) and bytes that are not valid UTF-8
 * are written as \xNN, so text from a request can neither forge a line nor reach a terminal
 * as a command. A message is cut at 2 KiB. */
void dcmp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define DCMP_LOG_LIMIT 10 /* lines a second per call site of dcmp_log_limited */

/* dcmp_log for lines that requests cause (one per webhook): at most DCMP_LOG_LIMIT lines a
 * second from each call site (told apart by fmt); the lines over it are counted, and the count
 * is logged ("N more line(s) like ... not logged") before the site's next line in a later
 * second. fmt must be a literal (its address names the site). */
void dcmp_log_limited(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define dcmp_log_debug(...) dcmp_log(DCMP_DEBUG, __VA_ARGS__)
#define dcmp_log_info(...)  dcmp_log(DCMP_INFO, __VA_ARGS__)
#define dcmp_log_warn(...)  dcmp_log(DCMP_WARN, __VA_ARGS__)
#define dcmp_log_error(...) dcmp_log(DCMP_ERROR_LEVEL, __VA_ARGS__)

/* Logs at error level and exits with status 1. For start-up errors and
 * broken invariants only. */
void dcmp_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Allocation that aborts with the size on failure: for daemons only. */
void *dcmp_xmalloc(size_t size);
void *dcmp_xcalloc(size_t n, size_t size);
char *dcmp_xstrdup(const char *s);

/* Copies src into dst[size] and NUL-terminates; returns -1 when cut. */
int dcmp_strlcpy(char *dst, const char *src, size_t size);

/* Writes a message into err[DCMP_ERR_LEN] (err may be NULL); returns -1
 * so callers can `return dcmp_seterr(err, ...)`. */
int dcmp_seterr(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
