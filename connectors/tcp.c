/* tcp.c - the tcp source (listen; io_uring multishot accept + recv on a
 * provided-buffer ring; optional cumulative acks to clients) and the tcp
 * sink (a client connection to host:port). */
#include "sl/connector.h"

static const struct sl_option tcp_source_options[] = {
    {"listen", SL_OPT_ADDRESS, NULL, true, NULL, "address to listen on, e.g. 127.0.0.1:7000"},
    {"framing", SL_OPT_ENUM, "fb", false, "fb|jsonl",
     "fb: size-prefixed FlatBuffers frames; jsonl: JSON lines through the schema"},
    {"max_frame", SL_OPT_SIZE, "1MiB", false, NULL,
     "largest frame or line; a longer frame closes the connection (framing lost)"},
    {"max_connections", SL_OPT_INT, "4096", false, NULL, "connections served at once"},
    {"ack", SL_OPT_BOOL, "false", false, NULL,
     "allow clients to ask for cumulative acks in a hello frame (docs/tcp-ack.md)"},
    {NULL, 0, NULL, false, NULL, NULL},
};

const struct sl_source_type sl_source_tcp = {
    .name = "tcp",
    .summary = "listen for events on a TCP port",
    .options = tcp_source_options,
};

static const struct sl_option tcp_sink_options[] = {
    {"connect", SL_OPT_ADDRESS, NULL, true, NULL, "address to send events to"},
    {"framing", SL_OPT_ENUM, "fb", false, "fb|jsonl", "fb: size-prefixed frames; jsonl: JSON lines"},
    {NULL, 0, NULL, false, NULL, NULL},
};

const struct sl_sink_type sl_sink_tcp = {
    .name = "tcp",
    .summary = "send events to a TCP server",
    .options = tcp_sink_options,
};
