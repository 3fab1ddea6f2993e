#!/usr/bin/env python3
"""ingest_tcp_test.py - `sluice ingest --listen` over real loopback sockets:

  * 200 concurrent connections, each sending its frames in random-sized
    chunks (TCP_NODELAY), every event arrives;
  * every frame split at every byte boundary once: for each frame and each
    split point k, a client writes frame[:k], pauses, then frame[k:];
  * the receive path reported is multishot+bufring on this kernel, or with
    --fallback on the command line, the forced fallback path.

Usage: ingest_tcp_test.py SLUICE ROOT [--fallback]
"""
import sys
import time

from ingest_util import (Ingest, args, check, encode_frames, rng, run_threads,
                         send_random_chunks)

CONNECTIONS = 200
ROUNDS = 20          # times each connection sends the example frames
SPLIT_CLIENTS = 8    # connections sharing the split-at-every-byte work


def main():
    sluice, root = args()
    fallback = "--fallback" in sys.argv[3:]
    frames = encode_frames(sluice, root)
    stream = b"".join(frames) * ROUNDS
    splits = [(f, k) for f in frames for k in range(1, len(f))]
    total = CONNECTIONS * len(frames) * ROUNDS + len(splits)
    extra = ["--expect", str(total), "--consumers", "2"]
    if fallback:
        extra.append("--force-fallback")
    ingest = Ingest(sluice, extra)

    def bulk(i):
        def run():
            r = rng(i)
            with ingest.connect() as s:
                send_random_chunks(s, stream, r)
        return run

    def split(c):
        def run():
            with ingest.connect() as s:
                for f, k in splits[c::SPLIT_CLIENTS]:
                    s.sendall(f[:k])
                    time.sleep(0.002)
                    s.sendall(f[k:])
        return run

    run_threads([bulk(i) for i in range(CONNECTIONS)] + [split(c) for c in range(SPLIT_CLIENTS)])
    summary, err, errors = ingest.finish()
    path = "fallback" if fallback else "multishot+bufring"
    check(summary.get("path") == path, "path %s, expected %s" % (summary.get("path"), path))
    check(("tcp path: " + ("fallback" if fallback else "multishot")) in err,
          "the active path is not logged: %s" % err)
    check(int(summary["events_consumed"]) == total,
          "consumed %s of %d events" % (summary["events_consumed"], total))
    check(int(summary["events"]) == total, "ingested %s of %d" % (summary["events"], total))
    check(int(summary["errors"]) == 0, "unexpected errors: %s" % errors[:5])
    check(int(summary["misaligned"]) == 0, "events not 8-aligned")
    check(int(summary["connections"]) == CONNECTIONS + SPLIT_CLIENTS,
          "connections %s" % summary["connections"])
    print("ok: %d events over %d connections, %d split points, path %s"
          % (total, CONNECTIONS + SPLIT_CLIENTS, len(splits), path))


if __name__ == "__main__":
    main()
