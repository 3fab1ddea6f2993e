#!/usr/bin/env python3
"""make_corpus.py - writes the seed corpora of the fuzz targets.

usage: tests/fuzz/make_corpus.py PATH/TO/sluice [CORPUS_DIR]

Seeds are real order events (examples/orders.jsonl) encoded with
`sluice encode`, plus truncated and edge cases. Frame and line seeds carry
the 6-byte header their targets read first (see fuzz_frame.c, fuzz_lines.c).
Re-running rewrites the seed-* files; regress-* files (inputs that once
crashed) are left alone.
"""
import json
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def encode(sluice, text, *args):
    r = subprocess.run([sluice, 'encode', *args], input=text.encode(), capture_output=True)
    if r.returncode != 0:
        sys.exit('sluice encode %s failed: %s' % (' '.join(args), r.stderr.decode()))
    return r.stdout


def write(corpus, target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data.encode() if isinstance(data, str) else data)


def frame_seeds(corpus, events, frames):
    def hdr(max_sel, flags, c0, c1, c2, c3):
        return bytes([max_sel, flags, c0, c1, c2, c3])
    one = frames[0]
    write(corpus, 'fuzz_frame', 'all-whole', hdr(0x7f, 0, 0xff, 0xff, 0xff, 0xff) + events)
    write(corpus, 'fuzz_frame', 'all-bytewise', hdr(0x7f, 0, 0, 0, 0, 0) + events)
    write(corpus, 'fuzz_frame', 'all-chunks-1-2-3-4', hdr(0x7f, 0, 0, 1, 2, 3) + events)
    write(corpus, 'fuzz_frame', 'all-chunks-odd', hdr(0x7f, 0, 6, 200, 12, 99) + events)
    write(corpus, 'fuzz_frame', 'all-backpressure', hdr(0x7f, 1, 30, 0xff, 7, 64) + events)
    write(corpus, 'fuzz_frame', 'all-backpressure-room', hdr(0x7f, 9, 100, 3, 0xff, 1) + events)
    write(corpus, 'fuzz_frame', 'all-max-any', hdr(0xff, 0, 50, 50, 50, 50) + events)
    write(corpus, 'fuzz_frame', 'one-frame', hdr(0x10, 0, 3, 0xff, 0, 0) + one)
    write(corpus, 'fuzz_frame', 'oversize-small-max', hdr(0x85, 0, 2, 5, 0xff, 0) + events)
    write(corpus, 'fuzz_frame', 'oversize-ffffffff',
          hdr(0x7f, 0, 9, 9, 9, 9) + one + b'\xff\xff\xff\xff' + b'x' * 16)
    write(corpus, 'fuzz_frame', 'zero-length',
          hdr(0x7f, 0, 1, 0xff, 1, 1) + one + b'\0\0\0\0' + one)
    write(corpus, 'fuzz_frame', 'truncated-body', hdr(0x7f, 0, 17, 0xff, 0, 0) + events[:-9])
    write(corpus, 'fuzz_frame', 'truncated-prefix',
          hdr(0x7f, 0, 0, 0xff, 0, 0) + one + one[:2])
    write(corpus, 'fuzz_frame', 'empty-stream', hdr(0x7f, 0, 0, 0, 0, 0))
    write(corpus, 'fuzz_frame', 'tiny-frames',
          hdr(0x80, 0, 0, 1, 2, 0) + b''.join(struct.pack('<I', 1) + bytes([i]) for i in range(12)))
    write(corpus, 'fuzz_frame', 'max-exact',
          hdr(0x00, 1, 0, 62, 0xff, 0) + struct.pack('<I', 64) + bytes(range(64)))


def line_seeds(corpus, jsonl):
    def hdr(max_sel, refuse, c0, c1, c2, c3):
        return bytes([max_sel, refuse, c0, c1, c2, c3])
    crlf = jsonl.replace(b'\n', b'\r\n')
    write(corpus, 'fuzz_lines', 'orders-whole', hdr(0x90, 0, 0xff, 0xff, 0xff, 0xff) + jsonl)
    write(corpus, 'fuzz_lines', 'orders-bytewise', hdr(0x90, 0, 0, 0, 0, 0) + jsonl)
    write(corpus, 'fuzz_lines', 'orders-chunks', hdr(0x90, 0, 5, 70, 1, 250) + jsonl)
    write(corpus, 'fuzz_lines', 'orders-crlf', hdr(0x90, 0, 3, 0xff, 0, 1) + crlf)
    write(corpus, 'fuzz_lines', 'orders-refuse', hdr(0x90, 1, 40, 40, 0xff, 2) + jsonl)
    write(corpus, 'fuzz_lines', 'orders-refuse-often', hdr(0xff, 2, 0xff, 0, 0, 0) + crlf)
    write(corpus, 'fuzz_lines', 'orders-overlong', hdr(0x7f, 0, 30, 0xff, 2, 9) + jsonl)
    write(corpus, 'fuzz_lines', 'orders-no-final-newline', hdr(0x90, 0, 60, 0xff, 7, 7) + jsonl.rstrip(b'\n'))
    write(corpus, 'fuzz_lines', 'blank-lines', hdr(0x04, 0, 0, 1, 0, 2) + b'\n\n\r\n\r\r\n{}\n\n')
    write(corpus, 'fuzz_lines', 'cr-at-end', hdr(0x04, 0, 1, 0, 0, 0) + b'abc\r')
    write(corpus, 'fuzz_lines', 'max-exact-crlf', hdr(0x03, 0, 2, 0, 1, 0) + b'abcd\r\nabc\r\nab\n')
    write(corpus, 'fuzz_lines', 'overlong-at-end', hdr(0x02, 1, 0, 0, 0, 0) + b'ok\nlonger line')
    write(corpus, 'fuzz_lines', 'inner-cr', hdr(0x08, 0, 0, 0xff, 0, 0) + b'a\rb\n\rx\n')
    write(corpus, 'fuzz_lines', 'empty', hdr(0x08, 0, 0, 0, 0, 0))


def verify_seeds(corpus, sluice, lines):
    for i, line in enumerate(lines):
        write(corpus, 'fuzz_verify', 'event%d-raw' % i, encode(sluice, line, '--framing', 'raw'))
        write(corpus, 'fuzz_verify', 'event%d-prefixed' % i, encode(sluice, line))
    placed = [json.dumps(json.loads(l)['payload']) for l in lines
              if json.loads(l)['type'] == 'order.placed']
    for i, p in enumerate(placed):
        raw = encode(sluice, p, '--type', 'OrderPlaced', '--framing', 'raw')
        write(corpus, 'fuzz_verify', 'placed%d-raw' % i, raw)
        write(corpus, 'fuzz_verify', 'placed%d-prefixed' % i,
              encode(sluice, p, '--type', 'OrderPlaced'))
        write(corpus, 'fuzz_verify', 'placed%d-defaults' % i,
              encode(sluice, p, '--type', 'OrderPlaced', '--framing', 'raw', '--force-defaults'))
        write(corpus, 'fuzz_verify', 'placed%d-truncated' % i, raw[:len(raw) // 2])
    ev = encode(sluice, lines[0], '--framing', 'raw')
    write(corpus, 'fuzz_verify', 'event0-truncated', ev[:-5])
    write(corpus, 'fuzz_verify', 'event0-root-out', b'\xff\xff\xff\x7f' + ev[4:])
    flipped = bytearray(ev)
    flipped[len(ev) // 3] ^= 0x80
    write(corpus, 'fuzz_verify', 'event0-bitflip', bytes(flipped))
    write(corpus, 'fuzz_verify', 'empty', b'')
    write(corpus, 'fuzz_verify', 'four-zeros', b'\0\0\0\0')
    minimal = encode(sluice, '{}', '--framing', 'raw')
    write(corpus, 'fuzz_verify', 'empty-event', minimal)


def json_seeds(corpus, lines):
    for i, line in enumerate(lines):
        write(corpus, 'fuzz_json', 'event%d' % i, line)
    for i, line in enumerate(lines):
        ev = json.loads(line)
        if ev['type'] == 'order.placed':
            write(corpus, 'fuzz_json', 'placed%d' % i, json.dumps(ev['payload']))
    edge = {
        'empty-object': '{}',
        'empty': '',
        'array': '[]',
        'placed-minimal': '{"order_id":"o"}',
        'placed-enum-number': '{"order_id":"o","region":2,"currency":4}',
        'placed-unicode': '{"order_id":"\\u00e9\\ud83d\\ude00\\n\\"","tags":["\\u0000"]}',
        'placed-limits': '{"order_id":"o","amount":-9223372036854775808,"items":[{"sku":"s",'
                         '"quantity":4294967295,"unit_price":9223372036854775807}]}',
        'placed-nulls': '{"order_id":"o","coupon":null,"shipping":null,"priority":false}',
        'event-payload-bytes': '{"type":"order.placed","payload":[]}',
        'event-unknown-type': '{"type":"no.such.type","payload":{}}',
        'event-headers': '{"id":"x","headers":[{"key":"k"},{"key":"a","value":"b"}],"ts":-1}',
        'trailing-garbage': '{"order_id":"o"} x',
        'deep': '{"order_id":' + '[' * 80 + ']' * 80 + '}',
        'whitespace': ' \t\r\n{ "order_id" : "o" , "tags" : [ "a" , "b" ] }\n',
    }
    for name, text in edge.items():
        write(corpus, 'fuzz_json', name, text)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sluice = sys.argv[1]
    corpus = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, 'corpus')
    with open(os.path.join(ROOT, 'examples', 'orders.jsonl'), 'rb') as f:
        jsonl = f.read()
    lines = [l for l in jsonl.decode().split('\n') if l.strip()]
    frames = [encode(sluice, l) for l in lines]
    frame_seeds(corpus, b''.join(frames), frames)
    line_seeds(corpus, jsonl)
    verify_seeds(corpus, sluice, lines)
    json_seeds(corpus, lines)


if __name__ == '__main__':
    main()
