/* conf.c - YAML job files to sl_conf trees; see conf.h. */
#include "graph/conf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/assert.h"

#define CONF_DEPTH_MAX 64
#define CONF_FILE_BYTES_MAX (16u << 20)

static struct sl_conf *conf_new(enum sl_conf_kind kind, yaml_mark_t mark)
{
    struct sl_conf *conf = calloc(1, sizeof(*conf));
    SL_ASSERT(conf);
    conf->kind = kind;
    conf->line = (uint32_t)mark.line + 1;
    conf->col = (uint32_t)mark.column + 1;
    return conf;
}

void sl_conf_free(struct sl_conf *conf)
{
    while (conf) {
        struct sl_conf *next = conf->next;
        sl_conf_free(conf->child);
        free(conf->key);
        free(conf->value);
        free(conf);
        conf = next;
    }
}

/* Appends the text of ${NAME} / ${NAME:-default} at s (after "${"). */
static int interpolate_one(const char *s, size_t *consumed, char **out, size_t *out_len,
                           size_t *out_cap, const struct sl_conf *at, struct sl_diags *diags)
{
    const char *end = strchr(s, '}');
    if (!end) {
        sl_diag_add(diags, at->line, at->col, "write ${NAME} or ${NAME:-default}",
                    "unterminated ${ in value");
        return -EINVAL;
    }
    size_t len = (size_t)(end - s);
    const char *dflt = NULL;
    size_t name_len = len;
    const char *sep = memchr(s, ':', len);
    if (sep && sep + 1 < end && sep[1] == '-') {
        name_len = (size_t)(sep - s);
        dflt = sep + 2;
    }
    char name[256];
    if (name_len == 0 || name_len >= sizeof(name)) {
        sl_diag_add(diags, at->line, at->col, NULL, "bad variable name in ${...}");
        return -EINVAL;
    }
    memcpy(name, s, name_len);
    name[name_len] = 0;
    const char *value = getenv(name);
    size_t value_len;
    if (value) {
        value_len = strlen(value);
    } else if (dflt) {
        value = dflt;
        value_len = (size_t)(end - dflt);
    } else {
        sl_diag_add(diags, at->line, at->col, "export it, or give a default: ${NAME:-value}",
                    "environment variable %s is not set", name);
        return -EINVAL;
    }
    while (*out_len + value_len + 1 > *out_cap) {
        *out_cap = *out_cap * 2 + value_len + 16;
        *out = realloc(*out, *out_cap);
        SL_ASSERT(*out);
    }
    memcpy(*out + *out_len, value, value_len);
    *out_len += value_len;
    *consumed = len + 1;
    return 0;
}

/* Replaces ${...} in conf->value; "$$" is a literal '$'. */
static int interpolate(struct sl_conf *conf, struct sl_diags *diags)
{
    const char *s = conf->value;
    if (!strchr(s, '$'))
        return 0;
    size_t cap = strlen(s) + 16, len = 0;
    char *out = malloc(cap);
    SL_ASSERT(out);
    int rc = 0;
    while (*s && !rc) {
        if (s[0] == '$' && s[1] == '{') {
            size_t consumed = 0;
            rc = interpolate_one(s + 2, &consumed, &out, &len, &cap, conf, diags);
            s += 2 + consumed;
            continue;
        }
        if (len + 2 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            SL_ASSERT(out);
        }
        if (s[0] == '$' && s[1] == '$')
            s++;
        out[len++] = *s++;
    }
    out[len] = 0;
    if (rc) { /* keep the text as written, so later messages show it */
        free(out);
        return rc;
    }
    free(conf->value);
    conf->value = out;
    return 0;
}

static struct sl_conf *convert(yaml_document_t *doc, yaml_node_t *node, int depth,
                               struct sl_diags *diags, int *rc)
{
    if (depth > CONF_DEPTH_MAX) {
        sl_diag_add(diags, (uint32_t)node->start_mark.line + 1,
                    (uint32_t)node->start_mark.column + 1, NULL, "nesting too deep");
        *rc = -EINVAL;
        return NULL;
    }
    switch (node->type) {
    case YAML_SCALAR_NODE: {
        struct sl_conf *conf = conf_new(SL_CONF_SCALAR, node->start_mark);
        conf->value = strndup((const char *)node->data.scalar.value, node->data.scalar.length);
        conf->quoted = node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        if (interpolate(conf, diags))
            *rc = -EINVAL;
        return conf;
    }
    case YAML_SEQUENCE_NODE: {
        struct sl_conf *conf = conf_new(SL_CONF_SEQ, node->start_mark), **tail = &conf->child;
        for (yaml_node_item_t *item = node->data.sequence.items.start;
             item < node->data.sequence.items.top; item++) {
            *tail = convert(doc, yaml_document_get_node(doc, *item), depth + 1, diags, rc);
            if (*tail)
                tail = &(*tail)->next;
        }
        return conf;
    }
    case YAML_MAPPING_NODE: {
        struct sl_conf *conf = conf_new(SL_CONF_MAP, node->start_mark), **tail = &conf->child;
        for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
             pair < node->data.mapping.pairs.top; pair++) {
            yaml_node_t *key = yaml_document_get_node(doc, pair->key);
            uint32_t key_line = (uint32_t)key->start_mark.line + 1;
            uint32_t key_col = (uint32_t)key->start_mark.column + 1;
            if (key->type != YAML_SCALAR_NODE) {
                sl_diag_add(diags, key_line, key_col, NULL, "mapping keys must be plain names");
                *rc = -EINVAL;
                continue;
            }
            const char *name = (const char *)key->data.scalar.value;
            bool duplicate = false;
            for (struct sl_conf *c = conf->child; c; c = c->next)
                duplicate |= strcmp(c->key, name) == 0;
            if (duplicate) {
                sl_diag_add(diags, key_line, key_col, "each key may appear once in a mapping",
                            "duplicate key '%s'", name);
                *rc = -EINVAL;
                continue;
            }
            struct sl_conf *value =
                convert(doc, yaml_document_get_node(doc, pair->value), depth + 1, diags, rc);
            if (!value)
                continue;
            value->key = strdup(name);
            value->key_line = key_line;
            value->key_col = key_col;
            *tail = value;
            tail = &value->next;
        }
        return conf;
    }
    default:
        return NULL;
    }
}

int sl_conf_parse(const char *text, size_t len, struct sl_conf **root, struct sl_diags *diags)
{
    *root = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    SL_ASSERT(yaml_parser_initialize(&parser));
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_mark_t mark = parser.problem_mark;
        sl_diag_add(diags, (uint32_t)mark.line + 1, (uint32_t)mark.column + 1,
                    "check the indentation and quoting around this point", "YAML: %s%s%s",
                    parser.problem ? parser.problem : "syntax error",
                    parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return -EINVAL;
    }
    int rc = 0;
    yaml_node_t *top = yaml_document_get_root_node(&doc);
    if (!top) {
        sl_diag_add(diags, 1, 1, NULL, "the document is empty");
        rc = -EINVAL;
    } else if (top->type != YAML_MAPPING_NODE) {
        sl_diag_add(diags, (uint32_t)top->start_mark.line + 1,
                    (uint32_t)top->start_mark.column + 1, NULL, "expected a mapping at the top");
        rc = -EINVAL;
    } else {
        *root = convert(&doc, top, 0, diags, &rc);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int sl_conf_load(const char *path, struct sl_conf **root, struct sl_diags *diags)
{
    *root = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int rc = -errno;
        sl_diag_add(diags, 0, 0, NULL, "cannot open: %s", strerror(errno));
        return rc;
    }
    char *text = malloc(CONF_FILE_BYTES_MAX);
    SL_ASSERT(text);
    size_t len = fread(text, 1, CONF_FILE_BYTES_MAX, f);
    bool too_big = len == CONF_FILE_BYTES_MAX;
    fclose(f);
    int rc;
    if (too_big) {
        sl_diag_add(diags, 0, 0, NULL, "job file larger than %u bytes", CONF_FILE_BYTES_MAX);
        rc = -EINVAL;
    } else {
        rc = sl_conf_parse(text, len, root, diags);
    }
    free(text);
    return rc;
}

struct sl_conf *sl_conf_get(struct sl_conf *map, const char *key)
{
    if (!map || map->kind != SL_CONF_MAP)
        return NULL;
    for (struct sl_conf *c = map->child; c; c = c->next) {
        if (strcmp(c->key, key) == 0) {
            c->used = true;
            return c;
        }
    }
    return NULL;
}

uint32_t sl_conf_count(const struct sl_conf *conf)
{
    uint32_t n = 0;
    for (const struct sl_conf *c = conf ? conf->child : NULL; c; c = c->next)
        n++;
    return n;
}

int sl_conf_set(struct sl_conf *root, const char *assignment, struct sl_diags *diags)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        sl_diag_add(diags, 0, 0, "write --set path.to.key=value", "--set %s: missing '='",
                    assignment);
        return -EINVAL;
    }
    struct sl_conf *value;
    struct sl_diags value_diags;
    sl_diags_init(&value_diags, "--set");
    /* parse "k: VALUE" so that plain text, [lists] and {maps} all work */
    char *doc;
    SL_ASSERT(asprintf(&doc, "k: %s\n", eq + 1) >= 0);
    int rc = sl_conf_parse(doc, strlen(doc), &value, &value_diags);
    free(doc);
    if (rc) {
        sl_diag_add(diags, 0, 0, NULL, "--set %s: value is not valid YAML", assignment);
        sl_diags_fini(&value_diags);
        return -EINVAL;
    }
    sl_diags_fini(&value_diags);
    struct sl_conf *item = value->child;
    value->child = NULL;
    sl_conf_free(value);
    /* walk/create the path */
    struct sl_conf *map = root;
    const char *p = assignment;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(eq - p));
        const char *end = dot ? dot : eq;
        char *name = strndup(p, (size_t)(end - p));
        struct sl_conf **link = &map->child, *found = NULL;
        for (; *link; link = &(*link)->next)
            if (strcmp((*link)->key, name) == 0) {
                found = *link;
                break;
            }
        if (!dot) {
            item->key = name;
            item->line = item->col = item->key_line = item->key_col = 0;
            if (found) { /* replace in place */
                item->next = found->next;
                found->next = NULL;
                sl_conf_free(found);
            }
            *link = item;
            return 0;
        }
        if (!found) {
            found = calloc(1, sizeof(*found));
            SL_ASSERT(found);
            found->kind = SL_CONF_MAP;
            found->key = name;
            *link = found;
        } else {
            free(name);
        }
        if (found->kind != SL_CONF_MAP) {
            sl_diag_add(diags, 0, 0, NULL, "--set %s: %.*s is not a mapping", assignment,
                        (int)(end - assignment), assignment);
            sl_conf_free(item);
            return -EINVAL;
        }
        map = found;
        p = dot + 1;
    }
}
