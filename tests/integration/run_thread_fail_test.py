#!/usr/bin/env python3
"""A source whose io thread cannot start ends the run instead of hanging
it: `sluice run` (tcp source -> file sink) with thread_fail_shim.so
preloaded, which fails every pthread_create outside the main thread, must
exit 1 within 60 s and name the failure (non-sanitizer builds only: the
sanitizers' own pthread_create comes before a preloaded one, exit 77).

Usage: run_thread_fail_test.py SLUICE SHIM"""
import os
import subprocess
import sys
import tempfile

from ingest_util import under_sanitizer

JOB = """
job: thread_fail
sources:
  in: {type: tcp, listen: "127.0.0.1:0", framing: jsonl}
sinks:
  out: {type: file, input: in, path: "%s/out.jsonl", format: jsonl}
"""


def main():
    sluice, shim = sys.argv[1], os.path.abspath(sys.argv[2])
    if under_sanitizer(sluice):
        print("skip: sanitizer build (its pthread_create is not interposed)")
        return 77
    with tempfile.TemporaryDirectory() as out:
        job = os.path.join(out, "job.yaml")
        with open(job, "w") as f:
            f.write(JOB % out)
        env = dict(os.environ, LD_PRELOAD=shim)
        try:
            run = subprocess.run([sluice, "run", job], env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 timeout=60)
        except subprocess.TimeoutExpired:
            print("FAIL the run did not end within 60 s after its source's io thread "
                  "failed to start")
            return 1
    if run.returncode != 1 or "cannot start its io thread" not in run.stderr:
        print("FAIL exit %d, want 1 with the io thread's failure named: %s"
              % (run.returncode, run.stderr[-1500:]))
        return 1
    print("io thread failed to start: the run ended with exit 1 and said why")
    return 0


if __name__ == "__main__":
    sys.exit(main())
