/* bench_anonymizer.c -- milliseconds per instance of the CTP anonymizer on the vectors' files:
 * bench_anonymizer SCRIPT LUT ROUNDS FILE... (each file anonymized ROUNDS times into a temp
 * folder; load, rules and write included; the script is loaded once, as the service does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctp.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    char err[CTP_ERR_LEN], dir[] = "/tmp/bench-anon-XXXXXX", out[4096];
    ctp_script *s;
    ctp_lut *lut = ctp_lut_new();
    int rounds, r, i, done = 0;
    double t0, t1;

    if (argc < 5 || (rounds = (int)strtol(argv[3], NULL, 10)) <= 0) {
        fprintf(stderr, "usage: bench_anonymizer SCRIPT LUT ROUNDS FILE...\n");
        return 2;
    }
    if (ctp_script_load(argv[1], &s, err) < 0 || ctp_lut_load(lut, argv[2], err) < 0 ||
        mkdtemp(dir) == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    t0 = now_ms();
    for (r = 0; r < rounds; r++) {
        for (i = 4; i < argc; i++) {
            snprintf(out, sizeof out, "%s/%d.dcm", dir, i);
            if (ctp_anonymize_file(s, lut, argv[i], out, 0, err) == CTP_OK)
                done++;
        }
    }
    t1 = now_ms();
    for (i = 4; i < argc; i++) {
        snprintf(out, sizeof out, "%s/%d.dcm", dir, i);
        unlink(out);
    }
    rmdir(dir);
    printf("anonymizer: %d instances in %.1f ms: %.3f ms per instance (%d files x %d rounds)\n",
           done, t1 - t0, (t1 - t0) / (done ? done : 1), argc - 4, rounds);
    ctp_script_free(s);
    ctp_lut_free(lut);
    return 0;
}
