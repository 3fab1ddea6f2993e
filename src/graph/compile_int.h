/* compile_int.h - the compile context behind sl/operator.h's sl_op_*
 * functions: which node of which job is being compiled, where errors go. */
#ifndef SL_GRAPH_COMPILE_INT_H
#define SL_GRAPH_COMPILE_INT_H

#include <stdbool.h>

#include "graph/job.h"

struct sl_op_compile {
    struct sl_job *job;
    struct sl_job_node *node;
    struct sl_diags *diags;
    bool failed;            /* some sl_op_* call reported an error */
};

#endif
