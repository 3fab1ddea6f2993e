/*
 * glob.c - glob patterns for `s ~ "order.*"`: `*` matches any run of characters
 * (including none), `?` exactly one character (a whole UTF-8 sequence), and
 * `\` makes the next character literal. The pattern is compiled once into
 * tokens (literal runs, ?, *; runs of * collapse); matching backtracks only
 * to the last `*`, so it costs O(len(s) * tokens) at worst and allocates
 * nothing.
 */
#include <string.h>

#include "expr/expr_int.h"

static void push(struct xc *c, uint8_t kind, uint32_t off, uint32_t len)
{
    c->globs = sl_expr_grow(c->globs, &c->glob_cap, sizeof(*c->globs), c->glob_count + 1);
    c->globs[c->glob_count++] = (struct xglob){kind, off, len};
}

struct xrange sl_expr_glob_compile(struct xc *c, uint32_t pat, uint32_t len)
{
    struct xrange r = {c->glob_count, 0};
    /* the pattern lives in the pool, which grows below: index it afresh */
    for (uint32_t i = 0; i < len; i++) {
        char ch = c->pool[pat + i];
        struct xglob *last = c->glob_count > r.first ? &c->globs[c->glob_count - 1] : NULL;
        if (ch == '*') {
            if (!last || last->kind != G_STAR)
                push(c, G_STAR, 0, 0);
            continue;
        }
        if (ch == '?') {
            push(c, G_ONE, 0, 0);
            continue;
        }
        if (ch == '\\' && i + 1 < len)
            ch = c->pool[pat + ++i];
        uint32_t off = sl_expr_pool_add(c, &ch, 1);
        if (last && last->kind == G_LIT && last->off + last->len == off)
            last->len++;
        else
            push(c, G_LIT, off, 1);
    }
    r.count = c->glob_count - r.first;
    return r;
}

/* Bytes of the UTF-8 character starting at s[i] (1 for a stray byte). */
static uint32_t char_len(const char *s, uint32_t i, uint32_t n)
{
    uint32_t j = i + 1;
    while (j < n && ((unsigned char)s[j] & 0xc0) == 0x80 && j - i < 4)
        j++;
    return (unsigned char)s[i] >= 0xc0 ? j - i : 1;
}

bool sl_expr_glob_match(const struct xglob *tokens, uint32_t count, const char *pool,
                        const char *s, uint32_t n)
{
    uint32_t ti = 0, si = 0;
    uint32_t star_ti = UINT32_MAX, star_si = 0;
    while (si < n || ti < count) {
        if (ti < count) {
            const struct xglob *t = &tokens[ti];
            if (t->kind == G_STAR) {
                if (ti + 1 == count)
                    return true;  /* a trailing * takes the rest */
                star_ti = ti++;
                star_si = si;
                continue;
            }
            if (t->kind == G_ONE && si < n) {
                si += char_len(s, si, n);
                ti++;
                continue;
            }
            if (t->kind == G_LIT && n - si >= t->len &&
                memcmp(s + si, pool + t->off, t->len) == 0) {
                si += t->len;
                ti++;
                continue;
            }
        }
        /* mismatch: let the last * swallow one more character and retry */
        if (star_ti == UINT32_MAX || star_si >= n)
            return false;
        star_si += char_len(s, star_si, n);
        si = star_si;
        ti = star_ti + 1;
    }
    return true;
}
