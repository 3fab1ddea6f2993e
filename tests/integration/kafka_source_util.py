"""kafka_source_util.py - what the kafka source tests share: `sluice broker`
in the background, kcat as the producer (paced or from files), sluice jobs
with a kafka source and a file sink, and reading their JSON-lines output
(a line cut short by SIGKILL is skipped)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time


def usage_or_skip(doc, tools=("kcat",)):
    """The start of a test's main(): 2 (doc as usage, on stderr) without the
    SLUICE argument, 77 (skip) when one of tools is not installed, else
    None."""
    if len(sys.argv) < 2:
        print(doc, file=sys.stderr)
        return 2
    for tool in tools:
        if not shutil.which(tool):
            print("SKIP: %s not installed" % tool, file=sys.stderr)
            return 77
    return None


class Broker:
    """`sluice broker` with the given topics; stopped with SIGTERM. With
    control=True, command(line) sends a fault command over its unix control
    socket and returns the one-line answer."""

    def __init__(self, sluice, tmp, topics, control=False):
        self.boot_file = os.path.join(tmp, "bootstrap")
        self.sock_path = os.path.join(tmp, "ctl.sock")
        args = [sluice, "broker", "--bootstrap-file", self.boot_file]
        for t in topics:
            args += ["--topic", t]
        if control:
            args += ["--control", "unix:" + self.sock_path]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.boot_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("sluice broker did not start")
            time.sleep(0.05)
        with open(self.boot_file) as f:
            self.bootstrap = f.read().strip()

    def command(self, line):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(self.sock_path)
            with sock.makefile("rw") as f:
                f.write(line + "\n")
                f.flush()
                return f.readline().strip()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def produce_lines(bootstrap, topic, lines, extra=()):
    """Produces each line (no newline inside) as one message with kcat."""
    data = "".join(line + "\n" for line in lines).encode()
    subprocess.run(["kcat", "-P", "-q", "-b", bootstrap, "-t", topic, *extra], input=data,
                   check=True, timeout=60)


def produce_files(bootstrap, topic, paths, extra=()):
    """Produces each file, whole, as one message (kcat's file mode: binary-safe,
    no delimiter involved)."""
    subprocess.run(["kcat", "-P", "-q", "-b", bootstrap, "-t", topic, *extra, *paths],
                   check=True, timeout=60)


class PacedProducer:
    """kcat -P fed from a pipe at about `rate` lines per second."""

    def __init__(self, bootstrap, topic):
        self.proc = subprocess.Popen(["kcat", "-P", "-q", "-b", bootstrap, "-t", topic],
                                     stdin=subprocess.PIPE)

    def run(self, lines, rate, on_tick=None):
        start, step = time.monotonic(), max(1, rate // 20)
        for i in range(0, len(lines), step):
            self.proc.stdin.write("".join(l + "\n" for l in lines[i:i + step]).encode())
            self.proc.stdin.flush()
            if on_tick:
                on_tick(i + step)
            delay = start + (i + step) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def order_events(count, prefix="e"):
    """count JSON order.placed events with ids prefix0.., keys over 31 customers."""
    return [json.dumps({"id": "%s%d" % (prefix, i), "type": "order.placed",
                        "key": "customer-%d" % (i % 31), "ts": 1732262400000000 + i,
                        "payload": {"order_id": "o%d" % i, "customer_id": "customer-%d" % (i % 31),
                                    "amount": i % 1000, "currency": "EUR"}},
                       separators=(",", ":")) for i in range(count)]


def write_job(path, bootstrap, group, out, fmt="json", extra_source="", kafka=None,
              where="payload.amount >= 0"):
    kafka_map = ""
    if kafka:
        kafka_map = ", kafka: {%s}" % ", ".join('"%s": "%s"' % kv for kv in kafka.items())
    with open(path, "w") as f:
        f.write("job: kafka-source-test\nschemas: [orders]\nsources:\n"
                "  kin: {type: kafka, brokers: \"%s\", topics: [in], group: %s, format: %s%s%s}\n"
                "operators:\n  keep: {type: filter, input: kin, where: %s}\n"
                "sinks:\n  out: {type: file, input: keep, path: \"%s\", format: jsonl}\n"
                % (bootstrap, group, fmt, extra_source, kafka_map, json.dumps(where), out))


def start_job(sluice, job, log_path):
    log = open(log_path, "wb")
    return subprocess.Popen([sluice, "run", job], stdout=log, stderr=subprocess.STDOUT)


def stop_job(proc, timeout=30):
    """SIGINT (drain), then wait; returns the exit code (None if it hung)."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def read_output(path):
    """The JSON objects of a jsonl file; a last line cut short is skipped."""
    events = []
    if not os.path.exists(path):
        return events
    with open(path, "rb") as f:
        for line in f:
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    return events


def ids(path):
    return [e.get("id") for e in read_output(path)]


def wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


class Checks:
    """Counts failed checks; check(cond, what) prints FAIL: what when cond
    is false and returns cond."""

    def __init__(self):
        self.failures = 0

    def __call__(self, cond, what):
        if not cond:
            self.failures += 1
            print("FAIL: " + what, file=sys.stderr)
        return cond
