#!/usr/bin/env python3
"""Bad input reaches the source node's errors port with its reason and
position, and the good events around it still arrive: `sluice run` with a
tcp jsonl source, a client sending good and bad lines, a file sink for
`in` and a dead-letter file for `in.errors`.

Usage: run_errors_test.py SLUICE SOURCE_ROOT"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

JOB = """
job: errors
sources:
  in: {{type: tcp, listen: "127.0.0.1:{port}", framing: jsonl}}
sinks:
  out: {{type: file, input: in, path: "{out}/out.jsonl", format: jsonl}}
  dead: {{type: file, input: in.errors, path: "{out}/dead.jsonl", format: jsonl}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    sluice, root = sys.argv[1], sys.argv[2]
    with open(os.path.join(root, "examples", "orders.jsonl")) as f:
        good = [l.rstrip("\n") for l in f if l.strip()]
    bad = ['{"type": broken', '{"nope": 1}', '{"type":"order.placed","payload":{"order_id":1}}']
    stream, expected_bad, offset = [], [], 0
    for i, line in enumerate(good):
        stream.append(line)
        offset += len(line) + 1
        if i < len(bad):
            expected_bad.append((offset, len(stream)))
            stream.append(bad[i])
            offset += len(bad[i]) + 1
    with tempfile.TemporaryDirectory() as out:
        port = free_port()
        job = os.path.join(out, "job.yaml")
        with open(job, "w") as f:
            f.write(JOB.format(port=port, out=out))
        run = subprocess.Popen([sluice, "run", job], stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 20
            while True:
                try:
                    conn = socket.create_connection(("127.0.0.1", port), timeout=1)
                    break
                except OSError:
                    if time.time() > deadline or run.poll() is not None:
                        print("sluice run did not listen")
                        return 1
                    time.sleep(0.05)
            conn.sendall(("\n".join(stream) + "\n").encode())
            conn.shutdown(socket.SHUT_WR)
            deadline = time.time() + 30
            while time.time() < deadline:
                if (len(lines(os.path.join(out, "out.jsonl"))) >= len(good) and
                        len(lines(os.path.join(out, "dead.jsonl"))) >= len(bad)):
                    break
                time.sleep(0.1)
        finally:
            run.send_signal(signal.SIGTERM)
            _, stderr = run.communicate(timeout=60)
            conn.close()
        got, dead = lines(os.path.join(out, "out.jsonl")), lines(os.path.join(out, "dead.jsonl"))
        problems = []
        if run.returncode != 0:
            problems.append(f"exit {run.returncode}: {stderr}")
        if [e["id"] for e in got] != [json.loads(l)["id"] for l in good]:
            problems.append(f"good events: got {len(got)}, want {len(good)} in order")
        if len(dead) != len(bad):
            problems.append(f"dead letters: got {len(dead)}, want {len(bad)}")
        for ev, (off, seq) in zip(dead, expected_bad):
            h = {x["key"]: x.get("value") for x in ev.get("headers", [])}
            if (ev.get("type") != "sluice.ingest_error" or h.get("sluice.error.node") != "in" or
                    h.get("sluice.error.offset") != str(off) or
                    h.get("sluice.error.seq") != str(seq) or not h.get("sluice.error.reason")):
                problems.append(f"dead letter {ev} (want offset {off}, seq {seq})")
        for p in problems:
            print("FAIL", p)
        if not problems:
            print(f"{len(good)} good events arrived in order; {len(bad)} bad lines reached "
                  "in.errors with reason, offset and sequence")
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
