#!/usr/bin/env python3
"""ingest_overload_test.py - backpressure and the memory bound under
overload (non-sanitizer builds only: RSS differs under ASan, exit 77).

A deliberately slowed consumer (--consumer-delay-us per batch) takes about
30 k events/s; 8 clients offer ~100 k events (about 30 MB, many times the
memory bound) as fast as the socket lets them. The same clients against an
unslowed consumer show the offered load is at least 10x what the slow one
takes. Asserted: every event arrives once the consumer catches up; the io
thread paused (backpressure engaged); and the peak RSS (VmHWM of the
process) stays under
    baseline + memory_bound_bytes + SLACK
where baseline is the process's VmHWM measured after start-up before any
load, memory_bound_bytes is sl_ingest_memory_bound() of the configuration
(printed in the summary; formula in docs/ingestion.md) and SLACK = 2 MiB
covers allocator metadata and the threads' stacks touched under load.
"""
import sys
import time

from ingest_util import (Ingest, args, check, encode_frames, rng, run_threads,
                         send_random_chunks, under_sanitizer)

CLIENTS = 8
ROUNDS = 2000  # per client, of the example frames
SLACK = 2 << 20
CONFIG = ["--batches", "8", "--batch-events", "64", "--batch-bytes", "65536", "--ring", "4",
          "--bufs", "64", "--buf-bytes", "4096", "--max-connections", "16", "--max-frame", "4096"]


def run(sluice, frames, delay_us, extra=()):
    data = b"".join(frames) * ROUNDS
    total = CLIENTS * len(frames) * ROUNDS
    ingest = Ingest(sluice, CONFIG + ["--consumer-delay-us", str(delay_us),
                                      "--expect", str(total)] + list(extra))
    time.sleep(0.2)
    baseline = ingest.vm_hwm()
    start = time.time()

    def client(i):
        return lambda: send_random_chunks(ingest.connect(nodelay=False), data, rng(i), 65536)

    run_threads([client(i) for i in range(CLIENTS)])
    summary, err, errors = ingest.finish(timeout=120)
    elapsed = time.time() - start
    check(int(summary["events_consumed"]) == total,
          "consumed %s of %d" % (summary["events_consumed"], total))
    check(not errors, "errors: %s" % errors[:3])
    return summary, baseline, total / elapsed, len(data) * CLIENTS


def main():
    sluice, root = args()
    if under_sanitizer(sluice):
        print("skip: sanitizer build (RSS is not comparable)")
        sys.exit(77)
    frames = encode_frames(sluice, root)
    fast, _, fast_rate, _ = run(sluice, frames, 0)
    for extra in ([], ["--force-fallback"]):
        slow, baseline, slow_rate, offered = run(sluice, frames, 2000, extra)
        bound = int(slow["memory_bound_bytes"])
        peak = int(slow["peak_rss_bytes"])
        limit = baseline + bound + SLACK
        print("%s: offered %.0f ev/s (unslowed run) vs taken %.0f ev/s (%.1fx); %d MB offered; "
              "pauses %s; peak RSS %d KiB, baseline %d KiB, bound %d KiB, limit %d KiB"
              % (slow["path"], fast_rate, slow_rate, fast_rate / slow_rate, offered >> 20,
                 slow["pauses"], peak >> 10, baseline >> 10, bound >> 10, limit >> 10))
        check(fast_rate >= 10 * slow_rate, "offered load only %.1fx the slow consumer's rate"
              % (fast_rate / slow_rate))
        check(offered >= 10 * bound, "offered bytes do not exceed the memory bound enough")
        check(int(slow["pauses"]) > 0, "no backpressure pauses under overload")
        check(peak <= limit, "peak RSS %d > baseline %d + bound %d + slack %d"
              % (peak, baseline, bound, SLACK))
    print("ok")


if __name__ == "__main__":
    main()
