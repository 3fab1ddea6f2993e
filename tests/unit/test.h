/* test.h - the few helpers every unit test program uses: CHECK records a
 * failure with file:line and goes on; test_exit() returns 0 pass / 1 fail. */
#ifndef SL_TEST_H
#define SL_TEST_H

#include <stdio.h>

/* each test program defines: static int test_failures; */

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            test_failures++;                                                            \
        }                                                                               \
    } while (0)

#define CHECK_MSG(cond, ...)                                                            \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
            test_failures++;                                                            \
        }                                                                               \
    } while (0)

static inline int test_exit(const char *name)
{
    if (test_failures)
        fprintf(stderr, "%s: %d checks failed\n", name, test_failures);
    else
        printf("%s: ok\n", name);
    return test_failures ? 1 : 0;
}

#endif
