/* conf.h - a job file as a tree of values with their positions: YAML
 * (libyaml) mappings, sequences and scalars; ${NAME} and ${NAME:-default}
 * interpolated from the environment in scalars; --set path=value overrides
 * applied on top. Every node records whether validation used it, so unknown
 * keys are found after the fact. Control plane only. */
#ifndef SL_GRAPH_CONF_H
#define SL_GRAPH_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/diag.h"

enum sl_conf_kind { SL_CONF_SCALAR, SL_CONF_MAP, SL_CONF_SEQ };

struct sl_conf {
    enum sl_conf_kind kind;
    char *key;              /* entry of a map: its key; else NULL */
    char *value;            /* scalar: the text after interpolation */
    bool quoted;            /* scalar was quoted in the file */
    uint32_t line, col;     /* 1-based position of the value */
    uint32_t key_line, key_col; /* entry of a map: position of the key */
    struct sl_conf *child;  /* map entries / sequence items, in file order */
    struct sl_conf *next;   /* next sibling */
    bool used;              /* consumed by validation */
};

/* Parses the YAML file into *root (a map). Syntax errors, duplicate keys and
 * unset ${NAME}s go to diags; returns 0 or -EINVAL (diags says why) or
 * -errno when the file cannot be read. */
int sl_conf_load(const char *path, struct sl_conf **root, struct sl_diags *diags);
/* Same, from a string (tests, --set values). */
int sl_conf_parse(const char *text, size_t len, struct sl_conf **root, struct sl_diags *diags);
void sl_conf_free(struct sl_conf *conf);

/* Applies "a.b.c=value" (value parsed as YAML: a scalar, [list] or {map}),
 * creating missing map entries. Returns 0 or -EINVAL with a diag. */
int sl_conf_set(struct sl_conf *root, const char *assignment, struct sl_diags *diags);

/* Entry `key` of map (marks it used), or NULL. */
struct sl_conf *sl_conf_get(struct sl_conf *map, const char *key);
/* Number of children of a map or sequence. */
uint32_t sl_conf_count(const struct sl_conf *conf);

#endif
