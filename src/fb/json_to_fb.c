/*
 * json_to_fb.c - JSON to FlatBuffers through the schema model, as flatc
 * reads JSON: enum values by name (bit flags as space-separated names) or
 * number, unions as "x_type": "Member" beside "x": {...}, structs as objects
 * naming every field, fixed arrays as arrays, null as an absent field,
 * nested buffers (nested_flatbuffer fields and the envelope's payload) as the
 * object of their table or as a byte array.
 *
 * A table is built in two passes over its members: children that are
 * referenced by offset (strings, vectors, tables, unions, nested buffers)
 * first, since a FlatBuffer is built back to front; then the table itself
 * with its scalars and inline structs. Unknown fields, duplicate keys,
 * numbers out of range and missing required fields are errors.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/assert.h"
#include "fb/fb.h"
#include "fb/json_int.h"

/* One member of a table being built: pass 1 fills ref, pass 2 adds it. */
struct sl_fb_json_member {
    const struct sl_fb_field *field;
    uint32_t value;  /* token index of the value */
    sl_fb_ref ref;   /* offset-typed fields: what pass 1 built */
    bool is_offset;  /* offset-typed: pass 2 adds ref */
};

struct enc {
    struct sl_fb_json *j;
    struct sl_json_tape *tape;
    const struct sl_json_tok *toks; /* tape->toks: the tape does not change while building */
    struct sl_fbb *fbb;             /* builders[level] */
    const char *src;
    char *err;
    size_t err_len;
    uint32_t level;   /* builder: 0 the record, 1.. nested buffers */
    uint32_t depth;   /* table nesting, bounded by SL_FB_DEPTH_MAX */
    size_t member_top;
};

static int enc_fail(struct enc *e, uint32_t ti, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int enc_fail(struct enc *e, uint32_t ti, const char *fmt, ...)
{
    if (!e->err_len)
        return -EINVAL;
    int n = snprintf(e->err, e->err_len, "col %u: ", e->tape->toks[ti].start + 1);
    if (n < 0 || (size_t)n >= e->err_len)
        return -EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err + n, e->err_len - (size_t)n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static const struct sl_json_tok *tok(struct enc *e, uint32_t ti) { return &e->toks[ti]; }

/* sl_fb_base_size() of a scalar base, without a call. */
static inline size_t scalar_size(unsigned base)
{
    static const uint8_t sizes[SL_FB_BASE_MAX] = {
        [SL_FB_UTYPE] = 1, [SL_FB_BOOL] = 1, [SL_FB_BYTE] = 1, [SL_FB_UBYTE] = 1,
        [SL_FB_SHORT] = 2, [SL_FB_USHORT] = 2, [SL_FB_INT] = 4, [SL_FB_UINT] = 4,
        [SL_FB_LONG] = 8, [SL_FB_ULONG] = 8, [SL_FB_FLOAT] = 4, [SL_FB_DOUBLE] = 8,
    };
    return base < SL_FB_BASE_MAX ? sizes[base] : sl_fb_base_size(base);
}

/* The bytes of a string token (sl_json_string without a call when unescaped). */
static inline const char *tok_string(struct enc *e, const struct sl_json_tok *t, size_t *len)
{
    if (t->escaped)
        return sl_json_string(e->tape, e->src, t, len);
    *len = t->len;
    return e->src + t->start;
}
static struct sl_fbb *enc_builder(struct enc *e) { return e->fbb; }

/* ---- scalars ---- */

static int parse_integer(struct enc *e, uint32_t ti, bool *neg, uint64_t *mag)
{
    const struct sl_json_tok *t = tok(e, ti);
    const char *s = e->src + t->start;
    if (!t->is_int)
        return enc_fail(e, ti, "expected an integer, got %.*s", (int)t->len, s);
    size_t i = 0;
    *neg = s[0] == '-';
    i += *neg;
    uint64_t v = 0;
    if (t->len - i <= 19) { /* 19 digits cannot overflow 64 bits */
        for (; i < t->len; i++)
            v = v * 10 + (unsigned)(s[i] - '0');
        *mag = v;
        return 0;
    }
    for (; i < t->len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return enc_fail(e, ti, "integer out of range: %.*s", (int)t->len, s);
        v = v * 10 + d;
    }
    *mag = v;
    return 0;
}

static int int_to_bytes(struct enc *e, uint32_t ti, unsigned base, bool neg, uint64_t mag,
                        uint8_t out[8])
{
    static const uint64_t umax[] = {[1] = 0xff, [2] = 0xffff, [4] = 0xffffffffu,
                                    [8] = UINT64_MAX};
    size_t size = scalar_size(base);
    bool is_signed = base == SL_FB_BYTE || base == SL_FB_SHORT || base == SL_FB_INT ||
                     base == SL_FB_LONG;
    uint64_t v;
    if (is_signed) {
        uint64_t lim = umax[size] / 2; /* positive max; the negative limit is lim + 1 */
        if ((!neg && mag > lim) || (neg && mag > lim + 1))
            goto range;
        v = neg ? (uint64_t)0 - mag : mag;
    } else {
        if ((neg && mag) || mag > umax[size])
            goto range;
        v = mag;
    }
    if (base == SL_FB_BOOL && v > 1)
        goto range;
    memcpy(out, &v, size); /* little-endian: the low bytes */
    return 0;
range:
    return enc_fail(e, ti, "%s%llu is out of range for %s", neg ? "-" : "",
                    (unsigned long long)mag, sl_fb_base_name(base));
}

static int parse_float(struct enc *e, uint32_t ti, unsigned base, uint8_t out[8])
{
    const struct sl_json_tok *t = tok(e, ti);
    char text[512];
    if (t->len >= sizeof(text))
        return enc_fail(e, ti, "number too long");
    memcpy(text, e->src + t->start, t->len);
    text[t->len] = 0;
    if (base == SL_FB_FLOAT) {
        float f = strtof(text, NULL);
        if (isinf(f))
            return enc_fail(e, ti, "%s is out of range for float", text);
        memcpy(out, &f, 4);
    } else {
        double d = strtod(text, NULL);
        if (isinf(d))
            return enc_fail(e, ti, "%s is out of range for double", text);
        memcpy(out, &d, 8);
    }
    return 0;
}

/* "A B C" for bit flags, one name otherwise. */
static int enum_from_names(struct enc *e, uint32_t ti, const struct sl_fb_enum *en,
                           const char *s, size_t len, int64_t *value)
{
    int64_t v = 0;
    size_t i = 0;
    bool any = false;
    while (i < len) {
        while (i < len && s[i] == ' ')
            i++;
        size_t start = i;
        while (i < len && s[i] != ' ')
            i++;
        if (i == start)
            break;
        const struct sl_fb_enum_val *val = sl_fb_enum_by_name(en, s + start, i - start);
        if (!val)
            return enc_fail(e, ti, "\"%.*s\" is not a value of enum %s", (int)(i - start),
                            s + start, en->name);
        if (any && !en->bit_flags)
            return enc_fail(e, ti, "enum %s takes one name", en->name);
        v |= val->value;
        any = true;
    }
    if (!any)
        return enc_fail(e, ti, "empty enum value for %s", en->name);
    *value = v;
    return 0;
}

/* Encodes the scalar at token ti as base into out (little-endian). */
static int enc_scalar(struct enc *e, uint32_t ti, unsigned base, const struct sl_fb_enum *en,
                      uint8_t out[8])
{
    const struct sl_json_tok *t = tok(e, ti);
    switch (t->kind) {
    case SL_JSON_NUM: {
        if (sl_fb_base_is_float(base))
            return parse_float(e, ti, base, out);
        bool neg = false;
        uint64_t mag = 0;
        int rc = parse_integer(e, ti, &neg, &mag);
        return rc ? rc : int_to_bytes(e, ti, base, neg, mag, out);
    }
    case SL_JSON_TRUE:
    case SL_JSON_FALSE:
        if (!sl_fb_base_is_integer(base))
            return enc_fail(e, ti, "expected a number for %s", sl_fb_base_name(base));
        return int_to_bytes(e, ti, base, false, t->kind == SL_JSON_TRUE, out);
    case SL_JSON_STR: {
        size_t len;
        const char *s = sl_json_string(e->tape, e->src, t, &len);
        if (sl_fb_base_is_float(base)) {
            double d = len == 3 && !memcmp(s, "nan", 3)    ? NAN
                       : len == 3 && !memcmp(s, "inf", 3)  ? INFINITY
                       : len == 4 && !memcmp(s, "-inf", 4) ? -INFINITY
                                                           : 0;
            if (d == 0)
                return enc_fail(e, ti, "expected a number for %s", sl_fb_base_name(base));
            float f = (float)d;
            memcpy(out, base == SL_FB_FLOAT ? (void *)&f : (void *)&d, sl_fb_base_size(base));
            return 0;
        }
        if (!en)
            return enc_fail(e, ti, "expected a number for %s, got a string",
                            sl_fb_base_name(base));
        int64_t v = 0;
        int rc = enum_from_names(e, ti, en, s, len, &v);
        if (rc)
            return rc;
        /* an unsigned enum's values are stored as int64 bits: read them back unsigned */
        bool is_unsigned = base == SL_FB_UBYTE || base == SL_FB_USHORT || base == SL_FB_UINT ||
                           base == SL_FB_ULONG || base == SL_FB_UTYPE;
        bool neg = !is_unsigned && v < 0;
        return int_to_bytes(e, ti, base, neg, neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v,
                            out);
    }
    default:
        return enc_fail(e, ti, "expected a %s value", sl_fb_base_name(base));
    }
}

static const struct sl_fb_enum *field_enum(const struct sl_fb_field *field)
{
    return sl_fb_schema_enum(field->owner->schema, field->type.index);
}

/* Default of a scalar field, encoded like its value. */
static void default_bytes(const struct sl_fb_field *field, uint8_t out[8])
{
    if (field->type.base == SL_FB_FLOAT) {
        float f = (float)field->default_real;
        memcpy(out, &f, 4);
    } else if (field->type.base == SL_FB_DOUBLE) {
        memcpy(out, &field->default_real, 8);
    } else {
        memcpy(out, &field->default_integer, 8);
    }
}

/* ---- structs ---- */

static int enc_struct(struct enc *e, uint32_t ti, const struct sl_fb_object *object, uint8_t *out);

static int enc_inline(struct enc *e, uint32_t ti, const struct sl_fb_schema *schema,
                      unsigned base, int32_t index, uint8_t *out)
{
    if (base == SL_FB_OBJ)
        return enc_struct(e, ti, sl_fb_schema_object(schema, index), out);
    uint8_t v[8];
    int rc = enc_scalar(e, ti, base, sl_fb_schema_enum(schema, index), v);
    if (!rc)
        memcpy(out, v, sl_fb_base_size(base));
    return rc;
}

static int enc_array(struct enc *e, uint32_t ti, const struct sl_fb_field *field, uint8_t *out)
{
    const struct sl_json_tok *t = tok(e, ti);
    if (t->kind != SL_JSON_ARR || t->count != field->type.fixed_length)
        return enc_fail(e, ti, "%s needs an array of exactly %u elements", field->name,
                        field->type.fixed_length);
    const struct sl_fb_schema *schema = field->owner->schema;
    size_t stride = sl_fb_type_element_size(schema, &field->type);
    uint32_t el = ti + 1;
    for (uint32_t i = 0; i < t->count; i++, el = tok(e, el)->end) {
        int rc = enc_inline(e, el, schema, field->type.element, field->type.index,
                            out + i * stride);
        if (rc)
            return rc;
    }
    return 0;
}

static int enc_struct(struct enc *e, uint32_t ti, const struct sl_fb_object *object, uint8_t *out)
{
    const struct sl_json_tok *t = tok(e, ti);
    if (t->kind != SL_JSON_OBJ)
        return enc_fail(e, ti, "expected an object for struct %s", object->name);
    memset(out, 0, object->bytesize);
    uint64_t seen[SL_FB_TABLE_FIELDS_MAX / 64] = {0};
    uint32_t k = ti + 1;
    for (uint32_t i = 0; i < t->count; i++) {
        size_t name_len;
        const char *name = sl_json_string(e->tape, e->src, tok(e, k), &name_len);
        const struct sl_fb_field *field = sl_fb_object_field(object, name, name_len);
        if (!field)
            return enc_fail(e, k, "unknown field \"%.*s\" in struct %s", (int)name_len, name,
                            object->name);
        uint32_t fi = (uint32_t)(field - object->fields);
        if (seen[fi / 64] & (1ull << (fi % 64)))
            return enc_fail(e, k, "duplicate field \"%s\"", field->name);
        seen[fi / 64] |= 1ull << (fi % 64);
        uint32_t v = k + 1;
        int rc = field->type.base == SL_FB_ARRAY
                     ? enc_array(e, v, field, out + field->offset)
                     : enc_inline(e, v, object->schema, field->type.base, field->type.index,
                                  out + field->offset);
        if (rc)
            return rc;
        k = tok(e, v)->end;
    }
    if (t->count != object->field_count)
        return enc_fail(e, ti, "struct %s needs all of its %u fields", object->name,
                        object->field_count);
    return 0;
}

/* ---- offset-typed values ---- */

static int build_table(struct enc *e, const struct sl_fb_object *object, uint32_t ti,
                       sl_fb_ref *ref);

static uint8_t *enc_scratch(struct enc *e, size_t len)
{
    struct sl_fb_json *j = e->j;
    if (j->scratch_cap < len) {
        j->scratch_cap = len * 2;
        free(j->scratch);
        j->scratch = malloc(j->scratch_cap);
        SL_ASSERT(j->scratch);
    }
    return j->scratch;
}

static size_t enc_member_push(struct enc *e, size_t n)
{
    struct sl_fb_json *j = e->j;
    if (e->member_top + n > j->members_cap) {
        j->members_cap = (e->member_top + n) * 2;
        j->members = realloc(j->members, j->members_cap * sizeof(*j->members));
        SL_ASSERT(j->members);
    }
    size_t base = e->member_top;
    e->member_top += n;
    return base;
}

static int build_string(struct enc *e, uint32_t ti, sl_fb_ref *ref)
{
    const struct sl_json_tok *t = tok(e, ti);
    if (t->kind != SL_JSON_STR)
        return enc_fail(e, ti, "expected a string");
    size_t len;
    const char *s = tok_string(e, t, &len);
    *ref = sl_fbb_string(enc_builder(e), s, len);
    return 0;
}

/* Union member of value `value` of enum en at token ti (table or string). */
static int build_union_value(struct enc *e, const struct sl_fb_schema *schema,
                             const struct sl_fb_enum *en, int64_t type, uint32_t ti,
                             sl_fb_ref *ref)
{
    const struct sl_fb_enum_val *val = sl_fb_enum_by_value(en, type);
    if (!val || type == 0)
        return enc_fail(e, ti, "union %s: type %lld names no member", en->name,
                        (long long)type);
    if (val->union_base == SL_FB_STRING)
        return build_string(e, ti, ref);
    const struct sl_fb_object *object = sl_fb_schema_object(schema, val->union_object);
    if (!object || object->is_struct)
        return enc_fail(e, ti, "union %s: member %s is not a table (unsupported)", en->name,
                        val->name);
    return build_table(e, object, ti, ref);
}

/* Value of the `<name>_type` member of object obj as an enum value. */
static int union_type_of(struct enc *e, uint32_t obj, uint32_t ti, const struct sl_fb_field *field,
                         uint32_t *type_ti)
{
    char key[300];
    int n = snprintf(key, sizeof(key), "%s_type", field->name);
    *type_ti = sl_json_member(e->tape, e->src, obj, key, (size_t)n);
    if (!*type_ti)
        return enc_fail(e, ti, "union field \"%s\" needs \"%s\" in the same object", field->name,
                        key);
    return 0;
}

static int build_union(struct enc *e, const struct sl_fb_field *field, uint32_t obj, uint32_t ti,
                       sl_fb_ref *ref)
{
    uint32_t type_ti;
    int rc = union_type_of(e, obj, ti, field, &type_ti);
    if (rc)
        return rc;
    const struct sl_fb_enum *en = field_enum(field);
    uint8_t v[8] = {0};
    rc = enc_scalar(e, type_ti, SL_FB_UTYPE, en, v);
    return rc ? rc : build_union_value(e, field->owner->schema, en, v[0], ti, ref);
}

static int build_union_vector(struct enc *e, const struct sl_fb_field *field, uint32_t obj,
                              uint32_t ti, sl_fb_ref *ref)
{
    uint32_t types_ti;
    int rc = union_type_of(e, obj, ti, field, &types_ti);
    if (rc)
        return rc;
    const struct sl_json_tok *t = tok(e, ti), *types = tok(e, types_ti);
    if (types->kind != SL_JSON_ARR || types->count != t->count)
        return enc_fail(e, types_ti, "\"%s_type\" needs an array as long as \"%s\"",
                        field->name, field->name);
    const struct sl_fb_enum *en = field_enum(field);
    size_t base = enc_member_push(e, t->count);
    uint32_t el = ti + 1, type_el = types_ti + 1;
    for (uint32_t i = 0; i < t->count; i++) {
        uint8_t v[8] = {0};
        sl_fb_ref r = 0;
        rc = enc_scalar(e, type_el, SL_FB_UTYPE, en, v);
        if (!rc) /* r, not &members[..]: building may grow (move) the member stack */
            rc = build_union_value(e, field->owner->schema, en, v[0], el, &r);
        if (rc)
            return rc;
        e->j->members[base + i].ref = r;
        el = tok(e, el)->end;
        type_el = tok(e, type_el)->end;
    }
    sl_fb_ref *refs = (sl_fb_ref *)enc_scratch(e, t->count * sizeof(sl_fb_ref));
    for (uint32_t i = 0; i < t->count; i++)
        refs[i] = e->j->members[base + i].ref;
    *ref = sl_fbb_vector_refs(enc_builder(e), refs, t->count);
    e->member_top = base;
    return 0;
}

/* A nested buffer rooted at object, built from the object at ti. */
static int build_nested(struct enc *e, const struct sl_fb_object *object, uint32_t ti,
                        sl_fb_ref *ref)
{
    if (e->level + 1 >= sizeof(e->j->builders) / sizeof(e->j->builders[0]))
        return enc_fail(e, ti, "nested buffers nested too deep");
    struct sl_fbb *nb = &e->j->builders[e->level + 1];
    sl_fbb_reset(nb);
    nb->force_defaults = e->j->force_defaults;
    struct sl_fbb *outer = e->fbb;
    e->level++;
    e->fbb = nb;
    sl_fb_ref root;
    int rc = build_table(e, object, ti, &root);
    e->level--;
    e->fbb = outer;
    if (rc)
        return rc;
    size_t len;
    const uint8_t *bytes = sl_fbb_finish(nb, root, false, &len);
    size_t align = nb->minalign < 8 ? 8 : nb->minalign;
    *ref = sl_fbb_vector(enc_builder(e), bytes, len, 1, align);
    return 0;
}

/* The table a nested field's buffer is rooted at: its nested_flatbuffer
 * table, or for the envelope's payload the table its sibling `type` names. */
static int nested_object(struct enc *e, const struct sl_fb_field *field, uint32_t obj,
                         uint32_t ti, const struct sl_fb_object **object)
{
    if (field->nested == SL_FB_NESTED_TABLE) {
        *object = field->nested_object;
        return 0;
    }
    uint32_t type_ti = sl_json_member(e->tape, e->src, obj, "type", 4);
    if (!type_ti || tok(e, type_ti)->kind != SL_JSON_STR)
        return enc_fail(e, ti, "a non-empty payload needs a \"type\" string");
    size_t len;
    const char *type = sl_json_string(e->tape, e->src, tok(e, type_ti), &len);
    *object = sl_fb_schemas_event_object(e->j->schemas, type, len);
    if (!*object)
        return enc_fail(e, type_ti, "unknown event type \"%.*s\" (no loaded schema declares it)",
                        (int)len, type);
    return 0;
}

/* A nested buffer given as a byte array: verified against its table. */
static int build_bytes(struct enc *e, const struct sl_fb_field *field, uint32_t obj, uint32_t ti,
                       sl_fb_ref *ref)
{
    const struct sl_json_tok *t = tok(e, ti);
    uint8_t *bytes = enc_scratch(e, t->count + 1); /* malloc'd: 16-aligned */
    uint32_t el = ti + 1;
    for (uint32_t i = 0; i < t->count; i++, el = tok(e, el)->end) {
        int rc = enc_scalar(e, el, SL_FB_UBYTE, NULL, bytes + i);
        if (rc)
            return rc;
    }
    if (t->count) {
        const struct sl_fb_object *object;
        int rc = nested_object(e, field, obj, ti, &object);
        if (rc)
            return rc;
        struct sl_fb_verify_opts opts = {.check_nested = true, .schemas = e->j->schemas};
        char why[160];
        if (sl_fb_verify(bytes, t->count, false, object, &opts, why, sizeof(why)))
            return enc_fail(e, ti, "%s bytes are not a valid %s buffer: %s", field->name,
                            object->name, why);
    }
    *ref = sl_fbb_vector(enc_builder(e), bytes, t->count, 1, 8);
    return 0;
}

static int build_nested_field(struct enc *e, const struct sl_fb_field *field, uint32_t obj,
                              uint32_t ti, sl_fb_ref *ref)
{
    const struct sl_json_tok *t = tok(e, ti);
    if (t->kind == SL_JSON_ARR)
        return build_bytes(e, field, obj, ti, ref);
    if (t->kind != SL_JSON_OBJ)
        return enc_fail(e, ti, "%s: expected an object or a byte array", field->name);
    const struct sl_fb_object *object;
    if (field->nested == SL_FB_NESTED_BY_TYPE) {
        uint32_t type_ti = sl_json_member(e->tape, e->src, obj, "type", 4);
        if (!type_ti || tok(e, type_ti)->kind != SL_JSON_STR)
            return enc_fail(e, ti, "payload given as an object needs a \"type\" string");
    }
    int rc = nested_object(e, field, obj, ti, &object);
    return rc ? rc : build_nested(e, object, ti, ref);
}

static int build_vector(struct enc *e, const struct sl_fb_field *field, uint32_t obj, uint32_t ti,
                        sl_fb_ref *ref)
{
    const struct sl_json_tok *t = tok(e, ti);
    if (field->nested != SL_FB_NESTED_NONE)
        return build_nested_field(e, field, obj, ti, ref);
    if (t->kind != SL_JSON_ARR)
        return enc_fail(e, ti, "%s: expected an array", field->name);
    const struct sl_fb_schema *schema = field->owner->schema;
    unsigned elem = field->type.element;
    const struct sl_fb_object *object = sl_fb_schema_object(schema, field->type.index);
    if (elem == SL_FB_UNION)
        return build_union_vector(e, field, obj, ti, ref);
    if (sl_fb_base_is_scalar(elem) || (elem == SL_FB_OBJ && object->is_struct)) {
        size_t size = sl_fb_type_element_size(schema, &field->type);
        size_t align = elem == SL_FB_OBJ ? object->minalign : size;
        uint8_t *data = enc_scratch(e, t->count * size + 1);
        uint32_t el = ti + 1;
        for (uint32_t i = 0; i < t->count; i++, el = tok(e, el)->end) {
            int rc = enc_inline(e, el, schema, elem, field->type.index, data + i * size);
            if (rc)
                return rc;
        }
        *ref = sl_fbb_vector(enc_builder(e), data, t->count, size, align);
        return 0;
    }
    /* strings or tables: build each, then the vector of offsets */
    size_t base = enc_member_push(e, t->count);
    uint32_t el = ti + 1;
    for (uint32_t i = 0; i < t->count; i++, el = tok(e, el)->end) {
        sl_fb_ref r = 0;
        int rc = elem == SL_FB_STRING ? build_string(e, el, &r) : build_table(e, object, el, &r);
        if (rc)
            return rc;
        e->j->members[base + i].ref = r;
    }
    sl_fb_ref *refs = (sl_fb_ref *)enc_scratch(e, t->count * sizeof(sl_fb_ref) + 1);
    for (uint32_t i = 0; i < t->count; i++)
        refs[i] = e->j->members[base + i].ref;
    *ref = sl_fbb_vector_refs(enc_builder(e), refs, t->count);
    e->member_top = base;
    return 0;
}

/* Whether field fi of object is referenced by offset (built in pass 1). */
static bool is_offset_field(const struct sl_fb_object *object, uint32_t fi)
{
    /* the verifier's plan has it worked out for all but unions and nested buffers */
    switch (object->vplan[fi].kind) {
    case SL_FB_VK_SCALAR: case SL_FB_VK_STRUCT: return false;
    case SL_FB_VK_OTHER: break;
    default: return true;
    }
    const struct sl_fb_field *field = &object->fields[fi];
    unsigned base = field->type.base;
    if (base == SL_FB_OBJ)
        return !sl_fb_schema_object(field->owner->schema, field->type.index)->is_struct;
    return base == SL_FB_STRING || base == SL_FB_VECTOR || base == SL_FB_UNION;
}

static int build_child(struct enc *e, const struct sl_fb_field *field, uint32_t obj, uint32_t ti,
                       sl_fb_ref *ref)
{
    switch (field->type.base) {
    case SL_FB_STRING: return build_string(e, ti, ref);
    case SL_FB_VECTOR: return build_vector(e, field, obj, ti, ref);
    case SL_FB_UNION: return build_union(e, field, obj, ti, ref);
    default:
        return build_table(e, sl_fb_schema_object(field->owner->schema, field->type.index), ti,
                           ref);
    }
}

/* Pass 2: the table's own bytes. */
static int add_member(struct enc *e, const struct sl_fb_json_member *m)
{
    const struct sl_fb_field *field = m->field;
    struct sl_fbb *b = enc_builder(e);
    if (m->is_offset) {
        sl_fbb_add_ref(b, field->offset, m->ref);
        return 0;
    }
    if (field->type.base == SL_FB_OBJ) {
        const struct sl_fb_object *object =
            sl_fb_schema_object(field->owner->schema, field->type.index);
        uint8_t data[1024];
        uint8_t *bytes = object->bytesize <= sizeof(data) ? data : enc_scratch(e, object->bytesize);
        int rc = enc_struct(e, m->value, object, bytes);
        if (!rc)
            sl_fbb_add_struct(b, field->offset, bytes, object->bytesize, object->minalign);
        return rc;
    }
    uint8_t v[8] = {0}, d[8] = {0};
    int rc = enc_scalar(e, m->value, field->type.base, field_enum(field), v);
    if (rc)
        return rc;
    default_bytes(field, d);
    sl_fbb_add_scalar(b, field->offset, v, scalar_size(field->type.base), d, field->optional);
    return 0;
}

/* Names the first required field of object missing from seen (the caller
 * counted fewer required fields than the object has). */
static int check_required(struct enc *e, const struct sl_fb_object *object, uint32_t ti,
                          const uint64_t *seen)
{
    for (uint32_t i = 0; i < object->field_count; i++) {
        if (object->fields[i].required && !(seen[i / 64] & (1ull << (i % 64))))
            return enc_fail(e, ti, "%s: missing required field \"%s\"", object->name,
                            object->fields[i].name);
    }
    return 0;
}

/* The field of object named name: most JSON (flatc's, sluice's) lists a
 * table's members in field id order, so the two fields after the last one
 * found (by_id[next], by_id[next + 1]) are tried before the name table. */
static inline const struct sl_fb_field *predict_field(const struct sl_fb_object *object,
                                                      uint32_t next, const char *name,
                                                      size_t name_len)
{
    for (uint32_t i = next; i < next + 2 && i < object->field_count; i++) {
        const struct sl_fb_field *field = object->by_id[i];
        if (field->name_len == name_len && sl_fb_name_equals(field->name, name, name_len))
            return field;
    }
    return sl_fb_object_field(object, name, name_len);
}

static int build_table(struct enc *e, const struct sl_fb_object *object, uint32_t ti,
                       sl_fb_ref *ref)
{
    const struct sl_json_tok *t = tok(e, ti);
    if (t->kind != SL_JSON_OBJ)
        return enc_fail(e, ti, "expected an object for table %s", object->name);
    if (++e->depth > SL_FB_DEPTH_MAX)
        return enc_fail(e, ti, "tables nested deeper than %u", SL_FB_DEPTH_MAX);
    uint64_t seen[SL_FB_TABLE_FIELDS_MAX / 64];
    memset(seen, 0, (object->field_count + 63) / 64 * sizeof(seen[0]));
    size_t base = enc_member_push(e, t->count), n = 0;
    uint32_t k = ti + 1, required = 0, next = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        size_t name_len;
        const char *name = tok_string(e, tok(e, k), &name_len);
        const struct sl_fb_field *field = predict_field(object, next, name, name_len);
        if (!field)
            return enc_fail(e, k, "unknown field \"%.*s\" in table %s", (int)name_len, name,
                            object->name);
        uint32_t fi = (uint32_t)(field - object->fields);
        if (seen[fi / 64] & (1ull << (fi % 64)))
            return enc_fail(e, k, "duplicate field \"%s\"", field->name);
        next = field->order + 1;
        uint32_t v = k + 1;
        k = tok(e, v)->end;
        if (tok(e, v)->kind == SL_JSON_NULL || field->deprecated)
            continue;
        seen[fi / 64] |= 1ull << (fi % 64);
        required += field->required;
        bool is_offset = is_offset_field(object, fi);
        sl_fb_ref child = 0;
        if (is_offset) {
            int rc = build_child(e, field, ti, v, &child);
            if (rc)
                return rc;
        }
        /* field by field: a struct built on the stack and copied whole is
         * read back before its narrow stores have landed (a forwarding stall) */
        struct sl_fb_json_member *m = &e->j->members[base + n++];
        m->field = field;
        m->value = v;
        m->ref = child;
        m->is_offset = is_offset;
    }
    int rc = required == object->required_count ? 0 : check_required(e, object, ti, seen);
    if (rc)
        return rc;
    sl_fbb_table_start(enc_builder(e));
    for (size_t i = 0; i < n && !rc; i++)
        rc = add_member(e, &e->j->members[base + i]);
    if (rc) {
        enc_builder(e)->in_table = false;
        return rc;
    }
    *ref = sl_fbb_table_end(enc_builder(e));
    e->member_top = base;
    e->depth--;
    return 0;
}

void sl_fb_json_init(struct sl_fb_json *j, const struct sl_fb_schemas *schemas)
{
    memset(j, 0, sizeof(*j));
    j->schemas = schemas;
    j->tape = malloc(sizeof(*j->tape));
    SL_ASSERT(j->tape);
    sl_json_tape_init(j->tape);
    for (size_t i = 0; i < sizeof(j->builders) / sizeof(j->builders[0]); i++)
        sl_fbb_init(&j->builders[i], 4096);
}

void sl_fb_json_fini(struct sl_fb_json *j)
{
    sl_json_tape_fini(j->tape);
    free(j->tape);
    for (size_t i = 0; i < sizeof(j->builders) / sizeof(j->builders[0]); i++)
        sl_fbb_fini(&j->builders[i]);
    free(j->members);
    free(j->scratch);
    free(j->out);
    memset(j, 0, sizeof(*j));
}

int sl_fb_json_to_fb(struct sl_fb_json *j, const struct sl_fb_object *object, const char *json,
                     size_t len, bool size_prefixed, const uint8_t **out, size_t *out_len,
                     char *err, size_t err_len)
{
    if (object->is_struct) {
        snprintf(err, err_len, "%s is a struct; the root must be a table", object->name);
        return -EINVAL;
    }
    int rc = sl_json_tape_parse(j->tape, json, len, err, err_len);
    if (rc)
        return rc;
    struct sl_fbb *b = &j->builders[0];
    struct enc e = {.j = j, .tape = j->tape, .toks = j->tape->toks, .fbb = b, .src = json,
                    .err = err, .err_len = err_len};
    sl_fbb_reset(b);
    b->force_defaults = j->force_defaults;
    sl_fb_ref root;
    rc = build_table(&e, object, 0, &root);
    if (rc)
        return rc;
    *out = sl_fbb_finish(b, root, size_prefixed, out_len);
    if (b->failed) {
        snprintf(err, err_len, "record exceeds FlatBuffers limits (2 GiB buffer, 64 KiB table)");
        return -EINVAL;
    }
    return 0;
}
