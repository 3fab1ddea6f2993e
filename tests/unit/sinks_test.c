/* sinks_test.c - the file, stdout, tcp and null sinks through their
 * registration structs: compile() of their settings (with errors), then
 * open/write/close over a batch of real envelope events (encoded from
 * order JSON) with control records in between. Output is read back and
 * compared: fb frames byte for byte, jsonl lines with sl_fb_to_json of each
 * event. Also: a reused output buffer, an event with no JSON form (left
 * out, counted), stdout into a closed pipe (EPIPE), tcp to a closed port
 * and to a peer that resets the connection (errors naming the address).
 * Exit 0 pass, 1 fail, 77 when io_uring is not available for the file sink.
 *
 * compile() runs against a small sl_op_* implementation below (a table of
 * settings). It defines every sl_op_* function, weak: the linker then never
 * pulls the graph compiler's object out of libsluice for a connector's
 * reference (a source's compile() in the same file as a sink), and were it
 * linked in anyway its definitions would win; main() checks which it got. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../connectors/sink_format.h"
#include "core/batch.h"
#include "fb/fb.h"
#include "sl/connector.h"

static int test_failures;
#include "test.h"

extern const struct sl_sink_type sl_sink_tcp, sl_sink_file, sl_sink_stdout, sl_sink_null;

/* ---- a node's settings, for compile() ---- */

#define SETTINGS_MAX 4

struct sl_op_compile {
    const struct sl_option *options; /* the sink's table, for defaults */
    const char *keys[SETTINGS_MAX];
    const char *values[SETTINGS_MAX];
    uint32_t errors;                 /* sl_op_error calls */
    char error_key[32];              /* key of the last error */
    char error_text[512];            /* message of the last error */
};

static const char *test_op_string(struct sl_op_compile *c, const char *key)
{
    for (uint32_t i = 0; i < SETTINGS_MAX && c->keys[i]; i++)
        if (strcmp(c->keys[i], key) == 0)
            return c->values[i];
    for (const struct sl_option *o = c->options; o->key; o++)
        if (strcmp(o->key, key) == 0)
            return o->default_value;
    fprintf(stderr, "compile() read undeclared setting '%s'\n", key);
    abort();
}

static bool test_op_bool(struct sl_op_compile *c, const char *key)
{
    const char *text = test_op_string(c, key);
    return text && strcmp(text, "true") == 0;
}

__attribute__((format(printf, 5, 6))) static void
test_op_error(struct sl_op_compile *c, const char *key, const char *entry, const char *hint,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error_text, sizeof(c->error_text), fmt, ap);
    va_end(ap);
    snprintf(c->error_key, sizeof(c->error_key), "%s", key ? key : "");
    c->errors++;
}

static struct sl_fb_schemas schemas;

static const struct sl_fb_schemas *test_op_schemas(const struct sl_op_compile *c)
{
    return &schemas;
}

static const char *test_op_node_name(const struct sl_op_compile *c)
{
    return "sink_test";
}

static long long test_op_int(struct sl_op_compile *c, const char *key)
{
    const char *text = test_op_string(c, key);
    return text ? strtoll(text, NULL, 10) : 0;
}

/* Sinks take no expressions, map settings or ports: asking is an error. */
static struct sl_expr *test_op_expr(struct sl_op_compile *c, const char *key, const char *entry)
{
    test_op_error(c, key, entry, NULL, "no expressions in sinks_test");
    return NULL;
}

static uint32_t test_op_map_count(struct sl_op_compile *c, const char *key)
{
    return 0;
}

static const char *test_op_map_name(struct sl_op_compile *c, const char *key, uint32_t i)
{
    return NULL;
}

static int test_op_add_port(struct sl_op_compile *c, const char *name)
{
    test_op_error(c, NULL, NULL, NULL, "no ports in sinks_test");
    return -1;
}

const struct sl_fb_schemas *sl_op_schemas(const struct sl_op_compile *c)
    __attribute__((weak, alias("test_op_schemas")));
const char *sl_op_node_name(const struct sl_op_compile *c)
    __attribute__((weak, alias("test_op_node_name")));
const char *sl_op_string(struct sl_op_compile *c, const char *key)
    __attribute__((weak, alias("test_op_string")));
long long sl_op_int(struct sl_op_compile *c, const char *key)
    __attribute__((weak, alias("test_op_int")));
struct sl_expr *sl_op_expr(struct sl_op_compile *c, const char *key, const char *entry)
    __attribute__((weak, alias("test_op_expr")));
uint32_t sl_op_map_count(struct sl_op_compile *c, const char *key)
    __attribute__((weak, alias("test_op_map_count")));
const char *sl_op_map_name(struct sl_op_compile *c, const char *key, uint32_t i)
    __attribute__((weak, alias("test_op_map_name")));
int sl_op_add_port(struct sl_op_compile *c, const char *name)
    __attribute__((weak, alias("test_op_add_port")));
bool sl_op_bool(struct sl_op_compile *c, const char *key)
    __attribute__((weak, alias("test_op_bool")));
void sl_op_error(struct sl_op_compile *c, const char *key, const char *entry, const char *hint,
                 const char *fmt, ...) __attribute__((weak, alias("test_op_error")));

/* Runs type's compile() over key/value pairs (NULL-terminated). Returns its
 * result; the plan goes to *plan, diagnostics into *c. */
static int compile_sink(const struct sl_sink_type *type, struct sl_op_compile *c, void **plan,
                        ...)
{
    va_list ap;
    *c = (struct sl_op_compile){.options = type->options};
    va_start(ap, plan);
    for (uint32_t i = 0; i < SETTINGS_MAX; i++) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        c->keys[i] = key;
        c->values[i] = va_arg(ap, const char *);
    }
    va_end(ap);
    *plan = NULL;
    int rc = type->compile(c, plan);
    return rc ? rc : c->errors ? -EINVAL : 0;
}

/* ---- events ---- */

static struct sl_fb_json json;

static const char *const order_lines[] = {
    "{\"id\":\"01HZX3J7Q8A0000000000001\",\"type\":\"order.placed\",\"version\":1,"
    "\"key\":\"customer-42\",\"ts\":1732262400000000,\"correlation_id\":\"order-1001\","
    "\"headers\":[{\"key\":\"source\",\"value\":\"web\"}],\"payload\":{\"order_id\":"
    "\"order-1001\",\"customer_id\":\"customer-42\",\"region\":\"eu\",\"channel\":\"web\","
    "\"amount\":5997,\"currency\":\"EUR\",\"items\":[{\"sku\":\"BOOK-001\",\"quantity\":2,"
    "\"unit_price\":1999},{\"sku\":\"PEN-007\",\"quantity\":1,\"unit_price\":1999}],"
    "\"shipping\":{\"name\":\"Ada Lovelace\",\"street\":\"12 St James's Square\",\"city\":"
    "\"London\",\"postal_code\":\"SW1Y 4JH\",\"country\":\"GB\"},\"tags\":[\"gift\","
    "\"first-order\"]}}",
    "{\"id\":\"01HZX3J7Q8A0000000000002\",\"type\":\"payment.charge\",\"key\":\"customer-42\","
    "\"ts\":1732262400100000,\"correlation_id\":\"order-1001\",\"causation_id\":"
    "\"01HZX3J7Q8A0000000000001\",\"payload\":{\"order_id\":\"order-1001\",\"customer_id\":"
    "\"customer-42\",\"total\":{\"units\":5997,\"currency\":\"EUR\"},\"attempt\":1}}",
    "{\"id\":\"01HZX3J7Q8A0000000000003\",\"type\":\"payment.charge_failed\",\"key\":"
    "\"customer-42\",\"ts\":1732262400350000,\"correlation_id\":\"order-1001\",\"causation_id\":"
    "\"01HZX3J7Q8A0000000000002\",\"payload\":{\"order_id\":\"order-1001\",\"code\":"
    "\"card_declined\",\"message\":\"card declined by issuer\",\"retryable\":true}}",
    "{\"id\":\"01HZX3J7Q8A0000000000004\",\"type\":\"order.placed\",\"key\":\"customer-7\","
    "\"ts\":1732262401000000,\"correlation_id\":\"order-1002\",\"payload\":{\"order_id\":"
    "\"order-1002\",\"customer_id\":\"customer-7\",\"region\":\"us\",\"channel\":\"mobile\","
    "\"amount\":129900,\"currency\":\"USD\",\"items\":[{\"sku\":\"LAPTOP-13\",\"quantity\":1,"
    "\"unit_price\":129900}],\"priority\":true}}",
};

#define ORDERS_PER_BATCH 300u /* events in the big batch: the output needs several KiB */

/* Appends the order JSON as a size-prefixed event to batch. */
static void append_json(struct sl_batch *batch, const char *text, uint64_t position)
{
    char err[256];
    const uint8_t *buf;
    size_t len;
    int rc = sl_fb_json_to_fb(&json, schemas.envelope, text, strlen(text), true, &buf, &len, err,
                              sizeof(err));
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0)
        CHECK(sl_batch_append(batch, buf, (uint32_t)len, 1, position) == 0);
}

/* A batch of the four sample events and ORDERS_PER_BATCH generated orders,
 * with a watermark and a checkpoint barrier between them. */
static void fill_batch(struct sl_batch *batch)
{
    char text[512];
    sl_batch_reset(batch);
    for (uint32_t i = 0; i < 4; i++)
        append_json(batch, order_lines[i], i);
    CHECK(sl_batch_add_control(batch, SL_CTRL_WATERMARK, 1, 1732262401000000u) == 0);
    for (uint32_t i = 0; i < ORDERS_PER_BATCH; i++) {
        snprintf(text, sizeof(text),
                 "{\"id\":\"gen-%u\",\"type\":\"order.placed\",\"key\":\"customer-%u\","
                 "\"ts\":%u,\"payload\":{\"order_id\":\"order-%u\",\"amount\":%u,"
                 "\"region\":\"%s\",\"currency\":\"EUR\"}}",
                 i, i % 17, 1000000u + i, i, i * 13 + 1, i % 2 ? "eu" : "us");
        append_json(batch, text, 4 + i);
        if (i == ORDERS_PER_BATCH / 2)
            CHECK(sl_batch_add_control(batch, SL_CTRL_CHECKPOINT, 1, 7) == 0);
    }
}

/* Growable byte buffer for expected and received output. */
struct bytes {
    uint8_t *data;
    size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *data, size_t len)
{
    if (b->cap - b->len < len) {
        b->cap = (b->len + len) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data)
            abort();
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

/* What `times` writes of batch must produce in format, computed
 * independently of the encoder: the frames, or sl_fb_to_json per event. */
static void expected_output(struct sl_batch *batch, enum sl_sink_format format, uint32_t times,
                            struct bytes *out)
{
    char err[256];
    out->len = 0;
    for (uint32_t t = 0; t < times; t++) {
        for (uint32_t i = 0; i < sl_batch_entry_count(batch); i++) {
            const struct sl_batch_entry *entry = sl_batch_entry_at(batch, i);
            if (entry->kind != SL_ENTRY_EVENT)
                continue;
            const uint8_t *data = sl_batch_event_data(batch, entry);
            if (format == SL_SINK_FORMAT_FB) {
                bytes_add(out, data, entry->len);
                continue;
            }
            const char *line;
            size_t line_len;
            int rc = sl_fb_to_json(&json, schemas.envelope, data + 4, entry->len - 4, &line,
                                   &line_len, err, sizeof(err));
            CHECK_MSG(rc == 0, "%s", err);
            bytes_add(out, line, line_len);
            bytes_add(out, "\n", 1);
        }
    }
}

static void check_same(const struct bytes *got, const struct bytes *want, const char *what)
{
    CHECK_MSG(got->len == want->len, "%s: %zu bytes, want %zu", what, got->len, want->len);
    if (got->len == want->len)
        CHECK_MSG(memcmp(got->data, want->data, got->len) == 0, "%s: bytes differ", what);
}

/* open, write batch `times` times (an events-free batch in between), close. */
static int run_sink(const struct sl_sink_type *type, const void *plan, struct sl_batch *batch,
                    uint32_t times, char *err, size_t err_len)
{
    struct sl_sink_args args = {.plan = plan, .schemas = &schemas, .node_name = "sink_test"};
    struct sl_batch controls;
    struct sl_batch_limits limits = {.events_max = 4, .arena_bytes_max = 64};
    void *state = NULL;
    int rc = type->open(&args, &state, err, err_len);
    if (rc)
        return rc;
    CHECK(sl_batch_init(&controls, &limits) == 0);
    CHECK(sl_batch_add_control(&controls, SL_CTRL_END_OF_STREAM, 1, 0) == 0);
    for (uint32_t t = 0; t < times && rc == 0; t++) {
        rc = type->write(state, batch, err, err_len);
        if (rc == 0)
            rc = type->write(state, &controls, err, err_len);
    }
    int close_rc = type->close(state, err, err_len);
    sl_batch_fini(&controls);
    return rc ? rc : close_rc;
}

static void read_file(const char *path, struct bytes *out)
{
    char chunk[65536];
    out->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    ssize_t n;
    while (fd >= 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
        bytes_add(out, chunk, (size_t)n);
    if (fd >= 0)
        close(fd);
}

/* ---- file sink ---- */

static char tmp_dir[] = "/tmp/sinks_test.XXXXXX";

static void test_file_format(struct sl_batch *batch, const char *format, bool fsync)
{
    char path[256], err[512];
    struct sl_op_compile c;
    void *plan;
    struct bytes got = {0}, want = {0};
    snprintf(path, sizeof(path), "%s/out.%s", tmp_dir, format);
    int rc = compile_sink(&sl_sink_file, &c, &plan, "path", path, "format", format, "fsync",
                          fsync ? "true" : "false", NULL);
    CHECK_MSG(rc == 0, "%s", c.error_text);
    if (rc)
        return;
    /* a stale, longer file is truncated at open */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && ftruncate(fd, 16 << 20) == 0);
    close(fd);
    rc = run_sink(&sl_sink_file, plan, batch, 3, err, sizeof(err));
    CHECK_MSG(rc == 0, "file sink: %s", err);
    enum sl_sink_format fmt;
    CHECK(sl_sink_format_parse(format, &fmt) == 0);
    expected_output(batch, fmt, 3, &want);
    read_file(path, &got);
    check_same(&got, &want, path);
    sl_sink_file.plan_free(plan);
    free(got.data);
    free(want.data);
}

static void test_file_compile_errors(void)
{
    char path[256];
    struct sl_op_compile c;
    void *plan;
    snprintf(path, sizeof(path), "%s/no/such/dir/out.fb", tmp_dir);
    CHECK(compile_sink(&sl_sink_file, &c, &plan, "path", path, NULL) == -EINVAL);
    CHECK(plan == NULL && c.errors == 1 && strcmp(c.error_key, "path") == 0);
    CHECK_MSG(strstr(c.error_text, "/no/such/dir") != NULL, "%s", c.error_text);
    /* a path that is a directory */
    CHECK(compile_sink(&sl_sink_file, &c, &plan, "path", tmp_dir, NULL) == -EINVAL);
    CHECK_MSG(strstr(c.error_text, "is a directory") != NULL, "%s", c.error_text);
    /* a file where a directory should be */
    snprintf(path, sizeof(path), "%s/out.fb/x", tmp_dir);
    CHECK(compile_sink(&sl_sink_file, &c, &plan, "path", path, NULL) == -EINVAL);
    CHECK(compile_sink(&sl_sink_file, &c, &plan, "path", "/tmp/x.fb", "format", "xml", NULL) ==
          -EINVAL);
    CHECK(strcmp(c.error_key, "format") == 0);
    /* defaults: format fb, no fsync */
    snprintf(path, sizeof(path), "%s/default.fb", tmp_dir);
    CHECK(compile_sink(&sl_sink_file, &c, &plan, "path", path, NULL) == 0);
    const struct sl_file_sink_plan *file_plan = plan;
    CHECK(file_plan && file_plan->format == SL_SINK_FORMAT_FB && !file_plan->fsync);
    sl_sink_file.plan_free(plan);
}

/* ---- encoder ---- */

/* The output buffer reaches its size once and is reused; an event with a
 * string that is not UTF-8 is left out of jsonl and counted. */
static void test_encoder(struct sl_batch *batch)
{
    struct sl_sink_encoder enc;
    struct bytes want = {0};
    sl_sink_encoder_init(&enc, SL_SINK_FORMAT_JSONL, &schemas, "enc_test");
    sl_sink_encode(&enc, batch);
    uint8_t *out = enc.out;
    size_t cap = enc.out_cap, len = enc.out_len;
    sl_sink_encode(&enc, batch);
    CHECK(enc.out == out && enc.out_cap == cap && enc.out_len == len);
    expected_output(batch, SL_SINK_FORMAT_JSONL, 1, &want);
    CHECK(enc.out_len == want.len && memcmp(enc.out, want.data, want.len) == 0);

    /* break the UTF-8 of the first event's key, "customer-42" */
    struct sl_batch_entry *first = sl_batch_entry_at(batch, 0);
    uint8_t *data = sl_batch_event_data(batch, first);
    uint8_t *key = memmem(data, first->len, "customer-42", 11);
    CHECK(key != NULL);
    if (key) {
        key[0] = 0xff;
        sl_sink_encode(&enc, batch);
        CHECK(enc.events_skipped == 1);
        uint8_t *nl = memchr(want.data, '\n', want.len);
        size_t first_line = (size_t)(nl - want.data) + 1;
        CHECK(enc.out_len == want.len - first_line &&
              memcmp(enc.out, want.data + first_line, enc.out_len) == 0);
        key[0] = 'c';
    }
    sl_sink_encoder_fini(&enc);
    free(want.data);
}

/* ---- stdout sink ---- */

struct reader {
    int fd;
    struct bytes got;
};

static void *reader_main(void *arg)
{
    struct reader *reader = arg;
    char chunk[65536];
    ssize_t n;
    while ((n = read(reader->fd, chunk, sizeof(chunk))) > 0)
        bytes_add(&reader->got, chunk, (size_t)n);
    return NULL;
}

/* Runs the stdout sink with fd 1 pointing into a pipe; returns its result. */
static int stdout_into_pipe(struct sl_batch *batch, const void *plan, struct bytes *got,
                            char *err, size_t err_len)
{
    int fds[2];
    pthread_t thread;
    struct reader reader = {0};
    fflush(stdout);
    int saved = dup(1);
    CHECK(saved >= 0 && pipe(fds) == 0 && dup2(fds[1], 1) == 1);
    close(fds[1]);
    reader.fd = fds[0];
    CHECK(pthread_create(&thread, NULL, reader_main, &reader) == 0);
    int rc = run_sink(&sl_sink_stdout, plan, batch, 2, err, err_len);
    CHECK(dup2(saved, 1) == 1); /* the pipe's last write end closes: the reader sees EOF */
    close(saved);
    pthread_join(thread, NULL);
    close(fds[0]);
    *got = reader.got;
    return rc;
}

static void test_stdout(struct sl_batch *batch)
{
    static const char *const formats[] = {"jsonl", "fb"};
    char err[512];
    struct sl_op_compile c;
    void *plan;
    for (uint32_t i = 0; i < 2; i++) {
        struct bytes got = {0}, want = {0};
        const char *format = i == 0 ? NULL : formats[i]; /* jsonl is the default */
        int rc = format ? compile_sink(&sl_sink_stdout, &c, &plan, "format", format, NULL)
                        : compile_sink(&sl_sink_stdout, &c, &plan, NULL);
        CHECK(rc == 0);
        if (rc)
            continue;
        rc = stdout_into_pipe(batch, plan, &got, err, sizeof(err));
        CHECK_MSG(rc == 0, "stdout sink: %s", err);
        expected_output(batch, i == 0 ? SL_SINK_FORMAT_JSONL : SL_SINK_FORMAT_FB, 2, &want);
        check_same(&got, &want, formats[i]);
        sl_sink_stdout.plan_free(plan);
        free(got.data);
        free(want.data);
    }
}

/* A reader that has gone: write() fails with EPIPE (SIGPIPE is ignored). */
static void test_stdout_epipe(struct sl_batch *batch)
{
    char err[512] = "";
    struct sl_op_compile c;
    void *plan;
    int fds[2];
    CHECK(compile_sink(&sl_sink_stdout, &c, &plan, NULL) == 0);
    fflush(stdout);
    int saved = dup(1);
    CHECK(saved >= 0 && pipe(fds) == 0 && dup2(fds[1], 1) == 1);
    close(fds[1]);
    close(fds[0]);
    int rc = run_sink(&sl_sink_stdout, plan, batch, 1, err, sizeof(err));
    CHECK(dup2(saved, 1) == 1);
    close(saved);
    CHECK_MSG(rc == -EPIPE, "rc %d: %s", rc, err);
    CHECK_MSG(strstr(err, "stdout") != NULL, "%s", err);
    sl_sink_stdout.plan_free(plan);
}

/* ---- tcp sink ---- */

/* A listening socket on 127.0.0.1 at a kernel-chosen port. */
static int listen_local(uint16_t *port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t addr_len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    CHECK(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    CHECK(listen(fd, 4) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&addr, &addr_len) == 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

struct server {
    int listen_fd;
    bool reset;         /* accept, then close with RST without reading */
    struct bytes got;   /* otherwise: everything read until EOF */
};

static void *server_main(void *arg)
{
    struct server *server = arg;
    struct reader reader = {0};
    int fd = accept(server->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    if (server->reset) {
        struct linger linger = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
        close(fd);
        return NULL;
    }
    reader.fd = fd;
    reader_main(&reader);
    close(fd);
    server->got = reader.got;
    return NULL;
}

static void test_tcp_framing(struct sl_batch *batch, const char *framing)
{
    char address[64], err[512];
    struct sl_op_compile c;
    void *plan;
    pthread_t thread;
    uint16_t port;
    struct server server = {.listen_fd = listen_local(&port)};
    struct bytes want = {0};
    snprintf(address, sizeof(address), "127.0.0.1:%u", port);
    CHECK(compile_sink(&sl_sink_tcp, &c, &plan, "connect", address, "framing", framing, NULL) ==
          0);
    CHECK(pthread_create(&thread, NULL, server_main, &server) == 0);
    int rc = run_sink(&sl_sink_tcp, plan, batch, 3, err, sizeof(err));
    CHECK_MSG(rc == 0, "tcp sink: %s", err);
    if (rc)
        shutdown(server.listen_fd, SHUT_RDWR); /* unblock accept() */
    pthread_join(thread, NULL);
    close(server.listen_fd);
    enum sl_sink_format fmt;
    CHECK(sl_sink_format_parse(framing, &fmt) == 0);
    expected_output(batch, fmt, 3, &want);
    check_same(&server.got, &want, framing);
    sl_sink_tcp.plan_free(plan);
    free(server.got.data);
    free(want.data);
}

static void test_tcp_errors(struct sl_batch *batch)
{
    char address[64], err[512] = "";
    struct sl_op_compile c;
    void *plan;
    uint16_t port;

    /* nobody listens: open fails, naming the address */
    close(listen_local(&port));
    snprintf(address, sizeof(address), "127.0.0.1:%u", port);
    CHECK(compile_sink(&sl_sink_tcp, &c, &plan, "connect", address, NULL) == 0);
    int rc = run_sink(&sl_sink_tcp, plan, batch, 1, err, sizeof(err));
    CHECK_MSG(rc == -ECONNREFUSED, "rc %d: %s", rc, err);
    CHECK_MSG(strstr(err, address) != NULL, "%s", err);
    sl_sink_tcp.plan_free(plan);

    /* the peer resets: a later write fails with the address, no crash */
    struct server server = {.listen_fd = listen_local(&port), .reset = true};
    pthread_t thread;
    snprintf(address, sizeof(address), "127.0.0.1:%u", port);
    CHECK(compile_sink(&sl_sink_tcp, &c, &plan, "connect", address, NULL) == 0);
    CHECK(pthread_create(&thread, NULL, server_main, &server) == 0);
    struct sl_sink_args args = {.plan = plan, .schemas = &schemas, .node_name = "tcp_reset"};
    void *state = NULL;
    CHECK(sl_sink_tcp.open(&args, &state, err, sizeof(err)) == 0);
    pthread_join(thread, NULL); /* the reset has been sent */
    rc = 0;
    for (uint32_t i = 0; i < 1000 && rc == 0 && state; i++) {
        rc = sl_sink_tcp.write(state, batch, err, sizeof(err));
        if (rc == 0)
            usleep(1000);
    }
    CHECK_MSG(rc == -ECONNRESET || rc == -EPIPE, "rc %d", rc);
    CHECK_MSG(strstr(err, address) != NULL, "%s", err);
    if (state)
        sl_sink_tcp.close(state, err, sizeof(err));
    close(server.listen_fd);
    sl_sink_tcp.plan_free(plan);

    /* addresses: IPv6 in brackets is split, a missing port is not */
    CHECK(compile_sink(&sl_sink_tcp, &c, &plan, "connect", "[::1]:7000", NULL) == 0);
    const struct sl_tcp_sink_plan *tcp_plan = plan;
    CHECK(tcp_plan && strcmp(tcp_plan->host, "::1") == 0 && strcmp(tcp_plan->port, "7000") == 0);
    sl_sink_tcp.plan_free(plan);
    CHECK(compile_sink(&sl_sink_tcp, &c, &plan, "connect", "localhost", NULL) == -EINVAL);
    CHECK(strcmp(c.error_key, "connect") == 0);
    CHECK(compile_sink(&sl_sink_tcp, &c, &plan, "connect", ":7000", NULL) == -EINVAL);
}

/* ---- null sink ---- */

static void test_null(struct sl_batch *batch)
{
    char err[256];
    CHECK(sl_sink_null.compile == NULL); /* no settings */
    CHECK(run_sink(&sl_sink_null, NULL, batch, 2, err, sizeof(err)) == 0);
}

static bool io_uring_available(void)
{
    struct io_uring ring;
    if (io_uring_queue_init(2, &ring, 0) < 0)
        return false;
    io_uring_queue_exit(&ring);
    return true;
}

int main(void)
{
    char err[256];
    struct sl_batch batch;
    struct sl_batch_limits limits = {.events_max = 512, .arena_bytes_max = 1u << 20};
    if ((void *)sl_op_string != (void *)test_op_string) {
        fprintf(stderr, "sinks_test: the graph compiler's sl_op_* got linked in; this test "
                        "drives compile() with its own and cannot run\n");
        return 1;
    }
    if (!io_uring_available()) {
        fprintf(stderr, "sinks_test: io_uring is not available here\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN); /* as `sluice run` does */
    if (sl_fb_schemas_init(&schemas, err, sizeof(err)) ||
        sl_fb_schemas_add_embedded(&schemas, err, sizeof(err))) {
        fprintf(stderr, "schemas: %s\n", err);
        return 1;
    }
    sl_fb_json_init(&json, &schemas);
    CHECK(mkdtemp(tmp_dir) != NULL);
    CHECK(sl_batch_init(&batch, &limits) == 0);
    fill_batch(&batch);
    CHECK(sl_batch_event_count(&batch) == 4 + ORDERS_PER_BATCH);

    test_file_format(&batch, "fb", false);
    test_file_format(&batch, "jsonl", true);
    test_file_compile_errors();
    test_encoder(&batch);
    test_stdout(&batch);
    test_stdout_epipe(&batch);
    test_tcp_framing(&batch, "fb");
    test_tcp_framing(&batch, "jsonl");
    test_tcp_errors(&batch);
    test_null(&batch);

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
    CHECK(system(cmd) == 0);
    sl_batch_fini(&batch);
    sl_fb_json_fini(&json);
    sl_fb_schemas_fini(&schemas);
    return test_exit("sinks_test");
}
