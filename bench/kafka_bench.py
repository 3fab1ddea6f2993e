#!/usr/bin/env python3
"""kafka_bench.py - the Kafka connectors against one `sluice broker` (librdkafka's
mock cluster, 3 brokers), compared with kcat (librdkafka's own CLI) doing the
same work. Needs kcat and a built sluice; registered in no meson suite.

Usage (from the source root, after `ninja -C BUILD`):

    python3 bench/kafka_bench.py BUILD [--events N] [--seed S]

e.g. `python3 bench/kafka_bench.py build-rel --events 200000`. Prints a table
and writes bench/results/kafka.csv.

Cases, all on topics of 32 partitions (the mock keeps only ~5 MiB of each
partition: N events of ~400 bytes stay within 32 x 5 MiB for N up to ~300 k;
the script checks that every partition still starts at offset 0):

  sink    `file` source (N events, seed S, written beforehand by `sluice gen
          --framing fb`, as kcat's input is; each frame verified on the
          way in) -> kafka sink, raw values (the
          event as a FlatBuffer), keyed by the envelope key, murmur2,
          idempotent, acks=all; vs `kcat -P` producing the same keys and
          values (the same events' FlatBuffers, from `sluice gen --framing
          fb`, split with multi-byte delimiters) with acks=all, idempotence
          and murmur2 too, and one header per message as the sink writes
          (every generated event has one envelope header, `source`; kcat's
          -H gives each message the same one). Wall time is process start to exit; `produce`
          is the job's own elapsed time (its summary line: sources started
          to sinks closed), without process start-up. Each measurement
          (sluice's and kcat's, N and N/4 events) is the median of --repeat
          runs (5), each into a topic of its own, sluice and kcat taking
          turns (which goes first alternates).
  sink20  the sink case again (N events, median of --repeat runs each)
          with every broker answering 20 ms late (`rtt all 20` on the
          broker's control channel), as a cluster across a network would:
          how far each producer's depth in flight covers the latency.
  source  kafka source (raw, count N: it ends after N messages) -> null
          sink over the topic the sink case filled; vs `kcat -C -e` reading
          the same topic, printing each message's partition only (-f
          '%p\\n': it reads no field of a message), and vs a kcat -C that
          reads what the source maps (-f '%k %T %h %s\\n' to /dev/null:
          key, timestamp, headers, value), and vs kcat -C as it comes (no
          -f: each value and a newline, to /dev/null); those two with
          their prefetch unbounded, so that they never idle through the
          fetch backoff described next.
          The source runs again with `headers: false` ("sluice no-hdr":
          Kafka headers left unread, as kcat -f '%p\\n' leaves them),
          against the same kcat -C runs.
          sluice's span runs from its partitions' assignment (its
          "assigned" line, seen live) to its "end of input
          after N messages" line, written when the N-th message is handed
          on (the final drain, commit and group leave come after it);
          kcat's span is its process, start to exit (no group join).
          Each source measurement is the median of --repeat runs (5),
          the eight (sluice, sluice no-hdr and kcat -C, with N and N/4
          messages each, and the fields-reading and value kcats) taking turns round
          by round, who goes first rotating. Medians, because
          librdkafka 2.0.2 stops fetching for 1 s whenever 100 k messages
          (queued.min.messages) or queued.max.messages.kbytes (8 MiB as
          sluice sets it, 64 MiB for kcat) wait in a consumer's queue, so a
          run in which the consumer falls that far behind the fetcher
          takes about a second longer (fetch.queue.backoff.ms, 2.2; the
          source restarts such fetchers, see docs/kafka.md). Both with
          fetch.wait.max.ms 10: the mock holds a Fetch response for the whole
          wait when a partition has nothing new, which would add up to
          500 ms per round trip.
  e2e     kafka source -> filter (type != "order.cancelled") -> project
          (OrderSummary) -> kafka sink, same input topic; span from the
          assignment to the last change of the output topic's end offsets
          (polled with `kcat -Q` every 0.2 s). No kcat counterpart.

CPU of sluice is its process's user+system time over the same span
(sampled from /proc every 50 ms for the source cases; wait4 rusage for the
sink). MB/s counts value bytes (key, headers and protocol overhead aside).
For the median source runs a "source CPU" line splits that time by thread
(sluice names its threads src:NODE, worker:N, sink:NODE; librdkafka's are
summed) from /proc/PID/task/*/schedstat at the "assigned" and "end of
input" lines: time on a CPU, and time runnable but waiting for one (the
cores are shared with librdkafka's threads and the broker), next to the
broker process's CPU meanwhile and kcat's and the broker's over kcat's run.

Steady state: each sink and source measurement (sluice's and kcat's) is
also made with N/4 events (sink: into topics of their own; source: kcat
-C -c N/4, sluice count N/4 in a new group), and the rate over the other
3N/4 events, 0.75 N / (t(N) - t(N/4)), is printed as "steady". Fixed costs
cancel out there: process start, connections and metadata, the group join
and the final commit and close for the source, producer set-up and the
last delivery round trips for the sink. The whole-run figures are printed
too; both ratios are sluice over kcat.
"""
import argparse
import csv
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PARTITIONS = 32
SINK_TOPICS = ["bench_sluice", "bench_kcat", "bench_sluice_q", "bench_kcat_q",
               "bench_sluice_rtt", "bench_kcat_rtt"]
RTT_MS = 20  # the sink's second case: the brokers answer this much later
TOPICS = SINK_TOPICS + ["e2e_out"]
KEY_DELIM = b"\x1e#K#\x1e"
MSG_DELIM = b"\x1d#M#\x1d\x1f"
# every generated event carries one envelope header ("source"), which the
# sink writes as a Kafka header: kcat -P writes one header per message too
KCAT_HEADER = "source=web-checkout"
SUMMARY = re.compile(r"job \S+: \d+ workers?, ([0-9.]+) s, ([0-9.]+) CPU-s")
CLK_TCK = os.sysconf("SC_CLK_TCK")
GROUPS = itertools.count()  # a new consumer group per source run


class Broker:
    def __init__(self, sluice, tmp, repeat=1, extra_topics=()):
        self.boot_file = os.path.join(tmp, "bootstrap")
        self.control = os.path.join(tmp, "control")
        args = [sluice, "broker", "--brokers", "3", "--bootstrap-file", self.boot_file,
                "--control", "unix:" + self.control]
        topics = TOPICS + [repeat_topic(t, r) for t in SINK_TOPICS for r in range(1, repeat)]
        topics += list(extra_topics)
        for t in topics:
            args += ["--topic", "%s:%d" % (t, PARTITIONS)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.boot_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("sluice broker did not start")
            time.sleep(0.05)
        with open(self.boot_file) as f:
            self.bootstrap = f.read().strip()

    def command(self, line):
        """One control command; its answer line."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.control)
            s.sendall((line + "\n").encode())
            answer = s.makefile().readline().strip()
        if not answer.startswith("ok"):
            raise RuntimeError("broker command %r: %s" % (line, answer))
        return answer

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=15)


def offsets(bootstrap, topic, which):
    """[offset per partition]: which -1 = end, -2 = beginning."""
    args = ["kcat", "-Q", "-b", bootstrap]
    for p in range(PARTITIONS):
        args += ["-t", "%s:%d:%d" % (topic, p, which)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30).stdout
    result = [None] * PARTITIONS
    for line in out.splitlines():
        m = re.match(r"\S+ \[(\d+)\] offset (-?\d+)", line)
        if m:
            result[int(m.group(1))] = int(m.group(2))
    return result


def check_topic(bootstrap, topic, want):
    ends, begins = offsets(bootstrap, topic, -1), offsets(bootstrap, topic, -2)
    if sum(ends) != want:
        raise RuntimeError("%s holds %d messages, %d expected" % (topic, sum(ends), want))
    if any(begins):
        raise RuntimeError("%s: the mock dropped old messages (starts %s): use fewer events"
                           % (topic, begins))
    return ends


def timed(args, stdin=None, stdout=subprocess.DEVNULL, stderr_path=None):
    """Runs args to exit: (wall s, CPU s from wait4, exit status, stderr text)."""
    err = open(stderr_path, "w+") if stderr_path else subprocess.DEVNULL
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdin=stdin or subprocess.DEVNULL, stdout=stdout, stderr=err)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = ""
    if stderr_path:
        err.seek(0)
        text = err.read()
        err.close()
    return wall, ru.ru_utime + ru.ru_stime, proc.returncode, text


def proc_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return None


def thread_times(pid):
    """{tid: (thread name, ns on a CPU, ns runnable but waiting for one)}
    from /proc/PID/task/*/schedstat; {} once the process is gone."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                run, wait = f.read().split()[:2]
            out[tid] = (name, int(run), int(wait))
        except (OSError, ValueError):
            pass
    return out


def process_cpu_ns(pid):
    return sum(run for _, run, _ in thread_times(pid).values())


def thread_deltas(before, after):
    """{thread name: (ms on a CPU, ms waiting for one)} between two
    thread_times() snapshots; librdkafka's threads (rdk:*) summed. A thread
    that ended before the second snapshot maps to None."""
    out = {}
    for tid, (name, run, wait) in after.items():
        _, run0, wait0 = before.get(tid, (name, 0, 0))
        key = "librdkafka" if name.startswith("rdk:") else name
        r, w = out.get(key) or (0.0, 0.0)
        out[key] = (r + (run - run0) / 1e6, w + (wait - wait0) / 1e6)
    for tid, (name, _, _) in before.items():
        if tid not in after and not name.startswith("rdk:"):
            out[name] = None
    return out


class LiveJob:
    """A `sluice run` whose stderr is read live: its "assigned" and
    "messages consumed" lines timestamped, CPU sampled from /proc, and its
    threads' and the broker's CPU times taken at both lines."""

    def __init__(self, sluice, path, broker_pid=None):
        self.proc = subprocess.Popen([sluice, "run", path], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, errors="replace")
        self.broker_pid = broker_pid
        self.threads = {}        # "assigned" / "end": (thread_times(), broker CPU ns)
        self.assigned = None
        self.consumed_at = None  # time of the "end of input" line
        self.lines = []
        self.cpu = []            # (time.time(), cpu s)
        self.done = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.reader.start()
        self.sampler.start()

    def _read(self):
        for line in self.proc.stderr:
            if self.assigned is None and "assigned" in line:
                self.assigned = time.time()
                self.threads["assigned"] = self._times()
            if self.consumed_at is None and "end of input after" in line:
                self.consumed_at = time.time()
                self.threads["end"] = self._times()
            if not line.startswith("%7|"):
                self.lines.append(line)

    def _times(self):
        return (thread_times(self.proc.pid),
                process_cpu_ns(self.broker_pid) if self.broker_pid else 0)

    def span_threads(self):
        """(thread_deltas over assigned .. end of input, broker CPU ms), or
        None when either line was not seen."""
        if "assigned" not in self.threads or "end" not in self.threads:
            return None
        (t0, b0), (t1, b1) = self.threads["assigned"], self.threads["end"]
        return thread_deltas(t0, t1), (b1 - b0) / 1e6

    def _sample(self):
        while not self.done:
            c = proc_cpu(self.proc.pid)
            if c is not None:
                self.cpu.append((time.time(), c))
            time.sleep(0.05)

    def cpu_between(self, t0, t1):
        def at(t):
            best = None
            for ts, c in self.cpu:
                if ts <= t:
                    best = c
            return best if best is not None else 0.0
        return at(t1) - at(t0)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.done = True
        self.reader.join(timeout=10)
        return "".join(self.lines)


def write(tmp, name, text):
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def make_kcat_input(sluice, tmp, n, seed):
    """The N events' keys and raw FlatBuffer values, delimited for kcat -P;
    returns (path, mean value bytes)."""
    js = subprocess.run([sluice, "gen", "--framing", "jsonl", "--seed", str(seed), "--count",
                         str(n), "--out", "-"], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, check=True).stdout.splitlines()
    fb = subprocess.run([sluice, "gen", "--framing", "fb", "--seed", str(seed), "--count",
                         str(n), "--out", "-"], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, check=True).stdout
    path = os.path.join(tmp, "kcat_input.bin")
    total, pos, count = 0, 0, 0
    with open(path, "wb") as f:
        for line in js:
            size = int.from_bytes(fb[pos:pos + 4], "little")
            value = fb[pos + 4:pos + 4 + size]
            pos += 4 + size
            key = json.loads(line)["key"].encode()
            if KEY_DELIM in value or MSG_DELIM in value or KEY_DELIM in key:
                raise RuntimeError("a delimiter occurs in the data")
            f.write(key + KEY_DELIM + value + MSG_DELIM)
            total += len(value)
            count += 1
    if count != n or pos != len(fb):
        raise RuntimeError("jsonl and fb generator outputs disagree")
    return path, total / n


def row(case, client, n, size, span, cpu=None, wall=None):
    return {"case": case, "client": client, "events": n, "event_bytes": round(size),
            "seconds": round(span, 3), "wall_s": round(wall, 3) if wall else "",
            "messages_per_s": round(n / span), "MB_per_s": round(n * size / span / 1e6, 1),
            "sluice_cpu_s": round(cpu, 2) if cpu is not None else "",
            "events_per_cpu_s": round(n / cpu) if cpu else "", "ratio_vs_kcat": ""}


def sluice_produce(sluice, tmp, bootstrap, n, seed, topic):
    """file (the n events as `sluice gen --framing fb` writes them, made
    beforehand as kcat's input is) -> kafka sink into topic: (job elapsed
    s, CPU s, wall s)."""
    events = os.path.join(tmp, "events_%d.fb" % n)
    if not os.path.exists(events):
        subprocess.run([sluice, "gen", "--framing", "fb", "--seed", str(seed), "--count",
                        str(n), "--out", events], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
    job = write(tmp, "sink_" + topic, f"""
job: bench_sink
schemas: [orders]
sources:
  f: {{type: file, path: "{events}"}}
sinks:
  k: {{type: kafka, input: f, brokers: "{bootstrap}", topic: {topic}}}
""")
    wall, cpu, rc, err = timed([sluice, "run", job], stderr_path=os.path.join(tmp, "sink.err"))
    if rc != 0:
        raise RuntimeError("sink job exit %d: %s" % (rc, err[-2000:]))
    m = SUMMARY.search(err)
    return (float(m.group(1)) if m else wall), cpu, wall


def kcat_produce(tmp, bootstrap, path, topic):
    """kcat -P of the delimited input at path: (wall s, CPU s)."""
    with open(path, "rb") as f:
        kwall, kcpu, krc, kerr = timed(
            ["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", KEY_DELIM.decode(),
             "-D", MSG_DELIM.decode(), "-X", "acks=all", "-X", "enable.idempotence=true",
             "-X", "partitioner=murmur2_random", "-H", KCAT_HEADER], stdin=f,
            stderr_path=os.path.join(tmp, "kcat_p.err"))
    if krc != 0:
        raise RuntimeError("kcat -P exit %d: %s" % (krc, kerr[-1000:]))
    return kwall, kcpu


def steady(n, t_full, t_quarter):
    """Messages/s over the last 3n/4 events: fixed costs cancel."""
    q = n // 4
    return (n - q) / (t_full - t_quarter) if t_full > t_quarter else 0


def compare(s, k, n, sluice_times, kcat_times, what):
    """Fills sluice's row s and kcat's row k with the whole-run ratio and the
    steady-state figures: sluice_times (t(N), t(N/4), CPU(N), CPU(N/4)),
    kcat_times (t(N), t(N/4))."""
    t, q_t, cpu, q_cpu = sluice_times
    kt, q_kt = kcat_times
    s["ratio_vs_kcat"] = round(k["seconds"] / s["seconds"], 2)
    s["steady_per_s"] = round(steady(n, t, q_t))
    s["steady_events_per_cpu_s"] = round((n - n // 4) / (cpu - q_cpu)) if cpu > q_cpu else ""
    k["steady_per_s"] = round(steady(n, kt, q_kt))
    s["steady_ratio"] = round(s["steady_per_s"] / k["steady_per_s"], 2) if k["steady_per_s"] else ""
    print("%s: sluice %.3f / %.3f s, kcat %.3f / %.3f s (N / N/4)" % (what, t, q_t, kt, q_kt))


def quarter_input(kcat_input, n):
    """The first n/4 records of kcat_input, in a file of their own."""
    with open(kcat_input, "rb") as f:
        records = f.read().split(MSG_DELIM)
    path = kcat_input + ".q"
    with open(path, "wb") as f:
        for r in records[:n // 4]:
            f.write(r + MSG_DELIM)
    return path


def repeat_topic(base, r):
    """The topic of the r-th repeat of a sink measurement (each writes one of
    its own: the mock keeps ~5 MiB per partition)."""
    return base if r == 0 else "%s_r%d" % (base, r)


def taking_turns(repeat, *runs):
    """Calls each of runs with r for each of repeat rounds r, who goes first
    rotating round by round: the broker fills and the machine's load drifts
    as it goes."""
    for r in range(repeat):
        first = r % len(runs)
        for run in runs[first:] + runs[:first]:
            run(r)


def bench_sink(sluice, tmp, broker, n, seed, size, kcat_input, repeat):
    """Median of repeat runs each: sluice's by its job's elapsed time, kcat's
    by its wall time, the two taking turns (the first alternating)."""
    full, quarter, kfull, kquarter = [], [], [], []
    q_input = quarter_input(kcat_input, n)
    def sluice_runs(r):
        topic = repeat_topic("bench_sluice", r)
        full.append(sluice_produce(sluice, tmp, broker.bootstrap, n, seed, topic))
        check_topic(broker.bootstrap, topic, n)
        quarter.append(sluice_produce(sluice, tmp, broker.bootstrap, n // 4, seed,
                                      repeat_topic("bench_sluice_q", r)))

    def kcat_runs(r):
        topic = repeat_topic("bench_kcat", r)
        kfull.append(kcat_produce(tmp, broker.bootstrap, kcat_input, topic))
        check_topic(broker.bootstrap, topic, n)
        kquarter.append(kcat_produce(tmp, broker.bootstrap, q_input,
                                     repeat_topic("bench_kcat_q", r)))

    taking_turns(repeat, sluice_runs, kcat_runs)
    produce, cpu, wall = sorted(full)[len(full) // 2]
    _, q_cpu, q_wall = sorted(quarter)[len(quarter) // 2]
    kwall, kcpu = sorted(kfull)[len(kfull) // 2]
    q_kwall, _ = sorted(kquarter)[len(kquarter) // 2]
    ends = check_topic(broker.bootstrap, "bench_sluice", n)  # what the source cases read
    s = row("sink", "sluice", n, size, produce, cpu, wall)
    k = row("sink", "kcat -P", n, size, kwall, None, kwall)
    k["kcat_cpu_s"] = round(kcpu, 2)
    s["ratio_wall_vs_kcat"] = round(kwall / wall, 2)
    # wall times: the job's own elapsed time is counted in 0.1 s steps
    compare(s, k, n, (wall, q_wall, cpu, q_cpu), (kwall, q_kwall), "sink walls")
    print("sink runs, s: sluice %s, kcat %s" % (
        " ".join("%.3f" % w for _, _, w in sorted(full, key=lambda r: r[2])),
        " ".join("%.3f" % w for w, _ in sorted(kfull))))
    return [s, k], ends


def bench_sink_rtt(sluice, tmp, broker, n, seed, size, kcat_input, repeat):
    """The sink case (N events only) with every broker answering RTT_MS
    later: how far each producer's depth in flight covers the latency."""
    runs, kruns = [], []

    def sluice_runs(r):
        topic = repeat_topic("bench_sluice_rtt", r)
        runs.append(sluice_produce(sluice, tmp, broker.bootstrap, n, seed, topic))
        check_topic(broker.bootstrap, topic, n)

    def kcat_runs(r):
        topic = repeat_topic("bench_kcat_rtt", r)
        kruns.append(kcat_produce(tmp, broker.bootstrap, kcat_input, topic))
        check_topic(broker.bootstrap, topic, n)

    broker.command("rtt all %d" % RTT_MS)
    try:
        taking_turns(repeat, sluice_runs, kcat_runs)
    finally:
        broker.command("rtt all 0")
    produce, cpu, wall = sorted(runs)[len(runs) // 2]
    kwall, kcpu = sorted(kruns)[len(kruns) // 2]
    case = "sink%d" % RTT_MS
    s = row(case, "sluice", n, size, produce, cpu, wall)
    k = row(case, "kcat -P", n, size, kwall, None, kwall)
    k["kcat_cpu_s"] = round(kcpu, 2)
    s["ratio_vs_kcat"] = round(kwall / s["seconds"], 2)
    print("sink with a %d ms broker round trip, s: sluice %s, kcat %s" % (
        RTT_MS, " ".join("%.3f" % w for _, _, w in sorted(runs, key=lambda x: x[2])),
        " ".join("%.3f" % w for w, _ in sorted(kruns))))
    return [s, k]


def run_live(sluice, tmp, name, text, topic, ends, done, broker_pid=None):
    """Starts a live job, waits for its assignment and for done(job) to
    return an end time; returns (span s, CPU s, job stderr, its threads'
    and the broker's CPU between "assigned" and "end of input" as
    LiveJob.span_threads() gives them)."""
    job = LiveJob(sluice, write(tmp, name, text), broker_pid)
    deadline = time.monotonic() + 120
    t_end = None
    while time.monotonic() < deadline:
        if job.assigned is not None:
            t_end = done(job)
            if t_end is not None:
                break
        if job.proc.poll() is not None:  # ended by itself: its last lines are read
            job.reader.join(timeout=10)
            t_end = done(job) if job.assigned is not None else None
            break
        time.sleep(0.1)
    time.sleep(0.3)
    err = job.stop()
    if job.assigned is None or t_end is None:
        raise RuntimeError("%s did not finish: %s" % (name, err[-2000:]))
    return t_end - job.assigned, job.cpu_between(job.assigned, t_end), err, job.span_threads()


def sluice_consume(sluice, tmp, broker, n, ends, name, settings=(), headers=True):
    """kafka source (count n, a new group, librdkafka settings (key, value)
    besides fetch.wait.max.ms, Kafka headers mapped or not) -> null sink:
    (span s, CPU s, per-thread CPU over the span)."""
    extra = "".join(", %s: %s" % kv for kv in settings)
    text = f"""
job: bench_source
schemas: [orders]
sources:
  k:
    type: kafka
    brokers: "{broker.bootstrap}"
    topics: [bench_sluice]
    group: bench-{name}-{os.getpid()}-{next(GROUPS)}
    count: {n}
    headers: {"true" if headers else "false"}
    kafka: {{fetch.wait.max.ms: 10{extra}}}
sinks:
  n: {{type: null, input: k}}
"""
    span, cpu, err, threads = run_live(sluice, tmp, name, text, "bench_sluice", ends,
                                       lambda job: job.consumed_at, broker.proc.pid)
    m = re.search(r"k: (\d+) messages consumed", err)
    consumed = int(m.group(1)) if m else -1
    if consumed < n:
        raise RuntimeError("source consumed %d of %d: %s" % (consumed, n, err[-2000:]))
    return span, cpu, threads


# kcat -C's output formats: FORMAT_NONE reads no field of a message (one
# line per message, counted); FORMAT_VALUE is kcat's own default (no -f:
# each value and a newline), to /dev/null; FORMAT_FIELDS reads what the
# source maps: key, timestamp, headers (librdkafka parses them per message,
# as for the source) and the value, to /dev/null.
FORMAT_NONE = "%p\\n"
FORMAT_VALUE = None
FORMAT_FIELDS = "%k %T %h %s\\n"


def kcat_consume(tmp, broker, n, fmt=FORMAT_NONE):
    """kcat -C -f fmt of the first n messages of bench_sluice: (wall s, CPU
    s, the broker's CPU ms meanwhile). FORMAT_NONE's lines are counted; with
    the others (values may hold newlines) exit 0 with -c n over a topic
    that holds n messages (as FORMAT_NONE's count shows) is the check."""
    out = os.path.join(tmp, "kcat_c.out") if fmt == FORMAT_NONE else os.devnull
    # FORMAT_FIELDS' kcat falls behind its fetcher (FORMAT_VALUE's may): with
    # librdkafka's queue bounds (100 k messages, 64 MiB) it would idle through
    # 2.0.2's fixed 1 s fetch backoff (see the source case), which sluice's
    # source works around; unbounded here, it measures reading, not that
    unbounded = (["-X", "queued.min.messages=10000000", "-X",
                  "queued.max.messages.kbytes=2097151"] if fmt != FORMAT_NONE else [])
    broker0 = process_cpu_ns(broker.proc.pid)
    with open(out, "wb") as f:
        kwall, kcpu, krc, kerr = timed(["kcat", "-C", "-b", broker.bootstrap, "-t",
                                        "bench_sluice", "-o", "beginning", "-e", "-q",
                                        "-c", str(n), "-X", "fetch.wait.max.ms=10"] +
                                       unbounded + (["-f", fmt] if fmt else []),
                                       stdout=f,
                                       stderr_path=os.path.join(tmp, "kcat_c.err"))
    got = n
    if fmt == FORMAT_NONE:
        with open(out, "rb") as f:
            got = sum(1 for _ in f)
    if krc != 0 or got != n:
        raise RuntimeError("kcat -C exit %d, %d of %d messages: %s" % (krc, got, n, kerr[-500:]))
    return kwall, kcpu, (process_cpu_ns(broker.proc.pid) - broker0) / 1e6


def median_turns(repeat, runs):
    """runs: {name: a function returning a tuple, time first}, each called
    once per round, taking turns: {name: its tuple of the median time}."""
    got = {name: [] for name in runs}
    taking_turns(repeat, *[lambda r, name=name: got[name].append(runs[name]()) for name in runs])
    return {name: sorted(rs, key=lambda t: t[0])[len(rs) // 2] for name, rs in got.items()}


def print_cpu_budget(threads, kcat_cpu_s, kcat_broker_ms):
    """Where the CPU of the median source runs went: sluice's threads over
    its span (ms on a CPU, and ms runnable but waiting for one), the
    broker's meanwhile; kcat's process and the broker's over kcat's run."""
    if threads is None:
        return {}
    per_thread, broker_ms = threads
    ended = [name for name, t in per_thread.items() if t is None]
    times = {name: t for name, t in per_thread.items() if t is not None}
    parts = ["%s %.0f (+%.0f waiting)" % (name, run, wait)
             for name, (run, wait) in sorted(times.items(), key=lambda kv: -kv[1][0])
             if run >= 1]
    parts += ["%s (ended before the second look)" % name for name in ended]
    print("source CPU, ms (median runs): sluice over its span: %s; mock broker %.0f. "
          "kcat -C: its process %.0f; mock broker %.0f"
          % (", ".join(parts), broker_ms, kcat_cpu_s * 1e3, kcat_broker_ms))
    if "src:k" not in times:
        return {}
    run, wait = times["src:k"]
    return {"source_thread_ms": round(run), "source_thread_wait_ms": round(wait)}


def bench_source(sluice, tmp, broker, n, size, ends, repeat):
    def consume(count, headers):
        name = "source%s%s" % ("" if headers else "_nohdr", "" if count == n else "_q")
        return lambda: sluice_consume(sluice, tmp, broker, count, ends, name, headers=headers)
    m = median_turns(repeat, {
        "sluice": consume(n, True), "sluice_q": consume(n // 4, True),
        "nohdr": consume(n, False), "nohdr_q": consume(n // 4, False),
        "kcat": lambda: kcat_consume(tmp, broker, n),
        "kcat_q": lambda: kcat_consume(tmp, broker, n // 4),
        "fields": lambda: kcat_consume(tmp, broker, n, FORMAT_FIELDS),
        "value": lambda: kcat_consume(tmp, broker, n, FORMAT_VALUE)})
    span, cpu, threads = m["sluice"]
    q_span, q_cpu, _ = m["sluice_q"]
    s = row("source", "sluice", n, size, span, cpu)
    kwall, kcpu, kbroker = m["kcat"]
    q_kwall = m["kcat_q"][0]
    k = row("source", "kcat -C", n, size, kwall, None, kwall)
    k["kcat_cpu_s"] = round(kcpu, 2)
    compare(s, k, n, (span, q_span, cpu, q_cpu), (kwall, q_kwall), "source spans")
    s.update(print_cpu_budget(threads, kcpu, kbroker))
    h_span, h_cpu, _ = m["nohdr"]
    hq_span, hq_cpu, _ = m["nohdr_q"]
    h = row("source", "sluice no-hdr", n, size, h_span, h_cpu)
    compare(h, k, n, (h_span, hq_span, h_cpu, hq_cpu), (kwall, q_kwall),
            "source spans with headers: false")
    fwall, fcpu, _ = m["fields"]
    f = row("source", "kcat -C fields", n, size, fwall, None, fwall)
    f["kcat_cpu_s"] = round(fcpu, 2)
    s["ratio_vs_kcat_fields"] = round(fwall / span, 2)
    print("source vs a kcat -C that reads the fields the source maps (-f '%s' to "
          "/dev/null): kcat %.3f s, sluice %.3f s, ratio %.2f"
          % (FORMAT_FIELDS.replace("\\n", ""), fwall, span, s["ratio_vs_kcat_fields"]))
    vwall, vcpu, _ = m["value"]
    v = row("source", "kcat -C value", n, size, vwall, None, vwall)
    v["kcat_cpu_s"] = round(vcpu, 2)
    s["ratio_vs_kcat_value"] = round(vwall / span, 2)
    h["ratio_vs_kcat_value"] = round(vwall / h_span, 2)
    print("source vs kcat -C as it comes (no -f: each value and a newline, to /dev/null): "
          "kcat %.3f s; sluice %.3f s, ratio %.2f; no-hdr %.3f s, ratio %.2f"
          % (vwall, span, s["ratio_vs_kcat_value"], h_span, h["ratio_vs_kcat_value"]))
    return [s, h, k, v, f]


def bench_e2e(sluice, tmp, broker, n, size, ends):
    text = f"""
job: bench_e2e
schemas: [orders]
sources:
  k:
    type: kafka
    brokers: "{broker.bootstrap}"
    topics: [bench_sluice]
    group: bench-e2e-{os.getpid()}
operators:
  kept:
    type: filter
    input: k
    where: type != "order.cancelled"
  summary:
    type: project
    input: kept
    target: OrderSummary
    fields: {{order_id: payload.order_id, amount: payload.amount, region: payload.region}}
sinks:
  out: {{type: kafka, input: summary, brokers: "{broker.bootstrap}", topic: e2e_out}}
  dead: {{type: null, input: [k.errors, summary.errors]}}
"""
    state = {"total": -1, "changed": None, "polls": 0}

    def done(job):
        total = sum(o or 0 for o in offsets(broker.bootstrap, "e2e_out", -1))
        now = time.time()
        if total != state["total"]:
            state["total"], state["changed"], state["polls"] = total, now, 0
            return None
        state["polls"] += 1
        # stable for 1.5 s after some output: the job is through its input
        return state["changed"] if total > 0 and now - state["changed"] > 1.5 else None

    span, cpu, err, _ = run_live(sluice, tmp, "e2e", text, "bench_sluice", ends, done)
    m = re.search(r"k: (\d+) messages consumed", err)
    consumed = int(m.group(1)) if m else -1
    if consumed < n:
        raise RuntimeError("e2e consumed %d of %d: %s" % (consumed, n, err[-2000:]))
    s = row("e2e", "sluice", n, size, span, cpu)
    s["output_messages"] = state["total"]
    return [s]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5,
                    help="runs per sink and source measurement; the median is kept")
    args = ap.parse_args()
    sluice = os.path.abspath(os.path.join(args.build, "src", "cli", "sluice"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="kafka_bench.") as tmp:
        kcat_input, size = make_kcat_input(sluice, tmp, args.events, args.seed)
        broker = Broker(sluice, tmp, args.repeat)
        try:
            sink_rows, ends = bench_sink(sluice, tmp, broker, args.events, args.seed, size,
                                         kcat_input, args.repeat)
            rows += sink_rows
            rows += bench_sink_rtt(sluice, tmp, broker, args.events, args.seed, size,
                                   kcat_input, args.repeat)
            rows += bench_source(sluice, tmp, broker, args.events, size, ends, args.repeat)
            rows += bench_e2e(sluice, tmp, broker, args.events, size, ends)
        finally:
            broker.stop()
    print("%-7s %-14s %8s %8s %8s %11s %7s %9s %11s %9s" % (
        "case", "client", "events", "bytes/ev", "seconds", "messages/s", "MB/s",
        "CPU-s", "ev/CPU-s", "vs kcat"))
    for r in rows:
        cpu = r["sluice_cpu_s"] if r["sluice_cpu_s"] != "" else r.get("kcat_cpu_s", "")
        print("%-7s %-14s %8d %8d %8.2f %11d %7.1f %9s %11s %9s" % (
            r["case"], r["client"], r["events"], r["event_bytes"], r["seconds"],
            r["messages_per_s"], r["MB_per_s"], cpu, r["events_per_cpu_s"],
            r["ratio_vs_kcat"]))
    sink = rows[0]
    print("sink wall (process start to exit): sluice %.2f s, kcat %.2f s (ratio %.2f); "
          "e2e output %d messages" % (sink["wall_s"], rows[1]["wall_s"],
                                      sink["ratio_wall_vs_kcat"], rows[-1]["output_messages"]))
    print("CPU-s: sluice's process over the span; for kcat rows, kcat's own")
    print()
    print("steady state (the last 3N/4 events; fixed costs cancel):")
    print("%-7s %-14s %11s %7s %11s %9s" % ("case", "client", "messages/s", "MB/s", "ev/CPU-s",
                                          "vs kcat"))
    for r in rows:
        if "steady_per_s" in r:
            print("%-7s %-14s %11d %7.1f %11s %9s" % (
                r["case"], r["client"], r["steady_per_s"], r["steady_per_s"] * size / 1e6,
                r.get("steady_events_per_cpu_s", ""), r.get("steady_ratio", "")))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "kafka.csv")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fields = ["case", "client", "events", "event_bytes", "seconds", "wall_s", "messages_per_s",
              "MB_per_s", "sluice_cpu_s", "events_per_cpu_s", "kcat_cpu_s", "ratio_vs_kcat",
              "steady_per_s", "steady_events_per_cpu_s", "steady_ratio", "source_thread_ms",
              "source_thread_wait_ms", "ratio_vs_kcat_fields", "ratio_vs_kcat_value"]
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    print("wrote " + out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
