#!/usr/bin/env python3
"""kafka_faults_test.py - the kafka connectors recover from faults injected
through the control channel of `sluice broker --brokers 3 --topic out:4`,
with kcat (a Kafka client sluice did not write) reading the topics back.

  * produce errors: a rate-limited `gen` -> kafka sink job (seconds long);
    mid-stream the test pushes `errors Produce 5 NOT_LEADER_OR_FOLLOWER`
    (retriable). The producer's debug log (kafka: {debug: msg}) shows the
    injected errors were hit and retried, and every event arrives exactly
    once (idempotent producer): ids against `sluice gen --framing jsonl`
    with the same seed, no id twice. This job sets max_in_flight: 1 (see
    sink_job: a limit of the mock, docs/kafka.md).
  * broker down/up: the same kind of job into topic `down` (4 partitions,
    leaders spread over brokers 1..3); mid-stream `broker 2 down` (its
    connections are closed, its partitions unavailable: the mock moves no
    leaders), 2 s later the job is still running (stalled on broker 2's
    partitions), then `broker 2 up`: the job finishes with exit 0 and every
    event is on the topic, none twice but for the mock's own duplicates (a
    request in flight when its broker went down is appended again when the
    producer retries it: MOCK_RETRY_DUPS_MAX).
  * broker down with leaders moved: mid-stream `broker 3 down` and the
    leaders of its partitions moved to broker 1 (as broker_test.py does):
    the job finishes while broker 3 is still down, every event there (with
    the same allowance).
  * kafka source (when `sluice help kafka` lists one): a kafka source ->
    file sink job (group `faults`, json values) on topic `in` (4 partitions,
    broker 1 leading two); once its partitions are assigned, kcat produces
    the generator's 20000 JSON events, and mid-stream the test pushes
    `errors Fetch 3 NOT_LEADER_OR_FOLLOWER` (the consumer's debug log shows
    them) and sets broker 1 (leader and group coordinator) down for 2 s.
    Every input id comes out of the file sink (duplicates allowed: the
    source is at-least-once; the count is printed), none on the errors
    port, then the job is stopped with SIGTERM. Without a kafka source this
    part is reported as not run.

usage: kafka_faults_test.py SLUICE [SOURCE_ROOT]   (exit 0 pass, 1 fail, 77 skip)
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from kafka_source_util import usage_or_skip

EVENTS = 6000      # per sink job
RATE = 2500        # events/s: each sink job runs ~2.4 s
SEED = 41
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + what, file=sys.stderr)
    return cond


class Broker:
    """`sluice broker` with a unix control socket; one line per answer."""

    def __init__(self, sluice, tmp):
        self.boot_file = os.path.join(tmp, "bootstrap")
        self.sock_path = os.path.join(tmp, "ctl.sock")
        self.proc = subprocess.Popen(
            [sluice, "broker", "--brokers", "3", "--topic", "out:4",
             "--bootstrap-file", self.boot_file, "--control", "unix:" + self.sock_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.boot_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("sluice broker did not start")
            time.sleep(0.05)
        with open(self.boot_file) as f:
            self.bootstrap = f.read().strip()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.sock_path)
        self.file = self.sock.makefile("rw")

    def ok(self, line):
        self.file.write(line + "\n")
        self.file.flush()
        reply = self.file.readline().strip()
        check(reply.startswith("ok"), "control '%s' answered '%s'" % (line, reply))
        return reply

    def stop(self):
        self.file.close()
        self.sock.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Job:
    """A `sluice run` in the background; stderr goes to a file (the
    producer's debug log can be long)."""

    def __init__(self, sluice, tmp, name, text):
        path = os.path.join(tmp, name + ".yaml")
        with open(path, "w") as f:
            f.write(text)
        self.name = name
        self.err_path = os.path.join(tmp, name + ".stderr")
        self.err = open(self.err_path, "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sluice, "run", path], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.err)

    def wait_log(self, text, timeout):
        """True once text is in the job's stderr (within timeout seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.err_path, errors="replace") as f:
                if text in f.read():
                    return True
            time.sleep(0.1)
        return False

    def wait(self, timeout=60):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.err.close()
        self.elapsed = time.monotonic() - self.started
        with open(self.err_path, errors="replace") as f:
            self.stderr = f.read()
        check(rc == 0, "%s: sluice run exit %s after %.1f s: %s"
              % (self.name, rc, self.elapsed, self.stderr[-1500:]))
        return rc == 0


def sink_job(name, bootstrap, topic, seed, debug=False):
    # with injected produce errors, one request in flight: the mock (librdkafka
    # 2.0.2) accepts a later batch past the sequence gap an errored earlier one
    # left, where a real broker answers OUT_OF_ORDER_SEQUENCE_NUMBER, and
    # librdkafka then counts the errored batch as implicitly acknowledged
    extra = "    max_in_flight: 1\n    kafka:\n      debug: msg\n" if debug else ""
    return f"""
job: {name}
schemas: [orders]
sources:
  g:
    type: gen
    count: {EVENTS}
    seed: {seed}
    rate: {RATE}
sinks:
  k:
    type: kafka
    input: g
    brokers: {bootstrap}
    topic: {topic}
{extra}"""


def gen_ids(sluice, count, seed):
    out = subprocess.run([sluice, "gen", "--framing", "jsonl", "--seed", str(seed), "--count",
                          str(count), "--out", "-"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, check=True, timeout=60).stdout
    return [json.loads(line)["id"] for line in out.splitlines() if line.strip()]


def topic_ids(sluice, tmp, bootstrap, topic):
    """The event ids of every message of topic: values (raw FlatBuffers)
    decoded by `sluice decode --framing raw`, one file per message."""
    fmt = "%S\\n%s"
    out = subprocess.run(["kcat", "-C", "-q", "-b", bootstrap, "-t", topic, "-e", "-f", fmt],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60).stdout
    vdir = tempfile.mkdtemp(prefix=topic + ".", dir=tmp)
    files, pos = [], 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        size = int(out[pos:end])
        pos = end + 1
        path = os.path.join(vdir, "m%06d.bin" % len(files))
        with open(path, "wb") as f:
            f.write(out[pos:pos + max(size, 0)])
        pos += max(size, 0)
        files.append(path)
    ids = []
    for i in range(0, len(files), 2000):
        dec = subprocess.run([sluice, "decode", "--framing", "raw"] + files[i:i + 2000],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             timeout=120)
        check(dec.returncode == 0, "sluice decode: " + dec.stderr[-500:])
        ids += [json.loads(line)["id"] for line in dec.stdout.splitlines() if line.strip()]
    check(len(ids) == len(files), "%s: decoded %d of %d values" % (topic, len(ids), len(files)))
    shutil.rmtree(vdir, ignore_errors=True)
    return ids


# A broker set down closes its connections: a produce request the mock
# appended but could not answer yet is retried by the idempotent producer and
# appended again, as the mock checks sequence numbers only for transactional
# producers (docs/kafka.md, "Limits of the mock"). At most the requests in
# flight to that broker come twice: 5 (max_in_flight) of a few linger
# windows each (5 ms at RATE is ~13 messages).
MOCK_RETRY_DUPS_MAX = 5 * 64


def check_delivered(what, got, want, dups_max=0):
    dups = len(got) - len(set(got))
    missing = len(set(want) - set(got))
    extra = len(set(got) - set(want))
    check(dups <= dups_max and missing == 0 and extra == 0,
          "%s: %d messages for %d events: %d duplicates (at most %d), %d missing, %d unknown"
          % (what, len(got), len(want), dups, dups_max, missing, extra))
    return dups, missing


def partition_leaders(bootstrap, topic):
    """{partition: leader broker id} from `kcat -L`."""
    r = subprocess.run(["kcat", "-L", "-b", bootstrap, "-t", topic], capture_output=True,
                       text=True, timeout=30)
    leaders = {}
    for line in r.stdout.splitlines():
        words = line.split()
        if len(words) >= 4 and words[0] == "partition" and words[2] == "leader":
            leaders[int(words[1].rstrip(","))] = int(words[3].rstrip(","))
    return leaders


def test_produce_errors(sluice, tmp, broker):
    want = gen_ids(sluice, EVENTS, SEED)
    job = Job(sluice, tmp, "produce_errors",
              sink_job("produce_errors", broker.bootstrap, "out", SEED, debug=True))
    time.sleep(1.0)
    check(job.proc.poll() is None, "produce_errors: job ended before the injection")
    broker.ok("errors Produce 5 NOT_LEADER_OR_FOLLOWER")
    if not job.wait():
        return
    seen = job.stderr.count("Not leader for partition")
    check(seen >= 5, "producer log shows %d injected NOT_LEADER errors, 5 or more expected"
          % seen)
    got = topic_ids(sluice, tmp, broker.bootstrap, "out")
    dups, missing = check_delivered("errors Produce 5 NOT_LEADER_OR_FOLLOWER", got, want)
    print("produce errors: %d NOT_LEADER errors seen and retried; %d messages for %d events "
          "(%d duplicates, %d missing) in %.1f s"
          % (seen, len(got), len(want), dups, missing, job.elapsed))


def test_broker_down_up(sluice, tmp, broker):
    broker.ok("topic down 4")
    for p in range(4):
        broker.ok("leader down %d %d" % (p, 1 + p % 3))  # broker 2 leads partition 1
    want = gen_ids(sluice, EVENTS, SEED + 1)
    job = Job(sluice, tmp, "broker_down",
              sink_job("broker_down", broker.bootstrap, "down", SEED + 1))
    time.sleep(0.8)
    check(job.proc.poll() is None, "broker_down: job ended before broker 2 went down")
    broker.ok("broker 2 down")
    time.sleep(2.5)
    stalled = job.proc.poll() is None
    check(stalled, "broker_down: job finished while partition 1's leader was down")
    broker.ok("broker 2 up")
    if not job.wait():
        return
    got = topic_ids(sluice, tmp, broker.bootstrap, "down")
    dups, missing = check_delivered("broker 2 down/up", got, want, MOCK_RETRY_DUPS_MAX)
    print("broker 2 down 2.5 s, up: job %s while down, finished in %.1f s; %d messages for %d "
          "events (%d duplicates, %d missing)"
          % ("stalled" if stalled else "did not stall", job.elapsed, len(got), len(want), dups,
             missing))


def test_leaders_moved(sluice, tmp, broker):
    broker.ok("topic moved 4")
    for p in range(4):
        broker.ok("leader moved %d %d" % (p, 1 + p % 3))  # broker 3 leads partition 2
    want = gen_ids(sluice, EVENTS, SEED + 2)
    job = Job(sluice, tmp, "leaders_moved",
              sink_job("leaders_moved", broker.bootstrap, "moved", SEED + 2))
    time.sleep(0.8)
    check(job.proc.poll() is None, "leaders_moved: job ended before broker 3 went down")
    broker.ok("broker 3 down")
    time.sleep(0.5)
    broker.ok("leader moved 2 1")
    ok = job.wait()
    broker.ok("broker 3 up")
    if not ok:
        return
    got = topic_ids(sluice, tmp, broker.bootstrap, "moved")
    dups, missing = check_delivered("broker 3 down, leaders moved", got, want, MOCK_RETRY_DUPS_MAX)
    print("broker 3 down, its partition moved to broker 1: finished in %.1f s with broker 3 "
          "still down; %d messages for %d events (%d duplicates, %d missing)"
          % (job.elapsed, len(got), len(want), dups, missing))


def has_kafka_source(sluice):
    r = subprocess.run([sluice, "help", "kafka"], capture_output=True, text=True, timeout=10)
    return any(line.startswith("source kafka") for line in r.stdout.splitlines())


def test_source_faults(sluice, tmp, broker):
    """kcat produces the generator's JSON events into `in` while a kafka
    source -> file sink job consumes them through Fetch errors and a
    broker down/up; the job is stopped (SIGTERM) once every id is out."""
    count = 20000          # ~390 bytes each: ~2 MB per partition, within retention
    broker.ok("topic in 4")
    for p in range(4):
        broker.ok("leader in %d %d" % (p, 1 + p % 3))  # broker 1 leads partitions 0 and 3
    lines = subprocess.run([sluice, "gen", "--framing", "jsonl", "--seed", str(SEED + 3),
                            "--count", str(count), "--out", "-"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, check=True, timeout=60).stdout
    want = [json.loads(line)["id"] for line in lines.splitlines() if line.strip()]
    out = os.path.join(tmp, "source_out.jsonl")
    job_text = f"""
job: source_faults
schemas: [orders]
sources:
  k:
    type: kafka
    brokers: {broker.bootstrap}
    topics: [in]
    group: faults
    format: json
    kafka:
      debug: topic,fetch
sinks:
  f:
    type: file
    input: k
    path: {out}
    format: jsonl
  dead:
    type: file
    input: k.errors
    path: {out}.errors
    format: jsonl
"""
    job = Job(sluice, tmp, "source_faults", job_text)
    # the mock delays a new group's first rebalance ~3 s: fault it once assigned
    assigned = job.wait_log("assigned 4 partitions", 30)
    check(assigned, "source_faults: no partitions assigned within 30 s")
    producer = subprocess.Popen(["kcat", "-P", "-b", broker.bootstrap, "-t", "in"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
    half = len(lines) // 2
    half = lines.index(b"\n", half) + 1
    producer.stdin.write(lines[:half])
    producer.stdin.flush()
    time.sleep(0.5)      # fetching is under way
    # the mock hands the errors to the next Fetch requests; a consumer whose
    # partitions are all paused for backpressure sends none, so wait for
    # them to show in its log (and push again if a slow build missed them)
    for _ in range(3):
        broker.ok("errors Fetch 3 NOT_LEADER_OR_FOLLOWER")
        if job.wait_log("Not leader for partition", 10):
            break
    broker.ok("broker 1 down")
    producer.stdin.write(lines[half:])
    producer.stdin.close()
    time.sleep(2.0)
    broker.ok("broker 1 up")
    try:
        producer.wait(timeout=60)
    except subprocess.TimeoutExpired:
        producer.kill()
        producer.wait()
    check(producer.returncode == 0, "kcat -P in: exit %s %s"
          % (producer.returncode, producer.stderr.read()[-300:]))
    deadline = time.monotonic() + 40
    got = []
    while time.monotonic() < deadline and job.proc.poll() is None:
        got = read_ids(out)
        if set(want) <= set(got):
            break
        time.sleep(0.5)
    job.proc.send_signal(signal.SIGTERM)
    job.wait()
    got = read_ids(out)
    errors = read_ids(out + ".errors")
    # librdkafka's topic and fetch debug contexts log the injected error
    # (per partition, or for the whole Fetch response and its backoff)
    seen = sum(1 for line in job.stderr.splitlines() if "Not leader for partition" in line)
    check(seen >= 1, "consumer log shows no injected Fetch error")
    missing = len(set(want) - set(got))
    check(missing == 0 and not errors and set(got) <= set(want),
          "kafka source under Fetch errors and broker 1 down/up: %d of %d missing, %d on the "
          "errors port, %d unknown" % (missing, count, len(errors), len(set(got) - set(want))))
    print("kafka source: %d messages in, %d out (%d distinct, %d duplicates, %d missing) "
          "across %d Fetch errors seen and broker 1 down 2 s / up"
          % (count, len(got), len(set(got)), len(got) - len(set(got)), missing, seen))


def read_ids(path):
    if not os.path.exists(path):
        return []
    ids = []
    with open(path) as f:
        for line in f:
            if line.endswith("\n"):
                ids.append(json.loads(line).get("id"))
    return ids


def main():
    rc = usage_or_skip(__doc__)
    if rc is not None:
        return rc
    sluice = os.path.abspath(sys.argv[1])
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="kafka_faults_test.")
    broker = Broker(sluice, tmp)
    try:
        test_produce_errors(sluice, tmp, broker)
        test_broker_down_up(sluice, tmp, broker)
        test_leaders_moved(sluice, tmp, broker)
        if has_kafka_source(sluice):
            test_source_faults(sluice, tmp, broker)
        else:
            print("kafka source not built: source-side faults not tested")
    finally:
        broker.stop()
        if failures == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept " + tmp, file=sys.stderr)
    print("kafka_faults_test: %.1f s, %s" % (time.monotonic() - t0,
                                             "PASS" if failures == 0 else "%d FAILED" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
