/* schema_embedded.h - the .bfbs schemas compiled into the binary (generated
 * by scripts/embed_bfbs.py from schemas/ at build time). */
#ifndef SL_FB_SCHEMA_EMBEDDED_H
#define SL_FB_SCHEMA_EMBEDDED_H

#include <stddef.h>

struct sl_embedded_schema {
    const char *name;            /* file stem: "event", "orders" */
    const unsigned char *bfbs;   /* 8-byte aligned */
    size_t size;
};

extern const struct sl_embedded_schema sl_embedded_schemas[];
extern const unsigned sl_embedded_schemas_count;

#endif
