/* diag.c - see diag.h. */
#include "graph/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

void sl_diags_init(struct sl_diags *diags, const char *file)
{
    memset(diags, 0, sizeof(*diags));
    diags->file = file;
}

void sl_diags_fini(struct sl_diags *diags)
{
    for (size_t i = 0; i < diags->count; i++) {
        free(diags->items[i].message);
        free(diags->items[i].hint);
    }
    free(diags->items);
    memset(diags, 0, sizeof(*diags));
}

void sl_diag_add(struct sl_diags *diags, uint32_t line, uint32_t col, const char *hint,
                 const char *fmt, ...)
{
    if (diags->count == diags->cap) {
        diags->cap = diags->cap ? diags->cap * 2 : 16;
        diags->items = realloc(diags->items, diags->cap * sizeof(*diags->items));
        SL_ASSERT(diags->items);
    }
    struct sl_diag *diag = &diags->items[diags->count++];
    diag->line = line;
    diag->col = col;
    va_list ap;
    va_start(ap, fmt);
    SL_ASSERT(vasprintf(&diag->message, fmt, ap) >= 0);
    va_end(ap);
    diag->hint = hint ? strdup(hint) : NULL;
}

static int diag_cmp(const void *a, const void *b)
{
    const struct sl_diag *da = a, *db = b;
    if (da->line != db->line)
        return da->line < db->line ? -1 : 1;
    return (da->col > db->col) - (da->col < db->col);
}

void sl_diags_print(const struct sl_diags *diags, FILE *out)
{
    qsort(diags->items, diags->count, sizeof(*diags->items), diag_cmp);
    for (size_t i = 0; i < diags->count; i++) {
        const struct sl_diag *diag = &diags->items[i];
        fprintf(out, "%s:%u:%u: error: %s\n", diags->file, diag->line, diag->col, diag->message);
        if (diag->hint)
            fprintf(out, "  hint: %s\n", diag->hint);
    }
}
