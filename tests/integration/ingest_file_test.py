#!/usr/bin/env python3
"""ingest_file_test.py - `sluice ingest --file`:

  * fb and jsonl files read to EOF (the process ends by itself), every event
    counted, byte count equal to the file size;
  * a file whose last frame is cut short: the `truncated` report carries
    the offset of that frame;
  * follow mode: frames appended (in pieces, splitting frames) while the
    process runs all arrive; it stops on --expect.
"""
import os
import time

from ingest_util import Ingest, args, check, encode_frames, example_lines


def run_file(sluice, path, extra, expect_events):
    ingest = Ingest(sluice, ["--file", path] + extra, tcp=False)
    summary, err, errors = ingest.finish()
    check(int(summary["events_consumed"]) == expect_events,
          "%s: consumed %s of %d" % (path, summary["events_consumed"], expect_events))
    check(int(summary["bytes"]) == os.path.getsize(path), "%s: bytes %s" % (path, summary["bytes"]))
    return summary, errors


def main():
    sluice, root = args()
    frames = encode_frames(sluice, root)
    import tempfile
    tmp = tempfile.mkdtemp(prefix="sluice-file-")
    fb_path = os.path.join(tmp, "orders.fb")
    rounds = 3000  # ~1 MB: several reads
    with open(fb_path, "wb") as f:
        f.write(b"".join(frames) * rounds)
    summary, errors = run_file(sluice, fb_path, ["--consumers", "2"], len(frames) * rounds)
    check(not errors, "fb file: errors %s" % errors[:3])

    jl_path = os.path.join(tmp, "orders.jsonl")
    lines = example_lines(root)
    with open(jl_path, "wb") as f:
        f.write(b"\n".join(lines * 500))  # the last line has no newline
    summary, errors = run_file(sluice, jl_path, ["--framing", "jsonl"], len(lines) * 500)
    check(not errors, "jsonl file: errors %s" % errors[:3])

    cut_path = os.path.join(tmp, "cut.fb")
    whole = b"".join(frames)
    with open(cut_path, "wb") as f:
        f.write(whole + frames[1][:10])
    summary, errors = run_file(sluice, cut_path, [], len(frames))
    check(len(errors) == 1 and errors[0]["kind"] == "truncated" and
          errors[0]["offset"] == len(whole), "cut file: reports %s" % errors)

    follow_path = os.path.join(tmp, "follow.fb")
    with open(follow_path, "wb") as f:
        f.write(whole)
    appends = 20
    total = len(frames) * (1 + appends)
    ingest = Ingest(sluice, ["--file", follow_path, "--follow", "--expect", str(total)], tcp=False)
    with open(follow_path, "ab") as f:
        for i in range(appends):
            cut = 7 + i * 13
            f.write(whole[:cut])
            f.flush()
            time.sleep(0.03)
            f.write(whole[cut:])
            f.flush()
            time.sleep(0.03)
    summary, err, errors = ingest.finish()
    check(int(summary["events_consumed"]) == total,
          "follow: consumed %s of %d" % (summary["events_consumed"], total))
    check(not errors, "follow: errors %s" % errors[:3])
    print("ok: fb/jsonl files to EOF, truncated tail reported, follow mode picked up %d appends"
          % appends)


if __name__ == "__main__":
    main()
