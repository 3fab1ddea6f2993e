"""run_util.py - shared helpers of the `sluice run` drain and ack tests:
a job with tcp jsonl sources and file sinks started on free ports, events
with unique ids built from the example orders, and the sink's ids read
back. Each test is a program: SLUICE SOURCE_ROOT; exit 0 pass, 1 fail."""
import json
import os
import socket
import subprocess
import time

HELLO = b"SLACK\x00\x00\x01"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def event_lines(root, n, tag="ev"):
    """n JSON lines (bytes, newline-terminated) with ids TAG-00000000.. and
    keys spread over 64 values, built from the first example order."""
    with open(os.path.join(root, "examples", "orders.jsonl")) as f:
        base = json.loads(f.readline())
    out = []
    for i in range(n):
        base["id"] = f"{tag}-{i:08d}"
        base["key"] = f"customer-{i % 64}"
        out.append((json.dumps(base, separators=(",", ":")) + "\n").encode())
    return out


def start(sluice, job_text, out_dir, port):
    job = os.path.join(out_dir, "job.yaml")
    with open(job, "w") as f:
        f.write(job_text)
    run = subprocess.Popen([sluice, "run", job], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return run
        except OSError:
            if time.time() > deadline or run.poll() is not None:
                run.kill()
                raise RuntimeError("sluice run did not listen: " + run.communicate()[1])
            time.sleep(0.05)


def sink_ids(path):
    """Ids of the events in a jsonl file sink, in file order."""
    if not os.path.exists(path):
        return []
    ids = []
    with open(path) as f:
        for line in f:
            if line.strip():
                ids.append(json.loads(line)["id"])
    return ids


def encode(sluice, lines):
    """The JSON lines as one stream of size-prefixed FlatBuffers frames."""
    return subprocess.run([sluice, "encode", "--schema", "orders"], input=b"".join(lines),
                          stdout=subprocess.PIPE, check=True).stdout
