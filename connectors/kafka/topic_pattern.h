/* topic_pattern.h - the kafka source's `pattern`, checked at compile time as
 * librdkafka will take it at subscribe: a POSIX extended regular expression
 * (librdkafka compiles it with regcomp(REG_EXTENDED | REG_NOSUB)).
 *
 * regcomp expands every interval (x{n,m}) into m copies of x, nested
 * intervals multiplying: "((a{1,100}){1,100}){1,100}" takes seconds and
 * one level more exhausts memory, at validate and again at subscribe. So a
 * pattern whose interval bounds multiply past TOPIC_PATTERN_REPEAT_MAX is
 * refused before regcomp sees it (the product over all intervals, nested
 * or not: an upper bound of the expansion that is cheap to compute). */
#ifndef SLUICE_KAFKA_TOPIC_PATTERN_H
#define SLUICE_KAFKA_TOPIC_PATTERN_H

#include <stddef.h>

#define TOPIC_PATTERN_REPEAT_MAX 1000u

/* 0, or -1 with the reason in err. */
int topic_pattern_check(const char *regex, char *err, size_t err_len);

#endif
