/* topic_pattern.c - see topic_pattern.h. */
#include "topic_pattern.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

/* After a bracket expression's '[' at p: the character after its ']'
 * (or the terminating NUL of an unclosed one, which regcomp reports). */
static const char *skip_bracket(const char *p)
{
    if (*p == '^')
        p++;
    if (*p == ']')
        p++; /* a leading ']' is a member */
    while (*p && *p != ']') {
        if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
            char close = p[1];
            p += 2;
            while (*p && !(p[0] == close && p[1] == ']'))
                p++;
            if (*p)
                p += 2;
            continue;
        }
        p++;
    }
    return *p ? p + 1 : p;
}

/* The upper bound of the interval whose '{' is at p ({n}, {n,}: n;
 * {n,m}: m), or 0 when it is no well-formed interval (regcomp decides). */
static unsigned long interval_bound(const char *p)
{
    char *end;
    unsigned long low = strtoul(p + 1, &end, 10);
    if (end == p + 1)
        return 0;
    if (*end == '}')
        return low;
    if (*end != ',')
        return 0;
    if (end[1] == '}')
        return low;
    unsigned long high = strtoul(end + 1, &end, 10);
    return *end == '}' ? high : 0;
}

/* The product of every interval's upper bound, saturating above limit. */
static unsigned long repeat_product(const char *regex, unsigned long limit)
{
    unsigned long product = 1;
    for (const char *p = regex; *p;) {
        if (*p == '\\') {
            p += p[1] ? 2 : 1;
        } else if (*p == '[') {
            p = skip_bracket(p + 1);
        } else {
            if (*p == '{') {
                unsigned long bound = interval_bound(p);
                if (bound > 1)
                    product = bound > limit / product ? limit + 1 : product * bound;
            }
            p++;
        }
    }
    return product;
}

int topic_pattern_check(const char *regex, char *err, size_t err_len)
{
    if (repeat_product(regex, TOPIC_PATTERN_REPEAT_MAX) > TOPIC_PATTERN_REPEAT_MAX) {
        snprintf(err, err_len, "its intervals {n,m} repeat over %u times in all (regcomp "
                 "expands each, nested ones multiplying)", TOPIC_PATTERN_REPEAT_MAX);
        return -1;
    }
    regex_t re;
    int rc = regcomp(&re, regex, REG_EXTENDED | REG_NOSUB);
    if (rc == 0) {
        regfree(&re);
        return 0;
    }
    regerror(rc, &re, err, err_len);
    return -1;
}
