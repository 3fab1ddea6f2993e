#!/usr/bin/env python3
"""gen_test.py - `sluice gen` as a real process.

  * `--framing fb --out F` then `sluice decode < F`: as many JSON lines as the
    summary says, identical (types, keys, every field) to `--framing jsonl`
    with the same seed; the same seed writes the same bytes, another seed
    other bytes; the summary's byte count is the file's size.
  * `--types`: only those types, and exactly the matching subsequence of the
    unfiltered stream.
  * TCP: `--connect 127.0.0.1:PORT --connections 4` against a Python server
    that counts size-prefixed frames per connection: the server's counts are
    the summary's (the sender's count is the oracle); with jsonl, each key
    arrives on exactly one connection.
  * `--rate` paces: 1000 events at 2000/s take about half a second.
  * usage errors exit 2, a refused connection exits 1.

usage: gen_test.py PATH/TO/sluice [SOURCE_ROOT]   (exit 0 pass, 1 fail, 77 skip)
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + what, file=sys.stderr)
    return cond


def run(sluice, args, stdin=None, timeout=120):
    with subprocess.Popen([sluice] + args, stdin=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as p:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err.decode("utf-8", "replace")


def gen(sluice, tmp, name, args):
    """Runs sluice gen with --summary-json; returns (rc, stderr, summary or None)."""
    summary_path = os.path.join(tmp, name + ".summary.json")
    rc, _, err = run(sluice, ["gen", "--summary-json", summary_path] + args)
    summary = None
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    return rc, err, summary


def test_files(sluice, tmp):
    fb = os.path.join(tmp, "a.fb")
    rc, err, s = gen(sluice, tmp, "fb", ["--framing", "fb", "--count", "5000", "--seed", "7",
                                         "--keys", "50", "--out", fb])
    if not check(rc == 0 and s is not None, "gen --framing fb: rc %d: %s" % (rc, err)):
        return
    check(s["events"] == 5000, "fb summary events %d, want 5000" % s["events"])
    check(s["bytes"] == os.path.getsize(fb),
          "fb summary bytes %d != file size %d" % (s["bytes"], os.path.getsize(fb)))
    check(sum(t["events"] for t in s["types"].values()) == 5000, "per-type events sum to 5000")
    check(s["error"] is None and s["framing"] == "fb", "fb summary: %r" % s)

    with open(fb, "rb") as f:
        rc, out, err = run(sluice, ["decode"], stdin=f)
    check(rc == 0, "decode: rc %d: %s" % (rc, err))
    decoded = out.decode("utf-8").splitlines()
    check(len(decoded) == 5000, "decode gave %d lines, want 5000" % len(decoded))

    jl = os.path.join(tmp, "a.jsonl")
    rc, err, s = gen(sluice, tmp, "jsonl", ["--framing", "jsonl", "--count", "5000", "--seed",
                                            "7", "--keys", "50", "--out", jl])
    check(rc == 0 and s and s["events"] == 5000, "gen --framing jsonl: rc %d: %s" % (rc, err))
    with open(jl, "rb") as f:
        lines = f.read().decode("utf-8").splitlines()
    check(s is None or s["bytes"] == os.path.getsize(jl), "jsonl summary bytes = file size")
    check(len(lines) == 5000, "jsonl gave %d lines, want 5000" % len(lines))
    keys = set()
    same_type_key = same_line = 0
    for a, b in zip(decoded, lines):
        ea, eb = json.loads(a), json.loads(b)
        same_type_key += ea["type"] == eb["type"] and ea["key"] == eb["key"]
        same_line += a == b
        keys.add(eb["key"])
    check(same_type_key == 5000, "%d of 5000 events agree on type and key" % same_type_key)
    check(same_line == 5000, "%d of 5000 decoded fb lines equal the jsonl lines" % same_line)
    check(len(keys) <= 50 and len(keys) >= 45, "%d distinct keys with --keys 50" % len(keys))

    again = os.path.join(tmp, "b.fb")
    other = os.path.join(tmp, "c.fb")
    gen(sluice, tmp, "b", ["--count", "5000", "--seed", "7", "--keys", "50", "--out", again])
    gen(sluice, tmp, "c", ["--count", "5000", "--seed", "8", "--keys", "50", "--out", other])
    with open(fb, "rb") as f1, open(again, "rb") as f2, open(other, "rb") as f3:
        a, b, c = f1.read(), f2.read(), f3.read()
    check(a == b, "the same seed wrote different bytes")
    check(a != c, "seeds 7 and 8 wrote the same bytes")


def test_types(sluice, tmp):
    want = {"payment.charge", "order.cancelled"}
    rc, out, err = run(sluice, ["gen", "--framing", "jsonl", "--count", "300", "--seed", "3",
                                "--types", "payment.charge,order.cancelled"])
    check(rc == 0, "gen --types: rc %d: %s" % (rc, err))
    some = [json.loads(x) for x in out.decode("utf-8").splitlines()]
    check(len(some) == 300, "--types gave %d events, want 300" % len(some))
    check(all(e["type"] in want for e in some), "--types let other types through")
    rc, out, err = run(sluice, ["gen", "--framing", "jsonl", "--count", "20000", "--seed", "3"])
    full = [e for e in map(json.loads, out.decode("utf-8").splitlines()) if e["type"] in want]
    check(full[:300] == some, "--types output is not the subsequence of the full stream")


class FrameServer:
    """Accepts connections; counts fb frames (or JSON lines) per connection."""

    def __init__(self, jsonl):
        self.jsonl = jsonl
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.results = []          # per connection: (frames, bytes, keys, error)
        self.lock = threading.Lock()
        self.threads = []
        self.acceptor = threading.Thread(target=self.accept_loop, daemon=True)
        self.acceptor.start()

    def accept_loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self.serve, args=(conn,), daemon=True)
            with self.lock:
                self.threads.append(t)
            t.start()

    def serve(self, conn):
        data = bytearray()
        while True:
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        conn.close()
        frames, keys, error = 0, set(), None
        if self.jsonl:
            text = data.decode("utf-8")
            if text and not text.endswith("\n"):
                error = "stream does not end with a newline"
            for line in text.splitlines():
                keys.add(json.loads(line)["key"])
                frames += 1
        else:
            off = 0
            while off + 4 <= len(data):
                (n,) = struct.unpack_from("<I", data, off)
                if off + 4 + n > len(data):
                    break
                off += 4 + n
                frames += 1
            if off != len(data):
                error = "stream ends inside a frame at byte %d of %d" % (off, len(data))
        with self.lock:
            self.results.append((frames, len(data), keys, error))

    def finish(self, connections, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.results) >= connections:
                    break
            time.sleep(0.02)
        self.sock.close()
        with self.lock:
            return list(self.results)


def test_tcp(sluice, tmp, jsonl, connections, count):
    server = FrameServer(jsonl)
    framing = "jsonl" if jsonl else "fb"
    rc, err, s = gen(sluice, tmp, "tcp-" + framing,
                     ["--connect", "127.0.0.1:%d" % server.port, "--connections",
                      str(connections), "--count", str(count), "--framing", framing,
                      "--keys", "200"])
    results = server.finish(connections, 30 if rc == 0 else 1)
    if not check(rc == 0 and s is not None, "gen --connect (%s): rc %d: %s" % (framing, rc, err)):
        return
    check(len(results) == connections,
          "%s: server saw %d connections, want %d" % (framing, len(results), connections))
    for frames, nbytes, keys, error in results:
        check(error is None, "%s: %s" % (framing, error))
    total = sum(r[0] for r in results)
    check(s["events"] == count, "%s: summary events %d, want %d" % (framing, s["events"], count))
    check(total == s["events"],
          "%s: server counted %d frames, the sender's summary %d" % (framing, total, s["events"]))
    check(sum(r[1] for r in results) == s["bytes"], "%s: server bytes = summary bytes" % framing)
    check(sorted(r[0] for r in results) == sorted(c["events"] for c in s["connections"]),
          "%s: per-connection counts differ from the summary's" % framing)
    check(all(r[0] > 0 for r in results), "%s: a connection carried no events" % framing)
    if jsonl:
        owner = {}
        split = 0
        for i, (_, _, keys, _) in enumerate(results):
            for k in keys:
                split += owner.setdefault(k, i) != i
        check(split == 0, "%d keys arrived on more than one connection" % split)


def test_rate(sluice, tmp):
    start = time.monotonic()
    rc, err, s = gen(sluice, tmp, "rate", ["--rate", "2000", "--count", "1000", "--out",
                                           os.devnull])
    elapsed = time.monotonic() - start
    check(rc == 0 and s and s["events"] == 1000, "gen --rate: rc %d: %s" % (rc, err))
    check(0.35 <= elapsed < 20, "1000 events at 2000/s took %.3f s" % elapsed)
    check(s is None or s["events_per_s"] < 3000,
          "--rate 2000 reported %.0f events/s" % (s or {}).get("events_per_s", 0))


def test_errors(sluice, tmp):
    for args in (["--framing", "xml"], ["--types", "order.lost"], ["--keys", "0"],
                 ["--count", "-1"], ["--connections", "2"], ["--rate", "fast"],
                 ["--out", os.devnull, "--connect", "127.0.0.1:1"], ["extra"]):
        rc, _, err = run(sluice, ["gen"] + args)
        check(rc == 2 and "sluice gen" in err, "gen %s: rc %d (want 2): %s" % (args, rc, err))
    # a port nobody listens on: find one, then close it
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rc, _, err = run(sluice, ["gen", "--connect", "127.0.0.1:%d" % port, "--count", "10"])
    check(rc == 1 and "connect" in err, "refused connection: rc %d (want 1): %s" % (rc, err))
    rc, out, _ = run(sluice, ["gen", "--help"])
    check(rc == 0 and b"--connections" in out, "gen --help")


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    sluice = sys.argv[1]
    if not os.access(sluice, os.X_OK):
        print("gen_test: %s is not executable" % sluice, file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory(prefix="sluice-gen-test-") as tmp:
        test_files(sluice, tmp)
        test_types(sluice, tmp)
        test_tcp(sluice, tmp, False, 4, 50000)
        test_tcp(sluice, tmp, True, 3, 20000)
        test_rate(sluice, tmp)
        test_errors(sluice, tmp)
    if failures:
        print("gen_test: %d checks failed" % failures, file=sys.stderr)
        return 1
    print("gen_test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
