/* A tiny assertion kit for racecar's engine tests (the test_*.c files here): no test
 * framework, nothing to install beyond a C compiler and librdkafka-dev.
 *
 * The tests live in test/c/ rather than ext/racecar_native/test/ because
 * the gemspec ships every .c and .h under ext/ and rake-compiler builds the extension from
 * that directory: tests must be neither shipped nor linked into the gem.
 *
 * Each CHECK prints one TAP-like line ("ok N - what" / "not ok N - what");
 * ctest_summary() prints "ctest: N passed, N failed" and is the exit status. */
#ifndef RCN_CTEST_H
#define RCN_CTEST_H

#include <stdio.h>

static int ctest_passed, ctest_failed;

#define CHECK(cond, what)                                                              \
    do {                                                                               \
        if (cond) {                                                                    \
            ctest_passed++;                                                            \
            printf("ok %d - %s\n", ctest_passed + ctest_failed, what);                 \
        } else {                                                                       \
            ctest_failed++;                                                            \
            printf("not ok %d - %s # %s:%d: %s\n", ctest_passed + ctest_failed, what, \
                   __FILE__, __LINE__, #cond);                                         \
        }                                                                              \
        fflush(stdout);                                                                \
    } while (0)

/* Equality of two integers, printing both when they differ. */
#define CHECK_EQ(got, want, what)                                                      \
    do {                                                                               \
        long long ctest_got = (long long)(got), ctest_want = (long long)(want);        \
        CHECK(ctest_got == ctest_want, what);                                          \
        if (ctest_got != ctest_want) printf("#   got %lld, want %lld\n", ctest_got, ctest_want); \
    } while (0)

static int ctest_summary(void) {
    printf("ctest: %d passed, %d failed\n", ctest_passed, ctest_failed);
    /* Now: LeakSanitizer ends the process at exit without flushing stdio. */
    fflush(stdout);
    return ctest_failed == 0 && ctest_passed > 0 ? 0 : 1;
}

#endif
