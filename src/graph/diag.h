/* diag.h - diagnostics for job files: "file:line:col: message" plus a hint,
 * collected so that validation reports every mistake at once. Control plane
 * only (allocates). */
#ifndef SL_GRAPH_DIAG_H
#define SL_GRAPH_DIAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sl_diag {
    uint32_t line, col;  /* 1-based; 0 when the position is unknown */
    char *message;
    char *hint;          /* NULL or what to do about it */
};

struct sl_diags {
    const char *file;    /* as the user named it */
    struct sl_diag *items;
    size_t count, cap;
};

void sl_diags_init(struct sl_diags *diags, const char *file);
void sl_diags_fini(struct sl_diags *diags);
/* Adds one; hint may be NULL. */
void sl_diag_add(struct sl_diags *diags, uint32_t line, uint32_t col, const char *hint,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Prints all, sorted by position, as "file:line:col: error: message" and an
 * indented "hint: ..." line. */
void sl_diags_print(const struct sl_diags *diags, FILE *out);

#endif
