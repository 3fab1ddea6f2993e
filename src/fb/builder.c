/*
 * builder.c - builds FlatBuffers back to front, as flatbuffers'
 * FlatBufferBuilder does: children first, every position kept as its
 * distance from the end of the buffer (sl_fb_ref), so nothing moves when
 * the buffer grows, and alignment taken relative to the end is alignment
 * relative to the start once finish() pads the front to minalign.
 *
 * Vtables are deduplicated against the last 64 written into this buffer.
 * Memory: one block that doubles when full; reset() keeps it.
 */
#include <stdlib.h>

#include "core/assert.h"
#include "fb/fb.h"

void sl_fbb_init(struct sl_fbb *b, size_t initial_cap)
{
    memset(b, 0, sizeof(*b));
    b->cap = initial_cap < 256 ? 256 : initial_cap;
    b->buf = aligned_alloc(16, (b->cap + 15) & ~(size_t)15);
    SL_ASSERT(b->buf);
    b->minalign = 1;
}

void sl_fbb_fini(struct sl_fbb *b)
{
    free(b->buf);
    memset(b, 0, sizeof(*b));
}

void sl_fbb_reset(struct sl_fbb *b)
{
    b->size = 0;
    b->minalign = 1;
    b->in_table = false;
    b->slot_count = 0;
    b->vtable_count = 0;
    b->failed = false;
}

void sl_fbb_grow(struct sl_fbb *b, size_t need)
{
    size_t cap = b->cap;
    while (cap - b->size < need)
        cap *= 2;
    uint8_t *buf = aligned_alloc(16, cap);
    SL_ASSERT(buf);
    memcpy(buf + cap - b->size, b->buf + b->cap - b->size, b->size);
    free(b->buf);
    b->buf = buf;
    b->cap = cap;
}

static inline uint8_t *fbb_front(struct sl_fbb *b) { return b->buf + b->cap - b->size; }

static inline void fbb_push_u32(struct sl_fbb *b, uint32_t v) { sl_fbb_push(b, &v, 4); }

/* The uoffset stored at the next 4 bytes that points at ref. */
static uint32_t fbb_refer(struct sl_fbb *b, sl_fb_ref ref)
{
    SL_DASSERT(ref <= b->size + 4);
    return (uint32_t)(b->size + 4 - ref);
}

void sl_fbb_push_ref(struct sl_fbb *b, sl_fb_ref ref)
{
    sl_fbb_prep(b, 4, 0);
    fbb_push_u32(b, fbb_refer(b, ref));
}

/* The same bytes as prep(4, len + 1), a NUL, the bytes and their length,
 * written with one reservation: [u32 len][bytes][NUL][pad to 4]. */
sl_fb_ref sl_fbb_string(struct sl_fbb *b, const char *s, size_t len)
{
    SL_ASSERT(!b->in_table);
    if (b->minalign < 4)
        b->minalign = 4;
    size_t pad = (~(b->size + len + 1) + 1) & 3, total = 4 + len + 1 + pad;
    sl_fbb_reserve(b, total);
    uint8_t *front = fbb_front(b) - total;
    /* zeros first: the NUL and pad are 1..4 bytes at the end; the bytes and
     * the length (written after) cover whatever else the 4 zeros touched */
    memset(front + total - 4, 0, 4);
    memcpy(front + 4, s, len);
    uint32_t n = (uint32_t)len;
    memcpy(front, &n, 4);
    if (__builtin_expect(b->size + pad + len + 1 > SL_FB_BUFFER_MAX, 0))
        b->failed = true;
    b->size += total;
    return (sl_fb_ref)b->size;
}

void sl_fbb_vector_start(struct sl_fbb *b, size_t count, size_t elem_size, size_t align)
{
    SL_ASSERT(!b->in_table);
    sl_fbb_prep(b, 4, count * elem_size);
    sl_fbb_prep(b, align, count * elem_size);
}

sl_fb_ref sl_fbb_vector_end(struct sl_fbb *b, size_t count)
{
    fbb_push_u32(b, (uint32_t)count);
    return (sl_fb_ref)b->size;
}

sl_fb_ref sl_fbb_vector(struct sl_fbb *b, const void *data, size_t count, size_t elem_size,
                        size_t align)
{
    sl_fbb_vector_start(b, count, elem_size, align);
    sl_fbb_push(b, data, count * elem_size);
    return sl_fbb_vector_end(b, count);
}

sl_fb_ref sl_fbb_vector_refs(struct sl_fbb *b, const sl_fb_ref *refs, size_t count)
{
    sl_fbb_vector_start(b, count, 4, 4);
    for (size_t i = count; i-- > 0;)
        fbb_push_u32(b, fbb_refer(b, refs[i]));
    return sl_fbb_vector_end(b, count);
}

void sl_fbb_table_start(struct sl_fbb *b)
{
    SL_ASSERT(!b->in_table);
    b->in_table = true;
    b->slot_count = 0;
    b->table_start = (uint32_t)b->size;
}

static void fbb_slot(struct sl_fbb *b, uint16_t voff)
{
    if (SL_UNLIKELY(b->slot_count == SL_FB_TABLE_FIELDS_MAX || voff < 4 ||
                    voff >= 4 + 2 * SL_FB_TABLE_FIELDS_MAX)) {
        b->failed = true;
        return;
    }
    b->slots[b->slot_count++] = (struct sl_fbb_slot){.ref = (uint32_t)b->size, .voff = voff};
}

/* The size (1, 2, 4 or 8) bytes at p as an integer, without a memcpy call. */
static inline uint64_t fbb_load(const void *p, size_t size)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (size) {
    case 1: memcpy(&u8, p, 1); return u8;
    case 2: memcpy(&u16, p, 2); return u16;
    case 4: memcpy(&u32, p, 4); return u32;
    default: memcpy(&u64, p, 8); return u64;
    }
}

/* Stores the low size (1, 2, 4 or 8) bytes of v at p. */
static inline void fbb_store(uint8_t *p, uint64_t v, size_t size)
{
    uint8_t u8 = (uint8_t)v;
    uint16_t u16 = (uint16_t)v;
    uint32_t u32 = (uint32_t)v;
    switch (size) {
    case 1: memcpy(p, &u8, 1); break;
    case 2: memcpy(p, &u16, 2); break;
    case 4: memcpy(p, &u32, 4); break;
    default: memcpy(p, &v, 8); break;
    }
}

/* sl_fbb_add_scalar() for sizes other than 1, 2, 4 and 8. */
static void fbb_add_bytes(struct sl_fbb *b, uint16_t voff, const void *le_value, size_t size,
                          const void *le_default, bool always)
{
    if (!always && !b->force_defaults && le_default && size <= 8) {
        uint64_t v = 0, d = 0;
        memcpy(&v, le_value, size);
        memcpy(&d, le_default, size);
        if (v == d)
            return;
    }
    sl_fbb_prep(b, size, size);
    sl_fbb_push(b, le_value, size);
    fbb_slot(b, voff);
}

/* The same bytes as prep(size, size) and the value, with one reservation. */
void sl_fbb_add_scalar(struct sl_fbb *b, uint16_t voff, const void *le_value, size_t size,
                       const void *le_default, bool always)
{
    SL_DASSERT(b->in_table);
    if (__builtin_expect(size != 1 && size != 2 && size != 4 && size != 8, 0)) {
        fbb_add_bytes(b, voff, le_value, size, le_default, always);
        return;
    }
    uint64_t v = fbb_load(le_value, size); /* compared as integers: no memcmp call */
    if (!always && !b->force_defaults && le_default && v == fbb_load(le_default, size))
        return;
    if (size > b->minalign)
        b->minalign = size;
    size_t pad = (0 - b->size) & (size - 1);
    sl_fbb_reserve(b, 16); /* pad + size <= 15, and 8 zeros below */
    uint8_t *front = fbb_front(b);
    memset(front - 8, 0, 8); /* the pad (< 8 bytes); the value below covers the rest */
    b->size += pad;
    if (__builtin_expect(b->size + size > SL_FB_BUFFER_MAX, 0))
        b->failed = true;
    fbb_store(front - pad - size, v, size);
    b->size += size;
    fbb_slot(b, voff);
}

/* The same bytes as prep(4, 4) and the offset, with one reservation. */
void sl_fbb_add_ref(struct sl_fbb *b, uint16_t voff, sl_fb_ref ref)
{
    SL_DASSERT(b->in_table);
    if (b->minalign < 4)
        b->minalign = 4;
    size_t pad = (0 - b->size) & 3;
    sl_fbb_reserve(b, pad + 4);
    uint8_t *front = fbb_front(b);
    memset(front - 4, 0, 4); /* the pad; the offset below covers the rest */
    b->size += pad;
    if (__builtin_expect(b->size + 4 > SL_FB_BUFFER_MAX, 0))
        b->failed = true;
    uint32_t off = fbb_refer(b, ref);
    memcpy(front - pad - 4, &off, 4);
    b->size += 4;
    fbb_slot(b, voff);
}

void sl_fbb_add_struct(struct sl_fbb *b, uint16_t voff, const void *data, size_t size,
                       size_t align)
{
    SL_DASSERT(b->in_table);
    sl_fbb_prep(b, align, size);
    sl_fbb_push(b, data, size);
    fbb_slot(b, voff);
}

/* An earlier vtable of this buffer with the same bytes, or 0. */
static uint32_t fbb_vtable_find(struct sl_fbb *b, const uint16_t *vt, size_t vt_size)
{
    uint32_t n = b->vtable_count < 64 ? b->vtable_count : 64;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t ref = b->vtables[i];
        const uint8_t *old = b->buf + b->cap - ref;
        if (sl_fb_u32(old) == sl_fb_u32((const uint8_t *)vt) && memcmp(old, vt, vt_size) == 0)
            return ref;
    }
    return 0;
}

sl_fb_ref sl_fbb_table_end(struct sl_fbb *b)
{
    SL_ASSERT(b->in_table);
    sl_fbb_prep(b, 4, 4);
    fbb_push_u32(b, 0); /* soffset to the vtable, patched below */
    uint32_t table_ref = (uint32_t)b->size;
    uint16_t vt[4 + 2 * SL_FB_TABLE_FIELDS_MAX / 2];
    uint16_t voff_max = 2;
    for (uint32_t i = 0; i < b->slot_count; i++)
        if (b->slots[i].voff > voff_max)
            voff_max = b->slots[i].voff;
    size_t vt_size = (size_t)voff_max + 2;
    memset(vt, 0, vt_size);
    vt[0] = (uint16_t)vt_size;
    uint32_t table_size = table_ref - b->table_start;
    if (table_size > 0xffff)
        b->failed = true;
    vt[1] = (uint16_t)table_size;
    for (uint32_t i = 0; i < b->slot_count; i++)
        vt[b->slots[i].voff / 2] = (uint16_t)(table_ref - b->slots[i].ref);
    uint32_t vt_ref = fbb_vtable_find(b, vt, vt_size);
    if (!vt_ref) {
        sl_fbb_push(b, vt, vt_size); /* size is 4-aligned, vt_size even: stays 2-aligned */
        vt_ref = (uint32_t)b->size;
        b->vtables[b->vtable_count++ % 64] = vt_ref;
    }
    /* table - soffset = vtable; both as distances from the end */
    int32_t soffset = (int32_t)vt_ref - (int32_t)table_ref;
    memcpy(b->buf + b->cap - table_ref, &soffset, 4);
    b->in_table = false;
    b->slot_count = 0;
    return table_ref;
}

const uint8_t *sl_fbb_finish(struct sl_fbb *b, sl_fb_ref root, bool size_prefixed, size_t *len)
{
    SL_ASSERT(!b->in_table);
    size_t minalign = b->minalign < 4 ? 4 : b->minalign;
    sl_fbb_prep(b, minalign, size_prefixed ? 8 : 4);
    fbb_push_u32(b, fbb_refer(b, root));
    if (size_prefixed)
        fbb_push_u32(b, (uint32_t)b->size);
    *len = b->size;
    return fbb_front(b);
}
