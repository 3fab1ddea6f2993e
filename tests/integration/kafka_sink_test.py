#!/usr/bin/env python3
"""kafka_sink_test.py - the kafka sink against `sluice broker`, with kcat (a
Kafka client sluice did not write) consuming and flatc (a FlatBuffers reader
sluice did not write) decoding.

  * gen (count N, seed S) -> two kafka sinks: topic `events` (4 partitions,
    raw values) and `events_json` (json values). Read back with kcat:
    every event exactly once (ids against `sluice gen --framing jsonl`, same
    seed); json values equal the generator's JSON objects; raw values decode
    with `sluice decode --framing raw` and with `flatc --json --raw-binary`
    (id, type, key, ts agree); each message's key is the envelope key, its
    partition (murmur2(key) & 0x7fffffff) % 4 (murmur2 computed here, as
    Kafka's Java client), its timestamp ts / 1000, its headers the envelope
    headers.
  * topic_expr `type` and key expression `id`: each event on the topic named
    by its type, keyed and partitioned by its id.
  * dead letters: a file source with events whose headers push them over
    `kafka: {message.max.bytes: 2000}`: the small ones arrive on the topic,
    the large ones on `big.dlq` with their key but no value and none of their
    own headers, and headers sluice.error.reason / sluice.error.topic /
    sluice.error.value_bytes / sluice.error.event_id; none is lost.
  * a delivery that finally fails: `errors Produce 1
    TOPIC_AUTHORIZATION_FAILED` on the broker's control channel fails the
    first produce request; its messages land on the dead-letter topic with
    the broker's error as the reason, the others on the topic: every event
    exactly once across the two.
  * errors port: `dl: {type: file, input: k.errors}` takes the dead letters
    instead of a dead-letter topic: with an injected produce error (raw and
    json values) the failed events land in the file, whole, with the headers
    sluice.error.node / reason / topic, the others on the topic, every event
    exactly once across the two; oversized events land there whole too (no
    size limit applies to the port).
  * settings: topic and topic_expr together, neither, a misspelt kafka.*
    setting: `sluice validate` exits 2 naming the setting.
  * a setting librdkafka refuses only when it makes the client (a missing
    ssl.ca.location), for a kafka sink and a kafka source: the run exits 1
    with librdkafka's reason (under ASan: and no double free of the conf's
    interceptors, librdkafka issue #4142).
  * a raw sink that fails while it holds its batches (its broker set down,
    delivery_timeout 1s, so its dead letters fail too): the run exits 1
    with the reason instead of hanging on the worker's batches.

usage: kafka_sink_test.py SLUICE SOURCE_ROOT   (exit 0 pass, 1 fail, 77 skip)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

EVENTS = 4000
SEED = 11
PARTITIONS = 4
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + what, file=sys.stderr)
    return cond


def murmur2(data):
    """Kafka's Java client murmur2 (seed 0x9747b28c), as a uint32."""
    m, length = 0x5BD1E995, len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail = data[length - length % 4:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def partition_of(key, partitions=PARTITIONS):
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class Broker:
    """`sluice broker` with control commands on stdin, answers on stdout."""

    def __init__(self, sluice, tmp, topics):
        self.boot_file = os.path.join(tmp, "bootstrap")
        args = [sluice, "broker", "--bootstrap-file", self.boot_file]
        for t in topics:
            args += ["--topic", t]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.boot_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("sluice broker did not start")
            time.sleep(0.05)
        with open(self.boot_file) as f:
            self.bootstrap = f.read().strip()
        self.proc.stdout.readline()  # the "bootstrap: ..." line

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stop(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def consume(bootstrap, topic):
    """Every message of topic: dicts with key, value (bytes or None),
    partition, offset, ts_ms, headers (list of (name, value))."""
    fmt = "%K %S %p %o %T %h\\n%k%s"
    out = subprocess.run(["kcat", "-C", "-q", "-b", bootstrap, "-t", topic, "-e", "-f", fmt],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60).stdout
    messages, pos = [], 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        fields = out[pos:end].decode().split(" ", 5)
        pos = end + 1
        key_len, value_len = int(fields[0]), int(fields[1])
        key = out[pos:pos + max(key_len, 0)] if key_len >= 0 else None
        pos += max(key_len, 0)
        value = out[pos:pos + max(value_len, 0)] if value_len >= 0 else None
        pos += max(value_len, 0)
        headers = []
        for item in fields[5].split(",") if fields[5] else []:
            name, _, val = item.partition("=")
            headers.append((name, val))
        messages.append({"key": key, "value": value, "partition": int(fields[2]),
                         "offset": int(fields[3]), "ts_ms": int(fields[4]),
                         "headers": headers})
    return messages


def run_job(sluice, tmp, name, text, expect_rc=0):
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    started = time.monotonic()
    res = subprocess.run([sluice, "run", path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=120)
    elapsed = time.monotonic() - started
    if not check(res.returncode == expect_rc,
                 "%s: sluice run exit %d, wanted %d: %s" % (name, res.returncode, expect_rc,
                                                            res.stderr[-2000:])):
        return None
    return elapsed, res.stderr


def check_summary(stderr, node, out, errors):
    """The run summary's row of sink node: out (delivered to its topic) and
    errors (dead-lettered: dead-letter topic or errors port)."""
    row = re.search(r"^\s+%s\s+kafka\s+(\d+)\s+(\d+)\s+(\d+)$" % node, stderr, re.M)
    check(row is not None and (int(row.group(2)), int(row.group(3))) == (out, errors),
          "summary row of %s: %s, wanted %d out and %d errors"
          % (node, row.group(0).strip() if row else "none", out, errors))


def gen_events(sluice, count, seed):
    out = subprocess.run([sluice, "gen", "--framing", "jsonl", "--seed", str(seed), "--count",
                          str(count), "--out", "-"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, check=True, timeout=60).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def envelope_headers(ev):
    return [(h["key"], h.get("value", "")) for h in ev.get("headers", [])]


def check_raw_topic(sluice, root, tmp, messages, expected):
    by_id = {ev["id"]: ev for ev in expected}
    check(len(messages) == len(expected),
          "events: %d messages, %d events" % (len(messages), len(expected)))
    vdir = os.path.join(tmp, "values")
    os.makedirs(vdir, exist_ok=True)
    files = []
    for i, msg in enumerate(messages):
        path = os.path.join(vdir, "m%05d.bin" % i)
        with open(path, "wb") as f:
            f.write(msg["value"] or b"")
        files.append(path)
    dec = subprocess.run([sluice, "decode", "--framing", "raw"] + files,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    check(dec.returncode == 0, "sluice decode --framing raw: " + dec.stderr[-1000:])
    decoded = [json.loads(line) for line in dec.stdout.splitlines() if line.strip()]
    check(len(decoded) == len(messages), "decode gave %d of %d" % (len(decoded), len(messages)))
    ids = [ev["id"] for ev in decoded]
    check(len(set(ids)) == len(ids), "duplicate ids in topic events")
    check(set(ids) == set(by_id), "ids in topic events differ from the generator's")
    bad_partition = bad_key = bad_ts = bad_headers = bad_body = 0
    for msg, ev in zip(messages, decoded):
        want = by_id.get(ev["id"])
        if want is None:
            continue
        bad_body += ev != want
        key = ev["key"].encode()
        bad_key += msg["key"] != key
        bad_partition += msg["partition"] != partition_of(key)
        bad_ts += msg["ts_ms"] != ev["ts"] // 1000
        bad_headers += msg["headers"] != envelope_headers(ev)
    check(bad_body == 0, "%d decoded values differ from the generator's events" % bad_body)
    check(bad_key == 0, "%d messages not keyed by the envelope key" % bad_key)
    check(bad_partition == 0, "%d messages not on partition murmur2(key) %% 4" % bad_partition)
    check(bad_ts == 0, "%d messages whose timestamp is not ts / 1000" % bad_ts)
    check(bad_headers == 0, "%d messages whose headers are not the envelope's" % bad_headers)
    check(any(msg["headers"] for msg in messages), "no message carries headers")
    check_flatc(root, tmp, files, decoded)


def check_flatc(root, tmp, files, decoded):
    """flatc reads every raw value as a sluice.Event: same id, type, key, ts."""
    out = os.path.join(tmp, "flatc")
    os.makedirs(out, exist_ok=True)
    res = subprocess.run(["flatc", "--json", "--raw-binary", "--strict-json", "-o", out,
                          os.path.join(root, "schemas", "event.fbs"), "--"] + files,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=300)
    if not check(res.returncode == 0, "flatc --raw-binary: " + res.stdout[-1000:]):
        return
    mismatched = 0
    for path, ev in zip(files, decoded):
        name = os.path.splitext(os.path.basename(path))[0] + ".json"
        with open(os.path.join(out, name)) as f:
            fl = json.load(f)
        for field in ("id", "type", "key", "ts"):
            if fl.get(field) != ev.get(field):
                mismatched += 1
                break
    check(mismatched == 0, "flatc disagrees with sluice decode on %d values" % mismatched)


def check_json_topic(messages, expected):
    values = [json.loads(msg["value"]) for msg in messages]
    check(len(values) == len(expected),
          "events_json: %d messages, %d events" % (len(values), len(expected)))
    by_id = {ev["id"]: ev for ev in expected}
    ids = [v["id"] for v in values]
    check(len(set(ids)) == len(ids) and set(ids) == set(by_id),
          "events_json ids are not the generator's, each once")
    differ = sum(1 for v in values if by_id.get(v["id"]) != v)
    check(differ == 0, "%d json values differ from the generator's JSON" % differ)


def test_gen_to_topics(sluice, root, tmp, broker):
    expected = gen_events(sluice, EVENTS, SEED)
    job = f"""
job: kafka_sink_gen
schemas: [orders]
sources:
  g:
    type: gen
    count: {EVENTS}
    seed: {SEED}
sinks:
  raw:
    type: kafka
    input: g
    brokers: {broker.bootstrap}
    topic: events
  json:
    type: kafka
    input: g
    brokers: {broker.bootstrap}
    topic: events_json
    format: json
    compression: lz4
"""
    ran = run_job(sluice, tmp, "gen", job)
    if ran is None:
        return
    elapsed = ran[0]
    print("gen -> 2 kafka sinks: %d events each in %.2f s (%.0f messages/s, both sinks)"
          % (EVENTS, elapsed, 2 * EVENTS / elapsed))
    check_raw_topic(sluice, root, tmp, consume(broker.bootstrap, "events"), expected)
    check_json_topic(consume(broker.bootstrap, "events_json"), expected)


def test_topic_expr(sluice, tmp, broker):
    count = 1000
    expected = gen_events(sluice, count, SEED + 1)
    job = f"""
job: kafka_sink_expr
schemas: [orders]
sources:
  g:
    type: gen
    count: {count}
    seed: {SEED + 1}
sinks:
  k:
    type: kafka
    input: g
    brokers: {broker.bootstrap}
    topic_expr: type
    key: id
"""
    if run_job(sluice, tmp, "expr", job) is None:
        return
    types = sorted({ev["type"] for ev in expected})
    seen = 0
    for t in types:
        want = {ev["id"] for ev in expected if ev["type"] == t}
        msgs = consume(broker.bootstrap, t)
        keys = [m["key"] for m in msgs]
        check(len(keys) == len(want) and set(k.decode() for k in keys) == want,
              "topic %s: keys are not the ids of its events" % t)
        # auto-created topics have 4 partitions, as `sluice broker` documents
        off = sum(1 for m in msgs if m["partition"] != partition_of(m["key"]))
        check(off == 0, "topic %s: %d messages off their murmur2 partition" % (t, off))
        seen += len(msgs)
    check(seen == count, "topic_expr: %d messages over the type topics, %d events" % (seen, count))


def big_events(root, n, path):
    """n JSON events from the example order, written to path as JSON lines;
    every third carries a 3000-byte header. Returns (lines, ids of the big ones)."""
    with open(os.path.join(root, "examples", "orders.jsonl")) as f:
        base = json.loads(f.readline())
    lines, big = [], set()
    for i in range(n):
        ev = dict(base, id="big-%04d" % i, key="customer-%d" % (i % 7))
        ev["headers"] = [{"key": "source", "value": "test"}]
        if i % 3 == 0:
            ev["headers"].append({"key": "padding", "value": "x" * 3000})
            big.add(ev["id"])
        lines.append(json.dumps(ev))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines, big


def test_dead_letter_oversized(sluice, root, tmp, broker):
    src = os.path.join(tmp, "big.jsonl")
    lines, big = big_events(root, 30, src)
    job = f"""
job: kafka_sink_dlq
schemas: [orders]
sources:
  f:
    type: file
    path: {src}
    framing: jsonl
sinks:
  k:
    type: kafka
    input: f
    brokers: {broker.bootstrap}
    topic: big
    format: json
    kafka:
      message.max.bytes: 2000
"""
    ran = run_job(sluice, tmp, "dlq", job)
    if ran is None:
        return
    main = consume(broker.bootstrap, "big")
    dlq = consume(broker.bootstrap, "big.dlq")
    check_summary(ran[1], "k", len(main), len(dlq))
    main_ids = {json.loads(m["value"])["id"] for m in main}
    check(main_ids == {json.loads(l)["id"] for l in lines} - big,
          "topic big holds %d events, wanted the %d small ones" % (len(main_ids),
                                                                  len(lines) - len(big)))
    check(len(dlq) == len(big), "big.dlq holds %d messages, wanted %d" % (len(dlq), len(big)))
    for m in dlq:
        h = dict(m["headers"])
        check(m["value"] is None, "an oversized dead letter carries a value")
        check("too large" in h.get("sluice.error.reason", "").lower(),
              "dead letter reason: %r" % h.get("sluice.error.reason"))
        check(h.get("sluice.error.topic") == "big", "dead letter topic header: %r"
              % h.get("sluice.error.topic"))
        check(int(h.get("sluice.error.value_bytes", "0")) > 3000, "value_bytes header missing")
        check(h.get("sluice.error.event_id") in big, "dead letter's event id header: %r"
              % h.get("sluice.error.event_id"))
        check("padding" not in h, "an oversized dead letter carries the event's headers")
        check(partition_of(m["key"]) == m["partition"], "dead letter off its key's partition")


def test_dead_letter_delivery(sluice, tmp, broker):
    count = 500
    expected = {ev["id"] for ev in gen_events(sluice, count, SEED + 2)}
    reply = broker.command("errors Produce 1 TOPIC_AUTHORIZATION_FAILED")
    check(reply.startswith("ok"), "broker control: " + reply)
    job = f"""
job: kafka_sink_fail
schemas: [orders]
sources:
  g:
    type: gen
    count: {count}
    seed: {SEED + 2}
sinks:
  k:
    type: kafka
    input: g
    brokers: {broker.bootstrap}
    topic: denied
    format: json
    dead_letter_topic: denied_letters
"""
    ran = run_job(sluice, tmp, "fail", job)
    if ran is None:
        return
    main = consume(broker.bootstrap, "denied")
    dlq = consume(broker.bootstrap, "denied_letters")
    check_summary(ran[1], "k", len(main), len(dlq))
    ids = [json.loads(m["value"])["id"] for m in main + dlq]
    check(len(dlq) > 0, "no message dead-lettered after an injected produce error")
    check(len(ids) == count and set(ids) == expected,
          "denied + denied_letters: %d messages, %d distinct, %d events"
          % (len(ids), len(set(ids)), count))
    for m in dlq:
        h = dict(m["headers"])
        check("authoriz" in h.get("sluice.error.reason", "").lower(),
              "reason %r" % h.get("sluice.error.reason"))
        check(h.get("sluice.error.topic") == "denied", "topic header %r"
              % h.get("sluice.error.topic"))


def test_fails_holding_batches(sluice, tmp):
    """A raw kafka sink holds its batches until their writes are confirmed
    (sl/connector.h, SL_SINK_WRITE_HELD). Its broker is set down while a
    rate-limited generator runs: the sink soon holds all 8 batches of the
    worker, whose next events wait. With delivery_timeout 1s the messages
    fail, their dead letters fail too (no broker), and the sink fails: the
    run must abandon the producer and give the held batches back, so that
    the worker and generator finish and the job exits 1 with the reason
    instead of hanging."""
    own = os.path.join(tmp, "held")  # its own bootstrap file
    os.makedirs(own)
    broker = Broker(sluice, own, ["held:1"])
    path = os.path.join(tmp, "held.yaml")
    with open(path, "w") as f:
        f.write(f"""
job: kafka_sink_held
schemas: [orders]
runtime: {{batches: 8, batch_events: 256}}
sources:
  g: {{type: gen, count: 12000, rate: 4000, seed: {SEED + 4}}}
sinks:
  k: {{type: kafka, input: g, brokers: "{broker.bootstrap}", topic: held,
      dead_letter_topic: held_letters, delivery_timeout: 1s}}
""")
    err_path = os.path.join(tmp, "held.err")
    try:
        with open(err_path, "w") as err:
            job = subprocess.Popen([sluice, "run", path], stdout=subprocess.DEVNULL, stderr=err)
        time.sleep(1)
        reply = broker.command("broker 1 down")
        check(reply.startswith("ok"), "broker control: " + reply)
        try:
            rc = job.wait(timeout=90)
        except subprocess.TimeoutExpired:
            job.kill()
            rc = "none (killed after 90 s: held batches never came back?)"
        with open(err_path) as f:
            text = f.read()
        check(rc == 1, "held: exit %s, wanted 1: %s" % (rc, text[-1500:]))
        check(re.search(r"^sluice: error: sink k: ", text, re.M) is not None,
              "held: the sink's failure is reported: " + text[-1500:])
    finally:
        broker.stop()


def decode_values(sluice, tmp, fmt, values):
    """The events of message values as dicts (raw: through `sluice decode`)."""
    if fmt == "json":
        return [json.loads(v) for v in values]
    vdir = os.path.join(tmp, "port_values")
    os.makedirs(vdir, exist_ok=True)
    files = []
    for i, value in enumerate(values):
        files.append(os.path.join(vdir, "v%05d.bin" % i))
        with open(files[-1], "wb") as f:
            f.write(value or b"")
    if not files:
        return []
    out = subprocess.run([sluice, "decode", "--framing", "raw"] + files, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=120, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_errors_port(sluice, root, tmp, broker):
    for fmt, seed in (("raw", SEED + 3), ("json", SEED + 4)):
        count = 500
        expected = {ev["id"] for ev in gen_events(sluice, count, seed)}
        reply = broker.command("errors Produce 1 TOPIC_AUTHORIZATION_FAILED")
        check(reply.startswith("ok"), "broker control: " + reply)
        topic, out = "denied_" + fmt, os.path.join(tmp, "port_%s.jsonl" % fmt)
        job = f"""
job: kafka_sink_port
schemas: [orders]
sources:
  g: {{type: gen, count: {count}, seed: {seed}}}
sinks:
  k: {{type: kafka, input: g, brokers: "{broker.bootstrap}", topic: {topic}, format: {fmt},
      kafka: {{batch.num.messages: 100}}}}
  dl: {{type: file, input: k.errors, path: "{out}", format: jsonl}}
"""
        ran = run_job(sluice, tmp, "port_" + fmt, job)
        if ran is None:
            continue
        topic_events = decode_values(sluice, tmp, fmt,
                                     [m["value"] for m in consume(broker.bootstrap, topic)])
        letters = read_jsonl(out)
        check_summary(ran[1], "k", len(topic_events), len(letters))
        ids = [ev["id"] for ev in letters]
        check(len(letters) > 0, "%s: nothing on the errors port after an injected produce "
              "error" % fmt)
        print("errors port (%s): %d events on the topic, %d dead letters in the file"
              % (fmt, len(topic_events), len(letters)))
        on_topic = {m["id"] for m in topic_events}
        check(len(topic_events) + len(ids) == count and on_topic | set(ids) == expected and
              not on_topic & set(ids),
              "%s: %d on the topic + %d on the errors port, wanted %d events once"
              % (fmt, len(topic_events), len(ids), count))
        for ev in letters:
            h = dict((x["key"], x.get("value")) for x in ev.get("headers", []))
            check(h.get("sluice.error.node") == "k" and h.get("sluice.error.topic") == topic
                  and "authoriz" in (h.get("sluice.error.reason") or "").lower(),
                  "%s: dead letter headers %s" % (fmt, h))
            check(ev.get("payload") and ev.get("type") and h.get("source"),
                  "%s: the dead letter is the whole event with its own headers" % fmt)
    src, out = os.path.join(tmp, "big_port.jsonl"), os.path.join(tmp, "port_big.jsonl")
    lines, big = big_events(root, 30, src)
    job = f"""
job: kafka_sink_port_big
schemas: [orders]
sources:
  f: {{type: file, path: "{src}", framing: jsonl}}
sinks:
  k: {{type: kafka, input: f, brokers: "{broker.bootstrap}", topic: big_port, format: json,
      kafka: {{message.max.bytes: 2000}}}}
  dl: {{type: file, input: k.errors, path: "{out}", format: jsonl}}
"""
    ran = run_job(sluice, tmp, "port_big", job)
    if ran is None:
        return
    letters = read_jsonl(out)
    check_summary(ran[1], "k", len(lines) - len(letters), len(letters))
    print("errors port (oversized): %d dead letters in the file, %d big events"
          % (len(letters), len(big)))
    check({ev["id"] for ev in letters} == big and len(letters) == len(big),
          "oversized: %d events on the errors port, wanted the %d big ones"
          % (len(letters), len(big)))
    for ev in letters:
        h = dict((x["key"], x.get("value")) for x in ev.get("headers", []))
        check(len(h.get("padding", "")) == 3000 and "too large" in
              (h.get("sluice.error.reason") or "").lower(),
              "oversized dead letter: whole event and reason (%s)" % h.get("sluice.error.reason"))


def test_bad_settings(sluice, tmp):
    cases = [
        ("both", "    topic: a\n    topic_expr: type\n", "topic"),
        ("neither", "", "topic_expr"),
        ("misspelt", "    topic: a\n    kafka:\n      linger.mss: 5\n", "linger.mss"),
        ("bad_key", "    topic: a\n    key: ts > 0\n", "key"),
        ("small_bound", "    topic: a\n    unconfirmed_bytes: 64KiB\n",
         "unconfirmed_bytes 65536 is not within 1MiB..1GiB"),
        ("large_bound", "    topic: a\n    unconfirmed_bytes: 2GiB\n",
         "unconfirmed_bytes 2147483648 is not within"),
        ("in_flight", "    topic: a\n    max_in_flight: 6\n",
         "max_in_flight 6 is not within 1..5"),
    ]
    for name, extra, needle in cases:
        path = os.path.join(tmp, "bad_%s.yaml" % name)
        with open(path, "w") as f:
            f.write("job: bad\nschemas: [orders]\nsources:\n  g:\n    type: gen\n    count: 1\n"
                    "sinks:\n  k:\n    type: kafka\n    input: g\n    brokers: 127.0.0.1:1\n"
                    + extra)
        res = subprocess.run([sluice, "validate", path], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=30)
        check(res.returncode == 2 and needle in res.stdout,
              "validate %s: exit %d, output %r" % (name, res.returncode, res.stdout))


def test_client_refused(sluice, tmp):
    """A setting librdkafka accepts at validation and refuses when it makes
    the client (a CA file that is not there): the run fails with its reason,
    for a kafka sink and a kafka source alike (a sanitizer build also checks
    that the failed start frees nothing twice)."""
    ssl = "    kafka: {security.protocol: ssl, ssl.ca.location: %s}\n" % os.path.join(
        tmp, "no-such-ca.pem")
    jobs = {
        "refused_sink": "job: refused\nschemas: [orders]\nsources:\n  g: {type: gen, count: 10}\n"
                        "sinks:\n  k:\n    type: kafka\n    input: g\n"
                        "    brokers: 127.0.0.1:1\n    topic: a\n" + ssl,
        "refused_source": "job: refused\nschemas: [orders]\nsources:\n  k:\n    type: kafka\n"
                          "    brokers: 127.0.0.1:1\n    topics: [a]\n    group: g\n" + ssl +
                          "sinks:\n  n: {type: null, input: k}\n",
    }
    for name, text in jobs.items():
        res = run_job(sluice, tmp, name, text, expect_rc=1)
        if res:
            check("ssl.ca.location failed" in res[1] and "Sanitizer" not in res[1],
                  "%s: stderr %r" % (name, res[1][-1500:]))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    sluice, root = os.path.abspath(sys.argv[1]), sys.argv[2]
    for tool in ("kcat", "flatc"):
        if not shutil.which(tool):
            print("skip: %s not installed" % tool)
            return 77
    tmp = tempfile.mkdtemp(prefix="kafka_sink_test.")
    broker = Broker(sluice, tmp, ["events:4", "events_json:4", "big:4", "denied:1",
                                  "denied_raw:1", "denied_json:1", "big_port:4"])
    try:
        test_gen_to_topics(sluice, root, tmp, broker)
        test_topic_expr(sluice, tmp, broker)
        test_dead_letter_oversized(sluice, root, tmp, broker)
        test_dead_letter_delivery(sluice, tmp, broker)
        test_errors_port(sluice, root, tmp, broker)
        test_bad_settings(sluice, tmp)
        test_client_refused(sluice, tmp)
        test_fails_holding_batches(sluice, tmp)
    finally:
        broker.stop()
        if failures == 0:
            shutil.rmtree(tmp, ignore_errors=True)
    print("kafka_sink_test: %s" % ("ok" if failures == 0 else "%d failures" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
