/* crash_helper.c -- a stand-in for dcmp-dicom (DCMP_DICOM_HELPER) that takes one request and
 * dies of SIGSEGV, as a file that crashed DCMTK would make the real helper do: the scheduler
 * must fail that event with the reason and carry on. Started through a name ending in "hang"
 * (a symlink), it never answers instead, as a helper stuck on a dead Orthanc would: the
 * scheduler must end it at a stop or when the event's budget is spent. */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    size_t n = argc > 0 ? strlen(argv[0]) : 0;
    int hang = n >= 4 && strcmp(argv[0] + n - 4, "hang") == 0;
    uint32_t len;
    char buf[4096];

    signal(SIGSEGV, SIG_DFL);
    /* the frame's length, then some of it: the request arrived */
    if (read(4, &len, sizeof len) == (ssize_t)sizeof len && read(4, buf, sizeof buf) > 0) {
        if (!hang)
            raise(SIGSEGV);
        for (;;)
            pause();
    }
    return 0;
}
