"""ingest_util.py - shared helpers of the `sluice ingest` integration tests:
start the process on an ephemeral port, produce frames with `sluice encode`,
send them over real sockets, and read the summary and the error reports.

Each test is a program: argv[1] is the sluice binary, argv[2] the source
root; exit 0 pass, 1 fail, 77 skip.
"""
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


def args():
    if len(sys.argv) < 3:
        print("usage: TEST SLUICE_BINARY SOURCE_ROOT", file=sys.stderr)
        sys.exit(2)
    return sys.argv[1], sys.argv[2]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def encode_frames(sluice, root):
    """The example orders as a list of size-prefixed frames (bytes each)."""
    with open(os.path.join(root, "examples", "orders.jsonl"), "rb") as f:
        out = subprocess.run([sluice, "encode", "--schema", "orders"], stdin=f,
                             stdout=subprocess.PIPE, check=True).stdout
    frames, pos = [], 0
    while pos < len(out):
        n = int.from_bytes(out[pos:pos + 4], "little")
        frames.append(out[pos:pos + 4 + n])
        pos += 4 + n
    check(len(frames) >= 6, "sluice encode gave %d frames" % len(frames))
    return frames


def example_lines(root):
    with open(os.path.join(root, "examples", "orders.jsonl"), "rb") as f:
        return [line for line in f.read().split(b"\n") if line.strip()]


class Ingest:
    """A running `sluice ingest` process."""

    def __init__(self, sluice, extra, tcp=True):
        self.dir = tempfile.mkdtemp(prefix="sluice-ingest-")
        self.port_file = os.path.join(self.dir, "port")
        self.errors_file = os.path.join(self.dir, "errors")
        cmd = [sluice, "ingest", "--errors", self.errors_file] + extra
        if tcp:
            cmd += ["--listen", "127.0.0.1:0", "--port-file", self.port_file]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.port = None
        if tcp:
            deadline = time.time() + 10
            while not os.path.exists(self.port_file):
                if self.proc.poll() is not None or time.time() > deadline:
                    out, err = self.proc.communicate()
                    fail("sluice ingest did not start: %s" % err.decode())
                time.sleep(0.01)
            with open(self.port_file) as f:
                self.port = int(f.read())

    def connect(self, nodelay=True):
        s = socket.create_connection(("127.0.0.1", self.port))
        if nodelay:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def vm_hwm(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def finish(self, timeout=60):
        """Waits for exit; returns (summary dict, stderr text, error lines)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            fail("sluice ingest did not finish in %ds; stderr:\n%s" % (timeout, err.decode()))
        summary = {}
        for line in out.decode().splitlines():
            m = re.match(r"^(\w+): (\S+)$", line)
            if m:
                summary[m.group(1)] = m.group(2)
        check(self.proc.returncode == 0,
              "sluice ingest exited %d; stderr:\n%s" % (self.proc.returncode, err.decode()))
        errors = []
        if os.path.exists(self.errors_file):
            with open(self.errors_file) as f:
                errors = [parse_error(line) for line in f if line.strip()]
        return summary, err.decode(), errors


def parse_error(line):
    """"KIND conn=ID peer=P offset=N seq=N len=N closed=0|1: REASON" -> dict."""
    m = re.match(r"^(\w+) conn=(\d+) peer=(\S+) offset=(\d+) seq=(\d+) len=(\d+) closed=(\d): (.*)$",
                 line.rstrip("\n"))
    check(m is not None, "malformed error report: %r" % line)
    return {"kind": m.group(1), "conn": int(m.group(2)), "peer": m.group(3),
            "offset": int(m.group(4)), "seq": int(m.group(5)), "len": int(m.group(6)),
            "closed": m.group(7) == "1", "reason": m.group(8)}


def send_random_chunks(sock, data, rng, max_chunk=300):
    pos = 0
    while pos < len(data):
        n = rng.randint(1, max_chunk)
        sock.sendall(data[pos:pos + n])
        pos += n


def run_threads(targets):
    errors = []

    def wrap(fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "client threads failed: %s" % errors[:3])


def under_sanitizer(sluice):
    """True when the binary was built with ASan/UBSan (RSS is not comparable):
    meson's b_sanitize (SL_SANITIZE from tests/integration/meson.build), or
    the sanitizer runtimes' symbols in the binary."""
    if os.environ.get("SL_SANITIZE", "none") not in ("", "none"):
        return True
    with open(sluice, "rb") as f:
        blob = f.read()
    return b"__asan_init" in blob or b"__ubsan_handle" in blob


def rng(seed=1234):
    return random.Random(seed)
