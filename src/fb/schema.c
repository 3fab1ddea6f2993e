/*
 * schema.c - loads flatc's reflection output (.bfbs, a FlatBuffer of
 * reflection.fbs) into the schema model of fb.h, and keeps the set of
 * schemas a process knows with its event type -> payload table mapping.
 *
 * reflection.fbs (flatbuffers 2.0.8) fields read here, by vtable offset:
 *   Schema:  objects 4, enums 6, root_table 12
 *   Object:  name 4, fields 6, is_struct 8, minalign 10, bytesize 12, attributes 14
 *   Field:   name 4, type 6, id 8, offset 10, default_integer 12, default_real 14,
 *            deprecated 16, required 18, key 20, attributes 22, optional 26, padding 28
 *   Type:    base_type 4, element 6, index 8, fixed_length 10
 *   Enum:    name 4, values 6, is_union 8, underlying_type 10, attributes 12
 *   EnumVal: name 4, value 6, union_type 10
 *   KeyValue: key 4, value 6
 * Every read is bounds-checked: a .bfbs from a file is untrusted input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/assert.h"
#include "fb/fb.h"
#include "fb/schema_embedded.h"

/* A bounds-checked reader over the reflection buffer; `bad` latches. */
struct rd {
    const uint8_t *buf;
    size_t len;
    bool bad;
};

static bool rd_in(struct rd *r, const uint8_t *p, size_t n)
{
    if (r->bad || p < r->buf || (size_t)(p - r->buf) > r->len || n > r->len - (size_t)(p - r->buf)) {
        r->bad = true;
        return false;
    }
    return true;
}

/* Field address in table, NULL when absent or out of bounds. */
static const uint8_t *rd_field(struct rd *r, const uint8_t *table, uint16_t voff)
{
    if (!table || !rd_in(r, table, 4))
        return NULL;
    int64_t vt_pos = (int64_t)(table - r->buf) - sl_fb_i32(table);
    if (vt_pos < 0 || !rd_in(r, r->buf + vt_pos, 4))
        return NULL;
    const uint8_t *vt = r->buf + vt_pos;
    uint16_t vt_size = sl_fb_u16(vt);
    if (!rd_in(r, vt, vt_size) || voff + 2u > vt_size)
        return NULL;
    uint16_t off = sl_fb_u16(vt + voff);
    return off ? table + off : NULL;
}

static const uint8_t *rd_deref(struct rd *r, const uint8_t *p)
{
    if (!p || !rd_in(r, p, 4))
        return NULL;
    uint64_t pos = (uint64_t)(p - r->buf) + sl_fb_u32(p);
    if (pos + 4 > r->len) {
        r->bad = true;
        return NULL;
    }
    return r->buf + pos;
}

static const uint8_t *rd_table(struct rd *r, const uint8_t *table, uint16_t voff)
{
    return rd_deref(r, rd_field(r, table, voff));
}

/* String field: NUL-terminated in place (checked), or NULL. */
static const char *rd_string(struct rd *r, const uint8_t *table, uint16_t voff, uint32_t *len)
{
    const uint8_t *s = rd_table(r, table, voff);
    if (!s)
        return NULL;
    uint32_t n = sl_fb_u32(s);
    if (!rd_in(r, s + 4, (size_t)n + 1) || s[4 + n] != 0) {
        r->bad = true;
        return NULL;
    }
    if (len)
        *len = n;
    return (const char *)s + 4;
}

/* Vector of offsets: returns element count, *data at the first element. */
static uint32_t rd_vector(struct rd *r, const uint8_t *table, uint16_t voff, const uint8_t **data)
{
    const uint8_t *v = rd_table(r, table, voff);
    if (!v)
        return 0;
    uint32_t n = sl_fb_u32(v);
    if (!rd_in(r, v + 4, (size_t)n * 4))
        return 0;
    *data = v + 4;
    return n;
}

static const uint8_t *rd_elem(struct rd *r, const uint8_t *data, uint32_t i)
{
    return rd_deref(r, data + 4 * (size_t)i);
}

static int64_t rd_int(struct rd *r, const uint8_t *table, uint16_t voff, size_t size,
                      bool is_signed, int64_t dflt)
{
    const uint8_t *p = rd_field(r, table, voff);
    if (!p || !rd_in(r, p, size))
        return dflt;
    switch (size) {
    case 1: return is_signed ? (int64_t)(int8_t)p[0] : (int64_t)p[0];
    case 2: return is_signed ? (int64_t)(int16_t)sl_fb_u16(p) : (int64_t)sl_fb_u16(p);
    case 4: return is_signed ? (int64_t)(int32_t)sl_fb_u32(p) : (int64_t)sl_fb_u32(p);
    default: return (int64_t)sl_fb_u64(p);
    }
}

static double rd_double(struct rd *r, const uint8_t *table, uint16_t voff)
{
    const uint8_t *p = rd_field(r, table, voff);
    double d = 0;
    if (p && rd_in(r, p, 8))
        memcpy(&d, p, 8);
    return d;
}

/* Value of attribute `key` in an [KeyValue] attributes vector, or NULL. */
static const char *rd_attribute(struct rd *r, const uint8_t *table, uint16_t voff, const char *key)
{
    const uint8_t *data;
    uint32_t n = rd_vector(r, table, voff, &data);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *kv = rd_elem(r, data, i);
        const char *k = rd_string(r, kv, 4, NULL);
        if (k && strcmp(k, key) == 0) {
            const char *v = rd_string(r, kv, 6, NULL);
            return v ? v : "";
        }
    }
    return NULL;
}

static void rd_type(struct rd *r, const uint8_t *type_table, struct sl_fb_type *type)
{
    type->base = (uint8_t)rd_int(r, type_table, 4, 1, true, 0);
    type->element = (uint8_t)rd_int(r, type_table, 6, 1, true, 0);
    type->index = (int32_t)rd_int(r, type_table, 8, 4, true, -1);
    type->fixed_length = (uint16_t)rd_int(r, type_table, 10, 2, false, 0);
}

size_t sl_fb_base_size(enum sl_fb_base base)
{
    static const uint8_t sizes[SL_FB_BASE_MAX] = {
        [SL_FB_UTYPE] = 1, [SL_FB_BOOL] = 1, [SL_FB_BYTE] = 1, [SL_FB_UBYTE] = 1,
        [SL_FB_SHORT] = 2, [SL_FB_USHORT] = 2, [SL_FB_INT] = 4, [SL_FB_UINT] = 4,
        [SL_FB_LONG] = 8, [SL_FB_ULONG] = 8, [SL_FB_FLOAT] = 4, [SL_FB_DOUBLE] = 8,
        [SL_FB_STRING] = 4, [SL_FB_VECTOR] = 4, [SL_FB_OBJ] = 4, [SL_FB_UNION] = 4,
    };
    return base < SL_FB_BASE_MAX ? sizes[base] : 0;
}

const char *sl_fb_base_name(enum sl_fb_base base)
{
    static const char *const names[SL_FB_BASE_MAX] = {
        "none", "utype", "bool", "byte", "ubyte", "short", "ushort", "int", "uint",
        "long", "ulong", "float", "double", "string", "vector", "table", "union", "array",
    };
    return base < SL_FB_BASE_MAX ? names[base] : "?";
}

const struct sl_fb_object *sl_fb_schema_object(const struct sl_fb_schema *schema, int32_t index)
{
    return index >= 0 && (uint32_t)index < schema->object_count ? &schema->objects[index] : NULL;
}

const struct sl_fb_enum *sl_fb_schema_enum(const struct sl_fb_schema *schema, int32_t index)
{
    return index >= 0 && (uint32_t)index < schema->enum_count ? &schema->enums[index] : NULL;
}

size_t sl_fb_type_element_size(const struct sl_fb_schema *schema, const struct sl_fb_type *type)
{
    if (type->element == SL_FB_OBJ) {
        const struct sl_fb_object *object = sl_fb_schema_object(schema, type->index);
        return object && object->is_struct ? object->bytesize : 4;
    }
    return sl_fb_base_size(type->element);
}

static int field_name_cmp(const void *a, const void *b)
{
    const struct sl_fb_field *fa = a, *fb = b;
    return strcmp(fa->name, fb->name);
}

static int field_order_cmp(const void *a, const void *b)
{
    const struct sl_fb_field *fa = *(struct sl_fb_field *const *)a;
    const struct sl_fb_field *fb = *(struct sl_fb_field *const *)b;
    unsigned ka = fa->owner->is_struct ? fa->offset : fa->id;
    unsigned kb = fb->owner->is_struct ? fb->offset : fb->id;
    return (ka > kb) - (ka < kb);
}

static int enum_val_cmp(const void *a, const void *b)
{
    const struct sl_fb_enum_val *va = a, *vb = b;
    return (va->value > vb->value) - (va->value < vb->value);
}

static const char *after_last_dot(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

static int load_fields(struct rd *r, struct sl_fb_object *object, const uint8_t *obj_table,
                       char *err, size_t err_len)
{
    const uint8_t *data = NULL;
    uint32_t n = rd_vector(r, obj_table, 6, &data);
    object->fields = calloc(n ? n : 1, sizeof(*object->fields));
    object->by_id = calloc(n ? n : 1, sizeof(*object->by_id));
    SL_ASSERT(object->fields && object->by_id);
    object->field_count = n;
    uint32_t id_max = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *ft = rd_elem(r, data, i);
        struct sl_fb_field *field = &object->fields[i];
        field->name = rd_string(r, ft, 4, &field->name_len);
        if (!field->name) {
            snprintf(err, err_len, "%s: field %u has no name", object->name, i);
            return -EINVAL;
        }
        rd_type(r, rd_table(r, ft, 6), &field->type);
        field->id = (uint16_t)rd_int(r, ft, 8, 2, false, 0);
        field->offset = (uint16_t)rd_int(r, ft, 10, 2, false, 0);
        field->default_integer = rd_int(r, ft, 12, 8, true, 0);
        field->default_real = rd_double(r, ft, 14);
        field->deprecated = rd_int(r, ft, 16, 1, false, 0) != 0;
        field->required = rd_int(r, ft, 18, 1, false, 0) != 0;
        field->key = rd_int(r, ft, 20, 1, false, 0) != 0;
        field->optional = rd_int(r, ft, 26, 1, false, 0) != 0;
        field->padding = (uint32_t)rd_int(r, ft, 28, 2, false, 0);
        field->owner = object;
        const char *nested = rd_attribute(r, ft, 22, "nested_flatbuffer");
        if (nested) {
            field->nested = SL_FB_NESTED_TABLE;
            /* holds the attribute text until check_types() resolves it,
             * once every object of the schema is loaded */
            field->nested_object = (const struct sl_fb_object *)nested;
        }
        if (field->type.base >= SL_FB_BASE_MAX || field->type.element >= SL_FB_BASE_MAX) {
            snprintf(err, err_len, "%s.%s: unknown base type", object->name, field->name);
            return -EINVAL;
        }
        if (!object->is_struct && field->id > id_max)
            id_max = field->id;
    }
    qsort(object->fields, n, sizeof(*object->fields), field_name_cmp);
    for (uint32_t i = 0; i < n; i++)
        object->by_id[i] = &object->fields[i];
    qsort(object->by_id, n, sizeof(*object->by_id), field_order_cmp);
    for (uint32_t i = 0; i < n; i++)
        object->by_id[i]->order = i;
    object->vtable_fields = n ? (uint16_t)(id_max + 1) : 0;
    return 0;
}

static int load_objects(struct rd *r, struct sl_fb_schema *schema, const uint8_t *root, char *err,
                        size_t err_len)
{
    const uint8_t *data = NULL;
    uint32_t n = rd_vector(r, root, 4, &data);
    schema->objects = calloc(n ? n : 1, sizeof(*schema->objects));
    SL_ASSERT(schema->objects);
    schema->object_count = n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *ot = rd_elem(r, data, i);
        struct sl_fb_object *object = &schema->objects[i];
        object->name = rd_string(r, ot, 4, NULL);
        if (!object->name) {
            snprintf(err, err_len, "object %u has no name", i);
            return -EINVAL;
        }
        object->short_name = after_last_dot(object->name);
        object->schema = schema;
        object->index = (int32_t)i;
        object->is_struct = rd_int(r, ot, 8, 1, false, 0) != 0;
        object->minalign = (uint32_t)rd_int(r, ot, 10, 4, true, 1);
        object->bytesize = (uint32_t)rd_int(r, ot, 12, 4, true, 0);
        object->event_type = rd_attribute(r, ot, 14, "event");
        if (object->minalign == 0 || object->minalign > 16 ||
            (object->minalign & (object->minalign - 1))) {
            snprintf(err, err_len, "%s: bad minalign %u", object->name, object->minalign);
            return -EINVAL;
        }
        int rc = load_fields(r, object, ot, err, err_len);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_enums(struct rd *r, struct sl_fb_schema *schema, const uint8_t *root, char *err,
                      size_t err_len)
{
    const uint8_t *data = NULL;
    uint32_t n = rd_vector(r, root, 6, &data);
    schema->enums = calloc(n ? n : 1, sizeof(*schema->enums));
    SL_ASSERT(schema->enums);
    schema->enum_count = n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *et = rd_elem(r, data, i);
        struct sl_fb_enum *e = &schema->enums[i];
        e->name = rd_string(r, et, 4, NULL);
        if (!e->name) {
            snprintf(err, err_len, "enum %u has no name", i);
            return -EINVAL;
        }
        e->short_name = after_last_dot(e->name);
        e->is_union = rd_int(r, et, 8, 1, false, 0) != 0;
        struct sl_fb_type underlying;
        rd_type(r, rd_table(r, et, 10), &underlying);
        e->underlying = underlying.base;
        e->bit_flags = rd_attribute(r, et, 12, "bit_flags") != NULL;
        const uint8_t *vdata = NULL;
        uint32_t vn = rd_vector(r, et, 6, &vdata);
        e->vals = calloc(vn ? vn : 1, sizeof(*e->vals));
        SL_ASSERT(e->vals);
        e->val_count = vn;
        for (uint32_t k = 0; k < vn; k++) {
            const uint8_t *vt = rd_elem(r, vdata, k);
            struct sl_fb_enum_val *val = &e->vals[k];
            val->name = rd_string(r, vt, 4, NULL);
            if (!val->name) {
                snprintf(err, err_len, "%s: value %u has no name", e->name, k);
                return -EINVAL;
            }
            val->value = rd_int(r, vt, 6, 8, true, 0);
            struct sl_fb_type ut = {.base = SL_FB_NONE, .index = -1};
            const uint8_t *utt = rd_table(r, vt, 10);
            if (utt)
                rd_type(r, utt, &ut);
            val->union_base = ut.base;
            val->union_object = ut.base == SL_FB_OBJ ? ut.index : -1;
        }
        qsort(e->vals, vn, sizeof(*e->vals), enum_val_cmp);
    }
    return 0;
}

/* Object by name as written in an attribute: full, namespace-relative, or short. */
static const struct sl_fb_object *find_in_schema(const struct sl_fb_schema *schema,
                                                 const struct sl_fb_object *from, const char *name)
{
    size_t ns_len = (size_t)(from->short_name - from->name);
    const struct sl_fb_object *by_short = NULL;
    for (uint32_t i = 0; i < schema->object_count; i++) {
        const struct sl_fb_object *o = &schema->objects[i];
        if (strcmp(o->name, name) == 0)
            return o;
        if (strncmp(o->name, from->name, ns_len) == 0 && strcmp(o->name + ns_len, name) == 0)
            return o;
        if (strcmp(o->short_name, name) == 0)
            by_short = o;
    }
    return by_short;
}

/* Checks indices so that later code can index without checks. */
static int check_types(struct sl_fb_schema *schema, char *err, size_t err_len)
{
    for (uint32_t i = 0; i < schema->object_count; i++) {
        struct sl_fb_object *object = &schema->objects[i];
        for (uint32_t k = 0; k < object->field_count; k++) {
            struct sl_fb_field *field = &object->fields[k];
            unsigned base = field->type.base;
            unsigned elem = field->type.element;
            bool needs_object = base == SL_FB_OBJ ||
                                ((base == SL_FB_VECTOR || base == SL_FB_ARRAY) && elem == SL_FB_OBJ);
            bool needs_enum = base == SL_FB_UNION || base == SL_FB_UTYPE ||
                              ((base == SL_FB_VECTOR) && (elem == SL_FB_UNION || elem == SL_FB_UTYPE));
            if (needs_object && !sl_fb_schema_object(schema, field->type.index))
                goto bad;
            if (needs_enum && !sl_fb_schema_enum(schema, field->type.index))
                goto bad;
            if (field->type.index >= 0 && !needs_object &&
                !sl_fb_schema_enum(schema, field->type.index))
                goto bad;
            if (field->nested == SL_FB_NESTED_TABLE) {
                const char *target = (const char *)field->nested_object;
                field->nested_object = find_in_schema(schema, object, target);
                if (!field->nested_object || field->nested_object->is_struct) {
                    snprintf(err, err_len, "%s.%s: nested_flatbuffer table %s not found",
                             object->name, field->name, target);
                    return -EINVAL;
                }
            }
            continue;
        bad:
            snprintf(err, err_len, "%s.%s: type index %d out of range", object->name,
                     field->name, field->type.index);
            return -EINVAL;
        }
    }
    for (uint32_t i = 0; i < schema->enum_count; i++) {
        struct sl_fb_enum *e = &schema->enums[i];
        for (uint32_t k = 0; k < e->val_count; k++) {
            if (e->vals[k].union_object >= 0 &&
                !sl_fb_schema_object(schema, e->vals[k].union_object)) {
                snprintf(err, err_len, "%s.%s: union member out of range", e->name,
                         e->vals[k].name);
                return -EINVAL;
            }
        }
    }
    return 0;
}

/* The verifier's plan for one table field (see enum sl_fb_vkind); types were
 * checked by check_types(). Anything unusual goes the general way. */
static void plan_field(const struct sl_fb_schema *schema, const struct sl_fb_field *field,
                       struct sl_fb_vplan *plan)
{
    unsigned base = field->type.base, elem = field->type.element;
    const struct sl_fb_object *object = sl_fb_schema_object(schema, field->type.index);
    *plan = (struct sl_fb_vplan){.field = field, .voff = field->offset, .kind = SL_FB_VK_OTHER,
                                 .check_absent = field->required || base == SL_FB_UNION};
    if (base == SL_FB_STRING) {
        plan->kind = SL_FB_VK_STRING;
    } else if (base == SL_FB_OBJ && object) {
        plan->kind = object->is_struct ? SL_FB_VK_STRUCT : SL_FB_VK_TABLE;
        plan->object = object;
        plan->size = object->bytesize;
        plan->align = (uint8_t)object->minalign;
    } else if (sl_fb_base_is_scalar(base)) {
        plan->kind = SL_FB_VK_SCALAR;
        plan->size = plan->align = (uint8_t)sl_fb_base_size(base);
    } else if (base == SL_FB_VECTOR && elem == SL_FB_STRING) {
        plan->kind = SL_FB_VK_VEC_STRINGS;
        plan->size = 4;
    } else if (base == SL_FB_VECTOR && elem == SL_FB_OBJ && object && !object->is_struct) {
        plan->kind = SL_FB_VK_VEC_TABLES;
        plan->object = object;
        plan->size = 4;
    } else if (base == SL_FB_VECTOR && elem == SL_FB_UBYTE &&
               field->nested == SL_FB_NESTED_BY_TYPE) {
        plan->kind = SL_FB_VK_PAYLOAD;
        plan->size = 1;
    } else if (base == SL_FB_VECTOR && field->nested == SL_FB_NESTED_NONE) {
        plan->size = elem == SL_FB_OBJ ? (object ? object->bytesize : 0)
                     : sl_fb_base_is_scalar(elem) ? (uint32_t)sl_fb_base_size(elem) : 0;
        plan->kind = plan->size ? SL_FB_VK_VECTOR : SL_FB_VK_OTHER;
    }
    plan->count_max = plan->size ? SL_FB_BUFFER_MAX / plan->size : 0;
}

/* Slot hash of an event type: its length and its first and last 8 bytes
 * (which tell the dotted type names apart), two multiplies that run side
 * by side; collisions only cost a probe, as lookups compare whole names. */
static inline uint32_t type_hash(const char *s, size_t len)
{
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + len - 8, 8);
    } else if (len >= 4) {
        uint32_t x, y;
        memcpy(&x, s, 4);
        memcpy(&y, s + len - 4, 4);
        a = x, b = y;
    } else if (len) {
        a = (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[len / 2] << 8 |
            (uint64_t)(unsigned char)s[len - 1] << 16;
    }
    uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full) ^ len;
    return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

/* Slot of a field name in an object's name table before probing: from its
 * length and first, second and last bytes, which tell most names apart. */
static inline uint32_t name_hash(const char *name, size_t len, uint32_t mask)
{
    uint32_t key = (uint32_t)len;
    if (len) {
        key |= (uint32_t)(unsigned char)name[0] << 8 | (uint32_t)(unsigned char)name[len - 1] << 16 |
               (uint32_t)(unsigned char)name[len > 1] << 24;
    }
    return ((key * 0x9e3779b1u) >> 16) & mask;
}

/* Builds the name table of object: at most half full, so probes stay short. */
static void index_names(struct sl_fb_object *object)
{
    uint32_t slots = 4;
    while (slots < 2 * object->field_count)
        slots *= 2;
    object->name_slots = calloc(slots, sizeof(*object->name_slots));
    SL_ASSERT(object->name_slots);
    object->name_mask = slots - 1;
    for (uint32_t i = 0; i < object->field_count; i++) {
        const struct sl_fb_field *field = &object->fields[i];
        uint32_t h = name_hash(field->name, field->name_len, object->name_mask);
        while (object->name_slots[h])
            h = (h + 1) & object->name_mask;
        object->name_slots[h] = i + 1;
    }
}

/* The fast pass's copy of a table's plan, grouped by kind (see
 * sl_fb_object.vfast); none when some field needs the general path. */
static void plan_fast(struct sl_fb_object *object)
{
    free(object->vfast);
    object->vfast = NULL;
    memset(object->vfast_end, 0, sizeof(object->vfast_end));
    if (object->is_struct || object->field_count > UINT16_MAX)
        return;
    for (uint32_t k = 0; k < object->field_count; k++)
        if (object->vplan[k].kind == SL_FB_VK_OTHER)
            return;
    object->vfast = calloc(object->field_count ? object->field_count : 1, sizeof(*object->vfast));
    SL_ASSERT(object->vfast);
    uint32_t n = 0;
    for (unsigned kind = 0; kind < SL_FB_VK_COUNT; kind++) {
        for (uint32_t k = 0; k < object->field_count; k++)
            if (object->vplan[k].kind == kind)
                object->vfast[n++] = object->vplan[k];
        object->vfast_end[kind] = (uint16_t)n;
    }
}

static void plan_objects(struct sl_fb_schema *schema)
{
    for (uint32_t i = 0; i < schema->object_count; i++) {
        struct sl_fb_object *object = &schema->objects[i];
        object->vplan = calloc(object->field_count ? object->field_count : 1,
                               sizeof(*object->vplan));
        SL_ASSERT(object->vplan);
        for (uint32_t k = 0; k < object->field_count; k++) {
            plan_field(schema, &object->fields[k], &object->vplan[k]);
            object->required_count += object->fields[k].required;
        }
        plan_fast(object);
        index_names(object);
    }
}

int sl_fb_schema_load(struct sl_fb_schema *schema, const char *name, const uint8_t *bfbs,
                      size_t len, bool copy, char *err, size_t err_len)
{
    memset(schema, 0, sizeof(*schema));
    snprintf(schema->name, sizeof(schema->name), "%s", name);
    if (copy) {
        /* 8-aligned copy so the reflection buffer reads like any other */
        uint8_t *own = aligned_alloc(8, (len + 7) & ~(size_t)7);
        SL_ASSERT(own);
        memcpy(own, bfbs, len);
        schema->owned = own;
        bfbs = own;
    }
    schema->bfbs = bfbs;
    schema->bfbs_len = len;
    struct rd r = {.buf = bfbs, .len = len};
    int rc = -EINVAL;
    const uint8_t *root = len >= 8 ? rd_deref(&r, bfbs) : NULL;
    if (!root) {
        snprintf(err, err_len, "%s: not a reflection buffer (too short or bad root)", name);
        goto fail;
    }
    rc = load_objects(&r, schema, root, err, err_len);
    if (!rc)
        rc = load_enums(&r, schema, root, err, err_len);
    if (!rc && r.bad) {
        snprintf(err, err_len, "%s: reflection data out of bounds", name);
        rc = -EINVAL;
    }
    if (!rc)
        rc = check_types(schema, err, err_len);
    if (rc)
        goto fail;
    plan_objects(schema);
    const uint8_t *root_table = rd_table(&r, root, 12);
    if (root_table) {
        const char *root_name = rd_string(&r, root_table, 4, NULL);
        for (uint32_t i = 0; root_name && i < schema->object_count; i++)
            if (strcmp(schema->objects[i].name, root_name) == 0)
                schema->root = &schema->objects[i];
    }
    return 0;
fail:
    sl_fb_schema_fini(schema);
    return rc;
}

void sl_fb_schema_fini(struct sl_fb_schema *schema)
{
    for (uint32_t i = 0; i < schema->object_count; i++) {
        free(schema->objects[i].fields);
        free(schema->objects[i].by_id);
        free(schema->objects[i].vplan);
        free(schema->objects[i].vfast);
        free(schema->objects[i].name_slots);
    }
    for (uint32_t i = 0; i < schema->enum_count; i++)
        free(schema->enums[i].vals);
    free(schema->objects);
    free(schema->enums);
    free(schema->owned);
    memset(schema, 0, sizeof(*schema));
}

const struct sl_fb_field *sl_fb_object_field(const struct sl_fb_object *object, const char *name,
                                             size_t name_len)
{
    uint32_t h = name_hash(name, name_len, object->name_mask);
    for (uint32_t i; (i = object->name_slots[h]) != 0; h = (h + 1) & object->name_mask) {
        const struct sl_fb_field *field = &object->fields[i - 1];
        if (field->name_len == name_len && sl_fb_name_equals(field->name, name, name_len))
            return field;
    }
    return NULL;
}

const struct sl_fb_enum_val *sl_fb_enum_by_value(const struct sl_fb_enum *e, int64_t value)
{
    uint32_t lo = 0, hi = e->val_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (e->vals[mid].value == value)
            return &e->vals[mid];
        if (e->vals[mid].value < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct sl_fb_enum_val *sl_fb_enum_by_name(const struct sl_fb_enum *e, const char *name,
                                                size_t name_len)
{
    for (uint32_t i = 0; i < e->val_count; i++)
        if (strlen(e->vals[i].name) == name_len && memcmp(e->vals[i].name, name, name_len) == 0)
            return &e->vals[i];
    return NULL;
}

/* ---- the set of schemas ---- */

static int event_type_cmp(const void *a, const void *b)
{
    const struct sl_fb_event_type *ta = a, *tb = b;
    return strcmp(ta->type, tb->type);
}

/* Rebuilds the type map and marks the envelope's payload field. */
static int schemas_index(struct sl_fb_schemas *schemas, char *err, size_t err_len)
{
    uint32_t n = 0;
    for (uint32_t s = 0; s < schemas->count; s++)
        for (uint32_t i = 0; i < schemas->items[s]->object_count; i++)
            n += schemas->items[s]->objects[i].event_type != NULL;
    free(schemas->types);
    schemas->types = calloc(n ? n : 1, sizeof(*schemas->types));
    SL_ASSERT(schemas->types);
    schemas->type_count = 0;
    for (uint32_t s = 0; s < schemas->count; s++) {
        for (uint32_t i = 0; i < schemas->items[s]->object_count; i++) {
            const struct sl_fb_object *object = &schemas->items[s]->objects[i];
            if (!object->event_type)
                continue;
            struct sl_fb_event_type *t = &schemas->types[schemas->type_count++];
            t->type = object->event_type;
            t->type_len = (uint32_t)strlen(object->event_type);
            t->object = object;
        }
    }
    qsort(schemas->types, schemas->type_count, sizeof(*schemas->types), event_type_cmp);
    uint32_t slots = 16;
    while (slots < 2 * schemas->type_count)
        slots *= 2;
    free(schemas->type_slots);
    schemas->type_slots = calloc(slots, sizeof(*schemas->type_slots));
    SL_ASSERT(schemas->type_slots);
    schemas->type_mask = slots - 1;
    for (uint32_t i = 0; i < schemas->type_count; i++) {
        const struct sl_fb_event_type *t = &schemas->types[i];
        uint32_t h = type_hash(t->type, t->type_len) & schemas->type_mask;
        while (schemas->type_slots[h])
            h = (h + 1) & schemas->type_mask;
        schemas->type_slots[h] = i + 1;
    }
    for (uint32_t i = 1; i < schemas->type_count; i++) {
        if (strcmp(schemas->types[i - 1].type, schemas->types[i].type) == 0) {
            snprintf(err, err_len, "event type \"%s\" is declared by both %s and %s",
                     schemas->types[i].type, schemas->types[i - 1].object->name,
                     schemas->types[i].object->name);
            return -EINVAL;
        }
    }
    return 0;
}

static int schemas_push(struct sl_fb_schemas *schemas, const char *name, const uint8_t *bfbs,
                        size_t len, bool copy, char *err, size_t err_len)
{
    for (uint32_t i = 0; i < schemas->count; i++)
        if (strcmp(schemas->items[i]->name, name) == 0)
            return 0; /* already loaded */
    if (schemas->count == sizeof(schemas->items) / sizeof(schemas->items[0])) {
        snprintf(err, err_len, "%s: too many schemas (at most %zu)", name,
                 sizeof(schemas->items) / sizeof(schemas->items[0]));
        return -ENOSPC;
    }
    struct sl_fb_schema *schema = calloc(1, sizeof(*schema));
    SL_ASSERT(schema);
    int rc = sl_fb_schema_load(schema, name, bfbs, len, copy, err, err_len);
    if (rc) {
        free(schema);
        return rc;
    }
    schemas->items[schemas->count++] = schema;
    return schemas_index(schemas, err, err_len);
}

static const struct sl_embedded_schema *embedded_find(const char *name)
{
    for (unsigned i = 0; i < sl_embedded_schemas_count; i++)
        if (strcmp(sl_embedded_schemas[i].name, name) == 0)
            return &sl_embedded_schemas[i];
    return NULL;
}

int sl_fb_schemas_init(struct sl_fb_schemas *schemas, char *err, size_t err_len)
{
    memset(schemas, 0, sizeof(*schemas));
    const struct sl_embedded_schema *e = embedded_find("event");
    SL_ASSERT(e);
    int rc = schemas_push(schemas, e->name, e->bfbs, e->size, false, err, err_len);
    if (rc)
        return rc;
    struct sl_fb_object *envelope = NULL;
    struct sl_fb_schema *schema = schemas->items[0];
    for (uint32_t i = 0; i < schema->object_count; i++)
        if (strcmp(schema->objects[i].name, "sluice.Event") == 0)
            envelope = &schema->objects[i];
    SL_ASSERT(envelope);
    const struct sl_fb_field *type = sl_fb_object_field(envelope, "type", 4);
    struct sl_fb_field *payload = (struct sl_fb_field *)sl_fb_object_field(envelope, "payload", 7);
    SL_ASSERT(type && payload && payload->type.base == SL_FB_VECTOR);
    payload->nested = SL_FB_NESTED_BY_TYPE;
    payload->type_field_voff = type->offset;
    plan_field(schema, payload, &envelope->vplan[payload - envelope->fields]);
    plan_fast(envelope);
    schemas->envelope = envelope;
    return 0;
}

int sl_fb_schemas_add(struct sl_fb_schemas *schemas, const char *name_or_path, char *err,
                      size_t err_len)
{
    const struct sl_embedded_schema *e = embedded_find(name_or_path);
    if (e)
        return schemas_push(schemas, e->name, e->bfbs, e->size, false, err, err_len);
    FILE *f = fopen(name_or_path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: no embedded schema of that name and no such file (%s)",
                 name_or_path, strerror(errno));
        return -ENOENT;
    }
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            data = realloc(data, cap);
            SL_ASSERT(data);
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    int rc = -EIO;
    if (failed) {
        snprintf(err, err_len, "%s: read error", name_or_path);
    } else {
        const char *base = strrchr(name_or_path, '/');
        base = base ? base + 1 : name_or_path;
        char stem[64];
        snprintf(stem, sizeof(stem), "%s", base);
        char *dot = strrchr(stem, '.');
        if (dot)
            *dot = 0;
        rc = schemas_push(schemas, stem, data, len, true, err, err_len);
    }
    free(data);
    return rc;
}

int sl_fb_schemas_add_embedded(struct sl_fb_schemas *schemas, char *err, size_t err_len)
{
    for (unsigned i = 0; i < sl_embedded_schemas_count; i++) {
        const struct sl_embedded_schema *e = &sl_embedded_schemas[i];
        int rc = schemas_push(schemas, e->name, e->bfbs, e->size, false, err, err_len);
        if (rc)
            return rc;
    }
    return 0;
}

void sl_fb_schemas_fini(struct sl_fb_schemas *schemas)
{
    for (uint32_t i = 0; i < schemas->count; i++) {
        sl_fb_schema_fini(schemas->items[i]);
        free(schemas->items[i]);
    }
    free(schemas->types);
    free(schemas->type_slots);
    memset(schemas, 0, sizeof(*schemas));
}

const struct sl_fb_object *sl_fb_schemas_find_object(const struct sl_fb_schemas *schemas,
                                                     const char *name)
{
    const struct sl_fb_object *found = NULL;
    bool ambiguous = false;
    for (uint32_t s = 0; s < schemas->count; s++) {
        for (uint32_t i = 0; i < schemas->items[s]->object_count; i++) {
            const struct sl_fb_object *o = &schemas->items[s]->objects[i];
            if (strcmp(o->name, name) == 0)
                return o;
            if (strcmp(o->short_name, name) == 0) {
                if (found && found != o)
                    ambiguous = true;
                found = o;
            }
        }
    }
    return ambiguous ? NULL : found;
}

const struct sl_fb_object *sl_fb_schemas_event_object(const struct sl_fb_schemas *schemas,
                                                      const char *type, size_t type_len)
{
    if (!schemas->type_slots)
        return NULL;
    uint32_t h = type_hash(type, type_len) & schemas->type_mask;
    for (uint32_t slot; (slot = schemas->type_slots[h]) != 0; h = (h + 1) & schemas->type_mask) {
        const struct sl_fb_event_type *t = &schemas->types[slot - 1];
        if (t->type_len == type_len && sl_fb_name_equals(t->type, type, type_len))
            return t->object;
    }
    return NULL;
}
