/* assert.h - SL_ASSERT (always on) for programmer errors; SL_DASSERT for hot
 * loops, compiled only into debug builds. Never assert on input. */
#ifndef SL_CORE_ASSERT_H
#define SL_CORE_ASSERT_H

#include <assert.h>

_Noreturn void sl_assert_fail(const char *expr, const char *file, int line);

#define SL_ASSERT(e) ((e) ? (void)0 : sl_assert_fail(#e, __FILE__, __LINE__))
#ifdef NDEBUG
#define SL_DASSERT(e) ((void)0)
#else
#define SL_DASSERT(e) SL_ASSERT(e)
#endif

#define SL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SL_LIKELY(x) __builtin_expect(!!(x), 1)
#define SL_CACHE_LINE 64

#endif
