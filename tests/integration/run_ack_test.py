#!/usr/bin/env python3
"""TCP ack mode (docs/tcp-ack.md) through `sluice run`, judged by the
client's own count:

1. complete: a client opens with the hello, sends N good and some bad JSON
   lines, half-closes and reads acks to EOF: they never go back, several
   arrive before the end, and the last equals every line it sent; the file
   sink holds every good event. A hello on a source without `ack` is
   refused with a dead-letter report.
2. SIGTERM mid-stream: a client keeps sending; once acks flow `sluice run`
   gets SIGTERM; every event the client saw acknowledged is in the sink
   (ack means delivered), and the run exits 0.
3. A sink that fails: the file sink writes to /dev/full, batches of 16
   events, so the worker's FIFO of rounds awaiting their sinks
   (SL_RUN_ROUNDS_PENDING, 256) fills: the run still ends, exit 1 with the
   write error, and the client is acknowledged nothing.

Usage: run_ack_test.py SLUICE SOURCE_ROOT [EVENTS]"""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import run_util

JOB = """
job: acks
workers: 2
sources:
  in: {{type: tcp, listen: "127.0.0.1:{port}", framing: jsonl, ack: true, drain_timeout: 2s}}
  plain: {{type: tcp, listen: "127.0.0.1:{port2}", framing: jsonl}}
sinks:
  out: {{type: file, input: in, path: "{out}/out.jsonl", format: jsonl}}
  dead: {{type: file, input: [in.errors, plain.errors], path: "{out}/dead.jsonl", format: jsonl}}
  rest: {{type: file, input: plain, path: "{out}/plain.jsonl", format: jsonl}}
"""

FAILING_JOB = """
job: acks_failing
runtime: {{batch_events: 16}}
sources:
  in: {{type: tcp, listen: "127.0.0.1:{port}", framing: jsonl, ack: true, drain_timeout: 2s}}
sinks:
  out: {{type: file, input: in, path: /dev/full, format: jsonl}}
"""


class AckReader(threading.Thread):
    """Reads 8-byte little-endian counts until EOF or reset."""

    def __init__(self, conn):
        super().__init__(daemon=True)
        self.conn, self.acks, self.error = conn, [], None

    def run(self):
        buf = b""
        try:
            while True:
                data = self.conn.recv(4096)
                if not data:
                    break
                buf += data
                while len(buf) >= 8:
                    self.acks.append(struct.unpack("<Q", buf[:8])[0])
                    buf = buf[8:]
        except OSError as e:
            self.error = e
        if buf:
            self.error = f"{len(buf)} stray bytes after the last ack"

    def last(self):
        return self.acks[-1] if self.acks else 0


def start(sluice, out):
    port, port2 = run_util.free_port(), run_util.free_port()
    run = run_util.start(sluice, JOB.format(port=port, port2=port2, out=out), out, port)
    return run, port, port2


def finish(run):
    if run.poll() is None:
        run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=120)
    return stderr


def case_complete(sluice, root, n):
    problems = []
    good = run_util.event_lines(root, n)
    stream = []
    for i, line in enumerate(good):
        stream.append(line)
        if i % 5000 == 4999:
            stream.append(b'{"type": broken\n')  # rejected: counts as handled
    with tempfile.TemporaryDirectory() as out:
        run, port, port2 = start(sluice, out)
        try:
            conn = socket.create_connection(("127.0.0.1", port))
            reader = AckReader(conn)
            reader.start()
            conn.sendall(run_util.HELLO)
            for k in range(0, len(stream), 500):  # in pieces: acks flow meanwhile
                conn.sendall(b"".join(stream[k:k + 500]))
                time.sleep(0.005)
            conn.shutdown(socket.SHUT_WR)
            reader.join(60)
            plain = socket.create_connection(("127.0.0.1", port2))
            plain.sendall(run_util.HELLO + good[0])
            plain.shutdown(socket.SHUT_WR)
            plain.settimeout(10)
            try:
                refused = plain.recv(64) == b""
            except ConnectionResetError:
                refused = True
            time.sleep(0.3)
        finally:
            stderr = finish(run)
        got = run_util.sink_ids(os.path.join(out, "out.jsonl"))
        with open(os.path.join(out, "dead.jsonl")) as f:
            dead = [json.loads(l) for l in f if l.strip()]
        plain_got = run_util.sink_ids(os.path.join(out, "plain.jsonl"))
    acks = reader.acks
    if run.returncode != 0:
        problems.append(f"exit {run.returncode}: {stderr[-1500:]}")
    if reader.error:
        problems.append(f"ack reader: {reader.error}")
    if any(b < a for a, b in zip(acks, acks[1:])):
        problems.append("acks went back")
    if reader.last() != len(stream):
        problems.append(f"last ack {reader.last()}, want {len(stream)} (lines sent)")
    if not any(0 < a < len(stream) for a in acks):
        problems.append(f"acks {acks[:5]}...: none while streaming, only at the end")
    if sorted(got) != sorted(f"ev-{i:08d}" for i in range(n)):
        problems.append(f"sink has {len(got)} events, want {n}")
    row = re.search(r"^\s+out\s+file\s+(\d+)\s+(\d+)", stderr, re.M)
    if not row or int(row.group(1)) != n or int(row.group(2)) != n:
        problems.append(f"summary: want the sink's row with {n} in and {n} out (written): "
                        f"{row.group(0) if row else 'no row'}")
    reasons = [h.get("value", "") for e in dead for h in e.get("headers", [])
               if h.get("key") == "sluice.error.reason"]
    if not refused or plain_got or not any("ack" in r and "hello" in r for r in reasons):
        problems.append(f"hello on a source without ack: refused={refused}, "
                        f"events={len(plain_got)}, reasons={reasons[-3:]}")
    if len(dead) != len(stream) - n + 1:
        problems.append(f"dead letters {len(dead)}, want {len(stream) - n + 1}")
    if not problems:
        print(f"complete: {len(stream)} lines ({n} good), {len(acks)} acks, last {reader.last()}; "
              "hello without ack refused with a report")
    return problems


def case_sigterm(sluice, root, n):
    problems = []
    lines = run_util.event_lines(root, n, tag="t")
    with tempfile.TemporaryDirectory() as out:
        run, port, _ = start(sluice, out)
        sent = 0
        try:
            conn = socket.create_connection(("127.0.0.1", port))
            reader = AckReader(conn)
            reader.start()
            conn.sendall(run_util.HELLO)
            signalled = False
            try:
                for k in range(0, n, 500):
                    conn.sendall(b"".join(lines[k:k + 500]))
                    sent = k + 500
                    time.sleep(0.001)
                    if not signalled and reader.last() > 0:
                        run.send_signal(signal.SIGTERM)  # mid-stream, client keeps sending
                        signalled = True
            except OSError:
                pass  # the drain deadline cut the connection
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            reader.join(60)
        finally:
            stderr = finish(run)
        got = set(run_util.sink_ids(os.path.join(out, "out.jsonl")))
    acked = reader.last()
    missing = [i for i in range(acked) if f"t-{i:08d}" not in got]
    if run.returncode != 0:
        problems.append(f"exit {run.returncode}: {stderr[-1500:]}")
    if acked == 0:
        problems.append("no ack before the end")
    if missing:
        problems.append(f"{len(missing)} acked events missing from the sink (first {missing[0]})")
    if not problems:
        print(f"sigterm: sent {min(sent, n)}, acked {acked}, all acked in the sink "
              f"(sink {len(got)}, {len(reader.acks)} acks)")
    return problems


def case_failed_sink(sluice, root, n):
    problems = []
    lines = run_util.event_lines(root, n, tag="f")
    with tempfile.TemporaryDirectory() as out:
        port = run_util.free_port()
        run = run_util.start(sluice, FAILING_JOB.format(port=port), out, port)
        try:
            conn = socket.create_connection(("127.0.0.1", port))
            conn.settimeout(20)  # a run that hangs stops reading: sendall would block
            reader = AckReader(conn)
            reader.start()
            conn.sendall(run_util.HELLO)
            try:
                for k in range(0, n, 200):  # in pieces: many small rounds
                    conn.sendall(b"".join(lines[k:k + 200]))
                    time.sleep(0.001)
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the failed run cut the connection
            reader.join(60)
            try:
                _, stderr = run.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                run.kill()
                _, stderr = run.communicate()
                problems.append("the run with a failed sink did not end within 60 s")
        finally:
            if run.poll() is None:
                run.kill()
                run.communicate()
    if run.returncode != 1 and not problems:
        problems.append(f"exit {run.returncode}, want 1: {stderr[-1500:]}")
    if "No space left on device" not in stderr:
        problems.append(f"no write error reported: {stderr[-1500:]}")
    if reader.last() != 0:
        problems.append(f"acked {reader.last()} events that the failed sink never wrote")
    row = re.search(r"^\s+out\s+file\s+(\d+)\s+(\d+)", stderr, re.M)
    # in: over 256 rounds of 16 events reached the sink, so the worker's FIFO
    # of rounds awaiting it (SL_RUN_ROUNDS_PENDING) was full at least once
    if not row or int(row.group(1)) <= 256 * 16 or int(row.group(2)) != 0:
        problems.append("summary: want the failed sink's row with over 4096 events in and 0 "
                        f"out (written): {row.group(0) if row else 'no row'}")
    if not problems:
        print(f"failed sink: {n} events sent, run ended with exit 1, nothing acked")
    return problems


def main():
    sluice, root = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 30000
    problems = (case_complete(sluice, root, n) + case_sigterm(sluice, root, 20 * n) +
                case_failed_sink(sluice, root, n))
    for p in problems:
        print("FAIL", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
