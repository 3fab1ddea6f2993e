#!/usr/bin/env python3
"""End to end: `sluice gen` -> tcp source -> filter -> route -> project ->
file sinks, for workers 1 and 2, checked against a reference computed here,
in plain Python, over the generator's own JSON lines (same seed): every
expected event is present, nothing extra, and per key the order is kept.

Usage: run_e2e_test.py SLUICE [EVENTS]
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

JOB = """
job: e2e
schemas: [orders]
workers: {workers}
sources:
  orders:
    type: tcp
    listen: 127.0.0.1:{port}
    framing: fb
operators:
  placed:
    type: filter
    input: orders
    where: type == "order.placed" && payload.amount > 1000
  by_region:
    type: route
    input: placed
    cases:
      eu: payload.region == "eu"
      us: payload.region in ["us", "latam"]
  eu_summary:
    type: project
    input: by_region.eu
    target: OrderSummary
    fields:
      order_id: payload.order_id
      customer_id: payload.customer_id
      amount: payload.amount
      amount_major: payload.amount / 100.0
      priority: payload.priority
  us_summary:
    type: project
    input: by_region.us
    target: OrderSummary
    fields:
      order_id: payload.order_id
      region: payload.region
      amount: payload.amount * 2
sinks:
  eu:
    type: file
    input: eu_summary
    path: {out}/eu.jsonl
    format: jsonl
  us:
    type: file
    input: us_summary
    path: {out}/us.jsonl
    format: jsonl
  rest:
    type: file
    input: by_region.default
    path: {out}/rest.jsonl
    format: jsonl
  dead:
    type: file
    input: [eu_summary.errors, us_summary.errors, orders.errors]
    path: {out}/dead.jsonl
    format: jsonl
"""

SUMMARY_DEFAULTS = {"region": "eu", "channel": "web", "amount": 0, "currency": "EUR",
                    "amount_major": 0.0, "priority": False}


def reference(events):
    """The job above, computed directly: sink name -> list of expected events."""
    out = {"eu": [], "us": [], "rest": []}
    for ev in events:
        p = ev.get("payload", {})
        if ev.get("type") != "order.placed" or p.get("amount", 0) <= 1000:
            continue
        region = p.get("region", "eu")
        if region == "eu":
            summary = {"order_id": p["order_id"], "amount": p.get("amount", 0),
                       "amount_major": p.get("amount", 0) / 100.0,
                       "priority": p.get("priority", False)}
            if "customer_id" in p:
                summary["customer_id"] = p["customer_id"]
            out["eu"].append(envelope(ev, summary))
        elif region in ("us", "latam"):
            summary = {"order_id": p["order_id"], "region": region,
                       "amount": p.get("amount", 0) * 2}
            out["us"].append(envelope(ev, summary))
        else:
            out["rest"].append(ev)
    return out


def envelope(ev, payload):
    kept = {k: ev[k] for k in ("id", "key", "ts", "correlation_id", "causation_id", "headers")
            if k in ev}
    kept["type"] = "order.summary"
    kept["payload"] = payload
    return kept


def normalize(ev):
    """Defaults made explicit, so present-or-absent default fields compare equal."""
    ev = dict(ev)
    ev.setdefault("version", 1)
    if ev.get("type") == "order.summary":
        p = dict(SUMMARY_DEFAULTS)
        p.update(ev["payload"])
        p["amount_major"] = round(float(p["amount_major"]), 6)
        ev["payload"] = p
    return json.dumps(ev, sort_keys=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check_order(name, got, want):
    """Per key, the sequence of event ids must match."""
    def by_key(evs):
        keys = {}
        for ev in evs:
            keys.setdefault(ev.get("key"), []).append(ev.get("id"))
        return keys
    g, w = by_key(got), by_key(want)
    for key in w:
        if g.get(key) != w[key]:
            return f"{name}: key {key}: order {g.get(key)[:5] if g.get(key) else None}... != {w[key][:5]}..."
    return None


def run_case(sluice, workers, events_n, tmp):
    ref_path = os.path.join(tmp, "ref.jsonl")
    subprocess.run([sluice, "gen", "--framing", "jsonl", "--count", str(events_n), "--seed", "7",
                    "--keys", "64", "--out", ref_path], check=True, timeout=120)
    want = reference(read_lines(ref_path))
    expected_total = sum(len(v) for v in want.values())
    out = os.path.join(tmp, f"w{workers}")
    os.makedirs(out)
    port = free_port()
    job = os.path.join(out, "job.yaml")
    with open(job, "w") as f:
        f.write(JOB.format(workers=workers, port=port, out=out))
    run = subprocess.Popen([sluice, "run", job], stderr=subprocess.PIPE, text=True)
    try:
        if not wait_listening(port, run):
            return f"workers={workers}: sluice run did not listen on {port}"
        subprocess.run([sluice, "gen", "--framing", "fb", "--count", str(events_n), "--seed", "7",
                        "--keys", "64", "--connect", f"127.0.0.1:{port}", "--connections", "4"],
                       check=True, timeout=120)
        deadline = time.time() + 60
        while time.time() < deadline:
            n = sum(len(read_lines(os.path.join(out, f"{s}.jsonl"))) for s in want)
            if n >= expected_total:
                break
            time.sleep(0.2)
    finally:
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=60)
    if run.returncode != 0:
        return f"workers={workers}: sluice run exited {run.returncode}:\n{stderr}"
    for sink, expected in want.items():
        got = read_lines(os.path.join(out, f"{sink}.jsonl"))
        g = sorted(normalize(e) for e in got)
        w = sorted(normalize(e) for e in expected)
        if g != w:
            missing = set(w) - set(g)
            extra = set(g) - set(w)
            return (f"workers={workers} sink {sink}: {len(got)} events, want {len(expected)}; "
                    f"missing {len(missing)} e.g. {sorted(missing)[:1]}; extra {len(extra)} "
                    f"e.g. {sorted(extra)[:1]}")
        problem = check_order(sink, got, expected)
        if problem:
            return f"workers={workers}: {problem}"
    dead = read_lines(os.path.join(out, "dead.jsonl"))
    if dead:
        return f"workers={workers}: unexpected dead letters: {dead[:1]}"
    print(f"workers={workers}: {events_n} events in, " +
          ", ".join(f"{s} {len(v)}" for s, v in want.items()) + " out, all matched in order")
    return None


def main():
    sluice = sys.argv[1]
    events_n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            problem = run_case(sluice, workers, events_n, tmp)
            if problem:
                failures.append(problem)
                print("FAIL", problem)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
