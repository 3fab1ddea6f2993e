#!/usr/bin/env python3
"""kafka_source_kill_test.py - at-least-once across a SIGKILL: kcat produces
N JSON events into a 4-partition topic at a steady rate while a job (kafka
source -> filter -> file sink, commit_interval 200ms) consumes them; the job
is killed with SIGKILL mid-stream, then restarted with the same group into a
second file.

  * every input has its output (union of both files);
  * committed offsets advanced during the first run: after the kill, the
    messages at or after the group's committed offsets (kcat -o stored, an
    independent reader of the group's offsets) are fewer than N, and every
    partition has a committed offset past 0;
  * duplicates (ids in both files) are no more than those messages: the
    restart re-reads only what came after the last commit before the kill.

usage: kafka_source_kill_test.py SLUICE [N]   (exit 0 pass, 1 fail, 77 skip)
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from kafka_source_util import (Broker, PacedProducer, ids, order_events, start_job, stop_job,
                               wait_for, write_job)

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + what, file=sys.stderr)
    return cond


def end_offsets(bootstrap, partitions=4):
    """Per partition, the offset after its last message (kcat -Q, timestamp -1)."""
    args = ["kcat", "-Q", "-b", bootstrap]
    for p in range(partitions):
        args += ["-t", "in:%d:-1" % p]
    out = subprocess.run(args, stdout=subprocess.PIPE, text=True, timeout=60).stdout
    ends = {}
    for m in re.finditer(r"in \[(\d+)\]\s+offset (\d+)", out):
        ends[int(m.group(1))] = int(m.group(2))
    return ends


def stored_firsts(bootstrap, group):
    """{partition: first offset} kcat reads from the group's stored offsets."""
    out = subprocess.run(["kcat", "-C", "-q", "-b", bootstrap, "-t", "in", "-o", "stored",
                          "-X", "group.id=" + group, "-X", "auto.offset.reset=earliest",
                          "-X", "enable.auto.commit=false", "-e", "-f", "%p %o\\n"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=60).stdout
    first = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2:
            first.setdefault(int(fields[0]), int(fields[1]))
    return first


def committed_positions(bootstrap, group, partitions=4):
    """Per partition, the group's committed offset as an independent reader
    sees it: the first message kcat reads from the stored offset (the end
    offset when nothing is left); and the count of messages after them.
    kcat's stored-offset read (librdkafka 2.0.2's legacy consumer) now and
    then falls back to auto.offset.reset (offset 0) just after a member was
    killed, so a partition read at 0 is read again (up to 3 times, 1 s
    apart) and the highest offset seen counts: a committed offset only
    grows, and nothing but a commit makes a read start past 0."""
    ends = end_offsets(bootstrap, partitions)
    committed = {p: 0 for p in range(partitions)}
    for attempt in range(3):
        if attempt:
            print("stored offsets read again (a partition read at 0): attempt %d" % (attempt + 1))
        first = stored_firsts(bootstrap, group)
        for p in range(partitions):
            committed[p] = max(committed[p], first.get(p, ends.get(p, 0)))
        if all(committed[p] > 0 or ends.get(p, 0) == 0 for p in range(partitions)):
            break
        time.sleep(1)
    return committed, sum(ends.get(p, 0) - committed[p] for p in range(partitions))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    sluice = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 30000
    if not shutil.which("kcat"):
        print("SKIP: kcat is needed", file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="sluice-ksrc-kill-")
    broker = Broker(sluice, tmp, ["in:4"])
    try:
        kafka = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}
        out1, out2 = os.path.join(tmp, "out1.jsonl"), os.path.join(tmp, "out2.jsonl")
        job1, job2 = os.path.join(tmp, "job1.yaml"), os.path.join(tmp, "job2.yaml")
        extra = ", commit_interval: 200ms"
        write_job(job1, broker.bootstrap, "gk", out1, extra_source=extra, kafka=kafka)
        write_job(job2, broker.bootstrap, "gk", out2, extra_source=extra, kafka=kafka)
        events = order_events(count)
        log1 = os.path.join(tmp, "run1.log")
        proc = start_job(sluice, job1, log1)
        # produce once the job is assigned, so that it consumes while the producer goes on
        # (a backlog from the group join would be read in one burst, before any commit)
        check(wait_for(lambda: "assigned" in open(log1).read(), 30), "run 1 was assigned")
        producer = PacedProducer(broker.bootstrap, "in")
        feeder = threading.Thread(target=producer.run, args=(events, count // 6))
        feeder.start()
        # kill once a third has come out, while the producer is still going
        check(wait_for(lambda: len(ids(out1)) >= count // 3, 30), "run 1 made progress")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        feeder.join(timeout=60)
        first = ids(out1)
        positions, left = committed_positions(broker.bootstrap, "gk")
        print("run 1: %d events out before SIGKILL; %d messages at or after the committed "
              "offsets %s" % (len(first), left, sorted(positions.items())))
        check(left < count, "offsets were committed during run 1 (%d of %d left)"
              % (left, count))
        check(all(o > 0 for o in positions.values()),
              "every partition's committed offset advanced: %s" % positions)
        proc = start_job(sluice, job2, os.path.join(tmp, "run2.log"))
        wanted = set("e%d" % i for i in range(count))
        done = wait_for(lambda: wanted <= set(first) | set(ids(out2)), 45)
        rc = stop_job(proc)
        second = ids(out2)
        missing = wanted - set(first) - set(second)
        dups = len(set(first) & set(second))
        print("run 2: %d events out; %d duplicates across the restart; %d missing"
              % (len(second), dups, len(missing)))
        check(done and not missing, "every input has its output (%d missing, e.g. %s)"
              % (len(missing), sorted(missing)[:5]))
        check(rc == 0, "run 2 exits 0 after SIGINT (got %s)" % rc)
        check(dups <= left, "duplicates (%d) are no more than the messages after the last "
              "commit before the kill (%d)" % (dups, left))
        check(len(second) == len(set(second)), "run 2 itself writes each event once")
    finally:
        broker.stop()
    if failures:
        print("%d checks failed; files in %s" % (failures, tmp), file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
