#!/usr/bin/env python3
"""kafka_source_scale_test.py - scale-out: two `sluice run` processes of one
job (same consumer group, range assignment) over a 4-partition topic while
kcat produces N JSON events at a steady rate.

  * both processes get partitions and write events (the group shares them);
  * one is killed with SIGKILL mid-stream; once the group notices (session
    timeout 6 s) the survivor takes its partitions over from their committed
    offsets;
  * every input event comes out (union of both outputs), and the survivor
    exits 0 on SIGINT.

usage: kafka_source_scale_test.py SLUICE [N]   (exit 0 pass, 1 fail, 77 skip)
"""
import os
import shutil
import signal
import sys
import tempfile
import threading

from kafka_source_util import (Broker, PacedProducer, ids, order_events, start_job, stop_job,
                               wait_for, write_job)

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + what, file=sys.stderr)
    return cond


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    sluice = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 30000
    if not shutil.which("kcat"):
        print("SKIP: kcat is needed", file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="sluice-ksrc-scale-")
    broker = Broker(sluice, tmp, ["in:4"])
    try:
        kafka = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}
        outs = [os.path.join(tmp, "out%d.jsonl" % i) for i in (1, 2)]
        jobs = [os.path.join(tmp, "job%d.yaml" % i) for i in (1, 2)]
        for job, out in zip(jobs, outs):
            write_job(job, broker.bootstrap, "gs", out,
                      extra_source=", commit_interval: 200ms", kafka=kafka)
        procs = [start_job(sluice, jobs[i], os.path.join(tmp, "run%d.log" % (i + 1)))
                 for i in (0, 1)]
        # both members in the group before the input starts
        both = wait_for(lambda: all("assigned" in open(os.path.join(tmp, "run%d.log" % i)).read()
                                    for i in (1, 2)), 20)
        check(both, "both processes got an assignment")
        producer = PacedProducer(broker.bootstrap, "in")
        feeder = threading.Thread(target=producer.run, args=(events := order_events(count),
                                                             count // 10))
        feeder.start()
        shared = wait_for(lambda: len(ids(outs[0])) > 0 and len(ids(outs[1])) > 0, 20)
        check(shared, "both processes write events")
        wait_for(lambda: len(ids(outs[0])) + len(ids(outs[1])) >= count // 3, 20)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        before = len(ids(outs[0]))
        feeder.join(timeout=60)
        wanted = set("e%d" % i for i in range(len(events)))
        done = wait_for(lambda: wanted <= set(ids(outs[0])) | set(ids(outs[1])), 45)
        rc = stop_job(procs[1])
        first, second = ids(outs[0]), ids(outs[1])
        missing = wanted - set(first) - set(second)
        print("process 1: %d events before SIGKILL; process 2: %d events; %d duplicates; "
              "%d missing" % (before, len(second), len(set(first) & set(second)),
                              len(missing)))
        check(done and not missing, "every event comes out (%d missing)" % len(missing))
        check(rc == 0, "the survivor exits 0 after SIGINT (got %s)" % rc)
        with open(os.path.join(tmp, "run2.log")) as f:
            log = f.read()
        check("assigned 4 partitions" in log, "the survivor took over all 4 partitions")
    finally:
        broker.stop()
    if failures:
        print("%d checks failed; files in %s" % (failures, tmp), file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
