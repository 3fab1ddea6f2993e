#!/usr/bin/env python3
"""kafka_ab.py - two or more sluice builds (or settings) of the Kafka source
against each other and kcat -C, in one run on one `sluice broker`: the
bench's source case (kafka_bench.py: kafka source, count N -> null sink,
span from assignment to the N-th message; kcat -C -e -c N, its process),
the variants taking turns round by round (the order reversed every other
round), kcat once per round. Prints each variant's median span and CPU,
its spans, kcat's, and each median over kcat's median. For comparing a
change (A/B) on a noisy machine; registered in no meson suite.

Usage (from the source root):

    python3 bench/kafka_ab.py VARIANT VARIANT... [--rounds R] [--events N]

VARIANT is a sluice binary, optionally followed by librdkafka settings for
the source: BINARY[,key=value...], e.g.
`python3 bench/kafka_ab.py /tmp/sluice-before build-rel/src/cli/sluice` or
`build-rel/src/cli/sluice build-rel/src/cli/sluice,queued.max.messages.kbytes=65536`.
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_bench as kb  # noqa: E402


def parse_variant(text):
    """BINARY[,key=value...] -> (absolute binary, ((key, value), ...))."""
    binary, *pairs = text.split(",")
    settings = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit("kafka_ab: %r: settings are key=value" % pair)
        settings.append((key, value))
    return os.path.abspath(binary), tuple(settings)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--events", type=int, default=200000)
    args = ap.parse_args()
    variants = [parse_variant(v) for v in args.variants]
    spans = {v: [] for v in args.variants}
    cpus = {v: [] for v in args.variants}
    kcat = []
    with tempfile.TemporaryDirectory(prefix="kafka_ab.") as tmp:
        broker = kb.Broker(variants[0][0], tmp)
        try:
            kb.sluice_produce(variants[0][0], tmp, broker.bootstrap, args.events, 7,
                              "bench_sluice")
            ends = kb.offsets(broker.bootstrap, "bench_sluice", -1)
            for r in range(args.rounds):
                order = list(zip(args.variants, variants))
                for name, (binary, settings) in order if r % 2 == 0 else order[::-1]:
                    span, cpu, _ = kb.sluice_consume(binary, tmp, broker, args.events, ends,
                                                     "ab", settings)
                    spans[name].append(span)
                    cpus[name].append(cpu)
                kcat.append(kb.kcat_consume(tmp, broker, args.events)[0])
        finally:
            broker.stop()
    k = statistics.median(kcat)
    print("%d events, %d rounds; median span (s), median CPU (s), kcat's median over it"
          % (args.events, args.rounds))
    for name in args.variants:
        m = statistics.median(spans[name])
        print("%-60s %.3f  %.3f  %.2f  %s" % (name, m, statistics.median(cpus[name]), k / m,
                                           " ".join("%.3f" % t for t in sorted(spans[name]))))
    print("%-60s %.3f  %s" % ("kcat -C", k, " ".join("%.3f" % t for t in sorted(kcat))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
