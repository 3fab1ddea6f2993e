/*
 * verify.c - the verifier for untrusted FlatBuffers, driven by the schema
 * model of fb.h. A buffer that passes may be read with the unchecked readers
 * of fb.h (verify at the boundary, trust inside).
 *
 * Reference semantics: flatbuffers::Verify / VerifySizePrefixed, the
 * reflection verifier of libflatbuffers 2.0.8 (src/reflection.cpp on top of
 * flatbuffers::Verifier in verifier.h). Every check it makes is made here,
 * with the same arithmetic, so that on accept/reject both agree except for
 * the cases listed below. Positions are byte offsets from the buffer start
 * (the size prefix for a prefixed buffer), as Verifier::buf_:
 *
 *   range(pos, n)      n < len && pos <= len - n  (a range may not be the
 *                      whole buffer: Verifier::Verify)
 *   aligned(pos, a)    pos % a == 0, relative to the buffer start
 *   table at t         aligned(t, 4), range(t, 4); depth and table counters
 *                      go up (depth <= depth_max, tables <= tables_max);
 *                      vtable v = t - i32(t) inside the buffer, aligned(v, 2),
 *                      range(v, 2), vt_size even, range(v, vt_size); the
 *                      table's own size (vtable entry 1) is never checked
 *   field voff         absent when voff >= vt_size or its entry is 0
 *   scalar of size s   aligned(f, s), range(f, s)
 *   struct field       aligned(f, struct minalign), range(f, bytesize)
 *   string/vector      slot aligned(f, 4), range(f, 4); at p = f + u32(f):
 *                      aligned(p, 4), range(p, 4), count < 0x7fffffff / elem,
 *                      range(p, 4 + count * elem); strings also range(end, 1)
 *                      and a NUL at end. Elements (8-byte scalars, structs)
 *                      are not checked for alignment beyond the length's 4.
 *   table field        t = f + u32(f); the slot's alignment is not checked
 *   union              type u from the `_type` field; u == 0 (NONE): value not
 *                      looked at; u >= member count: reject; a table member
 *                      must be present; a string member may be absent; a
 *                      struct member is checked for range only
 *   vector of unions   the type vector (voff - 2) must have the same length
 *   offsets            root, string, vector and table offsets may be 0 (the
 *                      object then starts at its own slot) and are unsigned;
 *                      scalar enum values are not checked
 *   prefixed           root offset at 4, alignment relative to the prefix
 *
 * Stricter by design (each one a reject where the C++ verifier accepts,
 * reads out of bounds or crashes):
 *   1. Nested buffers (opts->check_nested): a [ubyte] (nested_flatbuffer)
 *      field and the envelope's payload are verified as complete unprefixed
 *      buffers, rooted at field->nested_object, or for the payload at the
 *      table that the event's `type` names; a non-empty payload whose type is
 *      absent or unknown is a reject. A nested buffer is verified relative
 *      to its own start, as a fresh Verifier would (flatc and most builders
 *      only 4-align a [ubyte]; sluice's builder aligns it to 8, and sluice's
 *      readers load through memcpy, so an unaligned one is read safely); it
 *      must be at least 12 bytes, and its root offset be non-zero,
 *      non-negative and inside it (as Verifier::VerifyNestedFlatBuffer).
 *      Its tables count toward depth_max and tables_max of the outer buffer.
 *      An empty vector counts as no nested buffer. The C++ reflection
 *      verifier does not look into nested_flatbuffer fields at all; only
 *      flatc's generated code does (with a fresh Verifier).
 *   2. The size prefix must equal len - 4 (VerifySizePrefixedBuffer checks
 *      this; the reflection VerifySizePrefixed does not).
 *   3. A required field must be present whatever its type. The reflection
 *      verifier enforces `required` only for tables, structs and vectors of
 *      structs; a missing required string or vector passes there.
 *   4. Work is bounded by the input: every table visited and every element
 *      of a vector of offsets costs one unit, at most len units in all. A
 *      tree-shaped buffer needs at most len / 4; only buffers that share
 *      one subtree many times (which the C++ verifier walks again each time,
 *      up to 1,000,000 tables) hit this limit. That keeps the cost O(len).
 *   5. Reads the C++ verifier makes without a check are checked: the root
 *      offset (len < 4, or < 8 prefixed), table and union offset slots, the
 *      union type byte and the union type vector (C++ dereferences NULL when
 *      it is missing). Buffers of SL_FB_BUFFER_MAX bytes or more are rejected
 *      (C++ asserts).
 *   6. depth_max is capped at SL_FB_VERIFY_DEPTH_CAP, which bounds the
 *      recursion (a few frames of stack per level).
 *
 * Cost O(len), no allocation, recursion depth <= depth_max. Errors read
 * "offset N: field Object.path[i].name: reason" (N from buf). A fast pass
 * (see "the fast pass") accepts the buffers that pass every check; the
 * general walk runs only when it gives up, and alone decides a reject.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/assert.h"
#include "fb/fb.h"

#define SL_FB_VERIFY_DEPTH_CAP 256u
#define SL_FB_MIN_BUFFER 12u /* FLATBUFFERS_MIN_BUFFER_SIZE */

/* One step of the path to a failing field, recorded while a failure unwinds. */
struct sl_fb_vframe {
    const struct sl_fb_vplan *plan; /* its field */
    int64_t index; /* vector element, or -1 */
};

/* State of one sl_fb_verify() call; lives on the caller's stack. Nothing
 * about the path is kept on the way down: a failure writes its reason, and
 * each table level it unwinds through adds its field (vunwind), so a buffer
 * that passes pays nothing for error reporting. */
struct sl_fb_vctx {
    const uint8_t *origin;   /* the buffer passed in: error offsets count from here */
    const uint8_t *base;     /* the buffer being verified (origin or a nested one) */
    uint64_t len;            /* bytes at base */
    uint32_t depth, depth_max;
    uint32_t tables, tables_max;
    uint64_t work, work_max; /* units: tables visited + offset-vector elements */
    const struct sl_fb_verify_opts *opts;
    const struct sl_fb_object *root;
    char *err;               /* holds the reason until vreport() adds the prefix */
    size_t err_len;
    uint64_t fail_pos;       /* offset from origin of the failure */
    int64_t fail_index;      /* vector element the next unwound level failed in, or -1 */
    uint32_t fail_count;     /* frames in fail_path */
    struct sl_fb_vframe fail_path[SL_FB_VERIFY_DEPTH_CAP + 2]; /* innermost first */
};

/* ---- errors ---- */

/* Output that keeps the first cap bytes and counts them all (no NUL). */
struct sl_fb_vout {
    char *p;
    size_t cap, used;
};

static void vout_put(struct sl_fb_vout *o, const char *s, size_t n)
{
    if (o->used < o->cap)
        memcpy(o->p + o->used, s, n < o->cap - o->used ? n : o->cap - o->used);
    o->used += n;
}

static void vout_str(struct sl_fb_vout *o, const char *s) { vout_put(o, s, strlen(s)); }

/* "offset N: [field PATH: ]" of the failure. */
static void vprefix(const struct sl_fb_vctx *ctx, struct sl_fb_vout *o)
{
    char num[48];
    int n = snprintf(num, sizeof(num), "offset %llu: ", (unsigned long long)ctx->fail_pos);
    vout_put(o, num, (size_t)n);
    if (!ctx->fail_count)
        return;
    vout_str(o, "field ");
    vout_str(o, ctx->root->short_name);
    for (uint32_t i = ctx->fail_count; i-- > 0;) {
        vout_put(o, ".", 1);
        vout_str(o, ctx->fail_path[i].plan->field->name);
        if (ctx->fail_path[i].index >= 0) {
            n = snprintf(num, sizeof(num), "[%lld]", (long long)ctx->fail_path[i].index);
            vout_put(o, num, (size_t)n);
        }
    }
    vout_put(o, ": ", 2);
}

/* Puts "offset N: [field PATH: ]" in front of the reason vfail() left in
 * the caller's buffer, truncating the whole to err_len - 1 bytes. Returns
 * -EINVAL. */
static int __attribute__((noinline, cold)) vreport(struct sl_fb_vctx *ctx)
{
    if (!ctx->err || ctx->err_len == 0)
        return -EINVAL;
    struct sl_fb_vout count = {0};
    vprefix(ctx, &count);
    size_t room = ctx->err_len - 1, prefix = count.used < room ? count.used : room;
    size_t reason = strnlen(ctx->err, room), keep = room - prefix < reason ? room - prefix : reason;
    memmove(ctx->err + prefix, ctx->err, keep);
    ctx->err[prefix + keep] = 0;
    struct sl_fb_vout out = {.p = ctx->err, .cap = prefix};
    vprefix(ctx, &out);
    return -EINVAL;
}

/* Records a failure at pos (of the buffer being verified): its offset, and
 * the reason in the caller's buffer. Returns -EINVAL. */
static int vfail(struct sl_fb_vctx *ctx, uint64_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noinline, cold));

static int vfail(struct sl_fb_vctx *ctx, uint64_t pos, const char *fmt, ...)
{
    ctx->fail_pos = (uint64_t)(ctx->base - ctx->origin) + pos;
    if (!ctx->err || ctx->err_len == 0)
        return -EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, ctx->err_len, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A failure unwinding through the table level whose field plan failed:
 * adds that step to the path. Returns rc. */
static int __attribute__((noinline, cold)) vunwind(struct sl_fb_vctx *ctx,
                                                   const struct sl_fb_vplan *plan, int rc)
{
    /* one step per table level: depth <= SL_FB_VERIFY_DEPTH_CAP bounds them */
    SL_ASSERT(ctx->fail_count < sizeof(ctx->fail_path) / sizeof(ctx->fail_path[0]));
    ctx->fail_path[ctx->fail_count++] = (struct sl_fb_vframe){plan, ctx->fail_index};
    ctx->fail_index = -1;
    return rc;
}

/* A failure unwinding out of element index of a vector loop. Returns rc. */
static inline int vunwind_index(struct sl_fb_vctx *ctx, uint32_t index, int rc)
{
    ctx->fail_index = index;
    return rc;
}

/* ---- primitive checks (Verifier::Verify, VerifyAlignment) ---- */

static inline bool vrange(const struct sl_fb_vctx *ctx, uint64_t pos, uint64_t n)
{
    return n < ctx->len && pos <= ctx->len - n;
}

static inline bool valigned(uint64_t pos, uint64_t align)
{
    return align == 0 || (pos & (align - 1)) == 0;
}

static inline uint32_t vu32(const struct sl_fb_vctx *ctx, uint64_t pos)
{
    return sl_fb_u32(ctx->base + pos);
}

static inline uint16_t vu16(const struct sl_fb_vctx *ctx, uint64_t pos)
{
    return sl_fb_u16(ctx->base + pos);
}

static inline int vspend(struct sl_fb_vctx *ctx, uint64_t pos)
{
    if (++ctx->work > ctx->work_max)
        return vfail(ctx, pos, "work limit of %llu units (one per input byte) exceeded: "
                     "subtrees shared too often", (unsigned long long)ctx->work_max);
    return 0;
}

/* Size of one scalar of base type, 0 for non-scalars. */
static uint32_t vscalar_size(unsigned base)
{
    switch (base) {
    case SL_FB_UTYPE: case SL_FB_BOOL: case SL_FB_BYTE: case SL_FB_UBYTE: return 1;
    case SL_FB_SHORT: case SL_FB_USHORT: return 2;
    case SL_FB_INT: case SL_FB_UINT: case SL_FB_FLOAT: return 4;
    case SL_FB_LONG: case SL_FB_ULONG: case SL_FB_DOUBLE: return 8;
    default: return 0;
    }
}

/* ---- tables ---- */

/* The vtable of a table that passed vtable_start. */
struct sl_fb_vtab {
    uint64_t pos;     /* table */
    uint64_t vt;      /* vtable */
    uint16_t vt_size; /* bytes */
};

static int vtable_start(struct sl_fb_vctx *ctx, uint64_t pos, struct sl_fb_vtab *tab);
static int vtable_body(struct sl_fb_vctx *ctx, const struct sl_fb_object *object,
                       const struct sl_fb_vtab *tab);

/* Byte offset of field voff within the table, 0 when absent. */
static inline uint16_t vfield_off(const struct sl_fb_vctx *ctx, const struct sl_fb_vtab *tab, uint16_t voff)
{
    /* vtable_start checked vt_size bytes at vt; even voff < vt_size fits */
    return (uint32_t)voff + 2u <= tab->vt_size ? vu16(ctx, tab->vt + voff) : 0;
}

/* vtable_start's checks for a table whose checks all pass, with no
 * messages: true when they pass (and the counters went up as vtable_start
 * has them go up), false when vtable_start must decide (nothing changed).
 * Inside len > pos + 4 >= 4, so range(x, n) for x >= 0 is x + n <= len; a
 * vtable that ends the buffer is left to vtable_start. */
static inline bool vtable_start_ok(struct sl_fb_vctx *ctx, uint64_t pos, struct sl_fb_vtab *tab)
{
    const uint8_t *base = ctx->base;
    uint64_t len = ctx->len;
    if ((pos & 3) || pos + 4 >= len)
        return false;
    if (ctx->depth >= ctx->depth_max || ctx->tables >= ctx->tables_max ||
        ctx->work >= ctx->work_max)
        return false;
    uint64_t vt = pos - (uint64_t)(int64_t)sl_fb_i32(base + pos); /* negative: huge */
    if (vt > len - 2)
        return false;
    uint16_t vt_size = sl_fb_u16(base + vt);
    if (((vt | vt_size) & 1) || vt + vt_size >= len)
        return false;
    ctx->depth++;
    ctx->tables++;
    ctx->work++;
    *tab = (struct sl_fb_vtab){.pos = pos, .vt = vt, .vt_size = vt_size};
    return true;
}

/* Verifies the table at pos as object (VerifyTableStart, fields, EndTable). */
static int vtable(struct sl_fb_vctx *ctx, const struct sl_fb_object *object, uint64_t pos)
{
    struct sl_fb_vtab tab;
    int rc;
    if (__builtin_expect(!vtable_start_ok(ctx, pos, &tab), 0)) {
        rc = vtable_start(ctx, pos, &tab);
        if (rc)
            return rc;
    }
    rc = vtable_body(ctx, object, &tab);
    if (rc)
        return rc;
    ctx->depth--;
    return 0;
}

/* The table checks one by one, each failure worded (the slow path). */
static int __attribute__((noinline, cold)) vtable_start(struct sl_fb_vctx *ctx, uint64_t pos,
                                                        struct sl_fb_vtab *tab)
{
    if (!valigned(pos, 4))
        return vfail(ctx, pos, "table not 4-aligned");
    if (!vrange(ctx, pos, 4))
        return vfail(ctx, pos, "table out of bounds");
    ctx->depth++;
    ctx->tables++;
    if (ctx->depth > ctx->depth_max)
        return vfail(ctx, pos, "nesting deeper than %u tables", ctx->depth_max);
    if (ctx->tables > ctx->tables_max)
        return vfail(ctx, pos, "more than %u tables", ctx->tables_max);
    int rc = vspend(ctx, pos);
    if (rc)
        return rc;
    int64_t vt = (int64_t)pos - (int64_t)sl_fb_i32(ctx->base + pos);
    if (vt < 0 || !vrange(ctx, (uint64_t)vt, 2))
        return vfail(ctx, pos, "vtable out of bounds");
    if (!valigned((uint64_t)vt, 2))
        return vfail(ctx, pos, "vtable not 2-aligned");
    uint16_t vt_size = vu16(ctx, (uint64_t)vt);
    if (vt_size & 1)
        return vfail(ctx, (uint64_t)vt, "vtable size %u is odd", vt_size);
    if (!vrange(ctx, (uint64_t)vt, vt_size))
        return vfail(ctx, (uint64_t)vt, "vtable of %u bytes out of bounds", vt_size);
    *tab = (struct sl_fb_vtab){.pos = pos, .vt = (uint64_t)vt, .vt_size = vt_size};
    return 0;
}

/* ---- strings and vectors (VerifyVectorOrString) ---- */

/* Checks the vector at pos of elements of elem bytes, at most count_max - 1
 * of them (count_max = SL_FB_BUFFER_MAX / elem, 0 when elem is 0); *count
 * gets its length. */
static inline int vvector_max(struct sl_fb_vctx *ctx, uint64_t pos, uint32_t elem,
                              uint32_t count_max, uint32_t *count)
{
    *count = 0;
    if (!valigned(pos, 4))
        return vfail(ctx, pos, "vector length not 4-aligned");
    if (!vrange(ctx, pos, 4))
        return vfail(ctx, pos, "vector out of bounds");
    uint32_t n = vu32(ctx, pos);
    if (n >= count_max)
        return vfail(ctx, pos, "vector length %u too large", n);
    if (!vrange(ctx, pos, 4 + (uint64_t)elem * n))
        return vfail(ctx, pos, "vector of %u elements out of bounds", n);
    *count = n;
    return 0;
}

static int vvector_at(struct sl_fb_vctx *ctx, uint64_t pos, uint32_t elem, uint32_t *count)
{
    return vvector_max(ctx, pos, elem, elem ? SL_FB_BUFFER_MAX / elem : 0, count);
}

/* Checks the string at pos; *len gets its length. */
static inline int vstring_at(struct sl_fb_vctx *ctx, uint64_t pos, uint32_t *len)
{
    uint32_t n;
    int rc = vvector_max(ctx, pos, 1, SL_FB_BUFFER_MAX, &n);
    if (rc)
        return rc;
    uint64_t end = pos + 4 + n;
    if (!vrange(ctx, end, 1) || ctx->base[end] != 0)
        return vfail(ctx, pos, "string not NUL-terminated");
    *len = n;
    return 0;
}

/* Where an offset slot points: slot + u32 (never wraps below the slot). */
static inline uint64_t vderef(const struct sl_fb_vctx *ctx, uint64_t slot)
{
    return slot + vu32(ctx, slot);
}

/* Field slot of a string or vector: aligned(4) and in range, as VerifyField<uoffset_t>. */
static inline int voffset_slot(struct sl_fb_vctx *ctx, uint64_t slot)
{
    if (!valigned(slot, 4))
        return vfail(ctx, slot, "offset not 4-aligned");
    if (!vrange(ctx, slot, 4))
        return vfail(ctx, slot, "offset out of bounds");
    return 0;
}

/* Fast forms of the checks above, for the verifier's common paths: each
 * returns true only when the checks it stands for all pass (false: let them
 * decide and word the failure). They rely on len > 4 and on positions
 * >= 1 (true for anything a table's field leads to), so that range(x, n)
 * is x + n <= len, and on len < SL_FB_BUFFER_MAX, so that a string that
 * ends in range has a length below the maximum. */

/* vstring_at(pos). */
static inline bool vstring_ok(const uint8_t *base, uint64_t len, uint64_t pos)
{
    if ((pos & 3) || pos + 4 > len)
        return false;
    uint64_t end = pos + 4 + sl_fb_u32(base + pos);
    return end < len && base[end] == 0;
}

/* voffset_slot(slot) and vvector_max at the vector it points to; *vec gets
 * the vector's position and *count its length. */
static inline bool vvector_ok(const uint8_t *base, uint64_t len, uint64_t slot, uint32_t elem,
                              uint32_t count_max, uint64_t *vec, uint32_t *count)
{
    if ((slot & 3) || slot + 4 > len)
        return false;
    uint64_t pos = slot + sl_fb_u32(base + slot);
    if ((pos & 3) || pos + 4 > len)
        return false;
    uint32_t n = sl_fb_u32(base + pos);
    if (n >= count_max || pos + 4 + (uint64_t)elem * n > len)
        return false;
    *vec = pos;
    *count = n;
    return true;
}

/* voffset_slot(slot), then vstring_at at the string it points to. */
static inline int vstring_field(struct sl_fb_vctx *ctx, uint64_t slot)
{
    const uint8_t *base = ctx->base;
    uint64_t len = ctx->len;
    if (__builtin_expect((slot & 3) == 0 && slot + 4 <= len &&
                         vstring_ok(base, len, slot + sl_fb_u32(base + slot)), 1))
        return 0;
    uint32_t n;
    int rc = voffset_slot(ctx, slot);
    return rc ? rc : vstring_at(ctx, vderef(ctx, slot), &n);
}

/* voffset_slot(slot), then vvector_max at the vector it points to. */
static inline int vvector_field_at(struct sl_fb_vctx *ctx, uint64_t slot, uint32_t elem,
                                   uint32_t count_max, uint64_t *vec, uint32_t *count)
{
    if (__builtin_expect(vvector_ok(ctx->base, ctx->len, slot, elem, count_max, vec, count), 1))
        return 0;
    int rc = voffset_slot(ctx, slot);
    if (rc)
        return rc;
    *vec = vderef(ctx, slot);
    return vvector_max(ctx, *vec, elem, count_max, count);
}

/* ---- nested buffers (stricter by design, see the file comment) ---- */

static int vnested(struct sl_fb_vctx *ctx, const struct sl_fb_object *object, uint64_t pos,
                   uint32_t n)
{
    if (n < SL_FB_MIN_BUFFER)
        return vfail(ctx, pos, "nested %s buffer of %u bytes too small", object->short_name, n);
    const uint8_t *base = ctx->base;
    uint64_t len = ctx->len;
    ctx->base += pos;
    ctx->len = n;
    uint32_t root = vu32(ctx, 0);
    int rc;
    if (root == 0 || root > INT32_MAX || !vrange(ctx, root, 1))
        rc = vfail(ctx, 0, "nested %s buffer: bad root offset %u", object->short_name, root);
    else
        rc = vtable(ctx, object, root);
    ctx->base = base;
    ctx->len = len;
    return rc;
}

/* The envelope's payload: the table follows from the string field at type_field_voff. */
static int vpayload(struct sl_fb_vctx *ctx, const struct sl_fb_field *field,
                    const struct sl_fb_vtab *tab, uint64_t pos, uint32_t n)
{
    uint16_t off = vfield_off(ctx, tab, field->type_field_voff);
    if (!off)
        return vfail(ctx, pos, "payload without an event type");
    uint64_t slot = tab->pos + off;
    uint32_t type_len = 0;
    int rc = voffset_slot(ctx, slot);
    if (!rc)
        rc = vstring_at(ctx, vderef(ctx, slot), &type_len);
    if (rc)
        return rc;
    const char *type = (const char *)ctx->base + vderef(ctx, slot) + 4;
    const struct sl_fb_object *object =
        ctx->opts->schemas ? sl_fb_schemas_event_object(ctx->opts->schemas, type, type_len) : NULL;
    if (!object) {
        char shown[65];
        uint32_t k = 0;
        for (; k < type_len && k < sizeof(shown) - 1; k++)
            shown[k] = type[k] >= 0x20 && type[k] < 0x7f && type[k] != '"' ? type[k] : '?';
        shown[k] = 0;
        return vfail(ctx, pos, "unknown event type \"%s\"%s", shown,
                     type_len > k ? "..." : "");
    }
    return vnested(ctx, object, pos, n);
}

/* ---- unions ---- */

/* Verifies a union value at pos (elem) of type utype (VerifyUnion). present:
 * whether the value's field is present at all (pos meaningless otherwise). */
static int vunion_value(struct sl_fb_vctx *ctx, const struct sl_fb_object *owner,
                        const struct sl_fb_field *field, uint8_t utype, bool present,
                        uint64_t pos, uint64_t where)
{
    if (utype == 0)
        return 0;
    const struct sl_fb_enum *e = sl_fb_schema_enum(owner->schema, field->type.index);
    if (!e || utype >= e->val_count)
        return vfail(ctx, where, "union type %u out of range", utype);
    const struct sl_fb_enum_val *val = &e->vals[utype]; /* by position, as C++ */
    if (val->union_base == SL_FB_STRING) {
        uint32_t len;
        return present ? vstring_at(ctx, pos, &len) : 0;
    }
    const struct sl_fb_object *object =
        val->union_base == SL_FB_OBJ ? sl_fb_schema_object(owner->schema, val->union_object) : NULL;
    if (!object)
        return vfail(ctx, where, "union type %u has no member", utype);
    if (!present)
        return vfail(ctx, where, "union type %s without a value", val->name);
    if (object->is_struct) {
        if (!vrange(ctx, pos, object->bytesize))
            return vfail(ctx, pos, "union struct %s out of bounds", object->short_name);
        return 0;
    }
    return vtable(ctx, object, pos);
}

static int vunion_field(struct sl_fb_vctx *ctx, const struct sl_fb_object *owner,
                        const struct sl_fb_field *field, const struct sl_fb_vtab *tab, uint16_t off)
{
    uint16_t type_off = vfield_off(ctx, tab, (uint16_t)(field->offset - 2));
    uint8_t utype = 0;
    if (type_off) {
        if (!vrange(ctx, tab->pos + type_off, 1))
            return vfail(ctx, tab->pos + type_off, "union type out of bounds");
        utype = ctx->base[tab->pos + type_off];
    }
    if (utype == 0)
        return 0;
    uint64_t slot = tab->pos + off;
    if (off && !vrange(ctx, slot, 4))
        return vfail(ctx, slot, "offset out of bounds");
    return vunion_value(ctx, owner, field, utype, off != 0, off ? vderef(ctx, slot) : 0,
                        off ? slot : tab->pos);
}

/* ---- vectors ---- */

static int vvector_union(struct sl_fb_vctx *ctx, const struct sl_fb_object *owner,
                         const struct sl_fb_field *field, const struct sl_fb_vtab *tab,
                         uint64_t vec, uint32_t n)
{
    uint16_t type_off = vfield_off(ctx, tab, (uint16_t)(field->offset - 2));
    if (!type_off)
        return vfail(ctx, vec, "union vector without its type vector");
    uint64_t type_slot = tab->pos + type_off;
    int rc = voffset_slot(ctx, type_slot);
    uint32_t type_n = 0;
    if (!rc)
        rc = vvector_at(ctx, vderef(ctx, type_slot), 1, &type_n);
    if (rc)
        return rc;
    if (type_n != n)
        return vfail(ctx, vec, "union vector of %u values has %u types", n, type_n);
    uint64_t types = vderef(ctx, type_slot) + 4;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t slot = vec + 4 + 4ull * i;
        rc = vspend(ctx, slot);
        if (!rc)
            rc = vunion_value(ctx, owner, field, ctx->base[types + i], true, vderef(ctx, slot),
                              slot);
        if (rc)
            return vunwind_index(ctx, i, rc);
    }
    return 0;
}

/* Elements of a vector of strings or tables (object NULL: strings). */
static int vvector_offsets(struct sl_fb_vctx *ctx, const struct sl_fb_object *object,
                           uint64_t vec, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t slot = vec + 4 + 4ull * i;
        int rc = vspend(ctx, slot);
        if (rc)
            return vunwind_index(ctx, i, rc);
        uint64_t pos = vderef(ctx, slot);
        if (object)
            rc = vtable(ctx, object, pos);
        else if (__builtin_expect(!vstring_ok(ctx->base, ctx->len, pos), 0))
            rc = vstring_at(ctx, pos, &(uint32_t){0});
        if (rc)
            return vunwind_index(ctx, i, rc);
    }
    return 0;
}

static int vvector_field(struct sl_fb_vctx *ctx, const struct sl_fb_object *owner,
                         const struct sl_fb_field *field, const struct sl_fb_vtab *tab,
                         uint64_t slot)
{
    const struct sl_fb_object *object = NULL;
    unsigned elem = field->type.element;
    uint32_t elem_size = vscalar_size(elem);
    if (elem == SL_FB_OBJ) {
        object = sl_fb_schema_object(owner->schema, field->type.index);
        if (!object)
            return vfail(ctx, slot, "schema: element type missing");
        elem_size = object->is_struct ? object->bytesize : 4;
    } else if (elem == SL_FB_STRING || elem == SL_FB_UNION) {
        elem_size = 4;
    }
    if (elem_size == 0)
        return vfail(ctx, slot, "schema: vector of %s", sl_fb_base_name(elem));
    uint64_t vec = vderef(ctx, slot);
    uint32_t n;
    int rc = vvector_at(ctx, vec, elem_size, &n);
    if (rc)
        return rc;
    if (elem == SL_FB_STRING)
        return vvector_offsets(ctx, NULL, vec, n);
    if (elem == SL_FB_OBJ && !object->is_struct)
        return vvector_offsets(ctx, object, vec, n);
    if (elem == SL_FB_UNION)
        return vvector_union(ctx, owner, field, tab, vec, n);
    if (!ctx->opts->check_nested || n == 0 || field->nested == SL_FB_NESTED_NONE)
        return 0;
    if (field->nested == SL_FB_NESTED_TABLE)
        return vnested(ctx, field->nested_object, vec + 4, n);
    return vpayload(ctx, field, tab, vec + 4, n);
}

/* ---- fields ---- */

static int vscalar_field(struct sl_fb_vctx *ctx, const struct sl_fb_field *field, uint64_t f)
{
    uint32_t size = vscalar_size(field->type.base);
    if (!valigned(f, size))
        return vfail(ctx, f, "%s not %u-aligned", sl_fb_base_name(field->type.base), size);
    if (!vrange(ctx, f, size))
        return vfail(ctx, f, "%s out of bounds", sl_fb_base_name(field->type.base));
    return 0;
}

static int vobject_field(struct sl_fb_vctx *ctx, const struct sl_fb_object *owner,
                         const struct sl_fb_field *field, uint64_t f)
{
    const struct sl_fb_object *object = sl_fb_schema_object(owner->schema, field->type.index);
    if (!object)
        return vfail(ctx, f, "schema: field type missing");
    if (object->is_struct) {
        if (!valigned(f, object->minalign))
            return vfail(ctx, f, "struct %s not %u-aligned", object->short_name,
                         object->minalign);
        if (!vrange(ctx, f, object->bytesize))
            return vfail(ctx, f, "struct %s out of bounds", object->short_name);
        return 0;
    }
    if (!vrange(ctx, f, 4))
        return vfail(ctx, f, "offset out of bounds");
    return vtable(ctx, object, vderef(ctx, f));
}

/* Verifies one present field (off != 0) of the table. */
static int vfield(struct sl_fb_vctx *ctx, const struct sl_fb_object *owner,
                  const struct sl_fb_field *field, const struct sl_fb_vtab *tab, uint16_t off)
{
    uint64_t f = tab->pos + off;
    uint32_t len;
    int rc;
    switch (field->type.base) {
    case SL_FB_STRING:
        rc = voffset_slot(ctx, f);
        return rc ? rc : vstring_at(ctx, vderef(ctx, f), &len);
    case SL_FB_VECTOR:
        rc = voffset_slot(ctx, f);
        return rc ? rc : vvector_field(ctx, owner, field, tab, f);
    case SL_FB_OBJ:
        return vobject_field(ctx, owner, field, f);
    case SL_FB_UNION:
        return vunion_field(ctx, owner, field, tab, off);
    default:
        if (vscalar_size(field->type.base))
            return vscalar_field(ctx, field, f);
        return vfail(ctx, f, "schema: %s field in a table", sl_fb_base_name(field->type.base));
    }
}

/* A present field (off != 0) as its plan says; the same checks, in the same
 * order, as vfield() makes for it (its fast forms first). */
static inline int vplanned(struct sl_fb_vctx *ctx, const struct sl_fb_object *owner,
                           const struct sl_fb_vplan *plan, const struct sl_fb_vtab *tab,
                           uint16_t off)
{
    uint64_t f = tab->pos + off, vec, len = ctx->len;
    uint32_t n;
    int rc;
    switch (plan->kind) {
    case SL_FB_VK_SCALAR:
        if (__builtin_expect((f & (plan->align - 1u)) || f + plan->size > len, 0))
            return vscalar_field(ctx, plan->field, f);
        return 0;
    case SL_FB_VK_STRUCT:
        if (__builtin_expect((f & (plan->align - 1u)) || f + plan->size > len, 0))
            return vobject_field(ctx, owner, plan->field, f);
        return 0;
    case SL_FB_VK_STRING:
        return vstring_field(ctx, f);
    case SL_FB_VK_VECTOR:
        return vvector_field_at(ctx, f, plan->size, plan->count_max, &vec, &n);
    case SL_FB_VK_VEC_STRINGS:
    case SL_FB_VK_VEC_TABLES:
        rc = vvector_field_at(ctx, f, 4, plan->count_max, &vec, &n);
        return rc ? rc : vvector_offsets(ctx, plan->object, vec, n);
    case SL_FB_VK_TABLE:
        if (f + 4 > len)
            return vfail(ctx, f, "offset out of bounds");
        return vtable(ctx, plan->object, vderef(ctx, f));
    default:
        return vfield(ctx, owner, plan->field, tab, off);
    }
}

/* An absent field that its plan says to look at anyway. */
static int vabsent(struct sl_fb_vctx *ctx, const struct sl_fb_object *object,
                   const struct sl_fb_vplan *plan, const struct sl_fb_vtab *tab)
{
    if (plan->field->required)
        return vfail(ctx, tab->pos, "required field missing");
    return vunion_field(ctx, object, plan->field, tab, 0); /* a type without a value */
}

/* Fields in the schema's order (by name, as reflection.cpp walks them). */
static int vtable_body(struct sl_fb_vctx *ctx, const struct sl_fb_object *object,
                       const struct sl_fb_vtab *tab)
{
    const struct sl_fb_vplan *plan = object->vplan, *end = plan + object->field_count;
    const uint8_t *vt = ctx->base + tab->vt; /* a nested buffer puts ctx->base back */
    uint32_t vt_size = tab->vt_size;
    for (; plan < end; plan++) {
        /* vtable_start checked vt_size bytes at vt; even voff < vt_size fits */
        uint16_t off = (uint32_t)plan->voff + 2u <= vt_size ? sl_fb_u16(vt + plan->voff) : 0;
        int rc;
        if (off)
            rc = vplanned(ctx, object, plan, tab, off);
        else if (__builtin_expect(plan->check_absent, 0))
            rc = vabsent(ctx, object, plan, tab);
        else
            continue;
        if (__builtin_expect(rc != 0, 0))
            return vunwind(ctx, plan, rc);
    }
    return 0;
}

/* ---- the fast pass ----
 *
 * Before the walk above, one that only answers "every check passes": the
 * same checks in their fast forms (vtable_start_ok, vstring_ok, vvector_ok
 * and vplanned's), the same work, table and depth counters, but fields
 * taken kind by kind from object->vfast (no per-field dispatch) and nothing
 * recorded for error reports. It gives up (false) at the first check that
 * does not pass, on a table without a fast plan and on anything it does not
 * know; sl_fb_verify then runs the walk above from the start, which decides
 * and words the reason. So it accepts only what that walk accepts, and a
 * buffer that fails is walked twice (still O(len)). */

static bool vf_table(struct sl_fb_vctx *ctx, const struct sl_fb_object *object, uint64_t pos);

/* The field's offset in the table (0: absent), as vtable_body reads it. */
static inline uint16_t vf_off(const uint8_t *vt, uint32_t vt_size, const struct sl_fb_vplan *e)
{
    return (uint32_t)e->voff + 2u <= vt_size ? sl_fb_u16(vt + e->voff) : 0;
}

/* Elements of a vector of strings (object NULL) or tables. */
static bool vf_offsets(struct sl_fb_vctx *ctx, const struct sl_fb_object *object, uint64_t vec,
                       uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t slot = vec + 4 + 4ull * i;
        if (++ctx->work > ctx->work_max)
            return false;
        uint64_t pos = slot + sl_fb_u32(ctx->base + slot);
        if (object ? !vf_table(ctx, object, pos) : !vstring_ok(ctx->base, ctx->len, pos))
            return false;
    }
    return true;
}

/* The envelope's payload vector (n bytes at data) as vpayload and vnested
 * check it. */
static bool vf_payload(struct sl_fb_vctx *ctx, const struct sl_fb_vplan *e,
                       const struct sl_fb_vtab *tab, uint64_t data, uint32_t n)
{
    const uint8_t *base = ctx->base;
    uint64_t len = ctx->len;
    uint16_t voff = e->field->type_field_voff;
    uint16_t off = (uint32_t)voff + 2u <= tab->vt_size ? sl_fb_u16(base + tab->vt + voff) : 0;
    uint64_t slot = tab->pos + off;
    if (!off || (slot & 3) || slot + 4 > len)
        return false;
    uint64_t type = slot + sl_fb_u32(base + slot);
    if (!vstring_ok(base, len, type) || !ctx->opts->schemas || n < SL_FB_MIN_BUFFER)
        return false;
    const struct sl_fb_object *object = sl_fb_schemas_event_object(
        ctx->opts->schemas, (const char *)base + type + 4, sl_fb_u32(base + type));
    uint32_t root = sl_fb_u32(base + data);
    if (!object || root == 0 || root > INT32_MAX || root >= n)
        return false;
    ctx->base = base + data;
    ctx->len = n;
    bool ok = vf_table(ctx, object, root);
    ctx->base = base;
    ctx->len = len;
    return ok;
}

/* The fields of the table's fast plan that hold offsets: strings, vectors,
 * tables, the payload (after the scalars and structs, before nothing else). */
static bool vf_refs(struct sl_fb_vctx *ctx, const struct sl_fb_object *object,
                    const struct sl_fb_vtab *tab)
{
    const uint8_t *base = ctx->base, *vt = base + tab->vt;
    uint64_t len = ctx->len, vec;
    uint32_t vt_size = tab->vt_size, n;
    const struct sl_fb_vplan *e = object->vfast + object->vfast_end[SL_FB_VK_STRUCT];
    const struct sl_fb_vplan *end = object->vfast + object->vfast_end[SL_FB_VK_PAYLOAD];
    for (; e < end; e++) {
        uint16_t off = vf_off(vt, vt_size, e);
        if (!off) {
            if (e->check_absent)
                return false;
            continue;
        }
        uint64_t f = tab->pos + off;
        switch (e->kind) {
        case SL_FB_VK_STRING:
            if ((f & 3) || f + 4 > len || !vstring_ok(base, len, f + sl_fb_u32(base + f)))
                return false;
            break;
        case SL_FB_VK_TABLE:
            if (f + 4 > len || !vf_table(ctx, e->object, f + sl_fb_u32(base + f)))
                return false;
            break;
        case SL_FB_VK_PAYLOAD:
            if (!vvector_ok(base, len, f, e->size, e->count_max, &vec, &n))
                return false;
            if (n && ctx->opts->check_nested && !vf_payload(ctx, e, tab, vec + 4, n))
                return false;
            break;
        default: /* vectors of scalars or structs, strings, tables */
            if (!vvector_ok(base, len, f, e->size, e->count_max, &vec, &n))
                return false;
            if (e->kind != SL_FB_VK_VECTOR &&
                !vf_offsets(ctx, e->kind == SL_FB_VK_VEC_TABLES ? e->object : NULL, vec, n))
                return false;
            break;
        }
    }
    return true;
}

static bool vf_table(struct sl_fb_vctx *ctx, const struct sl_fb_object *object, uint64_t pos)
{
    struct sl_fb_vtab tab;
    if (!object->vfast || !vtable_start_ok(ctx, pos, &tab))
        return false;
    const uint8_t *vt = ctx->base + tab.vt;
    uint64_t len = ctx->len;
    bool bad = false;
    /* scalars and inline structs: position checks only, no branch per field */
    const struct sl_fb_vplan *e = object->vfast, *end = e + object->vfast_end[SL_FB_VK_STRUCT];
    for (; e < end; e++) {
        uint16_t off = vf_off(vt, tab.vt_size, e);
        uint64_t f = tab.pos + off;
        bad |= off ? ((f & (e->align - 1u)) != 0) | (f + e->size > len) : e->check_absent;
    }
    if (bad || !vf_refs(ctx, object, &tab))
        return false;
    ctx->depth--;
    return true;
}

/* ---- entry ---- */

/* The fast pass gave up: the walk that decides, from a fresh start. */
static int __attribute__((noinline)) vslow(struct sl_fb_vctx *ctx,
                                           const struct sl_fb_object *object, uint64_t root)
{
    ctx->base = ctx->origin;
    ctx->len = ctx->work_max; /* the whole buffer's length */
    ctx->depth = ctx->tables = 0;
    ctx->work = 0;
    return vtable(ctx, object, root);
}

int sl_fb_verify(const uint8_t *buf, size_t len, bool prefixed, const struct sl_fb_object *object,
                 const struct sl_fb_verify_opts *opts, char *err, size_t err_len)
{
    SL_ASSERT(object && !object->is_struct && opts);
    SL_ASSERT(buf || len == 0);
    struct sl_fb_vctx ctx; /* fail_path[] is written before it is read: not zeroed */
    ctx.origin = ctx.base = buf;
    ctx.len = len;
    ctx.depth = ctx.tables = ctx.fail_count = 0;
    ctx.fail_index = -1;
    ctx.depth_max = opts->depth_max ? opts->depth_max : SL_FB_DEPTH_MAX;
    ctx.tables_max = opts->tables_max ? opts->tables_max : SL_FB_TABLES_MAX;
    ctx.work = 0;
    ctx.work_max = len;
    ctx.opts = opts;
    ctx.root = object;
    ctx.err = err;
    ctx.err_len = err_len;
    if (ctx.depth_max > SL_FB_VERIFY_DEPTH_CAP)
        ctx.depth_max = SL_FB_VERIFY_DEPTH_CAP;
    if (err && err_len)
        err[0] = 0;
    int rc;
    uint64_t root_slot = prefixed ? 4 : 0;
    if (len >= SL_FB_BUFFER_MAX)
        rc = vfail(&ctx, 0, "buffer of %zu bytes too large", len);
    else if (len < root_slot + 4)
        rc = vfail(&ctx, 0, "buffer of %zu bytes too small", len);
    else if (prefixed && sl_fb_u32(buf) != len - 4)
        rc = vfail(&ctx, 0, "size prefix %u does not match %zu bytes after it", sl_fb_u32(buf),
                   len - 4);
    else if (!opts->no_fast_pass && vf_table(&ctx, object, root_slot + sl_fb_u32(buf + root_slot)))
        rc = 0;
    else
        rc = vslow(&ctx, object, root_slot + sl_fb_u32(buf + root_slot));
    return rc ? vreport(&ctx) : 0;
}
