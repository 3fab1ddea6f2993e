/*
 * fuzz_json.c - libFuzzer target for the JSON transcoders
 * (src/fb/json_to_fb.c, json_tape.c, fb_to_json.c).
 *
 * The input is one JSON text, transcoded as the envelope and as
 * sluice.orders.OrderPlaced, unprefixed and size-prefixed. Whatever
 * sl_fb_json_to_fb() accepts must come out as a buffer that sl_fb_verify()
 * accepts (payloads checked) and that sl_fb_to_json() writes back; that JSON
 * must transcode again and write back identically (the round trip is a
 * fixed point). A failure of any of these is a bug in src/fb: abort.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fb.h"

static struct fuzz_fb fb;
static struct sl_fb_json json;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fb_init(&fb);
    sl_fb_json_init(&json, &fb.schemas);
    return 0;
}

static _Noreturn void bug(const char *stage, const char *object, bool prefixed, const char *err)
{
    fprintf(stderr, "fuzz_json: %s failed for %s (%s): %s\n", stage, object,
            prefixed ? "prefixed" : "unprefixed", err);
    abort();
}

/* Verifies a transcoded buffer (copied to an exact-size 8-aligned block)
 * and writes it back as JSON into a fresh allocation (*text, *text_len). */
static void check_buffer(const struct sl_fb_object *object, const uint8_t *out, size_t out_len,
                         bool prefixed, char **text, size_t *text_len)
{
    char err[256] = "";
    uint8_t *copy = malloc(out_len != 0 ? out_len : 1);
    FUZZ_CHECK(((uintptr_t)copy & 7) == 0);
    memcpy(copy, out, out_len);
    if (sl_fb_verify(copy, out_len, prefixed, object, &fb.opts, err, sizeof(err)) != 0)
        bug("verify of json_to_fb output", object->name, prefixed, err);
    const char *js = NULL;
    size_t js_len = 0;
    const uint8_t *root = prefixed ? copy + 4 : copy;
    size_t root_len = prefixed ? out_len - 4 : out_len;
    if (sl_fb_to_json(&json, object, root, root_len, &js, &js_len, err, sizeof(err)) != 0)
        bug("to_json of json_to_fb output", object->name, prefixed, err);
    *text = malloc(js_len != 0 ? js_len : 1);
    memcpy(*text, js, js_len);
    *text_len = js_len;
    free(copy);
}

static void transcode(const char *text, size_t len, const struct sl_fb_object *object,
                      bool prefixed)
{
    char err[256] = "";
    const uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = sl_fb_json_to_fb(&json, object, text, len, prefixed, &out, &out_len, err,
                              sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc != 0)
        return;
    char *first = NULL, *second = NULL;
    size_t first_len = 0, second_len = 0;
    check_buffer(object, out, out_len, prefixed, &first, &first_len);
    rc = sl_fb_json_to_fb(&json, object, first, first_len, prefixed, &out, &out_len, err,
                          sizeof(err));
    if (rc != 0)
        bug("json_to_fb of to_json output", object->name, prefixed, err);
    check_buffer(object, out, out_len, prefixed, &second, &second_len);
    if (first_len != second_len || memcmp(first, second, first_len) != 0) {
        fprintf(stderr, "fuzz_json: round trip differs for %s:\n  %.*s\n  %.*s\n", object->name,
                (int)first_len, first, (int)second_len, second);
        abort();
    }
    free(first);
    free(second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size != 0 ? size : 1);
    if (size != 0)
        memcpy(text, data, size);
    transcode(text, size, fb.envelope, false);
    transcode(text, size, fb.envelope, true);
    transcode(text, size, fb.order_placed, false);
    transcode(text, size, fb.order_placed, true);
    free(text);
    return 0;
}
