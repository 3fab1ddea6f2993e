#!/usr/bin/env python3
"""kafka_source_test.py - the kafka source against `sluice broker`, with kcat
(a Kafka client sluice did not write) producing and flatc (a FlatBuffers
writer sluice did not write) making the raw values.

  * json: kcat produces 3000 JSON order events keyed by customer (kcat -K)
    plus 3 values that are no valid event; a job kafka source (format json)
    -> filter (amount >= 500) -> file sink: exactly the expected ids, each
    once, per-key order kept; the 3 bad values reach the source's errors
    port with their reason and offset; after the job's SIGINT drain every
    offset is committed (kcat -o stored with the job's group finds nothing
    left).
  * raw: envelopes made by `flatc -b` (one file each), produced with kcat's
    file mode (each file one message: binary-safe, no delimiter) and a fixed
    Kafka key and headers: envelopes without key/ts/headers get the Kafka
    key, timestamp (ms -> µs) and headers; envelopes that have them keep
    their own (an envelope header wins over a Kafka header of the same
    name); a value that is no FlatBuffer goes to the errors port. Read
    again with `headers: false`: key and ts are filled, no Kafka header is
    mapped.
  * oversize: with `runtime: {batch_bytes: 64KiB}` a value that fits no batch
    goes to the errors port naming batch_bytes; the others pass.
  * start: a new group with `start: latest` on a topic that already holds
    messages takes only the ones produced after its assignment; one with the
    default (earliest) takes them all.
  * fetch restarts: with queued.min.messages at 100 (librdkafka stops
    fetching whenever 100 messages wait), a batch run over the whole topic
    restarts its fetchers and still hands every valid event on exactly once.
  * failed sink: 6000 messages, batches of 16 events, a file sink writing
    to /dev/full: the run ends by itself with exit 1, having committed
    nothing it did not write: the same job with a good file sink, started
    again in the same group, reads every message.
  * settings: topics and pattern together, neither, a bad pattern (what
    librdkafka's regcomp() would reject at subscribe), a cooperative
    assignment forced through the kafka map, a misspelt kafka.*
    setting: `sluice validate` exits 2 naming the problem.

usage: kafka_source_test.py SLUICE SOURCE_ROOT   (exit 0 pass, 1 fail, 77 skip)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from kafka_source_util import (Broker, ids, order_events, produce_files, produce_lines,
                               read_output, start_job, stop_job, wait_for, write_job)

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + what, file=sys.stderr)
    return cond


def committed_left(bootstrap, group, topic="in"):
    """Messages of topic at or after the group's committed offsets."""
    out = subprocess.run(["kcat", "-C", "-q", "-b", bootstrap, "-t", topic, "-o", "stored",
                          "-X", "group.id=" + group, "-X", "auto.offset.reset=earliest", "-e",
                          "-f", "%p %o\\n"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60).stdout
    return len(out.splitlines())


def job_yaml(bootstrap, group, fmt, out, dlq, where):
    return ("job: kafka-source-test\nschemas: [orders]\nsources:\n"
            "  kin: {type: kafka, brokers: \"%s\", topics: [in], group: %s, format: %s,"
            " commit_interval: 200ms}\n"
            "operators:\n  keep: {type: filter, input: kin, where: %s}\n"
            "sinks:\n  out: {type: file, input: keep, path: \"%s\", format: jsonl}\n"
            "  dlq: {type: file, input: kin.errors, path: \"%s\", format: jsonl}\n"
            % (bootstrap, group, fmt, json.dumps(where), out, dlq))


def run_until(sluice, tmp, name, yaml, out, dlq, want_out, want_dlq):
    job = os.path.join(tmp, name + ".yaml")
    with open(job, "w") as f:
        f.write(yaml)
    proc = start_job(sluice, job, os.path.join(tmp, name + ".log"))
    done = wait_for(lambda: len(read_output(out)) >= want_out and
                    len(read_output(dlq)) >= want_dlq, 40)
    time.sleep(0.5)  # anything beyond the expected would show now
    rc = stop_job(proc)
    check(done, "%s: output complete within 40 s" % name)
    check(rc == 0, "%s: sluice run exits 0 after SIGINT (got %s)" % (name, rc))
    if not done or rc != 0:
        with open(os.path.join(tmp, name + ".log")) as f:
            print(f.read()[-3000:], file=sys.stderr)


def error_headers(event):
    return {h["key"]: h.get("value") for h in event.get("headers", [])}


def json_case(sluice, tmp, broker):
    events = order_events(3000)
    lines = ["%s|%s" % (json.loads(e)["key"], e) for e in events]
    bad = ["customer-1|{\"id\": \"broken\"", "customer-2|not json at all",
           "customer-3|{\"id\":\"x\",\"no_such_field\":1}"]
    produce_lines(broker.bootstrap, "in", lines[:1500] + bad + lines[1500:], ["-K", "|"])
    expected = [json.loads(e) for e in events if json.loads(e)["payload"]["amount"] >= 500]
    out, dlq = os.path.join(tmp, "json_out.jsonl"), os.path.join(tmp, "json_dlq.jsonl")
    run_until(sluice, tmp, "json", job_yaml(broker.bootstrap, "gj", "json", out, dlq,
                                            "payload.amount >= 500"),
              out, dlq, len(expected), 3)
    got = read_output(out)
    got_ids = [e["id"] for e in got]
    check(sorted(got_ids) == sorted(e["id"] for e in expected),
          "json: output is exactly the %d expected events (got %d, %d distinct)"
          % (len(expected), len(got_ids), len(set(got_ids))))
    by_id = {e["id"]: e for e in got}
    sample = expected[7]
    check(by_id.get(sample["id"], {}).get("payload", {}).get("amount") ==
          sample["payload"]["amount"] and by_id[sample["id"]]["ts"] == sample["ts"],
          "json: fields survive the round trip")
    last = {}
    ordered = True
    for e in got:
        n = int(e["id"][1:])
        ordered &= last.get(e["key"], -1) < n
        last[e["key"]] = n
    check(ordered, "json: per-key order kept")
    letters = read_output(dlq)
    check(len(letters) == 3, "json: 3 dead letters (got %d)" % len(letters))
    for letter in letters:
        h = error_headers(letter)
        check(letter.get("type") == "sluice.ingest_error" and
              h.get("sluice.error.node") == "kin" and
              "json:" in (h.get("sluice.error.reason") or "") and
              (h.get("sluice.error.offset") or "").isdigit(),
              "json: dead letter names node, json reason and offset: %s" % h)
    check(committed_left(broker.bootstrap, "gj") == 0,
          "json: after the drain every offset is committed")


def flatc_files(tmp, root, docs):
    """Each JSON envelope as a raw FlatBuffer file made by flatc -b."""
    src = os.path.join(tmp, "flatc_in")
    os.makedirs(src, exist_ok=True)
    paths = []
    for i, doc in enumerate(docs):
        p = os.path.join(src, "m%04d.json" % i)
        with open(p, "w") as f:
            json.dump(doc, f)
        paths.append(p)
    outdir = os.path.join(tmp, "flatc_out")
    subprocess.run(["flatc", "-b", "-o", outdir, os.path.join(root, "schemas", "event.fbs"),
                    *paths], check=True, timeout=60)
    return [os.path.join(outdir, "m%04d.bin" % i) for i in range(len(docs))]


def raw_case(sluice, tmp, broker, root):
    bare = [{"id": "bare%d" % i, "type": "test.raw",
             "headers": [{"key": "own", "value": "envelope"}]} for i in range(20)]
    full = [{"id": "full%d" % i, "type": "test.raw", "key": "mine", "ts": 5,
             "headers": [{"key": "h1", "value": "envelope"}]} for i in range(20)]
    files = flatc_files(tmp, root, bare + full)
    garbage = os.path.join(tmp, "garbage.bin")
    with open(garbage, "wb") as f:
        f.write(b"\x00\x01\x02\x03 this is not a flatbuffer \xff\xfe")
    before_ms = int(time.time() * 1000)
    produce_files(broker.bootstrap, "raw", files[:20],
                  ["-k", "kafka-key", "-H", "h1=kafka", "-H", "own=kafka"])
    produce_files(broker.bootstrap, "raw", files[20:] + [garbage], ["-k", "kafka-key"])
    after_ms = int(time.time() * 1000)
    out, dlq = os.path.join(tmp, "raw_out.jsonl"), os.path.join(tmp, "raw_dlq.jsonl")
    yaml = job_yaml(broker.bootstrap, "gr", "raw", out, dlq, "type == \"test.raw\"")
    run_until(sluice, tmp, "raw", yaml.replace("topics: [in]", "topics: [raw]"), out, dlq, 40, 1)
    got = {e["id"]: e for e in read_output(out)}
    check(len(got) == 40, "raw: 40 events out (got %d)" % len(got))
    for i in range(20):
        b, f = got.get("bare%d" % i, {}), got.get("full%d" % i, {})
        hb = [(h["key"], h.get("value")) for h in b.get("headers", [])]
        check(b.get("key") == "kafka-key", "raw: Kafka key fills a missing key: %s" % b)
        check(before_ms * 1000 - 5000000 <= b.get("ts", 0) <= after_ms * 1000 + 5000000,
              "raw: Kafka timestamp (µs) fills a missing ts: %s" % b.get("ts"))
        check(hb == [("own", "envelope"), ("h1", "kafka")],
              "raw: envelope header wins, Kafka header appended: %s" % hb)
        check(f.get("key") == "mine" and f.get("ts") == 5 and
              [(h["key"], h.get("value")) for h in f.get("headers", [])] == [("h1", "envelope")],
              "raw: an envelope's own key/ts/headers are kept: %s" % f)
    letters = read_output(dlq)
    check(len(letters) == 1 and "verify" in (error_headers(letters[0]).get(
          "sluice.error.reason") or ""), "raw: the garbage value is a dead letter with a "
          "verify reason: %s" % [error_headers(l) for l in letters])
    # headers: false: the same messages in a new group; Kafka's headers stay
    # unread, its key and timestamp still fill what the envelope lacks
    out, dlq = os.path.join(tmp, "raw_nohdr.jsonl"), os.path.join(tmp, "raw_nohdr_dlq.jsonl")
    yaml = job_yaml(broker.bootstrap, "grn", "raw", out, dlq, "type == \"test.raw\"")
    yaml = yaml.replace("topics: [in]", "topics: [raw], headers: false")
    run_until(sluice, tmp, "raw_nohdr", yaml, out, dlq, 40, 1)
    got = {e["id"]: e for e in read_output(out)}
    check(len(got) == 40, "raw, headers: false: 40 events out (got %d)" % len(got))
    for i in range(20):
        b = got.get("bare%d" % i, {})
        hb = [(h["key"], h.get("value")) for h in b.get("headers", [])]
        check(b.get("key") == "kafka-key" and b.get("ts", 0) > 0 and hb == [("own", "envelope")],
              "raw, headers: false: key and ts filled, Kafka headers not mapped: %s" % b)


def oversize_case(sluice, tmp, broker, root):
    """runtime batch_bytes 64 KiB: a value of ~80 KiB (under max_message) fits
    no batch and goes to the errors port with the reason; the others pass."""
    docs = [{"id": "small%d" % i, "type": "test.raw"} for i in range(5)]
    docs.insert(2, {"id": "big", "type": "test.raw",
                    "headers": [{"key": "pad", "value": "x" * (80 << 10)}]})
    files = flatc_files(tmp, root, docs)
    produce_files(broker.bootstrap, "big", files, ["-k", "k"])
    out, dlq = os.path.join(tmp, "big_out.jsonl"), os.path.join(tmp, "big_dlq.jsonl")
    yaml = job_yaml(broker.bootstrap, "gb", "raw", out, dlq, "type == \"test.raw\"")
    yaml = yaml.replace("topics: [in]", "topics: [big]").replace(
        "schemas: [orders]\n", "schemas: [orders]\nruntime: {batch_bytes: 64KiB}\n")
    run_until(sluice, tmp, "big", yaml, out, dlq, 5, 1)
    got = [e["id"] for e in read_output(out)]
    check(got == ["small%d" % i for i in range(5)], "oversize: the 5 small events out: %s" % got)
    reasons = [error_headers(l).get("sluice.error.reason") or "" for l in read_output(dlq)]
    check(len(reasons) == 1 and "larger than a batch takes (61440: runtime batch_bytes" in
          reasons[0],
          "oversize: the big value is a dead letter naming batch_bytes: %s" % reasons)


def settings_case(sluice, tmp):
    cases = [("topics: [a], pattern: \"^a\"", "both set"),
             ("group: g", "no topics or pattern"),
             ("topics: [a], kafka: {fetch.wait.max.msx: \"5\"}", "fetch.wait.max.msx"),
             ("pattern: \"orders([\"", "bad regular expression ^orders(["),
             ("pattern: \"^a{2,1}\"", "bad regular expression ^a{2,1}"),
             ("topics: [a], kafka: {partition.assignment.strategy: cooperative-sticky}",
              "cooperative-sticky is not offered")]
    for i, (settings, needle) in enumerate(cases):
        if "group" not in settings:
            settings += ", group: g"
        job = os.path.join(tmp, "bad%d.yaml" % i)
        with open(job, "w") as f:
            f.write("job: bad\nsources:\n  kin: {type: kafka, brokers: \"127.0.0.1:1\", %s}\n"
                    "sinks:\n  out: {type: null, input: kin}\n" % settings)
        r = subprocess.run([sluice, "validate", job], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        check(r.returncode == 2 and needle in r.stdout,
              "settings: %s -> exit 2 mentioning %r (got %d: %s)"
              % (settings, needle, r.returncode, r.stdout.strip()))


def start_case(sluice, tmp, broker):
    """Run after json_case: topic in holds its 3003 messages."""
    fresh = order_events(200, prefix="n")
    outs = {}
    for start in ("latest", "earliest"):
        out = os.path.join(tmp, "start_%s.jsonl" % start)
        job, log = os.path.join(tmp, "start_%s.yaml" % start), os.path.join(tmp, "start.log")
        write_job(job, broker.bootstrap, "g-start-" + start, out,
                  extra_source=", start: %s, commit_interval: 200ms" % start)
        proc = start_job(sluice, job, log)
        assigned = wait_for(lambda: "assigned" in open(log).read(), 30)
        check(assigned, "start %s: partitions assigned" % start)
        if start == "latest":
            time.sleep(1)  # its start offsets are looked up at the assignment
            produce_lines(broker.bootstrap, "in",
                          ["%s|%s" % (json.loads(e)["key"], e) for e in fresh], ["-K", "|"])
        want = 200 if start == "latest" else 3200
        wait_for(lambda: len(read_output(out)) >= want, 30)
        time.sleep(0.5)
        check(stop_job(proc) == 0, "start %s: exits 0" % start)
        outs[start] = [e["id"] for e in read_output(out)]
    check(sorted(outs["latest"]) == sorted(json.loads(e)["id"] for e in fresh),
          "start latest: exactly the 200 events produced after the assignment (got %d)"
          % len(outs["latest"]))
    check(len(outs["earliest"]) == 3200 and len(set(outs["earliest"])) == 3200,
          "start earliest: all 3200 valid events of the topic (got %d, %d distinct)"
          % (len(outs["earliest"]), len(set(outs["earliest"]))))


def restart_case(sluice, tmp, broker):
    """Run after start_case: topic in holds 3203 messages (3200 valid). With
    queued.min.messages at 100, librdkafka stops fetching as soon as 100
    messages wait in the consumer queue: the source must restart its fetchers
    (a seek that drops what was fetched beyond) and still hand every message
    on exactly once."""
    out, log = os.path.join(tmp, "restart.jsonl"), os.path.join(tmp, "restart.log")
    job = os.path.join(tmp, "restart.yaml")
    write_job(job, broker.bootstrap, "g-restart", out, extra_source=", until_end: true",
              kafka={"queued.min.messages": "100"})
    proc = start_job(sluice, job, log)
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        rc = stop_job(proc)
    text = open(log).read()
    m = re.search(r"(\d+) fetches restarted", text)
    ids = [e["id"] for e in read_output(out)]
    print("fetch restarts: %s restarted, %d events out" % (m.group(1) if m else "?", len(ids)))
    check(rc == 0, "restart: until_end run exits 0 (got %s)" % rc)
    check(m is not None and int(m.group(1)) > 0, "restart: fetchers were restarted")
    check(len(ids) == 3200 and len(set(ids)) == 3200,
          "restart: every valid event once across fetch restarts (got %d, %d distinct)"
          % (len(ids), len(set(ids))))


def failed_sink_case(sluice, tmp, broker):
    produce_lines(broker.bootstrap, "fail", order_events(6000, prefix="f"))
    runs = []
    for name, path in (("failed_sink", "/dev/full"), ("after_failed_sink",
                                                      os.path.join(tmp, "after_failed.jsonl"))):
        log, job = os.path.join(tmp, name + ".log"), os.path.join(tmp, name + ".yaml")
        # the mock makes a member that joins after another left wait for the
        # session timeout (kcat -G too): a short one keeps the second run short
        write_job(job, broker.bootstrap, "g-failed-sink", path,
                  extra_source=", until_end: true, commit_interval: 100ms, drain_timeout: 2s",
                  kafka={"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"})
        with open(job) as f:
            text = f.read().replace("topics: [in]", "topics: [fail]")
        with open(job, "w") as f:
            f.write("runtime: {batch_events: 16}\n" + text)
        started = time.monotonic()
        proc = start_job(sluice, job, log)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = None
        print("%s: %.1f s" % (name, time.monotonic() - started))
        with open(log) as f:
            runs.append((rc, f.read()))
    (rc, text), (rc2, text2) = runs
    got = ids(os.path.join(tmp, "after_failed.jsonl"))
    print("failed sink: exit %s; the run after it: exit %s, %d events, %d distinct"
          % (rc, rc2, len(got), len(set(got))))
    check(rc == 1, "failed sink: the run ends by itself with exit 1 (got %s)" % rc)
    check("No space left on device" in text, "failed sink: the write error is reported")
    check(rc2 == 0 and set(got) == {"f%d" % i for i in range(6000)},
          "failed sink: the next run of the group reads all 6000 messages (got %d distinct)"
          % len(set(got)))
    if rc != 1 or rc2 != 0:
        print(text[-2000:] + text2[-2000:], file=sys.stderr)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sluice, root = sys.argv[1], sys.argv[2]
    if not shutil.which("kcat") or not shutil.which("flatc"):
        print("SKIP: kcat and flatc are needed", file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="sluice-ksrc-")
    broker = Broker(sluice, tmp, ["in:4", "raw:2", "big:1", "fail:2"])
    try:
        json_case(sluice, tmp, broker)
        raw_case(sluice, tmp, broker, root)
        oversize_case(sluice, tmp, broker, root)
        start_case(sluice, tmp, broker)
        restart_case(sluice, tmp, broker)
        failed_sink_case(sluice, tmp, broker)
        settings_case(sluice, tmp)
    finally:
        broker.stop()
    if failures:
        print("%d checks failed; files in %s" % (failures, tmp), file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("kafka source: json, raw mapping, dead letters, oversize, commits, start, "
          "fetch restarts, a failed sink, settings ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
