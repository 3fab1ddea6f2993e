#!/usr/bin/env python3
"""The quickstart-style graph (filter -> route -> project -> sinks) fed over
loopback by `sluice gen`, for framings fb and jsonl and 1 and 2 workers.

Per case it prints the event size, events/s and MB/s the pair sustained
(the generator is slowed by sluice's backpressure), and the events per
CPU-second of the sluice process alone (generator and sluice share the two
cores). Then, at half the fb peak rate, the latency from ingestion to sink:
a marker client sends one marker event every 10 ms into the same source,
the graph carries it to a tcp sink, and a receiver here timestamps its
arrival; p50/p99 over the markers. Writes bench/results/graph.csv.

Usage: bench/graph_bench.py BUILD_DIR [--events N] [--seconds S]
"""
import argparse
import csv
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

JOB = """
job: graph-bench
schemas: [orders]
workers: {workers}
sources:
  orders: {{type: tcp, listen: "127.0.0.1:{port}", framing: {framing}}}
operators:
  kept:
    type: filter
    input: orders
    where: type != "order.cancelled"
  by_region:
    type: route
    input: kept
    cases:
      eu: payload.region == "eu"
      us: payload.region == "us"
  eu_summary:
    type: project
    input: by_region.eu
    target: OrderSummary
    fields: {{order_id: payload.order_id, amount: payload.amount, region: payload.region}}
  us_summary:
    type: project
    input: by_region.us
    target: OrderSummary
    fields: {{order_id: payload.order_id, amount: payload.amount * 2}}
sinks:
  eu: {eu_sink}
  us: {{type: null, input: us_summary}}
  rest: {{type: null, input: by_region.default}}
  dead: {{type: null, input: [orders.errors, eu_summary.errors, us_summary.errors]}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc):
    for _ in range(400):
        if proc.poll() is not None:
            raise RuntimeError("sluice run exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sluice run did not listen")


def run_case(sluice, tmp, framing, workers, events, rate=0, eu_sink="{type: null, input: eu_summary}",
             during=None):
    port = free_port()
    job = os.path.join(tmp, "job.yaml")
    with open(job, "w") as f:
        f.write(JOB.format(workers=workers, port=port, framing=framing, eu_sink=eu_sink))
    run = subprocess.Popen([sluice, "run", job], stderr=subprocess.PIPE, text=True)
    wait_port(port, run)
    summary = os.path.join(tmp, "gen.json")
    gen = [sluice, "gen", "--count", str(events), "--framing", framing, "--seed", "3",
           "--keys", "10000", "--connect", f"127.0.0.1:{port}", "--connections", "2",
           "--summary-json", summary]
    if rate:
        gen += ["--rate", str(rate)]
    extra = during(port) if during else None
    subprocess.run(gen, check=True, stderr=subprocess.DEVNULL, timeout=900)
    if extra:
        extra()
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    with open(summary) as f:
        g = json.load(f)
    cpu = float(re.search(r"s, ([0-9.]+) CPU-s", err).group(1))
    n, nbytes, elapsed = g["events"], g["bytes"], g["elapsed_s"]
    return {"framing": framing, "workers": workers, "events": n,
            "event_bytes": round(nbytes / n), "events_per_s": round(n / elapsed),
            "MB_per_s": round(nbytes / elapsed / 1e6, 1),
            "sluice_cpu_s": cpu, "events_per_cpu_s": round(n / cpu) if cpu else 0}


def marker_frames(sluice, count):
    lines = "".join(json.dumps({"id": f"mark-{i:06d}", "type": "order.placed", "key": "marker",
                                "payload": {"order_id": f"mark-{i:06d}", "amount": 1}}) + "\n"
                    for i in range(count))
    out = subprocess.run([sluice, "encode", "--schema", "orders"], input=lines.encode(),
                         capture_output=True, check=True).stdout
    frames, pos = [], 0
    while pos < len(out):
        n = int.from_bytes(out[pos:pos + 4], "little")
        frames.append(out[pos:pos + 4 + n])
        pos += 4 + n
    return frames


def latency_case(sluice, tmp, rate, events, seconds):
    frames = marker_frames(sluice, int(seconds * 100) + 10)
    sent, seen = {}, {}
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    sink_port = listener.getsockname()[1]
    pattern = re.compile(rb"mark-(\d{6})")

    def receive():
        conn, _ = listener.accept()
        tail = b""
        while True:
            data = conn.recv(1 << 20)
            if not data:
                return
            now = time.perf_counter()
            for m in pattern.finditer(tail + data):
                seen.setdefault(int(m.group(1)), now)
            tail = data[-16:]

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()

    def during(port):
        stop = threading.Event()

        def send_markers():
            s = socket.create_connection(("127.0.0.1", port))
            for i, frame in enumerate(frames):
                if stop.is_set():
                    break
                sent[i] = time.perf_counter()
                s.sendall(frame)
                time.sleep(0.01)
            s.close()

        t = threading.Thread(target=send_markers, daemon=True)
        t.start()
        return lambda: (stop.set(), t.join())

    eu_sink = f"{{type: tcp, input: eu_summary, connect: \"127.0.0.1:{sink_port}\", framing: fb}}"
    run_case(sluice, tmp, "fb", 1, events, rate=rate, eu_sink=eu_sink, during=during)
    receiver.join(timeout=10)
    lat = sorted((seen[i] - sent[i]) * 1e3 for i in sent if i in seen)
    if not lat:
        return None
    return {"rate": rate, "markers": len(lat), "lost": len(sent) - len(lat),
            "p50_ms": round(lat[len(lat) // 2], 3), "p99_ms": round(lat[int(len(lat) * 0.99)], 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--events", type=int, default=2000000)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    sluice = os.path.join(args.build, "src", "cli", "sluice")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'framing':8} {'workers':>7} {'bytes/ev':>8} {'events/s':>10} {'MB/s':>8} "
              f"{'sluice CPU-s':>12} {'ev/CPU-s':>10}")
        for framing in ("fb", "jsonl"):
            for workers in (1, 2):
                r = run_case(sluice, tmp, framing, workers, args.events)
                rows.append(r)
                print(f"{framing:8} {workers:7} {r['event_bytes']:8} {r['events_per_s']:10} "
                      f"{r['MB_per_s']:8} {r['sluice_cpu_s']:12} {r['events_per_cpu_s']:10}")
        peak = max(r["events_per_s"] for r in rows if r["framing"] == "fb")
        rate = peak // 2
        lat = latency_case(sluice, tmp, rate, int(rate * args.seconds), args.seconds)
        if lat:
            print(f"latency ingestion -> sink at {rate} ev/s (half the fb peak), fb, 1 worker: "
                  f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms over {lat['markers']} markers"
                  f" ({lat['lost']} not seen)")
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    with open(os.path.join(os.path.dirname(__file__), "results", "graph.csv"), "w") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
