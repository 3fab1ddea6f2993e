/*
 * fb_to_json.c - a verified FlatBuffer to one line of strict JSON, in the
 * shape flatc writes and json_to_fb.c reads: fields in id order, present
 * fields only, enums by name (bit flags as space-separated names; a value
 * with no name as its number), unions as "x_type" + "x", structs as objects,
 * nested buffers as the object of their table. Floats are printed with the
 * fewest of 15, 16 or 17 significant digits (6 to 9 for float) that read back
 * to the same value; NaN and infinities, which
 * JSON cannot write, as the strings "nan", "inf", "-inf".
 *
 * Reads without bounds checks: the buffer must have passed sl_fb_verify()
 * with check_nested. Strings must be valid UTF-8 (else an error).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/assert.h"
#include "fb/fb.h"
#include "fb/json_int.h"

struct dec {
    struct sl_fb_json *j;
    char *err;
    size_t err_len;
};

static int dec_fail(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int dec_fail(struct dec *d, const char *fmt, ...)
{
    if (d->err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->err, d->err_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static void out_reserve(struct sl_fb_json *j, size_t n)
{
    if (SL_LIKELY(j->out_cap - j->out_len >= n))
        return;
    size_t cap = j->out_cap ? j->out_cap : 4096;
    while (cap - j->out_len < n)
        cap *= 2;
    j->out = realloc(j->out, cap);
    SL_ASSERT(j->out);
    j->out_cap = cap;
}

static void out_bytes(struct sl_fb_json *j, const char *s, size_t n)
{
    out_reserve(j, n);
    memcpy(j->out + j->out_len, s, n);
    j->out_len += n;
}

static void out_char(struct sl_fb_json *j, char c)
{
    out_reserve(j, 1);
    j->out[j->out_len++] = c;
}

static void out_u64(struct sl_fb_json *j, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_bytes(j, tmp + sizeof(tmp) - n, n);
}

static void out_i64(struct sl_fb_json *j, int64_t v)
{
    if (v < 0) {
        out_char(j, '-');
        out_u64(j, (uint64_t)0 - (uint64_t)v);
    } else {
        out_u64(j, (uint64_t)v);
    }
}

static void out_double(struct sl_fb_json *j, double v, bool is_float)
{
    if (isnan(v) || isinf(v)) {
        out_bytes(j, isnan(v) ? "\"nan\"" : v > 0 ? "\"inf\"" : "\"-inf\"", isnan(v) || v > 0 ? 5 : 6);
        return;
    }
    char tmp[40];
    int n = 0;
    /* the fewest digits, from 15 (6 for float), that read back exactly */
    for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (is_float ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
            break;
    }
    out_bytes(j, tmp, (size_t)n);
}

static int out_string(struct dec *d, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    struct sl_fb_json *j = d->j;
    out_reserve(j, n + 2);
    out_char(j, '"');
    size_t run = 0; /* bytes copied as they are, flushed in one memcpy */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            run++;
            continue;
        }
        out_bytes(j, (const char *)s + i - run, run);
        run = 0;
        if (c >= 0x80) {
            size_t len = sl_utf8_len(s + i, n - i);
            if (!len)
                return dec_fail(d, "string is not valid UTF-8 at byte %zu", i);
            out_bytes(j, (const char *)s + i, len);
            i += len;
            continue;
        }
        char esc[6] = {'\\', 0};
        size_t esc_len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\t': esc[1] = 't'; break;
        case '\r': esc[1] = 'r'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            esc_len = 6;
        }
        out_bytes(j, esc, esc_len);
        i++;
    }
    out_bytes(j, (const char *)s + n - run, run);
    out_char(j, '"');
    return 0;
}

static int64_t read_int(const uint8_t *p, unsigned base)
{
    switch (base) {
    case SL_FB_BYTE: return (int8_t)p[0];
    case SL_FB_SHORT: return (int16_t)sl_fb_u16(p);
    case SL_FB_USHORT: return sl_fb_u16(p);
    case SL_FB_INT: return (int32_t)sl_fb_u32(p);
    case SL_FB_UINT: return sl_fb_u32(p);
    case SL_FB_LONG:
    case SL_FB_ULONG: return (int64_t)sl_fb_u64(p);
    default: return p[0]; /* bool, ubyte, utype */
    }
}

/* Names for a bit_flags value, or false when some bit has no name. */
static bool out_flags(struct sl_fb_json *j, const struct sl_fb_enum *en, uint64_t v)
{
    uint64_t covered = 0;
    for (uint32_t i = 0; i < en->val_count; i++)
        if (en->vals[i].value && ((uint64_t)en->vals[i].value & v) == (uint64_t)en->vals[i].value)
            covered |= (uint64_t)en->vals[i].value;
    if (covered != v || v == 0)
        return false;
    out_char(j, '"');
    bool first = true;
    for (uint32_t i = 0; i < en->val_count; i++) {
        uint64_t bit = (uint64_t)en->vals[i].value;
        if (bit && (bit & v) == bit) {
            if (!first)
                out_char(j, ' ');
            out_bytes(j, en->vals[i].name, strlen(en->vals[i].name));
            first = false;
        }
    }
    out_char(j, '"');
    return true;
}

static void out_scalar(struct sl_fb_json *j, const uint8_t *p, unsigned base,
                       const struct sl_fb_enum *en)
{
    if (base == SL_FB_FLOAT) {
        float f;
        memcpy(&f, p, 4);
        out_double(j, f, true);
        return;
    }
    if (base == SL_FB_DOUBLE) {
        double v;
        memcpy(&v, p, 8);
        out_double(j, v, false);
        return;
    }
    int64_t v = read_int(p, base);
    if (en) {
        const struct sl_fb_enum_val *val = en->bit_flags ? NULL : sl_fb_enum_by_value(en, v);
        if (val) {
            out_char(j, '"');
            out_bytes(j, val->name, strlen(val->name));
            out_char(j, '"');
            return;
        }
        if (en->bit_flags && out_flags(j, en, (uint64_t)v))
            return;
    }
    if (base == SL_FB_BOOL)
        out_bytes(j, v ? "true" : "false", v ? 4 : 5);
    else if (base == SL_FB_ULONG)
        out_u64(j, (uint64_t)v);
    else
        out_i64(j, v);
}

static int out_table(struct dec *d, const struct sl_fb_object *object, const uint8_t *table);

static void out_struct(struct dec *d, const struct sl_fb_object *object, const uint8_t *p);

static void out_inline(struct dec *d, const struct sl_fb_schema *schema, unsigned base,
                       int32_t index, const uint8_t *p)
{
    if (base == SL_FB_OBJ)
        out_struct(d, sl_fb_schema_object(schema, index), p);
    else
        out_scalar(d->j, p, base, sl_fb_schema_enum(schema, index));
}

static void out_struct(struct dec *d, const struct sl_fb_object *object, const uint8_t *p)
{
    struct sl_fb_json *j = d->j;
    out_char(j, '{');
    for (uint32_t i = 0; i < object->field_count; i++) {
        const struct sl_fb_field *field = object->by_id[i];
        if (i)
            out_char(j, ',');
        out_char(j, '"');
        out_bytes(j, field->name, field->name_len);
        out_bytes(j, "\":", 2);
        if (field->type.base != SL_FB_ARRAY) {
            out_inline(d, object->schema, field->type.base, field->type.index, p + field->offset);
            continue;
        }
        size_t stride = sl_fb_type_element_size(object->schema, &field->type);
        out_char(j, '[');
        for (uint32_t k = 0; k < field->type.fixed_length; k++) {
            if (k)
                out_char(j, ',');
            out_inline(d, object->schema, field->type.element, field->type.index,
                       p + field->offset + k * stride);
        }
        out_char(j, ']');
    }
    out_char(j, '}');
}

/* Table of union member `type` at p (an offset), or its string. */
static int out_union_value(struct dec *d, const struct sl_fb_field *field, uint8_t type,
                           const uint8_t *p)
{
    const struct sl_fb_enum *en = sl_fb_schema_enum(field->owner->schema, field->type.index);
    const struct sl_fb_enum_val *val = sl_fb_enum_by_value(en, type);
    if (!val || val->union_base == SL_FB_NONE) {
        out_bytes(d->j, "null", 4);
        return 0;
    }
    const uint8_t *target = sl_fb_deref(p);
    if (val->union_base == SL_FB_STRING)
        return out_string(d, target + 4, sl_fb_u32(target));
    const struct sl_fb_object *object = sl_fb_schema_object(field->owner->schema, val->union_object);
    if (object->is_struct) {
        out_struct(d, object, target);
        return 0;
    }
    return out_table(d, object, target);
}

static int out_nested(struct dec *d, const struct sl_fb_field *field, const uint8_t *table,
                      const uint8_t *vec)
{
    const struct sl_fb_object *object = field->nested_object;
    uint32_t len = sl_fb_vec_len(vec);
    if (field->nested == SL_FB_NESTED_BY_TYPE) {
        const uint8_t *type = sl_fb_field_ptr(table, field->type_field_voff);
        object = NULL;
        if (type) {
            type = sl_fb_deref(type);
            object = sl_fb_schemas_event_object(d->j->schemas, (const char *)type + 4,
                                                sl_fb_u32(type));
        }
    }
    if (!object || len == 0) { /* verified: an unknown type only with an empty payload */
        out_bytes(d->j, "[]", 2);
        return 0;
    }
    return out_table(d, object, sl_fb_root(sl_fb_vec_data(vec)));
}

static int out_vector(struct dec *d, const struct sl_fb_field *field, const uint8_t *table,
                      const uint8_t *vec)
{
    if (field->nested != SL_FB_NESTED_NONE)
        return out_nested(d, field, table, vec);
    struct sl_fb_json *j = d->j;
    const struct sl_fb_schema *schema = field->owner->schema;
    unsigned elem = field->type.element;
    uint32_t n = sl_fb_vec_len(vec);
    const uint8_t *data = sl_fb_vec_data(vec);
    const uint8_t *types = NULL;
    if (elem == SL_FB_UNION) {
        const uint8_t *tv = sl_fb_field_ptr(table, (uint16_t)(field->offset - 2));
        types = tv ? sl_fb_vec_data(sl_fb_deref(tv)) : NULL;
    }
    size_t stride = sl_fb_type_element_size(schema, &field->type);
    out_char(j, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            out_char(j, ',');
        const uint8_t *p = data + (size_t)i * stride;
        int rc = 0;
        if (elem == SL_FB_STRING) {
            const uint8_t *s = sl_fb_deref(p);
            rc = out_string(d, s + 4, sl_fb_u32(s));
        } else if (elem == SL_FB_UNION) {
            rc = out_union_value(d, field, types ? types[i] : 0, p);
        } else if (elem == SL_FB_OBJ &&
                   !sl_fb_schema_object(schema, field->type.index)->is_struct) {
            rc = out_table(d, sl_fb_schema_object(schema, field->type.index), sl_fb_deref(p));
        } else {
            out_inline(d, schema, elem, field->type.index, p);
        }
        if (rc)
            return rc;
    }
    out_char(j, ']');
    return 0;
}

static int out_field(struct dec *d, const struct sl_fb_field *field, const uint8_t *table,
                     const uint8_t *p)
{
    const struct sl_fb_schema *schema = field->owner->schema;
    switch (field->type.base) {
    case SL_FB_STRING: {
        const uint8_t *s = sl_fb_deref(p);
        return out_string(d, s + 4, sl_fb_u32(s));
    }
    case SL_FB_VECTOR: return out_vector(d, field, table, sl_fb_deref(p));
    case SL_FB_UNION: {
        const uint8_t *tp = sl_fb_field_ptr(table, (uint16_t)(field->offset - 2));
        return out_union_value(d, field, tp ? *tp : 0, p);
    }
    case SL_FB_OBJ: {
        const struct sl_fb_object *object = sl_fb_schema_object(schema, field->type.index);
        if (object->is_struct) {
            out_struct(d, object, p);
            return 0;
        }
        return out_table(d, object, sl_fb_deref(p));
    }
    default:
        out_scalar(d->j, p, field->type.base, sl_fb_schema_enum(schema, field->type.index));
        return 0;
    }
}

static int out_table(struct dec *d, const struct sl_fb_object *object, const uint8_t *table)
{
    struct sl_fb_json *j = d->j;
    out_char(j, '{');
    bool first = true;
    for (uint32_t i = 0; i < object->field_count; i++) {
        const struct sl_fb_field *field = object->by_id[i];
        const uint8_t *p = field->deprecated ? NULL : sl_fb_field_ptr(table, field->offset);
        if (!p)
            continue;
        if (!first)
            out_char(j, ',');
        first = false;
        out_char(j, '"');
        out_bytes(j, field->name, field->name_len);
        out_bytes(j, "\":", 2);
        int rc = out_field(d, field, table, p);
        if (rc)
            return rc;
    }
    out_char(j, '}');
    return 0;
}

int sl_fb_to_json(struct sl_fb_json *j, const struct sl_fb_object *object, const uint8_t *buf,
                  size_t len, const char **out, size_t *out_len, char *err, size_t err_len)
{
    (void)len; /* verified by the caller */
    struct dec d = {.j = j, .err = err, .err_len = err_len};
    j->out_len = 0;
    int rc = out_table(&d, object, sl_fb_root(buf));
    if (rc)
        return rc;
    *out = j->out;
    *out_len = j->out_len;
    return 0;
}
