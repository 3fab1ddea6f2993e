#!/usr/bin/env python3
"""broker_test.py - `sluice broker` as a real process, with kcat (a Kafka
client sluice did not write) as the independent client.

  * `--brokers 3 --topic t:4 --bootstrap-file F --control unix:SOCK`: F
    appears (atomically) with the printed bootstrap list; `kcat -L` sees 3
    brokers and topic t with 4 partitions.
  * 1000 keyed messages produced with `kcat -P` come back exactly (key and
    value) from `kcat -C -e`, each key on a single partition.
  * `broker 1 down` with broker 1 leading a partition: a producer stalls on
    that partition (kcat is still running 2 s later) and delivers everything
    once `broker 1 up`; with the leaders moved off broker 1 (`leader`) the
    producer completes while broker 1 is still down.
  * `errors Produce 1 TOPIC_AUTHORIZATION_FAILED`: kcat reports the failed
    delivery (the injection reaches the client); `errors Produce 2
    NOT_LEADER_OR_FOLLOWER`: the producer sees both errors, retries, and
    every message arrives exactly once; the control channel rejects bad
    commands with "error ..." and keeps serving.
  * stdin control: answers on stdout, `quit` exits 0; with </dev/null the
    broker outlives end of input and exits 0 on SIGINT, removing the
    bootstrap file.

usage: broker_test.py PATH/TO/sluice [SOURCE_ROOT]   (exit 0 pass, 1 fail, 77 skip)
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from kafka_source_util import usage_or_skip

failures = 0
MESSAGES = 1000


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + what, file=sys.stderr)
    return cond


def wait_for_file(path, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                return f.read().strip()
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    return None


class Control:
    """A line-oriented client of the broker's unix control socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")

    def send(self, line):
        self.file.write(line + "\n")
        self.file.flush()
        return self.file.readline().strip()

    def ok(self, line):
        reply = self.send(line)
        check(reply.startswith("ok"), "control '%s' answered '%s'" % (line, reply))
        return reply

    def close(self):
        self.file.close()
        self.sock.close()


def payload(tag):
    return "".join("k%d:%s-%d\n" % (i % 97, tag, i) for i in range(MESSAGES))


def kcat_produce(bootstrap, topic, tag):
    return subprocess.Popen(["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", ":"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def produce(bootstrap, topic, tag, timeout=30):
    p = kcat_produce(bootstrap, topic, tag)
    _, err = p.communicate(payload(tag), timeout=timeout)
    check(p.returncode == 0, "kcat -P %s exited %d: %s" % (topic, p.returncode, err[-500:]))


def consume(bootstrap, topic):
    """Everything in topic as a list of (partition, key, value)."""
    r = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-q",
                        "-f", "%p %k %s\\n"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "kcat -C %s exited %d: %s" % (topic, r.returncode, r.stderr[-500:]))
    return [tuple(line.split(" ", 2)) for line in r.stdout.splitlines() if line]


def check_exact(bootstrap, topic, tag):
    records = consume(bootstrap, topic)
    got = sorted((k, v) for _, k, v in records)
    want = sorted(tuple(line.split(":", 1)) for line in payload(tag).splitlines())
    check(got == want, "%s: %d records read back, %d expected, equal: %s"
          % (topic, len(got), len(want), got == want))
    partitions = {}
    for p, k, _ in records:
        partitions.setdefault(k, set()).add(p)
    check(all(len(s) == 1 for s in partitions.values()), "%s: a key spans partitions" % topic)
    return len(records)


def test_metadata(bootstrap):
    r = subprocess.run(["kcat", "-L", "-b", bootstrap, "-t", "t"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0, "kcat -L: %s" % r.stderr)
    check(" 3 brokers:" in r.stdout, "kcat -L: 3 brokers:\n" + r.stdout)
    check('topic "t" with 4 partitions' in r.stdout, "kcat -L: t with 4 partitions:\n" + r.stdout)
    for port in bootstrap.split(","):
        check(port.startswith("127.0.0.1:") and port in r.stdout, "broker %s listed" % port)


def test_broker_down(ctl, bootstrap):
    ctl.ok("topic down 4")
    for p in range(4):
        ctl.ok("leader down %d %d" % (p, 1 if p == 0 else 2))
    ctl.ok("broker 1 down")
    p = kcat_produce(bootstrap, "down", "down")
    p.stdin.write(payload("down"))
    p.stdin.close()
    time.sleep(2.0)
    check(p.poll() is None, "producer finished although partition 0's leader was down")
    ctl.ok("broker 1 up")
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    err = p.stderr.read()
    check(p.returncode == 0, "kcat -P across broker 1 down/up exited %s: %s"
          % (p.returncode, err[-500:]))
    n = check_exact(bootstrap, "down", "down")
    print("broker down/up: producer stalled while the leader was down, %d/%d delivered after up"
          % (n, MESSAGES))

    ctl.ok("topic moved 4")
    for part in range(4):
        ctl.ok("leader moved %d 2" % part)
    ctl.ok("broker 1 down")
    t0 = time.monotonic()
    produce(bootstrap, "moved", "moved")
    took = time.monotonic() - t0
    check_exact(bootstrap, "moved", "moved")
    ctl.ok("broker 1 up")
    print("leaders off broker 1: %d messages in %.2f s while broker 1 was down" % (MESSAGES, took))


def test_errors(ctl, bootstrap):
    # A non-retriable error reaches the client: the injection takes effect.
    ctl.ok("topic denied 1")
    ctl.ok("errors Produce 1 TOPIC_AUTHORIZATION_FAILED")
    r = subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", "denied", "-K", ":"],
                       input="a:b\n", capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "authorization failed" in r.stderr.lower(),
          "injected TOPIC_AUTHORIZATION_FAILED reported by kcat: rc %d, %s"
          % (r.returncode, r.stderr[-300:]))
    check(consume(bootstrap, "denied") == [], "a rejected produce left no record")

    # A retriable one is retried: both injected errors seen, everything once.
    ctl.ok("topic errs 4")
    ctl.ok("errors Produce 2 NOT_LEADER_OR_FOLLOWER")
    r = subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", "errs", "-K", ":", "-d", "msg"],
                       input=payload("errs"), capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "kcat -P errs exited %d" % r.returncode)
    seen = r.stderr.count("Not leader for partition")
    check(seen >= 2, "producer saw %d injected NOT_LEADER errors, 2 or more expected" % seen)
    n = check_exact(bootstrap, "errs", "errs")
    print("errors Produce 2 NOT_LEADER_OR_FOLLOWER: %d errors retried, %d/%d delivered once"
          % (seen, n, MESSAGES))
    for bad in ["errors Produce 2 NO_SUCH_ERROR", "errors Nope 1 _TRANSPORT", "broker 4 down",
                "rtt 1 x", "leader t 0 0", "leader t 4 1", "leader ghost 0 1", "topic t 4",
                "frobnicate", "x" * 2000]:
        reply = ctl.send(bad)
        check(reply.startswith("error"), "'%s...' answered '%s'" % (bad[:30], reply))
    # the mock would create a topic a leader move names: the broker refuses instead
    r = subprocess.run(["kcat", "-L", "-b", bootstrap], capture_output=True, text=True,
                       timeout=30)
    check('topic "t" with' in r.stdout and 'topic "ghost"' not in r.stdout,
          "after `leader ghost 0 1`, kcat -L: %s" % r.stdout)
    ctl.ok("rtt all 0")
    ctl.ok("help")


def test_unix(sluice, tmp):
    bsfile = os.path.join(tmp, "bootstrap")
    sock = os.path.join(tmp, "ctl.sock")
    proc = subprocess.Popen([sluice, "broker", "--brokers", "3", "--topic", "t:4",
                             "--bootstrap-file", bsfile, "--control", "unix:" + sock],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        bootstrap = wait_for_file(bsfile, proc)
        if not check(bootstrap, "bootstrap file never appeared"):
            return
        check(proc.stdout.readline().strip() == "bootstrap: " + bootstrap,
              "stdout names the file's bootstrap list")
        check(len(bootstrap.split(",")) == 3, "3 brokers in " + bootstrap)
        test_metadata(bootstrap)
        produce(bootstrap, "t", "basic")
        n = check_exact(bootstrap, "t", "basic")
        print("kcat -P then kcat -C -e: %d/%d messages" % (n, MESSAGES))
        ctl = Control(sock)
        test_broker_down(ctl, bootstrap)
        test_errors(ctl, bootstrap)
        ctl.close()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=15)
        check(rc == 0, "SIGTERM: exit %d" % rc)
        check(not os.path.exists(bsfile) and not os.path.exists(sock),
              "bootstrap file and socket removed at exit")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        print(proc.stderr.read(), file=sys.stderr, end="")


def test_stdin(sluice, tmp):
    r = subprocess.run([sluice, "broker", "--brokers", "2"],
                       input="broker 2 down\nrtt 1 5\nbogus\nquit\nbroker 1 down\n",
                       capture_output=True, text=True, timeout=30)
    lines = r.stdout.splitlines()
    check(r.returncode == 0, "stdin quit: exit %d" % r.returncode)
    check(len(lines) == 5 and lines[0].startswith("bootstrap: 127.0.0.1:")
          and lines[1] == "ok broker 2 down" and lines[2] == "ok rtt 1 5 ms"
          and lines[3].startswith("error unknown command") and lines[4] == "ok quit",
          "stdin answers: %r" % lines)

    bsfile = os.path.join(tmp, "bootstrap2")
    proc = subprocess.Popen([sluice, "broker", "--bootstrap-file", bsfile],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        check(wait_for_file(bsfile, proc) is not None, "stdin EOF: bootstrap file appeared")
        time.sleep(0.5)
        check(proc.poll() is None, "broker exited at end of stdin")
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=15)
        check(rc == 0, "SIGINT: exit %d" % rc)
        check(not os.path.exists(bsfile), "bootstrap file removed at exit")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    for args in (["--brokers", "0"], ["--topic", "x:0"], ["--control", "tcp:1"], ["extra"],
                 ["--topic", "x:4:5"], ["--brokers", "3", "--topic", "t:4", "--topic", "t:8"]):
        r = subprocess.run([sluice, "broker"] + args, capture_output=True, text=True,
                           timeout=10, stdin=subprocess.DEVNULL)
        check(r.returncode == 2, "broker %s: exit %d (usage is 2)" % (args, r.returncode))
    r = subprocess.run([sluice, "broker", "--help"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 0 and "--bootstrap-file" in r.stdout, "broker --help")


def main():
    rc = usage_or_skip(__doc__)
    if rc is not None:
        return rc
    sluice = os.path.abspath(sys.argv[1])
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sl-broker-") as tmp:
        test_unix(sluice, tmp)
        test_stdin(sluice, tmp)
    print("broker_test: %.1f s, %s" % (time.monotonic() - t0,
                                       "PASS" if failures == 0 else "%d FAILED" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
