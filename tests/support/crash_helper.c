/* crash_helper.c -- a stand-in for dcmp-dicom (DCMP_DICOM_HELPER) that takes one request and
 * dies of SIGSEGV, as a file that crashed DCMTK would make the real helper do: the scheduler
 * must fail that event with the reason and carry on. */
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

int main(void)
{
    uint32_t len;
    char buf[4096];

    signal(SIGSEGV, SIG_DFL);
    /* the frame's length, then some of it: the request arrived */
    if (read(4, &len, sizeof len) == (ssize_t)sizeof len && read(4, buf, sizeof buf) > 0)
        raise(SIGSEGV);
    return 0;
}
