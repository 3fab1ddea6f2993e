/* framing.c - fb <-> raw framing conversions that keep alignment; see fb.h. */
#include "fb/fb.h"

size_t sl_fb_prefixed_to_raw(uint8_t *dst, const uint8_t *src, size_t len)
{
    uint32_t root = sl_fb_u32(src + 4) + 4; /* the body stays at the same offset */
    memcpy(dst, &root, 4);
    memset(dst + 4, 0, 4);
    if (dst != src)
        memcpy(dst + 8, src + 8, len - 8);
    return len;
}

size_t sl_fb_raw_to_prefixed(uint8_t *dst, const uint8_t *src, size_t len)
{
    uint32_t size = (uint32_t)len + 4;
    uint32_t root = sl_fb_u32(src) + 4; /* src moves 8 bytes on, the root slot 4 */
    memcpy(dst, &size, 4);
    memcpy(dst + 4, &root, 4);
    memcpy(dst + 8, src, len);
    return len + 8;
}
