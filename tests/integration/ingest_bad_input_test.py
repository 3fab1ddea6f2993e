#!/usr/bin/env python3
"""ingest_bad_input_test.py - bad input over real sockets, checked against
each sender's own tally:

  fb:    connections interleave good frames with frames that fail
         verification (same length, corrupt root offset): every good one
         arrives, every bad one is reported with its connection (peer port),
         byte offset and sequence number, and the connection stays open;
         a client that disconnects mid-frame gets a `truncated` report at the
         partial frame's offset; an oversize and a zero-length prefix lose
         sync: reported, only that connection closes, the others carry on.
  jsonl: invalid JSON lines and an over-long line among good lines: each
         reported with its offset, the connection stays open.
"""
from ingest_util import (Ingest, args, check, encode_frames, example_lines, rng,
                         run_threads, send_random_chunks)

MAX_FRAME = 4096
CORRUPT_CONNS = 10
GOOD_CONNS = 20


def corrupt(frame):
    # root offset far beyond the buffer: fails verification, keeps the length
    return frame[:4] + (0x7ffffff0).to_bytes(4, "little") + frame[8:]


def fb_case(sluice, root):
    frames = encode_frames(sluice, root)
    r = rng(7)
    plans = {}  # name -> (bytes, expected good count, expected reports)

    def plan_corrupt(i):
        data, good, bad, off, seq = b"", 0, [], 0, 0
        for n in range(60):
            f = frames[n % len(frames)]
            if r.random() < 0.2:
                f = corrupt(f)
                bad.append(("verify", off, seq, False))
            else:
                good += 1
            data += f
            off += len(f)
            seq += 1
        return data, good, bad

    for i in range(CORRUPT_CONNS):
        plans["corrupt%d" % i] = plan_corrupt(i)
    for i in range(GOOD_CONNS):
        plans["good%d" % i] = (b"".join(frames) * 10, len(frames) * 10, [])
    head = b"".join(frames)
    partial = frames[0][:len(frames[0]) // 2]
    plans["midframe"] = (head + partial, len(frames), [("truncated", len(head), len(frames), False)])
    big = (MAX_FRAME + 1).to_bytes(4, "little") + b"x" * 64
    plans["oversize"] = (head + big + head, len(frames), [("oversize", len(head), len(frames), True)])
    zero = (0).to_bytes(4, "little") + head
    plans["zero"] = (head + zero, len(frames), [("zero_length", len(head), len(frames), True)])

    good_total = sum(p[1] for p in plans.values())
    bad_total = sum(len(p[2]) for p in plans.values())
    ingest = Ingest(sluice, ["--max-frame", str(MAX_FRAME), "--expect", str(good_total),
                             "--expect-errors", str(bad_total)])
    ports = {}

    def client(name):
        def run():
            data = plans[name][0]
            with ingest.connect() as s:
                ports[s.getsockname()[1]] = name
                try:
                    send_random_chunks(s, data, rng(sum(name.encode())))
                except (BrokenPipeError, ConnectionResetError):
                    check(plans[name][2] and plans[name][2][0][3], "%s: reset" % name)
        return run

    run_threads([client(n) for n in plans])
    summary, err, errors = ingest.finish()
    check(int(summary["events_consumed"]) == good_total,
          "consumed %s of %d good events" % (summary["events_consumed"], good_total))
    got = {}
    for e in errors:
        name = ports.get(int(e["peer"].rsplit(":", 1)[1]))
        check(name is not None, "report for an unknown peer: %s" % e)
        got.setdefault(name, []).append((e["kind"], e["offset"], e["seq"], e["closed"]))
    for name, (_, _, bad) in plans.items():
        check(got.get(name, []) == bad, "%s: reported %s, sent %s" % (name, got.get(name), bad))
    check(int(summary["errors"]) == bad_total, "errors %s != %d" % (summary["errors"], bad_total))
    print("ok fb: %d good events, %d bad reported with offsets" % (good_total, bad_total))


def jsonl_case(sluice, root):
    lines = example_lines(root)
    data, good, bad, off, seq = b"", 0, [], 0, 0
    for n in range(40):
        if n % 7 == 3:
            line = b'{"id": "x", "type": '  # invalid JSON
            bad.append(("json", off, seq))
        elif n == 20:
            line = b'{"id":"' + b"y" * 5000 + b'"}'  # longer than --max-frame
            bad.append(("oversize", off, seq))
        else:
            line = lines[n % len(lines)]
            good += 1
        data += line + b"\n"
        off += len(line) + 1
        seq += 1
    ingest = Ingest(sluice, ["--framing", "jsonl", "--max-frame", str(MAX_FRAME),
                             "--expect", str(good), "--expect-errors", str(len(bad))])
    with ingest.connect() as s:
        send_random_chunks(s, data, rng(3), max_chunk=97)
    summary, err, errors = ingest.finish()
    check(int(summary["events_consumed"]) == good, "jsonl consumed %s of %d" %
          (summary["events_consumed"], good))
    reported = [(e["kind"], e["offset"], e["seq"]) for e in errors]
    check(reported == bad, "jsonl reported %s, sent %s" % (reported, bad))
    check(all(not e["closed"] for e in errors), "a jsonl error closed the connection")
    print("ok jsonl: %d good lines, %d bad reported with offsets" % (good, len(bad)))


def main():
    sluice, root = args()
    fb_case(sluice, root)
    jsonl_case(sluice, root)


if __name__ == "__main__":
    main()
