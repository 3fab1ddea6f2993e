#!/usr/bin/env python3
"""Broken job files and the exact errors `sluice validate` must print.

Each tests/integration/jobs/NAME.yaml with a NAME.err beside it must be
rejected (exit 2) with exactly those `file:line:col: error: ...` lines (in
that order); each good_*.yaml, and every job in the EXAMPLE_DIRs, must
validate (exit 0). Usage: validate_test.py SLUICE JOBS_DIR [EXAMPLE_DIR...]"""
import os
import subprocess
import sys


def main():
    sluice, jobs = os.path.abspath(sys.argv[1]), sys.argv[2]
    failures = 0
    cases = sorted(f for f in os.listdir(jobs) if f.endswith(".yaml"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_TEST_")}
    for name in cases:
        run = subprocess.run([sluice, "validate", name], cwd=jobs, env=env,
                             capture_output=True, text=True, timeout=60)
        errors = [l for l in run.stderr.splitlines() if ": error: " in l]
        expected_path = os.path.join(jobs, name[:-5] + ".err")
        if name.startswith("good_"):
            if run.returncode != 0:
                print(f"FAIL {name}: expected valid, got exit {run.returncode}:\n{run.stderr}")
                failures += 1
            continue
        expected = open(expected_path).read().splitlines()
        if run.returncode != 2 or errors != expected:
            print(f"FAIL {name}: exit {run.returncode}\n  expected: {expected}\n  got:      {errors}")
            failures += 1
    examples = [os.path.join(d, n) for d in sys.argv[3:] for n in sorted(os.listdir(d))
                if n.endswith(".yaml")]
    for path in examples:
        name = os.path.basename(path)
        cases.append(name)
        run = subprocess.run([sluice, "validate", path], env=env,
                             capture_output=True, text=True, timeout=60)
        if run.returncode != 0:
            print(f"FAIL example {name}: exit {run.returncode}:\n{run.stderr}")
            failures += 1
    print(f"validate_test: {len(cases) - failures} of {len(cases)} cases ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
