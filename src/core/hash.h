/* hash.h - murmur2 as Kafka's Java client computes it for partitioning
 * (seed 0x9747b28c; partition = (hash & 0x7fffffff) % n), so that sluice's
 * key groups and Kafka's default partitioner agree on a key. O(len). */
#ifndef SL_CORE_HASH_H
#define SL_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t sl_murmur2(const void *key, size_t len)
{
    const uint8_t *data = key;
    const uint32_t m = 0x5bd1e995;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t blocks = len / 4;
    for (size_t i = 0; i < blocks; i++) {
        const uint8_t *p = data + 4 * i;
        uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    const uint8_t *tail = data + 4 * blocks;
    switch (len & 3) {
    case 3: h ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: h ^= (uint32_t)tail[1] << 8;  /* fall through */
    case 1:
        h ^= tail[0];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

/* Key group of a key, as Kafka picks a partition: positive hash mod n. */
static inline uint32_t sl_key_group(const void *key, size_t len, uint32_t key_groups)
{
    return (sl_murmur2(key, len) & 0x7fffffffu) % key_groups;
}

/* Worker of a key group: contiguous ranges, so state moves in ranges when
 * the worker count changes. */
static inline uint32_t sl_key_group_worker(uint32_t key_group, uint32_t key_groups,
                                           uint32_t workers)
{
    return (uint32_t)((uint64_t)key_group * workers / key_groups);
}

#endif
