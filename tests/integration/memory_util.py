"""memory_util.py - what the memory-bound tests share: a job's peak RSS,
sampled from /proc while it runs and read from wait4's rusage when it is
reaped, and the batch bound it prints at start."""
import os
import re
import shutil
import subprocess
import sys
import threading
import time

from ingest_util import under_sanitizer
from kafka_source_util import stop_job


def sluice_to_test(argv, doc):
    """(the sluice binary of a memory test's command line, None), or (None,
    exit code) when the test cannot run: 2 usage, 77 skip (a sanitizer
    build, whose RSS is not comparable, or no kcat)."""
    if len(argv) != 2:
        print(doc, file=sys.stderr)
        return None, 2
    if under_sanitizer(argv[1]):
        print("skip: sanitizer build (RSS is not comparable)")
        return None, 77
    if not shutil.which("kcat"):
        print("SKIP: kcat is needed", file=sys.stderr)
        return None, 77
    return argv[1], None


def vm_hwm(pid):
    """Peak RSS of pid in bytes, or None once it has exited."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class PeakRss:
    """Samples proc's VmHWM every 50 ms until reap(); peak() is the largest
    sample or, once reaped, wait4's ru_maxrss if larger."""

    def __init__(self, proc):
        self.proc, self.samples, self.reaped = proc, [0], threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while not self.reaped.is_set():
            hwm = vm_hwm(self.proc.pid)
            if hwm:
                self.samples.append(hwm)
            time.sleep(0.05)

    def peak(self):
        return max(self.samples)

    def reap(self, timeout):
        """Waits for the process to exit: its exit code (None when it had to
        be stopped after timeout s: SIGINT, then SIGKILL)."""
        rc, maxrss = None, 0
        if self.proc.poll() is not None:  # exited early, already reaped: no rusage
            rc = self.proc.returncode
        deadline = time.monotonic() + timeout
        while rc is None and time.monotonic() < deadline:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                rc = self.proc.returncode = os.waitstatus_to_exitcode(status)
                maxrss = usage.ru_maxrss * 1024
            else:
                time.sleep(0.05)
        if rc is None:
            stop_job(self.proc)
        self.reaped.set()
        self.thread.join(timeout=5)
        self.samples.append(maxrss)
        return rc


def batch_bound(log_text):
    """Bytes of the "batches hold at most N MiB" line a job prints, or None."""
    m = re.search(r"batches hold at most ([0-9.]+) MiB", log_text)
    return float(m.group(1)) * (1 << 20) if m else None


def topic_offsets(bootstrap, topic, partitions, which):
    """[offset per partition] of topic: which -1 = end, -2 = beginning (kcat
    -Q, tried up to 3 times); raises when kcat does not answer for each."""
    args = ["kcat", "-Q", "-b", bootstrap]
    for p in range(partitions):
        args += ["-t", "%s:%d:%d" % (topic, p, which)]
    for _ in range(3):
        run = subprocess.run(args, capture_output=True, text=True, timeout=30)
        offsets = [int(m.group(1)) for m in re.finditer(r"offset (-?\d+)", run.stdout)]
        if len(offsets) == partitions:
            return offsets
        time.sleep(1)
    raise RuntimeError("kcat -Q %s: %d of %d partitions: %s"
                       % (topic, len(offsets), partitions, run.stderr[-500:]))


def check_bound(check, name, peak, stalled_peak, bound, baseline, load, load_what):
    """What every memory test asserts, and its summary line: the load
    (bytes offered that the job must not hold) is at least twice the bound
    above baseline, so a job that buffered it would fail; the peak RSS is
    within the bound."""
    check(load >= 2 * (bound - baseline),
          "%s (%.0f MB) is at least twice the bound above baseline (%.0f MB)"
          % (load_what, load / 1e6, (bound - baseline) / 1e6))
    check(0 < peak <= bound, "peak RSS %.1f MiB within the bound %.1f MiB (baseline %.1f MiB)"
          % (peak / 2**20, bound / 2**20, baseline / 2**20))
    print("%s: peak RSS %.1f MiB (%.1f MiB by the end of the stall), bound %.1f MiB "
          "(baseline %.1f MiB); %s %.0f MB"
          % (name, peak / 2**20, stalled_peak / 2**20, bound / 2**20, baseline / 2**20,
             load_what, load / 1e6))


def exit_code(check, tmp):
    """A memory test's exit code: 1 with its files kept when a check failed,
    else 0 with tmp removed."""
    if check.failures:
        print("%d checks failed; files in %s" % (check.failures, tmp), file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0
