#!/usr/bin/env python3
"""bench/ingest_bench.py - sluice's TCP ingestion ceiling against iperf3's
loopback ceiling, measured in the same run on 127.0.0.1:

  iperf3        iperf3 -s -1 and iperf3 -c -t SECONDS -J (one stream):
                bytes/s the receiver took, and bytes per CPU-second of
                the receiving server process
  sluice fb     sluice ingest --listen 127.0.0.1:0 --framing fb --expect N
                fed (--feeder replay, the default) by C sender threads here that
                each send a stream made once with `sluice gen --out` over and
                over in large writes, so the feeder costs little CPU and
                ingestion sets the pace; or (--feeder gen) by sluice gen
                --framing fb --count N --connections C, which makes events as
                it sends and is usually the slower side
  sluice jsonl  the same with --framing jsonl

For each sluice row: events/s and MB/s over the wall time from starting the
generator until sluice ingest exits (MB = 10^6 bytes of frames or JSON
lines as sent), events per CPU-second of the sluice ingest process (user +
system from wait4(), all its threads), events per CPU-second of its
busiest thread (the io thread: sampled from /proc/PID/task/*/stat every
10 ms, so up to one interval low), the average event size, the CPU the
generator used (it shares the two cores with sluice: when sluice's
cpu/wall stays under 1 the generator, not ingestion, set the pace) and the
ratio sluice MB/s / iperf3 MB/s. Every event must arrive (events_consumed
equals the generator's count, no errors) or the run fails (exit 1).

Builds nothing: build first (meson setup BUILD -Dbuildtype=release &&
ninja -C BUILD). Writes bench/results/ingest.csv. Also registered as the
meson benchmark 'ingest_bench' (meson test -C BUILD --benchmark ingest_bench).

  bench/ingest_bench.py [BUILD_DIR] [--events N] [--connections C]
                        [--iperf-seconds S] [--framings fb,jsonl] [--feeder replay|gen]
  (BUILD_DIR defaults to build/)
"""
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

FIELDS = ["name", "events", "bytes", "avg_event_bytes", "seconds", "events_per_s", "MB_per_s",
          "cpu_seconds", "cpu_per_wall", "events_per_cpu_s", "MB_per_cpu_s",
          "busiest_thread_cpu_s", "events_per_busiest_cpu_s", "gen_cpu_seconds",
          "ratio_MB_vs_iperf3"]
WAIT_S = 120  # longest wait for a process to end once its input is complete


def parse_args(argv):
    opts = {"build": "build", "events": 2000000, "connections": 2, "iperf_seconds": 3.0,
            "framings": ["fb", "jsonl"], "feeder": "replay"}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            print(__doc__.strip())
            sys.exit(0)
        if not arg.startswith("-"):
            opts["build"] = arg
            continue
        if not args:
            sys.exit("ingest_bench: %s needs a value" % arg)
        value = args.pop(0)
        if arg == "--events":
            opts["events"] = int(value)
        elif arg == "--connections":
            opts["connections"] = int(value)
        elif arg == "--iperf-seconds":
            opts["iperf_seconds"] = float(value)
        elif arg == "--framings":
            opts["framings"] = value.split(",")
        elif arg == "--feeder" and value in ("replay", "gen"):
            opts["feeder"] = value
        else:
            sys.exit("usage: bench/ingest_bench.py [BUILD_DIR] [--events N] [--connections C] "
                     "[--iperf-seconds S] [--framings fb,jsonl] [--feeder replay|gen]")
    return opts


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_listening(port):
    """True once some socket listens on 127.0.0.1:port (read from /proc, so
    that no probe connection disturbs a one-shot iperf3 server)."""
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1] == want and parts[3] == "0A":
                return True
    return False


def sample_threads(pid, ticks):
    """Records in ticks[tid] each thread's user + system clock ticks so far
    (from /proc/PID/task/TID/stat); a thread's last sample before the
    process ends is what remains, so up to one poll interval is missed."""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        ticks[tid] = max(ticks.get(tid, 0), int(fields[11]) + int(fields[12]))


def wait_rusage(proc, timeout, on_poll=None):
    """Reaps proc; returns (exit status, CPU seconds user + system). Kills it
    after timeout seconds. Calls on_poll() every poll interval meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru.ru_utime + ru.ru_stime
        if on_poll:
            on_poll()
        if time.monotonic() > deadline:
            proc.send_signal(signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.01)


def run_iperf3(seconds):
    port = free_port()
    server = subprocess.Popen(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        if is_listening(port):
            break
        time.sleep(0.01)
    client = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds),
                             "-J"], stdout=subprocess.PIPE, text=True)
    rc, server_cpu = wait_rusage(server, WAIT_S)
    if client.returncode != 0 or rc != 0:
        sys.exit("ingest_bench: iperf3 failed (client %d, server %d): %s"
                 % (client.returncode, rc, client.stdout[-500:]))
    received = json.loads(client.stdout)["end"]["sum_received"]
    nbytes, secs = received["bytes"], received["seconds"]
    return {"name": "iperf3", "events": "", "bytes": nbytes, "avg_event_bytes": "",
            "seconds": secs, "events_per_s": "", "MB_per_s": nbytes / secs / 1e6,
            "cpu_seconds": server_cpu, "cpu_per_wall": server_cpu / secs,
            "events_per_cpu_s": "", "MB_per_cpu_s": nbytes / server_cpu / 1e6,
            "busiest_thread_cpu_s": "", "events_per_busiest_cpu_s": "",
            "gen_cpu_seconds": "", "ratio_MB_vs_iperf3": 1.0}


def parse_summary(text):
    """sluice ingest's 'key: value' summary as a dict."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            out[key.strip()] = value.strip()
    return out


def wait_port_file(path, proc):
    for _ in range(1000):
        if os.path.getsize(path) > 0:
            with open(path) as f:
                text = f.read().strip()
            if text:
                return int(text)
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    sys.exit("ingest_bench: sluice ingest did not start listening")


REPLAY_PASS_EVENTS = 100000  # events in the stream each sender repeats


def replay_feeder(sluice, framing, events, connections, port, tmp):
    """Starts C sender threads that each send the same pre-made stream until
    together they have sent `events` (rounded to whole passes); returns a
    Popen-like object for wait_rusage() and the event count to expect."""
    import threading
    stream_path = os.path.join(tmp, "stream." + framing)
    per_pass = min(events, REPLAY_PASS_EVENTS)
    subprocess.run([sluice, "gen", "--framing", framing, "--count", str(per_pass), "--out",
                    stream_path], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    with open(stream_path, "rb") as f:
        stream = f.read()
    passes = max(1, -(-events // (per_pass * connections)))
    errors = []

    def send():
        try:
            with socket.create_connection(("127.0.0.1", port)) as conn:
                view = memoryview(stream)
                for _ in range(passes):
                    conn.sendall(view)
                conn.shutdown(socket.SHUT_WR)
                conn.recv(1)  # wait for sluice to close: all taken
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=send) for _ in range(connections)]
    for t in threads:
        t.start()

    class Feeder:
        pid = None

        def poll(self):
            return None if any(t.is_alive() for t in threads) else (1 if errors else 0)

    return Feeder(), passes * per_pass * connections


def run_sluice(sluice, framing, events, connections, tmp, feeder="replay"):
    port_file = os.path.join(tmp, "port-" + framing)
    out_path = os.path.join(tmp, "ingest-%s.out" % framing)
    gen_json = os.path.join(tmp, "gen-%s.json" % framing)
    open(port_file, "w").close()
    if feeder == "replay":  # the expected count is known only after rounding to passes
        per_pass = min(events, REPLAY_PASS_EVENTS)
        events = max(1, -(-events // (per_pass * connections))) * per_pass * connections
    with open(out_path, "w") as out, open(os.path.join(tmp, "ingest.err"), "a") as err:
        ingest = subprocess.Popen([sluice, "ingest", "--listen", "127.0.0.1:0", "--port-file",
                                   port_file, "--framing", framing, "--expect", str(events)],
                                  stdout=out, stderr=err)
    port = wait_port_file(port_file, ingest)
    t0 = time.monotonic()
    if feeder == "replay":
        gen, sent_events = replay_feeder(sluice, framing, events, connections, port, tmp)
        t0 = time.monotonic()  # making the stream is not part of the measurement
    else:
        gen = subprocess.Popen([sluice, "gen", "--framing", framing, "--count", str(events),
                                "--connections", str(connections), "--connect",
                                "127.0.0.1:%d" % port, "--summary-json", gen_json],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ticks = {}
    if feeder == "replay":
        cpu0 = time.process_time()  # the sender threads' CPU is this process's
        rc, cpu = wait_rusage(ingest, 3600, lambda: sample_threads(ingest.pid, ticks))
        while gen.poll() is None:
            time.sleep(0.01)
        gen_rc, gen_cpu = gen.poll(), time.process_time() - cpu0
    else:
        gen_rc, gen_cpu = wait_rusage(gen, 3600, lambda: sample_threads(ingest.pid, ticks))
        rc, cpu = wait_rusage(ingest, WAIT_S, lambda: sample_threads(ingest.pid, ticks))
    busiest = max(ticks.values(), default=0) / os.sysconf("SC_CLK_TCK")
    wall = time.monotonic() - t0
    with open(out_path) as f:
        summary = parse_summary(f.read())
    if gen_rc != 0 or rc != 0:
        sys.exit("ingest_bench: %s: gen exit %d, ingest exit %d (see %s)"
                 % (framing, gen_rc, rc, tmp))
    if feeder == "replay":
        sent_count = sent_events
    else:
        with open(gen_json) as f:
            sent_count = json.load(f)["events"]
    got = int(summary.get("events_consumed", -1))
    if got != sent_count or int(summary.get("errors", -1)) != 0:
        sys.exit("ingest_bench: %s: sent %d events, consumed %d, errors %s"
                 % (framing, sent_count, got, summary.get("errors")))
    nbytes = int(summary["bytes"])
    return {"name": "sluice_" + framing, "events": got, "bytes": nbytes,
            "avg_event_bytes": nbytes / got, "seconds": wall, "events_per_s": got / wall,
            "MB_per_s": nbytes / wall / 1e6, "cpu_seconds": cpu, "cpu_per_wall": cpu / wall,
            "events_per_cpu_s": got / cpu, "MB_per_cpu_s": nbytes / cpu / 1e6,
            "busiest_thread_cpu_s": busiest,
            "events_per_busiest_cpu_s": got / busiest if busiest > 0 else "",
            "gen_cpu_seconds": gen_cpu, "path": summary.get("path", "?")}


def fmt(value, spec):
    return spec % value if value != "" else "-"


def print_table(rows):
    head = ("name", "events", "ev_bytes", "seconds", "M ev/s", "MB/s", "cpu_s", "cpu/wall",
            "M ev/cpu-s", "MB/cpu-s", "io_cpu_s", "M ev/io-cpu-s", "gen_cpu_s", "MB/s vs iperf3")
    line = "%-13s %9s %8s %7s %7s %8s %6s %8s %10s %8s %8s %13s %9s %14s"
    print(line % head)
    for r in rows:
        print(line % (r["name"], fmt(r["events"], "%d"), fmt(r["avg_event_bytes"], "%.1f"),
                      fmt(r["seconds"], "%.2f"),
                      fmt(r["events_per_s"] / 1e6 if r["events_per_s"] != "" else "", "%.3f"),
                      fmt(r["MB_per_s"], "%.1f"), fmt(r["cpu_seconds"], "%.2f"),
                      fmt(r["cpu_per_wall"], "%.2f"),
                      fmt(r["events_per_cpu_s"] / 1e6 if r["events_per_cpu_s"] != "" else "",
                          "%.3f"),
                      fmt(r["MB_per_cpu_s"], "%.1f"), fmt(r["busiest_thread_cpu_s"], "%.2f"),
                      fmt(r["events_per_busiest_cpu_s"] / 1e6
                          if r["events_per_busiest_cpu_s"] != "" else "", "%.3f"),
                      fmt(r["gen_cpu_seconds"], "%.2f"),
                      fmt(r["ratio_MB_vs_iperf3"], "%.3f")))


def write_csv(rows):
    results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(results, exist_ok=True)
    path = os.path.join(results, "ingest.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        for r in rows:
            w.writerow(["%.6g" % r[k] if isinstance(r[k], float) else r[k] for k in FIELDS])
    return path


def main():
    opts = parse_args(sys.argv[1:])
    sluice = os.path.join(opts["build"], "src", "cli", "sluice")
    if not os.access(sluice, os.X_OK):
        sys.exit("ingest_bench: %s not found: build first (ninja -C %s)" % (sluice, opts["build"]))
    if shutil.which("iperf3") is None:
        print("ingest_bench: iperf3 not installed (scripts/install-deps); skipped")
        sys.exit(77)
    rows = [run_iperf3(opts["iperf_seconds"])]
    with tempfile.TemporaryDirectory(prefix="sluice-ingest-bench-") as tmp:
        for framing in opts["framings"]:
            rows.append(run_sluice(sluice, framing, opts["events"], opts["connections"], tmp,
                                   opts["feeder"]))
    iperf_mb = rows[0]["MB_per_s"]
    for r in rows[1:]:
        r["ratio_MB_vs_iperf3"] = r["MB_per_s"] / iperf_mb
    print_table(rows)
    print("sluice: %d connections fed by %s, ingest path %s; io_cpu_s: CPU of sluice "
          "ingest's busiest thread (the io thread), sampled from /proc every 10 ms; iperf3: "
          "one stream, cpu of its receiving server; MB = 10^6 bytes"
          % (opts["connections"], "replayed streams" if opts["feeder"] == "replay" else "sluice gen",
             ",".join(sorted({r["path"] for r in rows[1:]})) or "-"))
    print("wrote %s" % os.path.relpath(write_csv(rows)))


if __name__ == "__main__":
    main()
