/* topic_pattern_test.c - the kafka source's `pattern` check (connectors/
 * kafka/topic_pattern.h):
 *   1. what regcomp(REG_EXTENDED) takes passes, what it refuses fails with
 *      its reason;
 *   2. intervals whose bounds multiply past TOPIC_PATTERN_REPEAT_MAX fail
 *      before regcomp runs (nested or in sequence); escaped braces and
 *      braces inside a bracket expression are no interval. */
#include <stdio.h>
#include <string.h>

#include "../../connectors/kafka/topic_pattern.h"

static int test_failures;

#include "test.h"

static void expect(const char *regex, int rc, const char *reason)
{
    char err[200] = "";
    int got = topic_pattern_check(regex, err, sizeof(err));
    CHECK_MSG(got == rc, "%s: rc %d, wanted %d (%s)", regex, got, rc, err);
    if (reason)
        CHECK_MSG(strstr(err, reason) != NULL, "%s: reason '%s' lacks '%s'", regex, err, reason);
}

int main(void)
{
    expect("^orders\\..*", 0, NULL);
    expect("^[[:alpha:]]+-v[0-9]{1,3}$", 0, NULL);
    expect("^(eu|us)\\.orders$", 0, NULL);
    expect("^orders([", -1, NULL);
    expect("^a{2,1}", -1, NULL);
    expect("^(a|", -1, NULL);
    /* intervals */
    expect("^(a{1,10}){1,100}", 0, NULL);                 /* 1000: the limit */
    expect("^a{3,}b{1,333}", 0, NULL);                    /* 999 */
    expect("^(a{1,10}){1,101}", -1, "intervals");         /* 1010 */
    expect("^a{1,1001}", -1, "intervals");
    expect("^a{40}b{40}", -1, "intervals");               /* in sequence: 1600 */
    expect("^((a{1,100}){1,100}){1,100}", -1, "intervals");
    expect("^((a{1,99999999999}){1,99999999999}){1,99999999999}", -1, "intervals");
    expect("^a\\{5000}", 0, NULL);                        /* escaped: no interval */
    expect("^[{9}]{1,999}x", 0, NULL);                    /* braces in a bracket: members */
    expect("^[]{9}]{1,999}", 0, NULL);                    /* a leading ] is a member */
    expect("^[[:digit:]{9}]{1,999}", 0, NULL);            /* so is a class */
    expect("^[{9}]{9}{1,999}", -1, NULL);                 /* 8991, or regcomp refuses */
    return test_exit("topic_pattern");
}
