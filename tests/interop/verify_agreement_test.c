/*
 * verify_agreement_test.c - sluice's verifier (sl_fb_verify, check_nested
 * off) must accept and reject exactly what libflatbuffers' reflection
 * verifier accepts and rejects (flatbuffers::Verify / VerifySizePrefixed
 * 2.0.8, run by the fb_verify_ref helper), on
 *   1. every file of tests/fuzz/corpus/fuzz_verify/ (a missing or empty
 *      corpus is noted and skipped), judged as Event and as OrderPlaced,
 *      unprefixed and size-prefixed;
 *   2. a seeded mutation barrage (24,000 mutants by default) of valid
 *      buffers made at test time from JSON records by sl_fb_json_to_fb,
 *      for OrderPlaced and for the Event envelope, unprefixed and prefixed:
 *      bit flips; bytes set to 0x00/0xff/0x7f/0x80; truncations;
 *      extensions; swapped 4-byte words; offset fields (root, string,
 *      vector, table and vtable offsets) pointed at themselves; vector and
 *      string lengths, vtable entries and vtable offsets set to edge values.
 *      Positions of offsets, lengths and vtable entries come from walking
 *      the valid buffer through the schema.
 * Each mutant is written to a temp dir and fb_verify_ref judges all of a
 * group's files in one process.
 *
 * Where ours rejects and the reference accepts, the rejection must be one
 * of the cases where sluice is stricter by design (src/fb/verify.c lists
 * them; recognised here by our error text), counted separately:
 *   prefix    the size prefix must equal len - 4 (VerifySizePrefixed does
 *             not look at it)
 *   required  a required field must be present whatever its type (the
 *             reflection verifier checks `required` only for tables,
 *             structs and vectors of structs)
 *   work      work is bounded by the input length (subtrees shared many
 *             times; C++ walks them again, up to 1,000,000 tables)
 *   unchecked reads the C++ verifier makes without a bounds check (table
 *             offset slots, union type bytes, buffers too short for a root)
 *   nested    nested payloads: not compared (check_nested is off here);
 *             listed so that a regression in that switch is recognised
 * Limits (depth 64, 1,000,000 tables) are the same on both sides, so a
 * limit reject is not an exception. Every other disagreement, and any
 * accept by ours that the reference rejects, fails the test: the mutant is
 * saved to verify_agreement_failures/ (in the working directory) and both
 * verdicts are printed.
 *
 *   verify_agreement_test FB_VERIFY_REF CORPUS_DIR
 * FB_VERIFY_REF empty or not executable: skip (77). Environment:
 * SL_SEED (default 0x5eed), SL_MUTANTS (total, default 24000).
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fb/fb.h"
#include "fb/schema_embedded.h"

#define VA_POS_MAX 4096
#define VA_EXTEND_MAX 64
#define VA_FAILURES_SHOWN 20
#define VA_CORPUS_MAX 100000

enum va_verdict { VA_REJECT, VA_ACCEPT };

/* A configuration both verifiers are run in. */
struct va_group {
    const char *name;       /* also the temp subdir */
    const char *bfbs;       /* embedded schema name: the .bfbs handed to the reference */
    const char *root_name;  /* table's full name */
    bool prefixed;
    const struct sl_fb_object *object;
};

/* One input to judge. */
struct va_input {
    uint8_t *bytes;
    size_t len;
    char desc[160];         /* mutations applied, or the corpus path */
};

/* Positions in a valid buffer worth aiming at (from walking it). */
enum va_pos_kind { VA_UOFFSET, VA_SOFFSET, VA_LENGTH, VA_VTENTRY };
struct va_pos {
    uint32_t at;            /* byte offset from the buffer start (incl. prefix) */
    uint8_t kind;           /* enum va_pos_kind */
};
struct va_walk {
    const uint8_t *start;   /* the buffer start (prefix included) */
    struct va_pos pos[VA_POS_MAX];
    uint32_t count;
};

/* Documented cases where ours is stricter; matched against our error text. */
struct va_stricter {
    const char *name;
    const char *needles[5]; /* NULL-terminated */
    uint64_t count;
};

/* Everything one run accumulates. */
struct va_run {
    const char *ref;        /* fb_verify_ref path */
    char dir[64];           /* temp dir */
    struct sl_fb_schemas schemas;
    struct sl_fb_json json;
    struct sl_fb_verify_opts opts;
    uint64_t seed_state;
    uint64_t judged, agree_accept, agree_reject, failures;
    struct va_stricter stricter[5];
};

static const char *const va_order_json[] = {
    "{\"order_id\":\"ord-2024-06-03-000017\",\"customer_id\":\"customer-000482\",\"region\":"
    "\"eu\",\"channel\":\"web\",\"amount\":18497,\"currency\":\"EUR\",\"items\":[{\"sku\":"
    "\"SKU-TSHIRT-M-BLK\",\"quantity\":2,\"unit_price\":2499},{\"sku\":\"SKU-HOODIE-L-GRY\","
    "\"quantity\":1,\"unit_price\":5999},{\"sku\":\"SKU-CAP-ONE-RED\",\"quantity\":3,"
    "\"unit_price\":2500}],\"shipping\":{\"name\":\"Ada Lovelace\",\"street\":\"12 Analytical "
    "Engine Row\",\"city\":\"London\",\"postal_code\":\"NW1 6XE\",\"country\":\"GB\"},"
    "\"coupon\":\"SUMMER10\",\"priority\":true,\"tags\":[\"first-order\",\"newsletter\"]}",
    "{\"order_id\":\"o\"}",
    ("{\"order_id\":\"o-77\",\"region\":\"apac\",\"channel\":\"partner\",\"amount\":-1,"
    "\"currency\":\"JPY\",\"items\":[{\"sku\":\"\"}],\"tags\":[],\"shipping\":{}}"),
};

static const char *const va_event_json[] = {
    "{\"id\":\"01HZX3K8Q4M7T2V9B6N1C5R0PD\",\"type\":\"order.placed\",\"version\":1,\"key\":"
    "\"customer-000482\",\"ts\":1717430400123456,\"correlation_id\":\"c-1\",\"causation_id\":"
    "\"c-0\",\"headers\":[{\"key\":\"source\",\"value\":\"web\"},{\"key\":\"trace\"}],"
    "\"payload\":{\"order_id\":\"ord-1\",\"amount\":18497,\"items\":[{\"sku\":\"A\","
    "\"quantity\":2,\"unit_price\":2499}],\"shipping\":{\"city\":\"London\"},\"tags\":[\"t\"]}}",
    "{\"id\":\"e2\",\"type\":\"order.paid\",\"payload\":{\"order_id\":\"o2\",\"amount\":5}}",
    ("{\"id\":\"e3\",\"type\":\"order.cancelled\",\"version\":7,\"key\":\"k\",\"ts\":-5,"
    "\"headers\":[{\"key\":\"a\"},{\"key\":\"b\",\"value\":\"\"}]}"),
};

/* ---- small helpers ---- */

static uint64_t va_rand(struct va_run *run)
{
    uint64_t z = (run->seed_state += 0x9e3779b97f4a7c15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t va_below(struct va_run *run, uint32_t n) { return n ? (uint32_t)(va_rand(run) % n) : 0; }

static void *va_alloc(size_t len)
{
    void *p = aligned_alloc(8, (len + 8) & ~(size_t)7);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static int va_write_file(const char *path, const void *data, size_t len)
{
    FILE *file = fopen(path, "wb");
    if (!file)
        return -errno;
    size_t put = fwrite(data, 1, len, file);
    int rc = fclose(file);
    return put == len && rc == 0 ? 0 : -EIO;
}

static int va_read_file(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return -errno;
    struct stat st;
    if (fstat(fileno(file), &st) < 0 || st.st_size > (off_t)(64u << 20)) {
        fclose(file);
        return -EFBIG;
    }
    uint8_t *bytes = va_alloc((size_t)st.st_size);
    size_t got = fread(bytes, 1, (size_t)st.st_size, file);
    fclose(file);
    *out = bytes;
    *out_len = got;
    return got == (size_t)st.st_size ? 0 : -EIO;
}

static int va_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* ---- walking a valid buffer for positions worth mutating ---- */

static void va_walk_add(struct va_walk *w, const uint8_t *p, enum va_pos_kind kind)
{
    if (w->count < VA_POS_MAX)
        w->pos[w->count++] = (struct va_pos){.at = (uint32_t)(p - w->start), .kind = kind};
}

static void va_walk_table(struct va_walk *w, const uint8_t *table, const struct sl_fb_object *object);

/* A string or vector field at slot p (an offset): slot, length, offset elements. */
static void va_walk_vector(struct va_walk *w, const uint8_t *p, const struct sl_fb_field *field,
                           const struct sl_fb_object *owner)
{
    const uint8_t *vec = sl_fb_deref(p);
    va_walk_add(w, p, VA_UOFFSET);
    va_walk_add(w, vec, VA_LENGTH);
    if (field->type.base != SL_FB_VECTOR)
        return;
    const struct sl_fb_object *elem_object =
        field->type.element == SL_FB_OBJ ? sl_fb_schema_object(owner->schema, field->type.index)
                                         : NULL;
    bool tables = elem_object && !elem_object->is_struct;
    if (field->type.element != SL_FB_STRING && !tables)
        return;
    for (uint32_t i = 0; i < sl_fb_vec_len(vec); i++) {
        const uint8_t *slot = sl_fb_vec_data(vec) + 4 * i;
        va_walk_add(w, slot, VA_UOFFSET);
        if (tables)
            va_walk_table(w, sl_fb_deref(slot), elem_object);
        else
            va_walk_add(w, sl_fb_deref(slot), VA_LENGTH);
    }
}

static void va_walk_table(struct va_walk *w, const uint8_t *table, const struct sl_fb_object *object)
{
    const uint8_t *vt = table - sl_fb_i32(table);
    va_walk_add(w, table, VA_SOFFSET);
    for (uint16_t v = 0; v < sl_fb_u16(vt); v += 2)
        va_walk_add(w, vt + v, VA_VTENTRY);
    for (uint32_t i = 0; i < object->field_count; i++) {
        const struct sl_fb_field *field = &object->fields[i];
        const uint8_t *p = sl_fb_field_ptr(table, field->offset);
        if (!p)
            continue;
        if (field->type.base == SL_FB_STRING || field->type.base == SL_FB_VECTOR) {
            va_walk_vector(w, p, field, object);
        } else if (field->type.base == SL_FB_OBJ || field->type.base == SL_FB_UNION) {
            const struct sl_fb_object *sub = sl_fb_schema_object(object->schema, field->type.index);
            va_walk_add(w, p, VA_UOFFSET);
            if (field->type.base == SL_FB_OBJ && sub && !sub->is_struct)
                va_walk_table(w, sl_fb_deref(p), sub);
        }
    }
}

/* Walks a valid buffer (start = prefix when prefixed). */
static void va_walk(struct va_walk *w, const uint8_t *start, bool prefixed,
                    const struct sl_fb_object *object)
{
    const uint8_t *root_slot = start + (prefixed ? 4 : 0);
    w->start = start;
    w->count = 0;
    va_walk_add(w, root_slot, VA_UOFFSET);
    va_walk_table(w, sl_fb_deref(root_slot), object);
}

/* ---- mutations ---- */

static void va_desc_add(struct va_input *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void va_desc_add(struct va_input *in, const char *fmt, ...)
{
    size_t used = strlen(in->desc);
    if (used + 2 >= sizeof(in->desc))
        return;
    if (used)
        in->desc[used++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->desc + used, sizeof(in->desc) - used, fmt, ap);
    va_end(ap);
}

static void va_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void va_put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* An edge value for the 4-byte field of kind at `at` (current value cur). */
static uint32_t va_edge32(struct va_run *run, enum va_pos_kind kind, uint32_t cur, size_t len,
                          uint32_t at)
{
    const uint32_t common[] = {0, 1, 2, 4, 0x7fffffffu, 0x80000000u, 0xffffffffu,
                               cur + 4, cur - 4, cur + 1, (uint32_t)len, (uint32_t)(len - at)};
    const uint32_t soffset[] = {(uint32_t)-4, (uint32_t)-2, cur + 2, cur - 2,
                                (uint32_t)at, (uint32_t)at + 2, (uint32_t)-(int32_t)len, 0x80000000u};
    if (kind == VA_SOFFSET && va_below(run, 2))
        return soffset[va_below(run, sizeof(soffset) / sizeof(soffset[0]))];
    return common[va_below(run, sizeof(common) / sizeof(common[0]))];
}

/* Aims at a walked position: offsets to themselves, lengths, vtable entries. */
static bool va_mutate_targeted(struct va_run *run, struct va_input *in, const struct va_walk *w,
                               bool self)
{
    if (w->count == 0)
        return false;
    const struct va_pos *pos = &w->pos[va_below(run, w->count)];
    if (self && pos->kind != VA_UOFFSET && pos->kind != VA_SOFFSET)
        pos = &w->pos[0]; /* the root offset */
    uint32_t width = pos->kind == VA_VTENTRY ? 2 : 4;
    if ((size_t)pos->at + width > in->len)
        return false;
    uint8_t *p = in->bytes + pos->at;
    if (self) {
        va_put32(p, 0);
        va_desc_add(in, "self@%u", pos->at);
    } else if (pos->kind == VA_VTENTRY) {
        uint16_t cur = sl_fb_u16(p);
        const uint16_t edge[] = {0, 1, 2, 3, 4, 0xffff, 0x8000, (uint16_t)(cur + 1),
                                 (uint16_t)(cur ^ 2), (uint16_t)(cur + 4), (uint16_t)in->len};
        uint16_t v = edge[va_below(run, sizeof(edge) / sizeof(edge[0]))];
        va_put16(p, v);
        va_desc_add(in, "vt@%u=%u", pos->at, v);
    } else {
        uint32_t v = va_edge32(run, pos->kind, sl_fb_u32(p), in->len, pos->at);
        va_put32(p, v);
        va_desc_add(in, "%s@%u=%" PRIu32,
                    pos->kind == VA_LENGTH ? "len" : pos->kind == VA_SOFFSET ? "soff" : "off",
                    pos->at, v);
    }
    return true;
}

/* Truncates or extends; in a prefixed group, half the time fixes the prefix
 * so that what follows it is judged and not just the prefix. */
static void va_mutate_length(struct va_run *run, struct va_input *in, size_t cap, bool prefixed)
{
    if (in->len && va_below(run, 2)) {
        in->len = va_below(run, (uint32_t)in->len);
        va_desc_add(in, "trunc->%zu", in->len);
    } else {
        size_t n = 1 + va_below(run, VA_EXTEND_MAX);
        if (n > cap - in->len)
            n = cap - in->len;
        bool zero = va_below(run, 2);
        for (size_t i = 0; i < n; i++)
            in->bytes[in->len + i] = zero ? 0 : (uint8_t)va_rand(run);
        in->len += n;
        va_desc_add(in, "ext+%zu%s", n, zero ? "(0)" : "");
    }
    if (prefixed && in->len >= 4 && va_below(run, 2)) {
        va_put32(in->bytes, (uint32_t)(in->len - 4));
        va_desc_add(in, "prefix=%zu", in->len - 4);
    }
}

static void va_mutate_once(struct va_run *run, struct va_input *in, size_t cap,
                           const struct va_walk *w, bool prefixed)
{
    static const uint8_t special[] = {0x00, 0xff, 0x7f, 0x80};
    uint32_t op = in->len ? va_below(run, 9) : 2;
    if (op >= 5 && va_mutate_targeted(run, in, w, op == 5))
        return;
    if (op >= 5)
        op = 0;
    uint32_t at = va_below(run, (uint32_t)in->len);
    if (op == 0) {
        uint32_t bit = va_below(run, 8);
        in->bytes[at] ^= (uint8_t)(1u << bit);
        va_desc_add(in, "flip@%u.%u", at, bit);
    } else if (op == 1) {
        uint8_t v = special[va_below(run, 4)];
        in->bytes[at] = v;
        va_desc_add(in, "set@%u=%02x", at, v);
    } else if (op == 4 && in->len >= 8) {
        uint32_t a = 4 * va_below(run, (uint32_t)in->len / 4);
        uint32_t b = 4 * va_below(run, (uint32_t)in->len / 4);
        uint32_t t = sl_fb_u32(in->bytes + a);
        memmove(in->bytes + a, in->bytes + b, 4);
        va_put32(in->bytes + b, t);
        va_desc_add(in, "swap@%u,%u", a, b);
    } else {
        va_mutate_length(run, in, cap, prefixed);
    }
}

/* Makes one mutant of base (1 to 3 stacked mutations). */
static void va_make_mutant(struct va_run *run, struct va_input *in, const uint8_t *base,
                           size_t len, const struct va_walk *w, bool prefixed)
{
    size_t cap = len + VA_EXTEND_MAX;
    in->bytes = va_alloc(cap);
    memcpy(in->bytes, base, len);
    in->len = len;
    in->desc[0] = 0;
    uint32_t stacked = va_below(run, 4) == 0 ? 2 + va_below(run, 2) : 1;
    for (uint32_t i = 0; i < stacked; i++)
        va_mutate_once(run, in, cap, w, prefixed);
}

/* ---- judging ---- */

static enum va_verdict va_ours(struct va_run *run, const struct va_group *g, const uint8_t *buf,
                               size_t len, char *err, size_t err_len)
{
    int rc = sl_fb_verify(buf, len, g->prefixed, g->object, &run->opts, err, err_len);
    return rc == 0 ? VA_ACCEPT : VA_REJECT;
}

/* Runs fb_verify_ref over the files listed in list_path; n verdicts. */
static int va_ref_verdicts(struct va_run *run, const struct va_group *g, const char *list_path,
                           size_t n, uint8_t *verdicts)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' %s --root '%s' '%s/%s.bfbs' --list '%s'", run->ref,
             g->prefixed ? "--size-prefixed" : "", g->root_name, run->dir, g->bfbs, list_path);
    FILE *pipe = popen(cmd, "r");
    if (!pipe)
        return -errno;
    char line[32];
    size_t got = 0;
    while (got < n && fgets(line, sizeof(line), pipe))
        verdicts[got++] = strcmp(line, "accept\n") == 0 ? VA_ACCEPT : VA_REJECT;
    int status = pclose(pipe);
    if (got != n || status != 0) {
        fprintf(stderr, "FAIL: %s: %zu of %zu verdicts, status %d\n", cmd, got, n, status);
        return -EIO;
    }
    return 0;
}

/* The documented stricter case our error text names, or NULL. */
static struct va_stricter *va_stricter_case(struct va_run *run, const char *err)
{
    for (size_t i = 0; i < sizeof(run->stricter) / sizeof(run->stricter[0]); i++) {
        for (const char *const *needle = run->stricter[i].needles; *needle; needle++) {
            if (strstr(err, *needle))
                return &run->stricter[i];
        }
    }
    return NULL;
}

static void va_report_failure(struct va_run *run, const struct va_group *g, const char *part,
                              const struct va_input *in, size_t index, enum va_verdict ours,
                              enum va_verdict ref, const char *err)
{
    run->failures++;
    if (run->failures > VA_FAILURES_SHOWN)
        return;
    char path[256];
    mkdir("verify_agreement_failures", 0755);
    snprintf(path, sizeof(path), "verify_agreement_failures/%s-%s-%zu.bin", part, g->name, index);
    int rc = va_write_file(path, in->bytes, in->len);
    fprintf(stderr, "FAIL: %s %s #%zu (%zu bytes; %s): ours %s%s%s, flatbuffers::Verify %s; "
            "saved as %s%s\n", part, g->name, index, in->len, in->desc,
            ours == VA_ACCEPT ? "accept" : "reject", ours == VA_ACCEPT ? "" : ": ",
            ours == VA_ACCEPT ? "" : err, ref == VA_ACCEPT ? "accept" : "reject", path,
            rc ? " (could not write it)" : "");
}

/* Compares our verdicts with the reference's for n inputs. */
static void va_compare(struct va_run *run, const struct va_group *g, const char *part,
                       const struct va_input *inputs, size_t n, const uint8_t *ref)
{
    char err[256];
    for (size_t i = 0; i < n; i++) {
        enum va_verdict ours = va_ours(run, g, inputs[i].bytes, inputs[i].len, err, sizeof(err));
        run->judged++;
        if (ours == ref[i]) {
            *(ours == VA_ACCEPT ? &run->agree_accept : &run->agree_reject) += 1;
            continue;
        }
        struct va_stricter *why = ours == VA_REJECT ? va_stricter_case(run, err) : NULL;
        if (why)
            why->count++;
        else
            va_report_failure(run, g, part, &inputs[i], i, ours, (enum va_verdict)ref[i], err);
    }
}

/* Writes each input to DIR/GROUP/i.bin, lists them, judges them with both. */
static int va_judge_written(struct va_run *run, const struct va_group *g,
                            const struct va_input *inputs, size_t n, uint8_t *ref)
{
    char path[256], list_path[128];
    snprintf(path, sizeof(path), "%s/%s", run->dir, g->name);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    snprintf(list_path, sizeof(list_path), "%s/%s.list", run->dir, g->name);
    FILE *list = fopen(list_path, "w");
    if (!list)
        return -errno;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        snprintf(path, sizeof(path), "%s/%s/%zu.bin", run->dir, g->name, i);
        rc = va_write_file(path, inputs[i].bytes, inputs[i].len);
        fprintf(list, "%s\n", path);
    }
    if (fclose(list) != 0 && rc == 0)
        rc = -EIO;
    if (rc == 0)
        rc = va_ref_verdicts(run, g, list_path, n, ref);
    if (rc == 0)
        va_compare(run, g, "barrage", inputs, n, ref);
    return rc;
}

/* ---- the two parts ---- */

static void va_free_inputs(struct va_input *inputs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(inputs[i].bytes);
    free(inputs);
}

/* Encodes a JSON record into an 8-aligned copy; NULL (reported) on failure. */
static uint8_t *va_encode(struct va_run *run, const struct va_group *g, const char *json,
                          size_t *len)
{
    const uint8_t *out;
    char err[256];
    if (sl_fb_json_to_fb(&run->json, g->object, json, strlen(json), g->prefixed, &out, len, err,
                         sizeof(err)) < 0) {
        fprintf(stderr, "FAIL: %s: cannot encode %s: %s\n", g->name, json, err);
        return NULL;
    }
    uint8_t *copy = va_alloc(*len);
    memcpy(copy, out, *len);
    if (va_ours(run, g, copy, *len, err, sizeof(err)) != VA_ACCEPT) {
        fprintf(stderr, "FAIL: %s: our verifier rejects the encoding of %s: %s\n", g->name, json,
                err);
        free(copy);
        return NULL;
    }
    return copy;
}

/* Mutants of each record (the unmutated buffer first, which both must accept). */
static int va_barrage_group(struct va_run *run, const struct va_group *g,
                            const char *const *records, size_t record_count, size_t per_record)
{
    size_t n = record_count * per_record, k = 0;
    struct va_input *inputs = calloc(n, sizeof(*inputs));
    uint8_t *ref = calloc(n, 1);
    static struct va_walk walk;
    int rc = inputs && ref ? 0 : -ENOMEM;
    for (size_t r = 0; r < record_count && rc == 0; r++) {
        size_t len;
        uint8_t *base = va_encode(run, g, records[r], &len);
        if (!base) {
            rc = -EINVAL;
            break;
        }
        va_walk(&walk, base, g->prefixed, g->object);
        inputs[k] = (struct va_input){.bytes = va_alloc(len), .len = len};
        memcpy(inputs[k].bytes, base, len);
        snprintf(inputs[k++].desc, sizeof(inputs[0].desc), "unmutated record %zu", r);
        for (size_t i = 1; i < per_record; i++)
            va_make_mutant(run, &inputs[k++], base, len, &walk, g->prefixed);
        free(base);
    }
    if (rc == 0)
        rc = va_judge_written(run, g, inputs, n, ref);
    for (size_t r = 0; r < record_count && rc == 0; r++) {
        if (ref[r * per_record] != VA_ACCEPT) {
            fprintf(stderr, "FAIL: %s: flatbuffers::Verify rejects unmutated record %zu\n",
                    g->name, r);
            run->failures++;
        }
    }
    va_free_inputs(inputs, k);
    free(ref);
    return rc;
}

/* Reads the regular files of dir (sorted by readdir order); *n of them. */
static struct va_input *va_corpus_read(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d)
        return NULL;
    struct va_input *inputs = calloc(VA_CORPUS_MAX, sizeof(*inputs));
    struct dirent *e;
    while (inputs && *n < VA_CORPUS_MAX && (e = readdir(d))) {
        char path[sizeof(inputs[0].desc)];
        struct stat st;
        if (e->d_name[0] == '.' ||
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
            stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (va_read_file(path, &inputs[*n].bytes, &inputs[*n].len) < 0) {
            free(inputs[*n].bytes);
            continue;
        }
        memcpy(inputs[(*n)++].desc, path, sizeof(path));
    }
    closedir(d);
    return inputs;
}

/* Judges every corpus file in every group (the corpus files are read in place). */
static int va_corpus(struct va_run *run, const struct va_group *groups, size_t group_count,
                     const char *dir)
{
    size_t n;
    struct va_input *inputs = va_corpus_read(dir, &n);
    if (n == 0) {
        printf("corpus %s: missing or empty, skipped\n", dir);
        va_free_inputs(inputs, 0);
        return 0;
    }
    char list_path[128];
    snprintf(list_path, sizeof(list_path), "%s/corpus.list", run->dir);
    FILE *list = fopen(list_path, "w");
    for (size_t i = 0; list && i < n; i++)
        fprintf(list, "%s\n", inputs[i].desc);
    int rc = list && fclose(list) == 0 ? 0 : -EIO;
    uint8_t *ref = malloc(n);
    for (size_t g = 0; g < group_count && rc == 0; g++) {
        rc = va_ref_verdicts(run, &groups[g], list_path, n, ref);
        if (rc == 0)
            va_compare(run, &groups[g], "corpus", inputs, n, ref);
    }
    printf("corpus %s: %zu files judged in %zu configurations\n", dir, n, group_count);
    free(ref);
    va_free_inputs(inputs, n);
    return rc;
}

/* ---- main ---- */

static int va_setup(struct va_run *run, struct va_group *groups, size_t group_count)
{
    char err[256], path[128];
    if (sl_fb_schemas_init(&run->schemas, err, sizeof(err)) < 0 ||
        sl_fb_schemas_add_embedded(&run->schemas, err, sizeof(err)) < 0) {
        fprintf(stderr, "FAIL: schemas: %s\n", err);
        return -EINVAL;
    }
    sl_fb_json_init(&run->json, &run->schemas);
    run->opts = (struct sl_fb_verify_opts){.depth_max = SL_FB_DEPTH_MAX,
                                           .tables_max = SL_FB_TABLES_MAX,
                                           .check_nested = false,
                                           .schemas = &run->schemas};
    for (size_t g = 0; g < group_count; g++) {
        groups[g].object = sl_fb_schemas_find_object(&run->schemas, groups[g].root_name);
        if (!groups[g].object) {
            fprintf(stderr, "FAIL: no table %s\n", groups[g].root_name);
            return -EINVAL;
        }
    }
    strcpy(run->dir, "/tmp/sl_verify_agreement.XXXXXX");
    if (!mkdtemp(run->dir))
        return -errno;
    for (unsigned i = 0; i < sl_embedded_schemas_count; i++) {
        snprintf(path, sizeof(path), "%s/%s.bfbs", run->dir, sl_embedded_schemas[i].name);
        int rc = va_write_file(path, sl_embedded_schemas[i].bfbs, sl_embedded_schemas[i].size);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void va_print_summary(const struct va_run *run)
{
    printf("judged %" PRIu64 ": agree accept %" PRIu64 ", agree reject %" PRIu64
           ", failures %" PRIu64 "\n", run->judged, run->agree_accept, run->agree_reject,
           run->failures);
    for (size_t i = 0; i < sizeof(run->stricter) / sizeof(run->stricter[0]); i++)
        printf("  stricter by design (%s): %" PRIu64 "\n", run->stricter[i].name,
               run->stricter[i].count);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: verify_agreement_test FB_VERIFY_REF CORPUS_DIR\n");
        return 1;
    }
    if (!argv[1][0] || access(argv[1], X_OK) < 0 || strchr(argv[1], '\'')) {
        printf("SKIP: no usable fb_verify_ref (needs g++ and libflatbuffers-dev)\n");
        return 77;
    }
    static struct va_run run = {
        .stricter = {
            {"prefix", {"size prefix", NULL}, 0},
            {"required", {"required field missing", NULL}, 0},
            {"work", {"work limit", NULL}, 0},
            {"unchecked reads", {"offset out of bounds", "union type out of bounds",
                                 "union vector without", "bytes too small", NULL}, 0},
            {"nested", {"nested ", "payload without", "unknown event type", NULL}, 0},
        },
    };
    struct va_group groups[] = {
        {"order", "orders", "sluice.orders.OrderPlaced", false, NULL},
        {"event", "event", "sluice.Event", false, NULL},
        {"order-prefixed", "orders", "sluice.orders.OrderPlaced", true, NULL},
        {"event-prefixed", "event", "sluice.Event", true, NULL},
    };
    const size_t group_count = sizeof(groups) / sizeof(groups[0]);
    const char *seed = getenv("SL_SEED"), *mutants = getenv("SL_MUTANTS");
    run.ref = argv[1];
    run.seed_state = seed ? strtoull(seed, NULL, 0) : 0x5eed;
    size_t total = mutants ? strtoull(mutants, NULL, 0) : 24000;
    const size_t records = sizeof(va_order_json) / sizeof(va_order_json[0]);
    _Static_assert(sizeof(va_order_json) == sizeof(va_event_json), "as many records per group");
    size_t per_record = total / (group_count * records) + 1;
    printf("seed %#" PRIx64 ", %zu mutants per record\n", run.seed_state, per_record - 1);
    int rc = va_setup(&run, groups, group_count);
    if (rc == 0)
        rc = va_corpus(&run, groups, group_count, argv[2]);
    for (size_t g = 0; g < group_count && rc == 0; g++) {
        bool is_order = groups[g].object != run.schemas.envelope;
        rc = va_barrage_group(&run, &groups[g], is_order ? va_order_json : va_event_json,
                              records, per_record);
    }
    va_print_summary(&run);
    if (rc == 0 && (run.agree_accept == 0 || run.agree_reject == 0)) {
        fprintf(stderr, "FAIL: the barrage did not produce both accepts and rejects\n");
        rc = -EINVAL;
    }
    if (run.dir[0])
        nftw(run.dir, va_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    sl_fb_json_fini(&run.json);
    sl_fb_schemas_fini(&run.schemas);
    return rc == 0 && run.failures == 0 ? 0 : 1;
}
