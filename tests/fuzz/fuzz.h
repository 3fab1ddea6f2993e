/* fuzz.h - the libFuzzer entry points the targets define, declared for
 * -Wmissing-prototypes and for replay_main.c (which calls them without
 * libFuzzer in gcc and sanitizer builds). */
#ifndef SL_FUZZ_H
#define SL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant in the code under test: say which, then abort so the
 * fuzzer (or the replay driver) reports the input. */
#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond))                                                                      \
            fuzz_fail(__FILE__, __LINE__, #cond);                                         \
    } while (0)

static inline _Noreturn void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
    abort();
}

#endif
