/*
 * fuzz_verify.c - libFuzzer target for sl_fb_verify (src/fb/verify.c).
 *
 * The input, copied to an 8-aligned allocation of exactly its size (so
 * AddressSanitizer sees any read past the end), is verified as the envelope
 * (payloads checked against the table their `type` names) and as
 * sluice.orders.OrderPlaced, each size-prefixed and unprefixed. A buffer
 * that passes is then read with the unchecked readers through
 * sl_fb_to_json(): verify at the boundary, trust inside, so any out-of-bounds
 * or misaligned read there is a verifier bug. sl_fb_to_json() may still
 * refuse (invalid UTF-8 in a string), but only with -EINVAL.
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

static void verify_one(const uint8_t *buf, size_t len, bool prefixed,
                       const struct sl_fb_object *object)
{
    char err[256] = "";
    int rc = sl_fb_verify(buf, len, prefixed, object, &fb.opts, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc != 0) {
        FUZZ_CHECK(strncmp(err, "offset ", 7) == 0);
        return;
    }
    FUZZ_CHECK(len >= (prefixed ? 8u : 4u));
    const uint8_t *root = prefixed ? buf + 4 : buf;
    size_t root_len = prefixed ? len - 4 : len;
    const char *out = NULL;
    size_t out_len = 0;
    rc = sl_fb_to_json(&json, object, root, root_len, &out, &out_len, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    FUZZ_CHECK(rc != 0 || (out != NULL && out_len >= 2 && out[0] == '{'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size != 0 ? size : 1);
    FUZZ_CHECK(((uintptr_t)buf & 7) == 0);
    if (size != 0)
        memcpy(buf, data, size);
    verify_one(buf, size, false, fb.envelope);
    verify_one(buf, size, true, fb.envelope);
    verify_one(buf, size, false, fb.order_placed);
    verify_one(buf, size, true, fb.order_placed);
    free(buf);
    return 0;
}
