/*
 * json_tape.c - strict JSON to a token tape (see json_int.h). One loop with
 * an explicit stack of open containers, at most SL_JSON_DEPTH_MAX deep;
 * every error names the 1-based byte column where it was found.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/assert.h"
#include "fb/json_int.h"

struct parser {
    struct sl_json_tape *tape;
    const char *s;
    size_t len, pos;
    char *err;
    size_t err_len;
};

static int fail(struct parser *p, size_t at, const char *what)
{
    if (p->err_len)
        snprintf(p->err, p->err_len, "col %zu: %s", at + 1, what);
    return -EINVAL;
}

void sl_json_tape_init(struct sl_json_tape *tape) { memset(tape, 0, sizeof(*tape)); }

void sl_json_tape_fini(struct sl_json_tape *tape)
{
    free(tape->toks);
    free(tape->text);
    memset(tape, 0, sizeof(*tape));
}

static void __attribute__((noinline)) tok_grow(struct sl_json_tape *tape)
{
    tape->cap = tape->cap ? tape->cap * 2 : 256;
    tape->toks = realloc(tape->toks, tape->cap * sizeof(*tape->toks));
    SL_ASSERT(tape->toks);
}

/* Writes token t field by field (a struct literal costs a padded copy). */
static inline void tok_set(struct parser *p, uint32_t t, enum sl_json_kind kind, size_t start,
                           size_t len, uint32_t end, uint32_t count, bool escaped, bool is_int)
{
    struct sl_json_tok *tok = &p->tape->toks[t];
    tok->start = (uint32_t)start;
    tok->len = (uint32_t)len;
    tok->end = end;
    tok->count = count;
    tok->kind = (uint8_t)kind;
    tok->escaped = escaped;
    tok->is_int = is_int;
}

/* Index of a new token, which the caller writes whole (tok_set). */
static inline uint32_t tok_new(struct parser *p)
{
    struct sl_json_tape *tape = p->tape;
    if (__builtin_expect(tape->count == tape->cap, 0))
        tok_grow(tape);
    return tape->count++;
}

/* Position of the first byte at or after pos that is not JSON whitespace. */
static inline size_t skip_ws(const char *s, size_t len, size_t pos)
{
    while (pos < len && (unsigned char)s[pos] <= ' ' &&
           (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r'))
        pos++;
    return pos;
}

static int hex4(const char *s, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        x <<= 4;
        if (c >= '0' && c <= '9')
            x |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            x |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *v = x;
    return 0;
}

#ifndef __SSE2__ /* the 8-byte scan, where there is no 16-byte SSE2 one */
#define SWAR_ONES 0x0101010101010101ull
#define SWAR_HIGH 0x8080808080808080ull

/* Non-zero when some byte of w is '"', '\\', below 0x20 or above 0x7f. */
static inline uint64_t swar_special(uint64_t w)
{
    uint64_t quote = w ^ (SWAR_ONES * '"');
    uint64_t slash = w ^ (SWAR_ONES * '\\');
    uint64_t zero_quote = (quote - SWAR_ONES) & ~quote;
    uint64_t zero_slash = (slash - SWAR_ONES) & ~slash;
    uint64_t control = (w - SWAR_ONES * 0x20) & ~w;
    return (zero_quote | zero_slash | control | w) & SWAR_HIGH;
}
#endif

/* The escape, control or non-ASCII byte c at pos (inside a string that
 * started at start): checks it and returns the position after it, or 0
 * with the failure in p->err. */
static size_t __attribute__((noinline)) string_special(struct parser *p, size_t pos,
                                                     bool *escaped)
{
    const char *s = p->s;
    unsigned char c = (unsigned char)s[pos];
    if (c < 0x20) {
        fail(p, pos, "control character in string (escape it)");
        return 0;
    }
    if (c >= 0x80) {
        size_t n = sl_utf8_len((const unsigned char *)s + pos, p->len - pos);
        if (!n)
            fail(p, pos, "invalid UTF-8 in string");
        return n ? pos + n : 0;
    }
    /* a backslash */
    *escaped = true;
    if (pos + 1 >= p->len)
        return p->len; /* unterminated: the caller words it */
    char e = s[pos + 1];
    if (strchr("\"\\/bfnrt", e) && e)
        return pos + 2;
    if (e != 'u') {
        fail(p, pos, "invalid escape in string");
        return 0;
    }
    uint32_t u;
    if (pos + 6 > p->len || hex4(s + pos + 2, &u)) {
        fail(p, pos, "invalid \\u escape (needs 4 hex digits)");
        return 0;
    }
    pos += 6;
    if (u >= 0xdc00 && u <= 0xdfff) {
        fail(p, pos - 6, "lone low surrogate in \\u escape");
        return 0;
    }
    if (u >= 0xd800 && u <= 0xdbff) {
        uint32_t lo;
        if (pos + 6 > p->len || s[pos] != '\\' || s[pos + 1] != 'u' || hex4(s + pos + 2, &lo) ||
            lo < 0xdc00 || lo > 0xdfff) {
            fail(p, pos - 6, "high surrogate not followed by a low surrogate");
            return 0;
        }
        pos += 6;
    }
    return pos;
}

/* Non-zero for '"', '\\', a control or a non-ASCII byte. */
static inline bool byte_special(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

#ifdef __SSE2__
#define SCAN_BYTES 16u
/* Index of the first '"', '\\', control or non-ASCII byte of s[0..16), 16 if none. */
static inline uint32_t scan_special(const char *s)
{
    __m128i v = _mm_loadu_si128((const __m128i *)s);
    __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    m = _mm_or_si128(m, _mm_cmplt_epi8(v, _mm_set1_epi8(0x20))); /* signed: and >= 0x80 */
    return (uint32_t)__builtin_ctz((unsigned)_mm_movemask_epi8(m) | 0x10000u);
}
#else
#define SCAN_BYTES 8u
/* Index of the first '"', '\\', control or non-ASCII byte of s[0..8), 8 if none. */
static inline uint32_t scan_special(const char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    uint64_t special = swar_special(w);
    /* the lowest marked byte is always a real one (little-endian) */
    return special ? (uint32_t)__builtin_ctzll(special) / 8 : 8;
}
#endif

/* The string whose opening quote is at quote: appends its token and
 * returns the position after its closing quote, or 0 with the failure in
 * p->err. Inlined into the tape loop, where the positions live in registers. */
static inline __attribute__((always_inline)) size_t parse_string_at(struct parser *p,
                                                                    size_t quote)
{
    const char *s = p->s;
    size_t len = p->len, start = quote + 1, pos = start;
    bool escaped = false;
    for (;;) {
        /* 16 or 8 bytes at a time while none is '"', '\\', a control or non-ASCII byte */
        for (;; pos += SCAN_BYTES) {
            if (pos + SCAN_BYTES > len) {
                while (pos < len && !byte_special((unsigned char)s[pos]))
                    pos++;
                break;
            }
            uint32_t at = scan_special(s + pos);
            if (at < SCAN_BYTES) {
                pos += at;
                break;
            }
        }
        if (__builtin_expect(pos >= len, 0)) {
            fail(p, start - 1, "unterminated string");
            return 0;
        }
        if (s[pos] == '"')
            break;
        pos = string_special(p, pos, &escaped);
        if (!pos)
            return 0;
    }
    uint32_t t = tok_new(p);
    tok_set(p, t, SL_JSON_STR, start, pos - start, t + 1, 0, escaped, false);
    return pos + 1;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Position after the run of digits at pos. */
static inline size_t skip_digits(const char *s, size_t len, size_t pos)
{
    while (pos < len && is_digit(s[pos]))
        pos++;
    return pos;
}

static int parse_number(struct parser *p)
{
    const char *s = p->s;
    size_t start = p->pos, len = p->len, pos = start; /* positions in registers */
    bool is_int = true;
    if (pos < len && s[pos] == '-')
        pos++;
    if (pos >= len || !is_digit(s[pos]))
        return fail(p, start, "invalid number");
    if (s[pos] == '0') {
        pos++;
        if (pos < len && is_digit(s[pos]))
            return fail(p, start, "leading zero in number");
    } else {
        pos = skip_digits(s, len, pos);
    }
    if (pos < len && s[pos] == '.') {
        is_int = false;
        pos++;
        if (pos >= len || !is_digit(s[pos]))
            return fail(p, pos, "digit expected after decimal point");
        pos = skip_digits(s, len, pos);
    }
    if (pos < len && (s[pos] == 'e' || s[pos] == 'E')) {
        is_int = false;
        pos++;
        if (pos < len && (s[pos] == '+' || s[pos] == '-'))
            pos++;
        if (pos >= len || !is_digit(s[pos]))
            return fail(p, pos, "digit expected in exponent");
        pos = skip_digits(s, len, pos);
    }
    uint32_t t = tok_new(p);
    tok_set(p, t, SL_JSON_NUM, start, pos - start, t + 1, 0, false, is_int);
    p->pos = pos;
    return 0;
}

static int parse_literal(struct parser *p, const char *word, enum sl_json_kind kind)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, p->pos, "unexpected character (expected a JSON value)");
    uint32_t t = tok_new(p);
    tok_set(p, t, kind, p->pos, n, t + 1, 0, false, false);
    p->pos += n;
    return 0;
}

/* A number or literal at p->pos; p->pos moves past it. */
static int parse_scalar(struct parser *p)
{
    switch (p->s[p->pos]) {
    case 't': return parse_literal(p, "true", SL_JSON_TRUE);
    case 'f': return parse_literal(p, "false", SL_JSON_FALSE);
    case 'n': return parse_literal(p, "null", SL_JSON_NULL);
    default: return parse_number(p);
    }
}

/* Opens the container at pos ('{' or '['): its token gets start and kind;
 * count and end are set when it closes. */
static void open_container(struct parser *p, size_t pos, bool is_obj)
{
    uint32_t t = tok_new(p);
    tok_set(p, t, is_obj ? SL_JSON_OBJ : SL_JSON_ARR, pos, 0, 0, 0, false, false);
}

/* skip_ws() where the next byte is rarely whitespace: one test inline. */
static inline size_t next_nonws(const char *s, size_t len, size_t pos)
{
    if (__builtin_expect(pos < len && (unsigned char)s[pos] > ' ', 1))
        return pos;
    return skip_ws(s, len, pos);
}

/*
 * The whole value, without recursion. The innermost open container is held
 * in locals (its token, whether it is an object, its members so far); the
 * ones around it are on stack[] (token << 1 | is_obj) and counts[], at most
 * SL_JSON_DEPTH_MAX of them. A container's count and end are written when
 * it closes. States:
 *   value   a value is expected at pos (after whitespace)
 *   member  inside the innermost container, a member is expected
 *   after   a value ended: a ',' or the innermost container's close follows
 */
int sl_json_tape_parse(struct sl_json_tape *tape, const char *json, size_t len, char *err,
                       size_t err_len)
{
    struct parser p = {.tape = tape, .s = json, .len = len, .err = err, .err_len = err_len};
    uint32_t stack[SL_JSON_DEPTH_MAX], counts[SL_JSON_DEPTH_MAX];
    uint32_t depth = 0, cur = 0, count = 0;
    bool in_obj = false;
    size_t pos = 0;
    tape->count = 0;
    if (len > UINT32_MAX)
        return fail(&p, 0, "input larger than 4 GiB");
value:
    pos = next_nonws(json, len, pos);
    if (pos >= len)
        return fail(&p, pos, "unexpected end of input (expected a JSON value)");
    if (json[pos] == '"') {
        pos = parse_string_at(&p, pos);
        if (!pos)
            return -EINVAL;
        goto after;
    }
    if (json[pos] == '{' || json[pos] == '[') {
        if (depth >= SL_JSON_DEPTH_MAX)
            return fail(&p, pos, "nesting too deep");
        stack[depth] = cur << 1 | in_obj;
        counts[depth++] = count;
        in_obj = json[pos] == '{';
        cur = tape->count;
        count = 0;
        open_container(&p, pos, in_obj);
        pos = next_nonws(json, len, pos + 1);
        if (pos < len && json[pos] == (in_obj ? '}' : ']')) {
            pos++;
            goto close;
        }
        goto member;
    }
    p.pos = pos;
    int rc = parse_scalar(&p);
    if (rc)
        return rc;
    pos = p.pos;
    goto after;
member:
    if (in_obj) {
        pos = next_nonws(json, len, pos);
        if (pos >= len || json[pos] != '"')
            return fail(&p, pos, "expected a string key");
        pos = parse_string_at(&p, pos);
        if (!pos)
            return -EINVAL;
        pos = next_nonws(json, len, pos);
        if (pos >= len || json[pos] != ':')
            return fail(&p, pos, "expected ':' after key");
        pos++;
    }
    goto value;
after:
    if (depth == 0)
        goto done;
    count++;
    pos = next_nonws(json, len, pos);
    if (pos < len && json[pos] == ',') {
        pos++;
        goto member;
    }
    if (pos < len && json[pos] == (in_obj ? '}' : ']')) {
        pos++;
        goto close;
    }
    return fail(&p, pos, in_obj ? "expected ',' or '}'" : "expected ',' or ']'");
close:
    tape->toks[cur].count = count;
    tape->toks[cur].end = tape->count;
    depth--;
    cur = stack[depth] >> 1;
    in_obj = stack[depth] & 1;
    count = counts[depth];
    goto after;
done:
    pos = skip_ws(json, len, pos);
    if (pos != len)
        return fail(&p, pos, "unexpected characters after the JSON value");
    return 0;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the validated escapes of s[0..len) into out (at most len bytes). */
static size_t decode_escapes(const char *s, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] != '\\') {
            out[n++] = s[i++];
            continue;
        }
        char e = s[i + 1];
        i += 2;
        switch (e) {
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            uint32_t u = 0, lo = 0; /* set by hex4(): the tape pass validated the escape */
            hex4(s + i, &u);
            i += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
                hex4(s + i + 2, &lo);
                i += 6;
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            }
            n += put_utf8(out + n, u);
            break;
        }
        default: out[n++] = e; break; /* " \ / */
        }
    }
    return n;
}

const char *sl_json_string(struct sl_json_tape *tape, const char *json,
                           const struct sl_json_tok *t, size_t *len)
{
    const char *s = json + t->start;
    if (!t->escaped) {
        *len = t->len;
        return s;
    }
    if (tape->text_cap < t->len) {
        tape->text_cap = t->len * 2;
        tape->text = realloc(tape->text, tape->text_cap);
        SL_ASSERT(tape->text);
    }
    /* the tape pass validated every escape; decoding never grows the text */
    *len = decode_escapes(s, t->len, tape->text);
    return tape->text;
}

/* Whether key token kt spells key (escapes decoded; keys of up to 1 KiB). */
static bool key_equals(const char *json, const struct sl_json_tok *kt, const char *key,
                       size_t key_len)
{
    if (!kt->escaped)
        return kt->len == key_len && memcmp(json + kt->start, key, key_len) == 0;
    char text[1024];
    if (kt->len > sizeof(text))
        return false;
    size_t n = decode_escapes(json + kt->start, kt->len, text);
    return n == key_len && memcmp(text, key, key_len) == 0;
}

uint32_t sl_json_member(const struct sl_json_tape *tape, const char *json, uint32_t obj,
                        const char *key, size_t key_len)
{
    const struct sl_json_tok *toks = tape->toks;
    uint32_t k = obj + 1;
    for (uint32_t i = 0; i < toks[obj].count; i++) {
        if (key_equals(json, &toks[k], key, key_len))
            return k + 1;
        k = toks[k + 1].end;
    }
    return 0;
}
