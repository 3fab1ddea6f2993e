/* gen.c - the gen source: synthetic order-domain events (the generator of
 * `sluice gen`), seeded, at a rate and for a count. */
#include "sl/connector.h"

static const struct sl_option gen_source_options[] = {
    {"seed", SL_OPT_INT, "1", false, NULL, "same seed, same events"},
    {"count", SL_OPT_INT, "0", false, NULL, "events to make; 0 = until stopped"},
    {"rate", SL_OPT_INT, "0", false, NULL, "events per second; 0 = as fast as possible"},
    {"keys", SL_OPT_INT, "1000", false, NULL, "distinct keys (customers)"},
    {NULL, 0, NULL, false, NULL, NULL},
};

const struct sl_source_type sl_source_gen = {
    .name = "gen",
    .summary = "generate synthetic order events",
    .options = gen_source_options,
};
