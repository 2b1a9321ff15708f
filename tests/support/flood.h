/* flood.h -- test support: many idle TCP connections to a loopback port, as a client that
 * opens connections and says nothing would hold them. */
#ifndef DCMP_TEST_FLOOD_H
#define DCMP_TEST_FLOOD_H

#define FLOOD_MAX 4096

typedef struct flood {
    int fds[FLOOD_MAX];
    int n;
} flood;

/* Opens n (at most FLOOD_MAX) connections from the loopback address `source` (127.0.0.0/8)
 * to 127.0.0.1:port, without waiting for them to be accepted, and sends nothing. Raises the
 * open-file limit as needed. Returns the number opened (fewer when the system refused). */
int flood_open(flood *f, const char *source, int port, int n);

/* How many of them the server has closed (EOF or reset) within wait_ms. */
int flood_closed_by_server(flood *f, int wait_ms);

/* Closes them all. */
void flood_close(flood *f);

#endif
