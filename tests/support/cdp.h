/* cdp.h -- test fixture: a headless Chromium driven over the DevTools protocol through
 * --remote-debugging-pipe (JSON messages ending in NUL on fds 3 and 4): no WebSocket, no
 * download, Debian's chromium package only. */
#ifndef DCMP_TEST_CDP_H
#define DCMP_TEST_CDP_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#define CDP_MAX_MESSAGE (64 << 20) /* a screenshot of a tall page is a few MB of base64 */

typedef struct cdp {
    pid_t pid;          /* the browser (leader of its own process group) */
    int to, from;       /* our ends of the pipes to its fd 3 and from its fd 4 */
    char dir[PATH_MAX]; /* its --user-data-dir, under the caller's temp dir */
    char session[128];  /* the page's session id */
    int next_id;
    char *buf; /* bytes read but not yet taken */
    size_t len, cap;
    char errors[4096];         /* exceptions thrown by the page's scripts, one per line */
    char user[128], pass[128]; /* the answer to login prompts (cdp_login) */
    int login_tries;           /* prompts answered with them before one is canceled */
    int width, height;
} cdp;

/* Starts /usr/bin/chromium (or $DCMP_CHROMIUM) headless with a fresh profile in dir/chromium,
 * opens a page of width x height and attaches to it. Its output goes to dir/chromium.log.
 * Returns 0 or -1 (message printed). */
int cdp_start(cdp *b, const char *dir, int width, int height);

/* Sends one command to the page (or to the browser when browser is 1) and waits for its
 * answer. params: a JSON object's text, or NULL. Returns the "result" (new: cJSON_Delete it),
 * or NULL after an error answer or timeout_ms (message printed). */
cJSON *cdp_call(cdp *b, const char *method, const char *params, int browser, int timeout_ms);

/* Evaluates a JavaScript expression in the page (promises awaited). Returns its value as
 * JSON (new), or NULL when it threw (message printed). */
cJSON *cdp_eval(cdp *b, const char *expr, int timeout_ms);

/* Evaluates expr every 100 ms until it is true. Returns 0, or -1 after timeout_ms (the
 * expression is printed). */
int cdp_wait(cdp *b, const char *expr, int timeout_ms);

/* Evaluates expr; returns 1 when it is the boolean true. */
int cdp_true(cdp *b, const char *expr);

/* Loads url in the page and waits for its load event. Returns 0 or -1. */
int cdp_navigate(cdp *b, const char *url);

/* From now on answers the browser's login prompts (a 401 with a Basic challenge) as a person
 * would: with user and pass, `tries` times, then by canceling (the 401 page shows). Returns 0
 * or -1. */
int cdp_login(cdp *b, const char *user, const char *pass, int tries);

/* Sets headers sent with every request of the page (a JSON object's text, "{}" for none). */
int cdp_headers(cdp *b, const char *headers_json);

/* Writes a PNG of the whole page (its height grown to the content, at most 4000 px) to path.
 * Returns 0 or -1. */
int cdp_screenshot(cdp *b, const char *path);

/* Closes the browser, then ends its process group by its id. */
void cdp_stop(cdp *b);

#endif
