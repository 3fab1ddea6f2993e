#!/usr/bin/env python3
"""runtime batch_bytes bounds every event: with `runtime: {batch_bytes:
64KiB}`, a project whose output for one input (an order.placed whose
40 KiB order_id it copies into two fields) would not fit a batch sends that
input to the project's errors port with the reason; the events around it
come out projected. `sluice run` of a file source (jsonl) -> project ->
file sinks, to its end. Its printed batch memory is the formula of
docs/memory.md: a file source's two pools and the worker's sink pool of 64
batches of 64 KiB + 32 x (1024 + 16) bytes, and the worker's 8 MiB output
arena (sizeof(struct sl_batch) aside: under 0.1 MiB here).

Usage: run_batch_limit_test.py SLUICE SOURCE_ROOT"""
import json
import os
import re
import subprocess
import sys
import tempfile

JOB = """
job: batch-limit
schemas: [orders]
runtime: {{batch_bytes: 64KiB}}
sources:
  in: {{type: file, path: "{dir}/in.jsonl", framing: jsonl, max_frame: 56KiB}}
operators:
  twice:
    type: project
    input: in
    target: OrderSummary
    fields: {{order_id: payload.order_id, customer_id: payload.order_id}}
sinks:
  out: {{type: file, input: twice, path: "{dir}/out.jsonl", format: jsonl}}
  dead: {{type: file, input: twice.errors, path: "{dir}/dead.jsonl", format: jsonl}}
"""


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    sluice, root = sys.argv[1], sys.argv[2]
    with open(os.path.join(root, "examples", "orders.jsonl")) as f:
        placed = next(e for e in map(json.loads, f) if e["type"] == "order.placed")
    events = []
    for i, order_id in enumerate(["small-1", "x" * (40 << 10), "small-2"]):
        e = json.loads(json.dumps(placed))
        e["id"], e["payload"]["order_id"] = "ev%d" % i, order_id
        events.append(e)
    d = tempfile.mkdtemp(prefix="sluice-batch-limit-")
    with open(os.path.join(d, "in.jsonl"), "w") as f:
        f.writelines(json.dumps(e) + "\n" for e in events)
    with open(os.path.join(d, "job.yaml"), "w") as f:
        f.write(JOB.format(dir=d))
    run = subprocess.run([sluice, "run", os.path.join(d, "job.yaml")], capture_output=True,
                         text=True, timeout=60)
    failures = []
    m = re.search(r"batches hold at most ([0-9.]+) MiB", run.stderr)
    want = (3 * 64 * (65536 + 32 * (1024 + 16)) + (8 << 20)) / (1 << 20)
    if not m or not 0 <= float(m.group(1)) - want < 0.1:
        failures.append("batch memory printed %s, formula %.2f MiB"
                        % (m.group(1) if m else None, want))
    if run.returncode != 0:
        failures.append("exit %d: %s" % (run.returncode, run.stderr[-2000:]))
    else:
        out, dead = lines(os.path.join(d, "out.jsonl")), lines(os.path.join(d, "dead.jsonl"))
        got = [(e["id"], e["type"], e["payload"]["customer_id"]) for e in out]
        if got != [("ev0", "order.summary", "small-1"), ("ev2", "order.summary", "small-2")]:
            failures.append("projected: %s" % got)
        reasons = [{h["key"]: h.get("value") for h in e.get("headers", [])}
                   .get("sluice.error.reason", "") for e in dead]
        if [e["id"] for e in dead] != ["ev1"] or "batch_bytes" not in reasons[0]:
            failures.append("dead letters: %s %s" % ([e["id"] for e in dead], reasons))
    for f in failures:
        print("FAIL: " + f)
    if not failures:
        print("batch limit: the oversized output is a dead letter, the rest projected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
