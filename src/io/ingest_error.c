/* ingest_error.c - names, formatting and the default (logging) callback of
 * ingestion errors; see ingest_error.h. */
#include "io/ingest_error.h"

#include <inttypes.h>
#include <stdio.h>

#include "core/assert.h"

static const char *const kind_names[SL_INGEST_ERR_KINDS] = {
    [SL_INGEST_ERR_OVERSIZE] = "oversize",   [SL_INGEST_ERR_ZERO_LENGTH] = "zero_length",
    [SL_INGEST_ERR_VERIFY] = "verify",       [SL_INGEST_ERR_JSON] = "json",
    [SL_INGEST_ERR_TRUNCATED] = "truncated", [SL_INGEST_ERR_IO] = "io",
};

const char *sl_ingest_error_kind_name(enum sl_ingest_error_kind kind)
{
    SL_ASSERT((unsigned)kind < SL_INGEST_ERR_KINDS);
    return kind_names[kind];
}

void sl_ingest_error_format(const struct sl_ingest_error *error, char *buf, size_t len)
{
    snprintf(buf, len,
             "%s conn=%" PRIu32 " peer=%s offset=%" PRIu64 " seq=%" PRIu64 " len=%" PRIu64
             " closed=%d: %s",
             sl_ingest_error_kind_name(error->kind), error->conn_id,
             error->peer ? error->peer : "-", error->offset, error->seq, error->length,
             error->sync_lost ? 1 : 0, error->reason ? error->reason : "");
}

void sl_ingest_error_log(void *ctx, const struct sl_ingest_error *error)
{
    struct sl_log_limit *limit = ctx;
    char line[512];
    sl_ingest_error_format(error, line, sizeof(line));
    sl_log_limited(limit, SL_LOG_WARN, "ingest: bad input: %s", line);
}
