#!/usr/bin/env python3
"""kafka_sink_memory_test.py - the kafka sink's memory stays within its
bound while its broker is down and its source keeps offering events, and
every event is delivered once the broker is back (non-sanitizer builds
only: RSS differs under ASan, exit 77).

A job with small batches (`runtime: {batches: 8, batch_events: 256,
batch_bytes: 256KiB}`) generates N events (~400 bytes) at R events/s into
a kafka sink (idempotent, acks=all, `unconfirmed_bytes: 4MiB`) on a
`sluice broker` of one broker with a topic of 48 partitions. Half a second
in, the broker is set down for STALL_S seconds (its control channel):
nothing is delivered, the sink's unconfirmed messages reach their bound
(their values, keys, headers, 256 bytes each) or the sink holds all the
worker's batches (raw values are produced from them), the sink stops taking
batches, the worker and the generator wait. The generator offers
R x STALL_S events meanwhile, at least twice the bound above baseline.
Then the broker comes back up. Asserted: the job ends by itself (exit 0);
the topic, from offset 0, holds every one of the N events (their ids,
from `sluice gen` with the same seed, found in the values kcat reads) and
at most the unconfirmed messages (their bound plus one batch, over 256
bytes each) more: the mock
(librdkafka 2.0.2) checks sequence numbers only for transactional
producers (rd_kafka_mock_validate_records), so a batch it appended just
before going down is appended again when the idempotent producer retries
it, which a real broker would drop; and the peak RSS (VmHWM sampled
while it runs, wait4's ru_maxrss at exit) stays under the bound of
docs/memory.md,
    baseline + batches + values + messages + SLACK
where baseline is the peak RSS of the same job idling (1 event/s);
batches is what the job prints ("batches hold at most"); values the
unconfirmed messages' values (their bound plus one batch, batch_bytes);
messages librdkafka's per-message state for them (as many messages as
that over 256 bytes, 512 bytes each); SLACK = 8 MiB for allocator
metadata and thread stacks.

usage: kafka_sink_memory_test.py SLUICE   (exit 0 pass, 1 fail, 77 skip)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from kafka_source_util import Broker, Checks, start_job, stop_job
from memory_util import (PeakRss, batch_bound, check_bound, exit_code, sluice_to_test,
                         topic_offsets)

EVENTS = 320000
RATE = 80000  # events/s the generator offers
PARTITIONS = 48
STALL_S = 4
BATCH_BYTES = 256 << 10
UNCONFIRMED = 4 << 20  # the sink's unconfirmed_bytes
VALUES = UNCONFIRMED + BATCH_BYTES
UNCONFIRMED_MESSAGES = VALUES // 256  # each counts 256 bytes besides its value and key
MESSAGES = UNCONFIRMED_MESSAGES * 512
SLACK = 8 << 20
EVENT_BYTES = 400  # about, for the offered load

check = Checks()


SEED = 11  # the measured job's; the baseline's is another, so its events differ


def job_text(bootstrap, count, rate, seed=SEED):
    return ("job: sink-memory\nschemas: [orders]\n"
            "runtime: {batches: 8, batch_events: 256, batch_bytes: 256KiB}\n"
            "sources:\n  g: {type: gen, count: %d, rate: %d, seed: %d}\n"
            "sinks:\n  k: {type: kafka, input: g, brokers: \"%s\", topic: mem, "
            "unconfirmed_bytes: %d}\n" % (count, rate, seed, bootstrap, UNCONFIRMED))


def missing_ids(sluice, bootstrap, tmp):
    """How many of the job's events (their ids, from `sluice gen` with the
    job's seed) are in no value of the topic (kcat reads it whole)."""
    gen = subprocess.run([sluice, "gen", "--count", str(EVENTS), "--seed", str(SEED),
                          "--framing", "jsonl"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, check=True)
    want = {json.loads(line)["id"].encode() for line in gen.stdout.splitlines()}
    dump = os.path.join(tmp, "mem.values")
    with open(dump, "wb") as f:
        subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", "mem", "-o", "beginning", "-e",
                        "-q", "-X", "fetch.wait.max.ms=10", "-f", "%s"], stdout=f, check=True,
                       timeout=120)
    with open(dump, "rb") as f:
        seen = set(re.findall(rb"01[0-9A-HJKMNP-TV-Z]{24}", f.read()))  # ULIDs
    os.unlink(dump)
    return len(want - seen)


def baseline_peak(sluice, tmp, bootstrap):
    """Peak RSS of the job producing 1 event/s for 2 s."""
    job = os.path.join(tmp, "idle.yaml")
    with open(job, "w") as f:
        f.write(job_text(bootstrap, 1000, 1, SEED + 1))
    proc = start_job(sluice, job, os.path.join(tmp, "idle.log"))
    rss = PeakRss(proc)
    time.sleep(2)
    stop_job(proc)
    rss.reap(10)
    return rss.peak()


def main():
    sluice, code = sluice_to_test(sys.argv, __doc__)
    if not sluice:
        return code
    tmp = tempfile.mkdtemp(prefix="sluice-kskmem-")
    broker = Broker(sluice, tmp, ["mem:%d" % PARTITIONS], control=True)
    try:
        baseline = baseline_peak(sluice, tmp, broker.bootstrap)
        idle = sum(topic_offsets(broker.bootstrap, "mem", PARTITIONS, -1))
        job = os.path.join(tmp, "memory.yaml")
        with open(job, "w") as f:
            f.write(job_text(broker.bootstrap, EVENTS, RATE))
        log = os.path.join(tmp, "memory.log")
        proc = start_job(sluice, job, log)
        rss = PeakRss(proc)
        time.sleep(0.5)
        check(broker.command("broker 1 down").startswith("ok"), "broker 1 set down")
        time.sleep(STALL_S)
        check(proc.poll() is None, "job still running while its broker is down")
        stalled_peak = rss.peak()
        check(broker.command("broker 1 up").startswith("ok"), "broker 1 set up")
        rc = rss.reap(60)
        text = open(log).read()
        check(rc == 0, "job exits 0 once every event is delivered (got %s)" % rc)
        check("_ALL_BROKERS_DOWN" in text, "the producer saw its broker down")
        check("runtime: 8 batches per pool, 256 events / 256 KiB each" in text,
              "the job runs with the runtime: settings it was given")
        ends = topic_offsets(broker.bootstrap, "mem", PARTITIONS, -1)
        begins = topic_offsets(broker.bootstrap, "mem", PARTITIONS, -2)
        held = sum(ends) - idle
        missing = missing_ids(sluice, broker.bootstrap, tmp)
        print("topic: %d messages for %d events (%d retried by the mock's lack of "
              "deduplication), %d events missing" % (held, EVENTS, held - EVENTS, missing))
        check(not any(begins) and missing == 0 and
              EVENTS <= held <= EVENTS + UNCONFIRMED_MESSAGES,
              "the topic holds all %d events from offset 0, with at most %d appended twice "
              "(holds %d, %d missing, starts %s)"
              % (EVENTS, UNCONFIRMED_MESSAGES, held, missing, begins))
        batches = batch_bound(text)
        check(batches is not None, "job prints its batch memory")
        bound = baseline + (batches or 0) + VALUES + MESSAGES + SLACK
        check_bound(check, "kafka sink memory", rss.peak(), stalled_peak, bound, baseline,
                    RATE * STALL_S * EVENT_BYTES, "offered while the broker was down")
        if check.failures:
            print(text[-3000:], file=sys.stderr)
    finally:
        broker.stop()
    return exit_code(check, tmp)


if __name__ == "__main__":
    sys.exit(main())
