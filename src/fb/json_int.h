/*
 * json_int.h - the JSON tape: one pass of strict JSON (RFC 8259) into a flat
 * array of tokens that the transcoder walks with random access (it needs to
 * look ahead for union `_type` keys and the envelope's `type`).
 *
 * Containers record the index one past their last token, so skipping a value
 * is O(1). Strings are checked for valid UTF-8 and escapes during the pass;
 * their bytes stay in the input until sl_json_string() decodes them.
 */
#ifndef SL_FB_JSON_INT_H
#define SL_FB_JSON_INT_H

#include <stddef.h>
#include <stdint.h>

#define SL_JSON_DEPTH_MAX 128

enum sl_json_kind { SL_JSON_OBJ, SL_JSON_ARR, SL_JSON_STR, SL_JSON_NUM, SL_JSON_TRUE,
                    SL_JSON_FALSE, SL_JSON_NULL };

struct sl_json_tok {
    uint32_t start;    /* byte offset in the input (a string: after the quote) */
    uint32_t len;      /* string: raw bytes between the quotes; number: text length */
    uint32_t end;      /* index of the token after this value */
    uint32_t count;    /* object: members; array: elements */
    uint8_t kind;      /* enum sl_json_kind */
    uint8_t escaped;   /* string has backslash escapes */
    uint8_t is_int;    /* number has no fraction or exponent */
};

/* Owned by one transcoder; grows only when a record needs more. */
struct sl_json_tape {
    struct sl_json_tok *toks;
    uint32_t count, cap;
    char *text;        /* decoded string scratch */
    size_t text_cap;
};

void sl_json_tape_init(struct sl_json_tape *tape);
void sl_json_tape_fini(struct sl_json_tape *tape);

/* Tokenizes json[0..len). Returns 0, or -EINVAL with "col N: reason". */
int sl_json_tape_parse(struct sl_json_tape *tape, const char *json, size_t len, char *err,
                       size_t err_len);

/* Decodes string token t; returns its bytes (in the input when unescaped,
 * else in tape->text, valid until the next call) and length. */
const char *sl_json_string(struct sl_json_tape *tape, const char *json,
                           const struct sl_json_tok *t, size_t *len);

/* Length of the valid UTF-8 sequence at s (n > 0 bytes available): 1 for
 * ASCII, 0 when invalid (overlong, surrogate, above U+10FFFF, truncated). */
static inline size_t sl_utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : len;
}

/* Index of the value of member `key` in object token obj, or 0 when absent. */
uint32_t sl_json_member(const struct sl_json_tape *tape, const char *json, uint32_t obj,
                        const char *key, size_t key_len);

#endif
