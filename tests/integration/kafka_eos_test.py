#!/usr/bin/env python3
"""kafka_eos_test.py - exactly_once: true against `sluice broker`, as far as
librdkafka 2.0.2's mock cluster enforces it (docs/kafka.md, "Exactly-once"):
the mock writes no transaction markers (read_committed is not honoured) and
discards TxnOffsetCommit's offsets, so "no duplicate, no gap" is proven
only against a real cluster (kafka_eos_real_test.py). Here, with kcat as
the independent reader of the output topics:

  * flow: a job (kafka source -> filter -> kafka sink, commit_interval
    100ms, count N) consumes N JSON events that kcat produces at a steady
    rate; it commits more than one transaction, aborts none, exits 0, and the
    output topic holds exactly the filtered events, each once.
  * abort: mid-stream the broker fails the next AddPartitionsToTxn with
    TOPIC_AUTHORIZATION_FAILED (an error that requires an abort): the
    transaction is aborted, the source rewinds to its last commit and reads
    that input again; the run still ends after exactly N messages (the
    rewound ones are not counted twice), exit 0, and every event is in the
    output topic.
  * bounded: the flow again with the sink's in-flight bound small
    (`unconfirmed_bytes: 1MiB`, `linger: 1s`, transactions of 1 s, input
    at 40,000 events/s): writes wait for delivery
    reports (the sink's log counts them) and every event is still out once.
  * zombie: a running job's next EndTxn is answered PRODUCER_FENCED, what a
    broker answers a producer whose transactional.id a successor has
    initialised (the mock itself gives each InitProducerId a new producer
    id and fences nobody). The job stops at once with exit 1 and says it was
    fenced; its successor (same job, same group) then consumes the topic
    and every event is in the output.

usage: kafka_eos_test.py SLUICE   (exit 0 pass, 1 fail, 77 skip)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from kafka_source_util import (Broker, Checks, PacedProducer, order_events, start_job, stop_job,
                               wait_for)

check = Checks()


def write_job(path, bootstrap, name, extra="", sink_extra="", commit="100ms"):
    """kafka source NAME_in (group NAME) -> filter amount < 900 -> kafka sink NAME_out;
    extra and sink_extra: more settings of the source and of the sink; commit:
    the source's commit_interval."""
    with open(path, "w") as f:
        f.write("job: eos-%s\nschemas: [orders]\nexactly_once: true\nsources:\n"
                "  kin: {type: kafka, brokers: \"%s\", topics: [%s_in], group: %s, format: json,"
                " commit_interval: %s, kafka: {session.timeout.ms: \"6000\"}%s}\n"
                "operators:\n  keep: {type: filter, input: kin, where: \"payload.amount < 900\"}\n"
                "sinks:\n  kout: {type: kafka, input: keep, brokers: \"%s\", topic: %s_out,"
                " format: json%s}\n" % (name, bootstrap, name, name, commit, extra, bootstrap,
                                        name, sink_extra))


def read_topic(bootstrap, topic):
    """Every message's id, in partition order, as kcat reads the topic."""
    out = subprocess.run(["kcat", "-C", "-q", "-b", bootstrap, "-t", topic, "-e", "-f", "%s\\n"],
                         stdout=subprocess.PIPE, text=True, timeout=60, check=True).stdout
    return [json.loads(line)["id"] for line in out.splitlines() if line]


def log_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def run_job(sluice, tmp, broker, name, events, rate, fault=None, extra="", sink_extra="",
            commit="100ms"):
    """Runs the job NAME while kcat produces events at rate; fault, when
    given, is (delay s, control command): sent on its own thread that long
    after the partitions are assigned. Returns (exit code, log text, the
    command's answer or None)."""
    job, log = os.path.join(tmp, name + ".yaml"), os.path.join(tmp, name + ".log")
    write_job(job, broker.bootstrap, name, extra, sink_extra, commit)
    proc = start_job(sluice, job, log)
    if not check(wait_for(lambda: "assigned 4 partitions" in log_text(log), 30),
                 "%s: partitions assigned" % name):
        stop_job(proc)
        return None, log_text(log), None
    answers = []

    def inject():
        time.sleep(fault[0])
        answers.append(broker.command(fault[1]))

    side = threading.Thread(target=inject) if fault else None
    if side:
        side.start()
    PacedProducer(broker.bootstrap, name + "_in").run(events, rate)
    if side:
        side.join()
    try:
        rc = proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        rc = stop_job(proc)
    return rc, log_text(log), answers[0] if answers else None


def expected_ids(events):
    return {json.loads(e)["id"] for e in events if json.loads(e)["payload"]["amount"] < 900}


def count_from(log, pattern):
    """The integer group of regex pattern's first match in the log, or -1."""
    m = re.search(pattern, log)
    return int(m.group(1)) if m else -1


COMMITTED = r"(\d+) transactions committed"
ABORTED = r"transactions committed, (\d+) aborted"
CONSUMED = r"(\d+) messages consumed"


def flow(sluice, tmp, broker):
    events = order_events(6000, "f")
    rc, log, _ = run_job(sluice, tmp, broker, "flow", events, 3000, extra=", count: 6000")
    out = read_topic(broker.bootstrap, "flow_out")
    commits, aborts = count_from(log, COMMITTED), count_from(log, ABORTED)
    print("flow: exit %s, %d transactions committed, %d aborted, %d messages out"
          % (rc, commits, aborts, len(out)))
    check(rc == 0, "flow: exit 0, got %s:\n%s" % (rc, log))
    check(commits >= 2 and aborts == 0, "flow: more than one commit, no abort")
    check(sorted(out) == sorted(expected_ids(events)),
          "flow: output is exactly the filtered input, each once")


def bounded(sluice, tmp, broker):
    events = order_events(12000, "b")
    # transactions of up to a second, their messages held by the linger: a bound
    # of 1 MiB (~1,300 events counted) is reached at any rate over ~1,500 events/s
    rc, log, _ = run_job(sluice, tmp, broker, "bounded", events, 40000, extra=", count: 12000",
                         sink_extra=", unconfirmed_bytes: 1MiB, linger: 1s", commit="1s")
    out = read_topic(broker.bootstrap, "bounded_out")
    waits = count_from(log, r"(\d+) writes waited for unconfirmed_bytes")
    print("bounded: exit %s, %d writes waited, %d aborted, %d messages out"
          % (rc, waits, count_from(log, ABORTED), len(out)))
    check(rc == 0, "bounded: exit 0, got %s:\n%s" % (rc, log))
    check(waits > 0, "bounded: writes waited for the in-flight bound")
    check(count_from(log, ABORTED) == 0, "bounded: no transaction aborted")
    check(sorted(out) == sorted(expected_ids(events)),
          "bounded: output is exactly the filtered input, each once")


def abort(sluice, tmp, broker):
    events = order_events(4000, "a")
    rc, log, answer = run_job(sluice, tmp, broker, "abort", events, 2000, extra=", count: 4000",
                              fault=(0.8, "errors AddPartitionsToTxn 1 TOPIC_AUTHORIZATION_FAILED"))
    out = read_topic(broker.bootstrap, "abort_out")
    aborts = count_from(log, ABORTED)
    consumed = count_from(log, CONSUMED)
    print("abort: exit %s, %d aborted, %d consumed, %d messages out (%d distinct)"
          % (rc, aborts, consumed, len(out), len(set(out))))
    check(answer and answer.startswith("ok"), "abort: fault injected: %s" % answer)
    check(rc == 0, "abort: exit 0, got %s:\n%s" % (rc, log))
    check(aborts >= 1 and "input read again from the last commit" in log,
          "abort: a transaction was aborted and the source rewound")
    check(consumed == 4000, "abort: the run ends after exactly 4000 messages")
    check(set(out) == expected_ids(events), "abort: every event is in the output")


def zombie(sluice, tmp, broker):
    events = order_events(3000, "z")
    start = time.monotonic()
    rc, log, answer = run_job(sluice, tmp, broker, "zombie", events, 2000,
                              fault=(0.5, "errors EndTxn 1 PRODUCER_FENCED"))
    print("zombie: exit %s after %.1f s" % (rc, time.monotonic() - start))
    check(answer and answer.startswith("ok"), "zombie: fault injected: %s" % answer)
    check(rc == 1, "zombie: the fenced job exits 1, got %s:\n%s" % (rc, log))
    check("fenced" in log, "zombie: the job says it was fenced:\n%s" % log)
    # the successor: the same job and group, a batch run over what is there
    job, succ_log = os.path.join(tmp, "zombie.yaml"), os.path.join(tmp, "successor.log")
    write_job(job, broker.bootstrap, "zombie", ", until_end: true")
    proc = start_job(sluice, job, succ_log)
    try:
        rc = proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        rc = stop_job(proc)
    out = read_topic(broker.bootstrap, "zombie_out")
    print("zombie: successor exit %s, %d messages out (%d distinct)"
          % (rc, len(out), len(set(out))))
    check(rc == 0, "zombie: successor exit 0, got %s:\n%s" % (rc, log_text(succ_log)))
    check(set(out) == expected_ids(events), "zombie: every event is in the output")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    sluice = os.path.abspath(sys.argv[1])
    if not shutil.which("kcat"):
        print("kcat not installed: skipped")
        return 77
    tmp = tempfile.mkdtemp(prefix="sluice-eos-")
    broker = Broker(sluice, tmp, ["flow_in:4", "bounded_in:4", "abort_in:4", "zombie_in:4"],
                    control=True)
    try:
        flow(sluice, tmp, broker)
        bounded(sluice, tmp, broker)
        abort(sluice, tmp, broker)
        zombie(sluice, tmp, broker)
    finally:
        broker.stop()
    if check.failures:
        print("logs kept in " + tmp)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("kafka_eos: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
