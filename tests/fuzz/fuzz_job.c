/* fuzz_job.c - libFuzzer target for job files: YAML parsing, ${ENV}
 * interpolation, settings against the options tables, expressions compiled
 * against the schemas, edges and graph checks. Any input must give either a
 * job or diagnostics — never a crash, leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "graph/job.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* ${VAR} in the corpus resolve to their defaults or report; none is set */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sl_job job; /* large: keep it off the stack */
    struct sl_diags diags;
    sl_diags_init(&diags, "fuzz.yaml");
    if (sl_job_parse(&job, (const char *)data, size, &diags) == 0) {
        if (diags.count != 0)
            abort(); /* a valid job reports nothing */
        sl_job_free(&job);
    } else if (diags.count == 0) {
        abort(); /* a rejected job says why */
    }
    sl_diags_fini(&diags);
    return 0;
}
