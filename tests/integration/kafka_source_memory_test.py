#!/usr/bin/env python3
"""kafka_source_memory_test.py - the kafka source's memory stays within its
bound while its sink is stalled behind a backlog many times that bound, and
every event still comes out (non-sanitizer builds only: RSS differs under
ASan, exit 77).

A topic of 48 partitions is filled with N generated events (~400 bytes,
~99 MB, within the mock's ~5 MiB per partition; message sets of at most
64 KiB). A job with small batches (`runtime: {batches: 8, batch_events:
256, batch_bytes: 256KiB}`) reads it (kafka source, count N; librdkafka:
queued.max.messages.kbytes 4096, fetch.max.bytes 1 MiB,
max.partition.fetch.bytes 128 KiB) into a tcp sink whose peer accepts and
then reads nothing for 4 s: the sink blocks, the workers and the source
wait, the source stops taking messages and librdkafka stops fetching at its
prefetch bound. Then the peer reads everything. Asserted: the N events
arrive, each once; and the peak RSS (VmHWM sampled while it runs, and
wait4's ru_maxrss at its exit) stays under the bound of docs/memory.md,
    baseline + batches + 2 x kafka + records + SLACK
where baseline is the VmHWM of the same job idling on an empty topic;
batches what the job prints at start ("batches hold at most"); kafka =
prefetch (4 MiB) + two fetch responses per broker (one whose messages wait
behind the prefetch bound: a response stays until its last message is
consumed, one being received), each at most fetch.max.bytes plus one
message set; doubled because jemalloc keeps freed pages for reuse (up to
dirty_decay_ms, 10 s) and this is the memory that churns; records the
partitions' offset FIFOs (48 x 4096 x 24 bytes); SLACK = 8 MiB for the
tcp sink's encoding buffer, allocator metadata and thread stacks. The
backlog (the bytes of the N events, as the peer receives them) is checked
to be at least twice that bound above baseline, so a source that buffered
its input would fail.

usage: kafka_source_memory_test.py SLUICE   (exit 0 pass, 1 fail, 77 skip)
"""
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from kafka_source_util import Broker, Checks, start_job, stop_job, wait_for
from memory_util import (PeakRss, batch_bound, check_bound, exit_code, sluice_to_test,
                         topic_offsets, vm_hwm)

EVENTS = 240000
PARTITIONS = 48
FETCH_BYTES = 128 << 10
FETCH_MAX = 1 << 20
MSET_MAX = 64 << 10  # the fill job's kafka sink writes message sets up to this size
PREFETCH = 4 << 20
RECORDS = PARTITIONS * 4096 * 24
SLACK = 8 << 20
STALL_S = 4

check = Checks()


def job_text(bootstrap, group, port, count):
    return ("job: memory\nschemas: [orders]\n"
            "runtime: {batches: 8, batch_events: 256, batch_bytes: 256KiB}\n"
            "sources:\n  k: {type: kafka, brokers: \"%s\", topics: [mem], group: %s, count: %d,"
            " kafka: {max.partition.fetch.bytes: %d, fetch.max.bytes: %d,"
            " queued.max.messages.kbytes: %d}}\n"
            "sinks:\n  out: {type: tcp, input: k, connect: \"127.0.0.1:%d\", framing: fb}\n"
            % (bootstrap, group, count, FETCH_BYTES, FETCH_MAX, PREFETCH >> 10, port))


class StalledPeer:
    """A listener that accepts the sink's connection and reads nothing until
    drain() is called; then it counts the fb frames (and their distinct
    contents and bytes) until want have arrived."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # a small receive buffer, so the kernel cannot hold the backlog
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.conn = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.conn, _ = self.listener.accept()

    def drain(self, want, timeout):
        frames, total, digests, buf = 0, 0, set(), b""
        deadline = time.monotonic() + timeout
        if not wait_for(lambda: self.conn is not None, timeout):
            return 0, 0, 0
        self.conn.settimeout(1)
        while frames < want and time.monotonic() < deadline:
            try:
                chunk = self.conn.recv(1 << 20)
            except socket.timeout:
                continue
            if not chunk:
                break
            buf += chunk
            pos = 0
            while len(buf) - pos >= 4:
                size = int.from_bytes(buf[pos:pos + 4], "little")
                if len(buf) - pos - 4 < size:
                    break
                digests.add(hashlib.blake2b(buf[pos + 4:pos + 4 + size], digest_size=16).digest())
                frames += 1
                total += size
                pos += 4 + size
            buf = buf[pos:]
        return frames, len(digests), total


def fill_topic(sluice, tmp, bootstrap):
    job = os.path.join(tmp, "fill.yaml")
    with open(job, "w") as f:
        f.write("job: fill\nschemas: [orders]\nsources:\n  g: {type: gen, count: %d, seed: 7}\n"
                "sinks:\n  k: {type: kafka, input: g, brokers: \"%s\", topic: mem,"
                " batch_bytes: %d}\n"
                % (EVENTS, bootstrap, MSET_MAX))
    subprocess.run([sluice, "run", job], check=True, timeout=60, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    ends = topic_offsets(bootstrap, "mem", PARTITIONS, -1)
    begins = topic_offsets(bootstrap, "mem", PARTITIONS, -2)
    return sum(ends) == EVENTS and not any(begins), (ends, begins)


def baseline_hwm(sluice, tmp, bootstrap):
    """VmHWM of the job idling on the (still empty) topic after assignment."""
    peer = StalledPeer()
    job = os.path.join(tmp, "idle.yaml")
    with open(job, "w") as f:
        f.write(job_text(bootstrap, "idle", peer.port, EVENTS))
    log = os.path.join(tmp, "idle.log")
    proc = start_job(sluice, job, log)
    assigned = wait_for(lambda: "assigned" in open(log).read(), 30)
    time.sleep(1)
    hwm = vm_hwm(proc.pid)
    stop_job(proc)
    return hwm if assigned else None


def main():
    sluice, code = sluice_to_test(sys.argv, __doc__)
    if not sluice:
        return code
    tmp = tempfile.mkdtemp(prefix="sluice-kmem-")
    broker = Broker(sluice, tmp, ["mem:%d" % PARTITIONS])
    try:
        baseline = baseline_hwm(sluice, tmp, broker.bootstrap)
        check(baseline is not None, "idle job got its assignment")
        filled, ends = fill_topic(sluice, tmp, broker.bootstrap)
        check(filled, "topic holds all %d events from offset 0 (ends %s)" % (EVENTS, ends))
        if baseline is None or not filled:
            return 1
        peer = StalledPeer()
        job = os.path.join(tmp, "memory.yaml")
        with open(job, "w") as f:
            f.write(job_text(broker.bootstrap, "mem", peer.port, EVENTS))
        log = os.path.join(tmp, "memory.log")
        proc = start_job(sluice, job, log)
        rss = PeakRss(proc)
        check(wait_for(lambda: "assigned" in open(log).read(), 30), "job got its assignment")
        time.sleep(STALL_S)
        check(proc.poll() is None, "job still running while its sink is stalled")
        stalled_peak = rss.peak()
        frames, distinct, backlog = peer.drain(EVENTS, 60)
        rc = rss.reap(30)
        text = open(log).read()
        check("runtime: 8 batches per pool, 256 events / 256 KiB each" in text,
              "the job runs with the runtime: settings it was given")
        batches = batch_bound(text)
        check(batches is not None, "job prints its batch memory")
        batches = batches or 0
        kafka = PREFETCH + 2 * (FETCH_MAX + MSET_MAX)
        bound = baseline + batches + 2 * kafka + RECORDS + SLACK
        peak = rss.peak()
        check(rc == 0, "job exits 0 after count events (got %s)" % rc)
        check(frames == EVENTS and distinct == EVENTS,
              "all %d events out, each once (got %d frames, %d distinct)"
              % (EVENTS, frames, distinct))
        check_bound(check, "kafka source memory", peak, stalled_peak, bound, baseline, backlog,
                    "backlog")
        if check.failures:
            print(text[-3000:], file=sys.stderr)
    finally:
        broker.stop()
    return exit_code(check, tmp)


if __name__ == "__main__":
    sys.exit(main())
