/*
 * replay_main.c - runs a libFuzzer target over its corpus without libFuzzer,
 * so that gcc and sanitizer builds replay the committed inputs too.
 *
 * usage: fuzz_TARGET_replay DIR|FILE...
 * Every regular file (directories: their entries, sorted, not recursive) is
 * read into an allocation of exactly its size and passed to
 * LLVMFuzzerTestOneInput once. A crash or a failed check aborts with the
 * file's name printed just before; no input at all is a failure (an empty
 * corpus would otherwise pass silently). Exit 0 pass, 1 fail.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Reads path whole; returns 0 or -errno. */
static int read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int rc = -errno;
        fclose(f);
        return rc;
    }
    *size = (size_t)st.st_size;
    *data = malloc(*size != 0 ? *size : 1);
    size_t got = fread(*data, 1, *size, f);
    int rc = ferror(f) || got != *size ? -EIO : 0;
    fclose(f);
    if (rc != 0)
        free(*data);
    return rc;
}

static int run_file(const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = read_file(path, &data, &size);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(-rc));
        return rc;
    }
    fprintf(stderr, "replay %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

static int filter_regular(const struct dirent *entry)
{
    return entry->d_name[0] != '.';
}

/* Runs every entry of dir; returns how many ran, or -errno. */
static long run_dir(const char *dir)
{
    struct dirent **entries;
    int n = scandir(dir, &entries, filter_regular, alphasort);
    if (n < 0)
        return -errno;
    long ran = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, entries[i]->d_name);
        struct stat st;
        if (ran >= 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            ran = run_file(path) == 0 ? ran + 1 : -EIO;
        free(entries[i]);
    }
    free(entries);
    return ran;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 1;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    long total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        long ran;
        if (stat(argv[i], &st) != 0)
            ran = -errno;
        else if (S_ISDIR(st.st_mode))
            ran = run_dir(argv[i]);
        else
            ran = run_file(argv[i]) == 0 ? 1 : -EIO;
        if (ran < 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror((int)-ran));
            return 1;
        }
        total += ran;
    }
    if (total == 0) {
        fprintf(stderr, "no inputs replayed\n");
        return 1;
    }
    fprintf(stderr, "%ld inputs replayed\n", total);
    return 0;
}
