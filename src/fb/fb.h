/*
 * fb.h - the FlatBuffers runtime of sluice: reading primitives, the schema
 * model loaded from reflection (.bfbs) data, the builder, the verifier and
 * the JSON transcoders.
 *
 * Wire format (little-endian, offsets relative to where they are stored):
 *   buffer:  [uoffset root] ...           root table at 0 + root
 *   prefixed:[u32 size][uoffset root] ... size = bytes after the prefix;
 *            alignment is relative to the prefix (the start of the buffer)
 *   table:   [soffset vt] fields...       vtable at table - soffset
 *   vtable:  [u16 vt_size][u16 table_size][u16 field_off]...  (0 = absent)
 *   vector:  [u32 count] elements...      string: + NUL terminator
 *
 * Readers below do not check bounds: they are for buffers that passed
 * sl_fb_verify() (verify at the boundary, trust inside).
 */
#ifndef SL_FB_H
#define SL_FB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SL_FB_DEPTH_MAX 64
#define SL_FB_TABLES_MAX 1000000u
#define SL_FB_BUFFER_MAX 0x7fffffffu /* as FLATBUFFERS_MAX_BUFFER_SIZE */

/* ---- reading primitives (memcpy: safe at any address) ---- */

static inline uint8_t sl_fb_u8(const uint8_t *p) { return *p; }
static inline uint16_t sl_fb_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t sl_fb_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t sl_fb_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline int32_t sl_fb_i32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

/* The table an offset field at p points to. */
static inline const uint8_t *sl_fb_deref(const uint8_t *p) { return p + sl_fb_u32(p); }

/* Root table of an unprefixed buffer. */
static inline const uint8_t *sl_fb_root(const uint8_t *buf) { return sl_fb_deref(buf); }

/* Address of field at vtable offset voff (4 + 2 * id) in table, or NULL. O(1). */
static inline const uint8_t *sl_fb_field_ptr(const uint8_t *table, uint16_t voff)
{
    const uint8_t *vt = table - sl_fb_i32(table);
    if (voff >= sl_fb_u16(vt))
        return NULL;
    uint16_t off = sl_fb_u16(vt + voff);
    return off ? table + off : NULL;
}

static inline uint32_t sl_fb_vec_len(const uint8_t *vec) { return sl_fb_u32(vec); }
static inline const uint8_t *sl_fb_vec_data(const uint8_t *vec) { return vec + 4; }

/* ---- schema model (loaded once from .bfbs; immutable afterwards) ---- */

/* reflection::BaseType */
enum sl_fb_base {
    SL_FB_NONE, SL_FB_UTYPE, SL_FB_BOOL, SL_FB_BYTE, SL_FB_UBYTE, SL_FB_SHORT, SL_FB_USHORT,
    SL_FB_INT, SL_FB_UINT, SL_FB_LONG, SL_FB_ULONG, SL_FB_FLOAT, SL_FB_DOUBLE, SL_FB_STRING,
    SL_FB_VECTOR, SL_FB_OBJ, SL_FB_UNION, SL_FB_ARRAY, SL_FB_BASE_MAX
};

/* Size in bytes of a scalar base type (0 for non-scalars, 4 for offsets). */
size_t sl_fb_base_size(enum sl_fb_base base);
const char *sl_fb_base_name(enum sl_fb_base base);
static inline bool sl_fb_base_is_scalar(unsigned base) { return base >= SL_FB_UTYPE && base <= SL_FB_DOUBLE; }
static inline bool sl_fb_base_is_integer(unsigned base) { return base >= SL_FB_UTYPE && base <= SL_FB_ULONG; }
static inline bool sl_fb_base_is_float(unsigned base) { return base == SL_FB_FLOAT || base == SL_FB_DOUBLE; }

struct sl_fb_schema;
struct sl_fb_object;

struct sl_fb_type {
    uint8_t base;           /* enum sl_fb_base */
    uint8_t element;        /* element base of VECTOR / ARRAY */
    uint16_t fixed_length;  /* ARRAY element count */
    int32_t index;          /* object (OBJ) or enum (scalars, UTYPE, UNION) index; -1 none */
};

/* How a [ubyte] field holds a nested buffer. */
enum sl_fb_nested {
    SL_FB_NESTED_NONE,
    SL_FB_NESTED_TABLE,   /* nested_flatbuffer: "Table" attribute: nested_object */
    SL_FB_NESTED_BY_TYPE, /* the envelope's payload: table named by the string field `type` */
};

struct sl_fb_field {
    const char *name;       /* NUL-terminated, points into the .bfbs */
    uint32_t name_len;
    struct sl_fb_type type;
    uint16_t id;            /* table: field id; struct: declaration index */
    uint16_t offset;        /* table: vtable offset; struct: byte offset in the struct */
    int64_t default_integer;
    double default_real;
    bool deprecated, required, optional, key;
    uint8_t nested;                          /* enum sl_fb_nested */
    const struct sl_fb_object *nested_object; /* SL_FB_NESTED_TABLE */
    uint16_t type_field_voff;                /* SL_FB_NESTED_BY_TYPE: voff of `type` */
    uint32_t padding;                        /* struct fields: pad bytes after the field */
    const struct sl_fb_object *owner;
    uint32_t order;          /* position in owner->by_id */
};

/* How the verifier checks one field of a table, worked out once at schema
 * load so that the per-table loop does no schema lookups or divisions. */
enum sl_fb_vkind {
    SL_FB_VK_SCALAR,      /* size bytes, aligned to size */
    SL_FB_VK_STRUCT,      /* inline struct: size = bytesize, align = minalign */
    SL_FB_VK_STRING,
    SL_FB_VK_VECTOR,      /* of scalars or structs (size each), not a nested buffer */
    SL_FB_VK_VEC_STRINGS,
    SL_FB_VK_VEC_TABLES,  /* of tables `object` */
    SL_FB_VK_TABLE,       /* table `object` */
    SL_FB_VK_OTHER,       /* unions, nested buffers, schema errors: the general path */
    SL_FB_VK_PAYLOAD,     /* the envelope's payload (nested by type): the general path,
                           * which the fast pass of sl_fb_verify also takes */
    SL_FB_VK_COUNT
};

/* One entry of sl_fb_object.vplan; entry i describes fields[i]. */
struct sl_fb_vplan {
    const struct sl_fb_field *field;
    const struct sl_fb_object *object; /* VK_TABLE, VK_VEC_TABLES */
    uint32_t size;        /* scalar or struct bytes; vector element bytes */
    uint32_t count_max;   /* vectors: lengths from here on are too large */
    uint16_t voff;
    uint8_t kind;         /* enum sl_fb_vkind */
    uint8_t align;        /* VK_SCALAR, VK_STRUCT: required alignment (power of two) */
    bool check_absent;    /* required or union: looked at when absent too */
};

struct sl_fb_object {
    const char *name;        /* full name, e.g. "sluice.orders.OrderPlaced" */
    const char *short_name;  /* after the last '.' */
    const char *event_type;  /* value of the `event` attribute, or NULL */
    const struct sl_fb_schema *schema;
    struct sl_fb_field *fields;   /* sorted by name (binary search) */
    struct sl_fb_field **by_id;   /* by id (table) or offset (struct): output order */
    uint32_t field_count;
    int32_t index;           /* in schema->objects */
    bool is_struct;
    uint32_t minalign;
    uint32_t bytesize;       /* structs */
    uint16_t vtable_fields;  /* tables: 1 + largest field id */
    struct sl_fb_vplan *vplan; /* tables: field_count entries, as fields */
    uint32_t required_count; /* fields marked required */
    uint32_t *name_slots;    /* open-addressing table: index in fields + 1, 0 empty */
    uint32_t name_mask;      /* slots - 1 (a power of two minus one) */
    /* tables whose fields the verifier's fast pass knows (no unions, no other
     * nested buffers): vplan grouped by kind, vfast[vfast_end[k - 1] ..
     * vfast_end[k]) of kind k; NULL otherwise */
    struct sl_fb_vplan *vfast;
    uint16_t vfast_end[SL_FB_VK_COUNT];
};

struct sl_fb_enum_val {
    const char *name;
    int64_t value;
    int32_t union_object;    /* unions: object index of the member, -1 for NONE */
    uint8_t union_base;      /* unions: SL_FB_OBJ or SL_FB_STRING (or NONE) */
};

struct sl_fb_enum {
    const char *name;
    const char *short_name;
    struct sl_fb_enum_val *vals;  /* sorted by value */
    uint32_t val_count;
    bool is_union;
    bool bit_flags;
    uint8_t underlying;      /* enum sl_fb_base */
};

struct sl_fb_schema {
    char name[64];           /* "orders" for orders.bfbs */
    const uint8_t *bfbs;     /* the reflection buffer; names point into it */
    size_t bfbs_len;
    struct sl_fb_object *objects;
    uint32_t object_count;
    struct sl_fb_enum *enums;
    uint32_t enum_count;
    const struct sl_fb_object *root;  /* root_type, or NULL */
    void *owned;             /* bfbs copy we own (loaded from a file), or NULL */
};

/* An event type -> payload table mapping, from (event: "...") attributes. */
struct sl_fb_event_type {
    const char *type;
    uint32_t type_len;
    const struct sl_fb_object *object;
};

/* Every schema a process knows: the envelope plus domain schemas. */
struct sl_fb_schemas {
    struct sl_fb_schema *items[16];
    uint32_t count;
    const struct sl_fb_object *envelope;  /* sluice.Event */
    struct sl_fb_event_type *types;       /* sorted by type */
    uint32_t type_count;
    uint32_t *type_slots;                 /* open addressing by type_hash: index + 1, 0 empty */
    uint32_t type_mask;                   /* slots - 1; at most half full */
};

/*
 * Loads a reflection buffer (verified first against reflection.fbs's shape).
 * bfbs must stay alive and unchanged while the schema is used; when copy is
 * true the schema keeps its own copy. Returns 0 or -EINVAL/-ENOMEM with err.
 */
int sl_fb_schema_load(struct sl_fb_schema *schema, const char *name, const uint8_t *bfbs,
                      size_t len, bool copy, char *err, size_t err_len);
void sl_fb_schema_fini(struct sl_fb_schema *schema);

/* Set of schemas: sl_fb_schemas_init loads the embedded envelope. */
int sl_fb_schemas_init(struct sl_fb_schemas *schemas, char *err, size_t err_len);
/* Adds an embedded schema by name ("orders") or a .bfbs file by path. */
int sl_fb_schemas_add(struct sl_fb_schemas *schemas, const char *name_or_path, char *err,
                      size_t err_len);
/* Adds every embedded schema. */
int sl_fb_schemas_add_embedded(struct sl_fb_schemas *schemas, char *err, size_t err_len);
void sl_fb_schemas_fini(struct sl_fb_schemas *schemas);

/* Table or struct by full or short name across the set; NULL if none or ambiguous. */
const struct sl_fb_object *sl_fb_schemas_find_object(const struct sl_fb_schemas *schemas,
                                                     const char *name);
/* Payload table for an event type: one hash and about one compare. NULL when
 * unknown. */
const struct sl_fb_object *sl_fb_schemas_event_object(const struct sl_fb_schemas *schemas,
                                                      const char *type, size_t type_len);

/* a[0..len) == b[0..len): names are short, so up to 16 bytes are compared
 * with two overlapping loads each side instead of a memcmp call. */
static inline bool sl_fb_name_equals(const char *a, const char *b, size_t len)
{
    uint64_t x, y, u, v;
    if (len > 16)
        return memcmp(a, b, len) == 0;
    if (len >= 8) {
        memcpy(&x, a, 8), memcpy(&y, b, 8), memcpy(&u, a + len - 8, 8), memcpy(&v, b + len - 8, 8);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (len >= 4) {
        uint32_t x4, y4, u4, v4;
        memcpy(&x4, a, 4), memcpy(&y4, b, 4), memcpy(&u4, a + len - 4, 4);
        memcpy(&v4, b + len - 4, 4);
        return ((x4 ^ y4) | (u4 ^ v4)) == 0;
    }
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* Field of object by name through its name table, O(1) expected; NULL when none. */
const struct sl_fb_field *sl_fb_object_field(const struct sl_fb_object *object,
                                             const char *name, size_t name_len);
const struct sl_fb_object *sl_fb_schema_object(const struct sl_fb_schema *schema, int32_t index);
const struct sl_fb_enum *sl_fb_schema_enum(const struct sl_fb_schema *schema, int32_t index);
/* Enum value by number, O(log values); NULL when none. */
const struct sl_fb_enum_val *sl_fb_enum_by_value(const struct sl_fb_enum *e, int64_t value);
/* Enum value by name, O(values); NULL when none. */
const struct sl_fb_enum_val *sl_fb_enum_by_name(const struct sl_fb_enum *e, const char *name,
                                                size_t name_len);
/* Size of one element of a vector/array of type (struct size, scalar size, or 4). */
size_t sl_fb_type_element_size(const struct sl_fb_schema *schema, const struct sl_fb_type *type);

/* ---- verifier ---- */

struct sl_fb_verify_opts {
    uint32_t depth_max;      /* default SL_FB_DEPTH_MAX */
    uint32_t tables_max;     /* default SL_FB_TABLES_MAX */
    bool check_nested;       /* verify nested buffers (payload, nested_flatbuffer) */
    const struct sl_fb_schemas *schemas; /* for SL_FB_NESTED_BY_TYPE payloads */
    bool no_fast_pass;       /* tests: the general walk alone decides (same verdicts) */
};

/*
 * Verifies an untrusted buffer whose root is object. When prefixed, buf starts
 * at the 4-byte size prefix, which must equal len - 4, and alignment is
 * checked relative to buf (as flatbuffers::Verifier does). Returns 0, or
 * -EINVAL with "offset N: reason" in err. Costs O(len); allocates nothing.
 */
int sl_fb_verify(const uint8_t *buf, size_t len, bool prefixed, const struct sl_fb_object *object,
                 const struct sl_fb_verify_opts *opts, char *err, size_t err_len);

/* ---- builder (back to front, like flatbuffers::FlatBufferBuilder) ---- */

/* A reference to something built: its distance from the buffer's end. */
typedef uint32_t sl_fb_ref;

#define SL_FB_TABLE_FIELDS_MAX 1024

struct sl_fbb_slot {
    uint32_t ref;   /* where the field's value was written (distance from end) */
    uint16_t voff;
};

/* Owned by one thread; grows by doubling (allocation only when it grows). */
struct sl_fbb {
    uint8_t *buf;
    size_t cap;
    size_t size;        /* bytes written, at buf + cap - size */
    size_t minalign;    /* largest alignment requested so far */
    bool force_defaults;
    bool in_table;
    uint32_t table_start;  /* size when the table started */
    uint32_t slot_count;
    struct sl_fbb_slot slots[SL_FB_TABLE_FIELDS_MAX];
    uint32_t vtables[64];  /* refs of recent vtables for dedupe (ring) */
    uint32_t vtable_count;
    bool failed;        /* set when a limit was hit; finish reports it */
};

void sl_fbb_init(struct sl_fbb *b, size_t initial_cap);
void sl_fbb_fini(struct sl_fbb *b);
void sl_fbb_reset(struct sl_fbb *b);
/* Slow path of sl_fbb_reserve(): doubles the buffer until need bytes fit. */
void sl_fbb_grow(struct sl_fbb *b, size_t need);

/* Makes room for need more bytes in front of what is written. */
static inline void sl_fbb_reserve(struct sl_fbb *b, size_t need)
{
    if (__builtin_expect(b->cap - b->size < need, 0))
        sl_fbb_grow(b, need);
}

/* Writes len zero bytes. */
static inline void sl_fbb_pad(struct sl_fbb *b, size_t len)
{
    sl_fbb_reserve(b, len);
    b->size += len;
    memset(b->buf + b->cap - b->size, 0, len);
}

/* Pads so that after writing `len` more bytes the position is aligned to
 * `align` (a power of two <= 16), and makes room for them. */
static inline void sl_fbb_prep(struct sl_fbb *b, size_t align, size_t len)
{
    if (align > b->minalign)
        b->minalign = align;
    size_t pad = (~(b->size + len) + 1) & (align - 1);
    sl_fbb_reserve(b, pad + len);
    b->size += pad;
    memset(b->buf + b->cap - b->size, 0, pad);
    if (__builtin_expect(b->size + len > SL_FB_BUFFER_MAX, 0))
        b->failed = true;
}

/* Pushes raw bytes (the caller prepped). */
static inline void sl_fbb_push(struct sl_fbb *b, const void *data, size_t len)
{
    sl_fbb_reserve(b, len);
    b->size += len;
    memcpy(b->buf + b->cap - b->size, data, len);
}

sl_fb_ref sl_fbb_string(struct sl_fbb *b, const char *s, size_t len);
/* Vector of count elements of elem_size bytes each, aligned to align; the
 * data (little-endian, already laid out) is copied. */
sl_fb_ref sl_fbb_vector(struct sl_fbb *b, const void *data, size_t count, size_t elem_size,
                        size_t align);
/* Vector of offsets (strings, tables). refs in forward order. */
sl_fb_ref sl_fbb_vector_refs(struct sl_fbb *b, const sl_fb_ref *refs, size_t count);
/* Starts a vector to be filled back to front with sl_fbb_push (last element
 * first); returns nothing: end it with sl_fbb_vector_end. */
void sl_fbb_vector_start(struct sl_fbb *b, size_t count, size_t elem_size, size_t align);
sl_fb_ref sl_fbb_vector_end(struct sl_fbb *b, size_t count);
/* Pushes one offset element (inside sl_fbb_vector_start with elem_size 4). */
void sl_fbb_push_ref(struct sl_fbb *b, sl_fb_ref ref);

void sl_fbb_table_start(struct sl_fbb *b);
/* Scalar field: skipped when equal to its default unless force_defaults or
 * always (optional scalars, union types set by caller). */
void sl_fbb_add_scalar(struct sl_fbb *b, uint16_t voff, const void *le_value, size_t size,
                       const void *le_default, bool always);
void sl_fbb_add_ref(struct sl_fbb *b, uint16_t voff, sl_fb_ref ref);
/* Inline struct bytes, aligned to align. */
void sl_fbb_add_struct(struct sl_fbb *b, uint16_t voff, const void *data, size_t size,
                       size_t align);
sl_fb_ref sl_fbb_table_end(struct sl_fbb *b);

/* Finishes with root; aligns the whole buffer to minalign. Returns the
 * finished bytes (valid until the next reset) and their length. */
const uint8_t *sl_fbb_finish(struct sl_fbb *b, sl_fb_ref root, bool size_prefixed, size_t *len);

/* ---- converting between the fb and raw framings ----
 *
 * A size-prefixed buffer is aligned relative to its prefix, so the bytes
 * after the prefix are NOT a correctly aligned unprefixed buffer (8-byte
 * fields would sit 4 bytes off). These conversions keep every table, vector
 * and string at the same position modulo 8 by moving the root offset instead:
 *   prefixed [size][root r][body...]  ->  raw [r + 4][4 zero bytes][body...]
 *   raw      [root r][rest...]        ->  prefixed [len + 4][r + 4][root r][rest...]
 * (all other offsets are relative and unchanged). One copy, O(len). */

/* Raw form of the prefixed buffer src[0..len) (len >= 8) into dst (len
 * bytes; dst may be src: then only its first 8 bytes are rewritten).
 * Returns len. */
size_t sl_fb_prefixed_to_raw(uint8_t *dst, const uint8_t *src, size_t len);
/* Prefixed form of the raw buffer src[0..len) (len >= 4) into dst (len + 8
 * bytes). Returns len + 8. */
size_t sl_fb_raw_to_prefixed(uint8_t *dst, const uint8_t *src, size_t len);

/* ---- JSON ---- */

/* Transcoder state: reused across records; allocates only when it grows. */
struct sl_json_tape;
struct sl_fb_json_member;
struct sl_fb_json {
    const struct sl_fb_schemas *schemas;
    struct sl_json_tape *tape;
    struct sl_fbb builders[4];  /* [0] the record, [1..] nested buffers by depth */
    bool force_defaults;
    struct sl_fb_json_member *members; /* json -> fb: per-table member stack */
    size_t members_cap;
    uint8_t *scratch;           /* json -> fb: vector of scalars/structs */
    size_t scratch_cap;
    char *out;                  /* fb -> json output */
    size_t out_len, out_cap;
};

void sl_fb_json_init(struct sl_fb_json *j, const struct sl_fb_schemas *schemas);
void sl_fb_json_fini(struct sl_fb_json *j);

/*
 * Parses one JSON value (strict JSON; enum names; union `x_type` fields as
 * flatc writes them; the envelope payload as the object of the table its
 * `type` names) and builds a buffer rooted at object. The result stays
 * valid until the next call. Returns 0, or -EINVAL with "col N: reason"
 * (1-based byte column) in err.
 */
int sl_fb_json_to_fb(struct sl_fb_json *j, const struct sl_fb_object *object, const char *json,
                     size_t len, bool size_prefixed, const uint8_t **out, size_t *out_len,
                     char *err, size_t err_len);

/*
 * Writes a verified buffer (unprefixed: buf is the root offset) as one line
 * of JSON (no newline) into j->out. Returns 0, or -EINVAL with a reason
 * (invalid UTF-8, unknown payload type).
 */
int sl_fb_to_json(struct sl_fb_json *j, const struct sl_fb_object *object, const uint8_t *buf,
                  size_t len, const char **out, size_t *out_len, char *err, size_t err_len);

#endif
