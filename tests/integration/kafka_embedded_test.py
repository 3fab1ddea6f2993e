#!/usr/bin/env python3
"""kafka_embedded_test.py - `brokers: embedded`: one job whose kafka sink and
kafka source share the in-process development cluster, and kcat (a client
sluice did not write) reaching that cluster while the job runs.

  * gen (N events) -> kafka sink (embedded, topic e_out); kafka source
    (embedded, the same topic, no count: it runs until stopped) -> file
    sink: exactly the generated ids come out, each once;
  * the job logs the cluster's address ("embedded Kafka cluster on
    127.0.0.1:PORT"), and kcat -C against it reads the N messages, keyed
    as the generator keyed the events;
  * SIGINT drains the job: exit 0.

usage: kafka_embedded_test.py SLUICE [N]   (exit 0 pass, 1 fail, 77 skip)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from kafka_source_util import Checks, ids, start_job, stop_job, usage_or_skip, wait_for

SEED = 77


def main():
    rc = usage_or_skip(__doc__)
    if rc is not None:
        return rc
    sluice = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="kafka_embedded_test.")
    out, log = os.path.join(tmp, "out.jsonl"), os.path.join(tmp, "job.log")
    job = os.path.join(tmp, "embedded.yaml")
    with open(job, "w") as f:
        f.write(f"""job: embedded
schemas: [orders]
sources:
  g: {{type: gen, seed: {SEED}, count: {count}}}
  k: {{type: kafka, brokers: embedded, topics: [e_out], group: embedded-test}}
sinks:
  to_kafka: {{type: kafka, input: g, brokers: embedded, topic: e_out}}
  out: {{type: file, input: k, path: "{out}", format: jsonl}}
""")
    gen = subprocess.run([sluice, "gen", "--framing", "jsonl", "--seed", str(SEED), "--count",
                          str(count), "--out", "-"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, check=True, timeout=60).stdout
    events = [json.loads(line) for line in gen.splitlines() if line.strip()]
    proc = start_job(sluice, job, log)
    try:
        done = wait_for(lambda: len(ids(out)) >= count, 60)
        with open(log, errors="replace") as f:
            m = re.search(r"embedded Kafka cluster on (\S+)", f.read())
        check(m is not None, "the job logs the embedded cluster's address")
        check(done, "%d of %d events out within 60 s" % (len(ids(out)), count))
        if m:
            r = subprocess.run(["kcat", "-C", "-q", "-b", m.group(1), "-t", "e_out", "-e",
                                "-f", "%k\n"], capture_output=True, text=True, timeout=60)
            keys = r.stdout.splitlines()
            check(r.returncode == 0 and sorted(keys) == sorted(e["key"] for e in events),
                  "kcat -C on %s while the job runs: exit %d, %d messages, keys as generated"
                  % (m.group(1), r.returncode, len(keys)))
    finally:
        rc = stop_job(proc)
    check(rc == 0, "SIGINT: exit %s" % rc)
    got = ids(out)
    check(sorted(got) == sorted(e["id"] for e in events),
          "output: %d events, %d distinct; wanted the %d generated ids once each"
          % (len(got), len(set(got)), count))
    if check.failures:
        with open(log, errors="replace") as f:
            print(f.read()[-3000:], file=sys.stderr)
        return 1
    print("embedded cluster: %d events through kafka sink and source in one job, read by kcat "
          "while it ran" % count)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
