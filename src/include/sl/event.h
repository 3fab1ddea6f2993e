/* sl/event.h - an event as operators see it: a verified, size-prefixed
 * sluice.Event FlatBuffer in memory that the worker owns for the duration
 * of a process() call, with the envelope and payload tables located once.
 *
 * Alignment: buf sits on an 8-byte address and the buffer's alignment is
 * relative to buf (the size prefix); the payload table is read in place. */
#ifndef SL_EVENT_H
#define SL_EVENT_H

#include <stdint.h>

struct sl_fb_object;

struct sl_event {
    const uint8_t *buf;       /* size prefix, then the buffer */
    uint32_t len;             /* bytes at buf, prefix included */
    uint32_t source_id;       /* which source it came from */
    uint64_t position;        /* where in that source (offset, sequence) */
    const uint8_t *envelope;  /* the sluice.Event root table */
    const uint8_t *payload;   /* the payload's root table, or NULL (empty / no payload) */
    const struct sl_fb_object *payload_object; /* the payload's table, or NULL */
};

#endif
