/* harness.h -- a tiny assertion harness for the unit and integration tests. */
#ifndef DCMP_HARNESS_H
#define DCMP_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_failed, harness_checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        harness_checks++;                                                            \
        if (!(cond)) {                                                               \
            harness_failed++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        harness_checks++;                                                                          \
        if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_) != 0) {             \
            harness_failed++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", expected \"%s\"\n", __FILE__,  \
                    __LINE__, #a, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"); \
        }                                                                                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                          \
    do {                                                                                     \
        const char *check_h_ = (hay), *check_n_ = (needle);                                  \
        harness_checks++;                                                                    \
        if (check_h_ == NULL || strstr(check_h_, check_n_) == NULL) {                        \
            harness_failed++;                                                                \
            fprintf(stderr, "%s:%d: CHECK_CONTAINS failed: \"%s\" lacks \"%s\"\n", __FILE__, \
                    __LINE__, check_h_ ? check_h_ : "(null)", check_n_);                     \
        }                                                                                    \
    } while (0)

/* Runs one test function and names it on failure. */
#define RUN(fn)                                                                       \
    do {                                                                              \
        int before_ = harness_failed;                                                 \
        fn();                                                                         \
        fprintf(stderr, "%s %s\n", harness_failed == before_ ? "ok  " : "FAIL", #fn); \
    } while (0)

/* The exit status: 0 when every check passed (and at least one ran). */
#define HARNESS_RESULT()                                                        \
    (fprintf(stderr, "%d checks, %d failed\n", harness_checks, harness_failed), \
     (harness_failed == 0 && harness_checks > 0) ? 0 : 1)

/* 1 in a build with AddressSanitizer (gcc or clang), whose shadow memory exceeds any
 * address-space limit: tests of memory limits skip there. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#endif
