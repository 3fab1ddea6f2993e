/* hash_test.c - murmur2 against the values Kafka's Java client computes
 * (org.apache.kafka.common.utils.Utils.murmur2), and the key group split. */
#include <string.h>

#include "core/hash.h"

static int test_failures;
#include "test.h"

int main(void)
{
    static const struct {
        const char *key;
        int32_t hash;
    } cases[] = {
        {"21", -973932308},
        {"foobar", -790332482},
        {"a-little-bit-long-string", -985981536},
        {"a-little-bit-longer-string", -1486304829},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
        {"abc", 479470107},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int32_t h = (int32_t)sl_murmur2(cases[i].key, strlen(cases[i].key));
        CHECK_MSG(h == cases[i].hash, "%s: %d, want %d", cases[i].key, h, cases[i].hash);
    }
    /* every key group has exactly one worker; workers own contiguous ranges */
    for (uint32_t workers = 1; workers <= 7; workers++) {
        uint32_t last = 0;
        for (uint32_t g = 0; g < 128; g++) {
            uint32_t w = sl_key_group_worker(g, 128, workers);
            CHECK(w < workers && w >= last);
            last = w;
        }
        CHECK(last == workers - 1);
    }
    CHECK(sl_key_group("abc", 3, 128) == (479470107u & 0x7fffffffu) % 128);
    return test_exit("hash_test");
}
