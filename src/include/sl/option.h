/* sl/option.h - the options table every source, operator and sink type
 * declares: one row per setting (key, type, default, description). The same
 * table drives validation of job files, `sluice help TYPE` and
 * docs/reference.md, so they cannot drift apart. */
#ifndef SL_OPTION_H
#define SL_OPTION_H

#include <stdbool.h>

enum sl_opt_type {
    SL_OPT_STRING,   /* any text */
    SL_OPT_INT,      /* decimal integer */
    SL_OPT_BOOL,     /* true / false */
    SL_OPT_ENUM,     /* one of `choices` ("a|b|c") */
    SL_OPT_SIZE,     /* bytes: 4096, 64KiB, 16MiB, 1GiB */
    SL_OPT_DURATION, /* 250ms, 5s, 1m, 100us */
    SL_OPT_EXPR,     /* an expression (docs/expressions.md), checked against the schemas */
    SL_OPT_ADDRESS,  /* host:port */
    SL_OPT_PATH,     /* a file path */
    SL_OPT_MAP,      /* name: value pairs (route cases, project fields) */
    SL_OPT_LIST,     /* a sequence of strings */
};

struct sl_option {
    const char *key;
    enum sl_opt_type type;
    const char *default_value;  /* as text; NULL when there is none */
    bool required;
    const char *choices;        /* SL_OPT_ENUM: "a|b|c" */
    const char *description;    /* one line, for --help and the reference */
};

/* Name of an option type as the reference shows it ("size", "expression"). */
const char *sl_opt_type_name(enum sl_opt_type type);

#endif
