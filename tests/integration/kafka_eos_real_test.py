#!/usr/bin/env python3
"""kafka_eos_real_test.py - exactly_once: true across a SIGKILL, against a
real Kafka cluster (SLUICE_TEST_KAFKA=host:port; skipped without it, since
librdkafka's mock cluster writes no transaction markers and discards
transactional offset commits). `deploy/kafka/test-cluster up` starts one.

kcat produces N JSON order events at a steady rate into a fresh topic
(auto-created); a job (kafka source -> filter -> kafka sink, exactly_once,
commit_interval 200ms, transactional_id fixed) consumes it; once about a
third of the output is committed the job is killed with SIGKILL and
started again with the same group and transactional id. Its init fences
the dead one and aborts its open transaction. When the producer is done
and the output is complete the job is stopped with SIGINT.

  * under read_committed (kcat -X isolation.level=read_committed) the
    output holds every filtered event exactly once: no duplicate, no gap;
  * read_uncommitted shows what the kill left in aborted transactions
    (printed; read_committed must hide it);
  * the group's committed offsets cover the whole input (kcat -o stored
    reads nothing more).

usage: kafka_eos_real_test.py SLUICE [N]   (exit 0 pass, 1 fail, 77 skip)
"""
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from kafka_source_util import (Checks, PacedProducer, order_events, produce_lines, start_job,
                               stop_job)

check = Checks()


def read_ids(bootstrap, topic, isolation):
    out = subprocess.run(["kcat", "-C", "-q", "-b", bootstrap, "-t", topic, "-e",
                          "-X", "isolation.level=" + isolation, "-f", "%s\\n"],
                         stdout=subprocess.PIPE, text=True, timeout=120).stdout
    return [json.loads(line)["id"] for line in out.splitlines() if line.startswith("{")]


def write_job(path, bootstrap, stamp):
    with open(path, "w") as f:
        f.write("job: eos-real\nschemas: [orders]\nexactly_once: true\nsources:\n"
                "  kin: {type: kafka, brokers: \"%s\", topics: [eos-in-%s], group: eos-%s,"
                " format: json, commit_interval: 200ms, kafka: {session.timeout.ms: \"6000\"}}\n"
                "operators:\n  keep: {type: filter, input: kin, where: \"payload.amount < 900\"}\n"
                "sinks:\n  kout: {type: kafka, input: keep, brokers: \"%s\", topic: eos-out-%s,"
                " format: json, transactional_id: eos-%s}\n"
                % (bootstrap, stamp, stamp, bootstrap, stamp, stamp))


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    bootstrap = os.environ.get("SLUICE_TEST_KAFKA")
    if not bootstrap:
        print("SLUICE_TEST_KAFKA is not set (deploy/kafka/test-cluster up): skipped")
        return 77
    if not shutil.which("kcat"):
        print("kcat not installed: skipped")
        return 77
    sluice = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    stamp = "%d-%d" % (os.getpid(), int(time.time()))
    tmp = tempfile.mkdtemp(prefix="sluice-eos-real-")
    events = order_events(n, "r")
    expected = sorted(json.loads(e)["id"] for e in events
                      if json.loads(e)["payload"]["amount"] < 900)
    head = n // 10
    produce_lines(bootstrap, "eos-in-" + stamp, events[:head])  # creates the topic
    job = os.path.join(tmp, "job.yaml")
    write_job(job, bootstrap, stamp)
    producer = threading.Thread(
        target=lambda: PacedProducer(bootstrap, "eos-in-" + stamp).run(events[head:], 2000))
    first = start_job(sluice, job, os.path.join(tmp, "first.log"))
    producer.start()
    out_topic = "eos-out-" + stamp
    deadline = time.monotonic() + 120
    while len(read_ids(bootstrap, out_topic, "read_committed")) < len(expected) // 3:
        if time.monotonic() > deadline or first.poll() is not None:
            break
        time.sleep(0.5)
    committed_at_kill = len(read_ids(bootstrap, out_topic, "read_committed"))
    first.send_signal(signal.SIGKILL)
    first.wait()
    print("killed the first run with %d events committed" % committed_at_kill)
    check(0 < committed_at_kill < len(expected), "the kill came mid-stream")
    second = start_job(sluice, job, os.path.join(tmp, "second.log"))
    producer.join()
    deadline = time.monotonic() + 180
    while len(read_ids(bootstrap, out_topic, "read_committed")) < len(expected):
        if time.monotonic() > deadline or second.poll() is not None:
            break
        time.sleep(1)
    check(stop_job(second, timeout=60) == 0, "the second run stops with exit 0")
    got = read_ids(bootstrap, out_topic, "read_committed")
    everything = read_ids(bootstrap, out_topic, "read_uncommitted")
    dups = sum(c - 1 for c in collections.Counter(got).values())
    print("read_committed: %d messages (%d distinct, %d duplicates); read_uncommitted: %d; "
          "expected %d" % (len(got), len(set(got)), dups, len(everything), len(expected)))
    check(dups == 0, "no duplicate under read_committed")
    check(sorted(got) == expected, "no gap: every filtered event, exactly once")
    left = subprocess.run(["kcat", "-C", "-q", "-b", bootstrap, "-t", "eos-in-" + stamp, "-o",
                           "stored", "-X", "group.id=eos-" + stamp, "-X",
                           "enable.auto.commit=false", "-e", "-f", "%o\\n"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120).stdout.split()
    check(not left, "the committed offsets cover the whole input (%d left)" % len(left))
    if check.failures:
        print("logs kept in " + tmp)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
