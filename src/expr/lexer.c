/*
 * lexer.c - tokens of the expression language: identifiers, integers
 * (decimal or 0x hex), floats, strings in double or single quotes with
 * JSON escapes (decoded into the constant pool), `true` `false` `in`, and
 * the punctuation ( ) [ ] , . ! && || == != < <= > >= + - * / % ~.
 * Errors (reported at their offset) yield T_ERROR; the parser stops there.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "expr/expr_int.h"

static bool is_ident_start(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static bool is_ident(char ch) { return is_ident_start(ch) || is_digit(ch); }

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static void tok_error(struct xc *c, uint32_t off, const char *hint, const char *message)
{
    sl_expr_error(c, off, hint, "%s", message);
    c->tok.kind = T_ERROR;
    c->syntax_failed = true;
}

/* Hex integer after "0x"; returns false (reported) on overflow or no digits. */
static bool lex_hex(struct xc *c, uint32_t start)
{
    uint32_t p = start + 2;
    uint64_t u = 0;
    if (p >= c->len || hex_value(c->src[p]) < 0) {
        tok_error(c, start, NULL, "expected hex digits after 0x");
        return false;
    }
    for (; p < c->len && hex_value(c->src[p]) >= 0; p++) {
        if (u >> 60) {
            tok_error(c, start, "integers are 64-bit", "integer literal out of range");
            return false;
        }
        u = u << 4 | (uint64_t)hex_value(c->src[p]);
    }
    if (u > (uint64_t)INT64_MAX) {
        tok_error(c, start, "integers are 64-bit signed", "integer literal out of range");
        return false;
    }
    c->tok.kind = T_INT;
    c->tok.u = u;
    c->pos = p;
    return true;
}

/* Float text at start..p, converted with strtod (bounded copy). */
static void lex_float(struct xc *c, uint32_t start, uint32_t p)
{
    char text[80];
    if (p - start >= sizeof(text)) {
        tok_error(c, start, NULL, "number literal too long");
        return;
    }
    memcpy(text, c->src + start, p - start);
    text[p - start] = '\0';
    double f = strtod(text, NULL);
    if (!isfinite(f)) {
        tok_error(c, start, NULL, "float literal out of range");
        return;
    }
    c->tok.kind = T_FLOAT;
    c->tok.f = f;
    c->pos = p;
}

static void lex_number(struct xc *c, uint32_t start)
{
    const char *s = c->src;
    if (s[start] == '0' && start + 1 < c->len && (s[start + 1] == 'x' || s[start + 1] == 'X')) {
        lex_hex(c, start);
        return;
    }
    uint32_t p = start;
    uint64_t u = 0;
    bool overflow = false;
    for (; p < c->len && is_digit(s[p]); p++) {
        uint64_t d = (uint64_t)(s[p] - '0');
        if (u > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            u = u * 10 + d;
    }
    bool is_float = false;
    if (p + 1 < c->len && s[p] == '.' && is_digit(s[p + 1])) {
        is_float = true;
        for (p++; p < c->len && is_digit(s[p]); p++) {
        }
    }
    if (p < c->len && (s[p] == 'e' || s[p] == 'E')) {
        uint32_t q = p + 1;
        if (q < c->len && (s[q] == '+' || s[q] == '-'))
            q++;
        if (q < c->len && is_digit(s[q])) {
            is_float = true;
            for (p = q; p < c->len && is_digit(s[p]); p++) {
            }
        }
    }
    if (p < c->len && is_ident(s[p])) {
        tok_error(c, p, NULL, "unexpected character after number");
        return;
    }
    if (is_float) {
        lex_float(c, start, p);
        return;
    }
    if (overflow || u > (uint64_t)INT64_MAX + 1) {
        tok_error(c, start, "integers are 64-bit signed", "integer literal out of range");
        return;
    }
    c->tok.kind = T_INT;
    c->tok.u = u;
    c->pos = p;
}

static void put_utf8(struct xc *c, uint32_t cp)
{
    uint8_t b[4];
    uint32_t n;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xc0 | cp >> 6);
        b[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xe0 | cp >> 12);
        b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xf0 | cp >> 18);
        b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        b[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    sl_expr_pool_add(c, b, n);
}

/* Four hex digits at p; -1 when malformed. */
static int32_t hex4(const struct xc *c, uint32_t p)
{
    if (p + 4 > c->len)
        return -1;
    int32_t v = 0;
    for (uint32_t i = 0; i < 4; i++) {
        int h = hex_value(c->src[p + i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* \uXXXX (and a low surrogate after a high one) at p (the 'u'); returns
 * the offset after it, or 0 (reported). */
static uint32_t lex_unicode(struct xc *c, uint32_t p)
{
    int32_t cp = hex4(c, p + 1);
    if (cp < 0) {
        tok_error(c, p - 1, "write \\u and four hex digits", "bad \\u escape");
        return 0;
    }
    p += 5;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        int32_t lo = p + 1 < c->len && c->src[p] == '\\' && c->src[p + 1] == 'u'
                         ? hex4(c, p + 2) : -1;
        if (lo < 0xdc00 || lo > 0xdfff) {
            tok_error(c, p - 6, "a high surrogate must be followed by \\u of a low one",
                      "unpaired surrogate in \\u escape");
            return 0;
        }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        p += 6;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        tok_error(c, p - 6, NULL, "unpaired surrogate in \\u escape");
        return 0;
    }
    put_utf8(c, (uint32_t)cp);
    return p;
}

static void lex_string(struct xc *c, uint32_t start)
{
    char quote = c->src[start];
    uint32_t p = start + 1;
    c->tok.str_off = c->pool_len;
    while (p < c->len && c->src[p] != quote) {
        char ch = c->src[p];
        if ((unsigned char)ch < 0x20) {
            tok_error(c, p, "use \\n, \\t or \\u00XX", "control character in string");
            return;
        }
        if (ch != '\\') {
            sl_expr_pool_add(c, &ch, 1);
            p++;
            continue;
        }
        if (p + 1 >= c->len)
            break;
        char e = c->src[p + 1];
        static const char from[] = "\"'\\/bfnrt", to[] = "\"'\\/\b\f\n\r\t";
        const char *hit = memchr(from, e, sizeof(from) - 1);
        if (hit) {
            sl_expr_pool_add(c, &to[hit - from], 1);
            p += 2;
        } else if (e == 'u') {
            p = lex_unicode(c, p + 1);
            if (!p)
                return;
        } else {
            tok_error(c, p, "escapes are \\\" \\' \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
                      "unknown escape in string");
            return;
        }
    }
    if (p >= c->len) {
        tok_error(c, start, "close it with a matching quote", "unterminated string");
        return;
    }
    c->tok.kind = T_STRING;
    c->tok.str_len = c->pool_len - c->tok.str_off;
    c->pos = p + 1;
}

static void lex_word(struct xc *c, uint32_t start)
{
    uint32_t p = start;
    while (p < c->len && is_ident(c->src[p]))
        p++;
    uint32_t n = p - start;
    const char *w = c->src + start;
    c->tok.kind = T_IDENT;
    if (n == 4 && memcmp(w, "true", 4) == 0)
        c->tok.kind = T_TRUE;
    else if (n == 5 && memcmp(w, "false", 5) == 0)
        c->tok.kind = T_FALSE;
    else if (n == 2 && memcmp(w, "in", 2) == 0)
        c->tok.kind = T_IN;
    c->pos = p;
}

/* Two-character operators first, then one-character ones. */
static bool lex_punct(struct xc *c, uint32_t start)
{
    static const struct {
        char text[3];
        uint8_t kind;
    } ops[] = {
        {"&&", T_AND}, {"||", T_OR}, {"==", T_EQ}, {"!=", T_NE}, {"<=", T_LE}, {">=", T_GE},
        {"(", T_LPAREN}, {")", T_RPAREN}, {"[", T_LBRACK}, {"]", T_RBRACK}, {",", T_COMMA},
        {".", T_DOT}, {"!", T_NOT}, {"<", T_LT}, {">", T_GT}, {"+", T_PLUS}, {"-", T_MINUS},
        {"*", T_STAR}, {"/", T_SLASH}, {"%", T_PERCENT}, {"~", T_TILDE},
    };
    uint32_t left = c->len - start;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t n = strlen(ops[i].text);
        if (n <= left && memcmp(c->src + start, ops[i].text, n) == 0) {
            c->tok.kind = ops[i].kind;
            c->pos = start + (uint32_t)n;
            return true;
        }
    }
    return false;
}

static void lex_other(struct xc *c, uint32_t start)
{
    char ch = c->src[start];
    if (ch == '=')
        tok_error(c, start, "compare with ==", "unexpected '='");
    else if (ch == '&')
        tok_error(c, start, "logical and is &&", "unexpected '&'");
    else if (ch == '|')
        tok_error(c, start, "logical or is ||", "unexpected '|'");
    else
        tok_error(c, start, NULL, "unexpected character");
}

void sl_expr_lex(struct xc *c)
{
    uint32_t p = c->pos;
    while (p < c->len && (c->src[p] == ' ' || c->src[p] == '\t' || c->src[p] == '\n' ||
                          c->src[p] == '\r'))
        p++;
    memset(&c->tok, 0, sizeof(c->tok));
    c->tok.off = p;
    c->pos = p;
    if (p >= c->len) {
        c->tok.kind = T_EOF;
        return;
    }
    char ch = c->src[p];
    if (is_ident_start(ch))
        lex_word(c, p);
    else if (is_digit(ch))
        lex_number(c, p);
    else if (ch == '"' || ch == '\'')
        lex_string(c, p);
    else if (!lex_punct(c, p))
        lex_other(c, p);
    c->tok.len = c->pos - p;
}
