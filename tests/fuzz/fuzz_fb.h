/* fuzz_fb.h - the schema set the FlatBuffers targets share: the envelope
 * (sluice.Event) and sluice.orders.OrderPlaced from the embedded schemas,
 * with the verifier options the io thread uses (payloads checked). */
#ifndef SL_FUZZ_FB_H
#define SL_FUZZ_FB_H

#include "fb/fb.h"
#include "fuzz.h"

struct fuzz_fb {
    struct sl_fb_schemas schemas;
    const struct sl_fb_object *envelope;
    const struct sl_fb_object *order_placed;
    struct sl_fb_verify_opts opts;
};

/* Loads every embedded schema once; aborts when they do not load. */
static inline void fuzz_fb_init(struct fuzz_fb *fb)
{
    char err[256];
    if (sl_fb_schemas_init(&fb->schemas, err, sizeof(err)) != 0 ||
        sl_fb_schemas_add_embedded(&fb->schemas, err, sizeof(err)) != 0) {
        fprintf(stderr, "schemas: %s\n", err);
        abort();
    }
    fb->envelope = fb->schemas.envelope;
    fb->order_placed = sl_fb_schemas_find_object(&fb->schemas, "OrderPlaced");
    FUZZ_CHECK(fb->envelope != NULL && fb->order_placed != NULL);
    fb->opts = (struct sl_fb_verify_opts){
        .depth_max = 64, .tables_max = 1000000, .check_nested = true, .schemas = &fb->schemas};
}

#endif
