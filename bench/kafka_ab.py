#!/usr/bin/env python3
"""kafka_ab.py - two or more sluice builds (or settings) of a Kafka
connector against each other and kcat, in one run on one `sluice broker`,
the variants taking turns round by round (the order reversed every other
round), kcat once per round. Prints each variant's median span and CPU,
its spans, kcat's, and each median over kcat's median. For comparing a
change (A/B) on a noisy machine; registered in no meson suite.

  --case source (default): the bench's source case (kafka_bench.py: kafka
      source, count N -> null sink, span from assignment to the N-th
      message), against kcat -C -e -c N, its process.
  --case sink: the bench's sink case (file of N events -> kafka sink, raw
      values; span: the job's elapsed time, CPU: its process's), against
      kcat -P producing the same keys, values and header (its process);
      every run writes a topic of its own, new, as in kafka_bench.py.
      Settings are not taken for the sink.

Usage (from the source root):

    python3 bench/kafka_ab.py VARIANT VARIANT... [--case C] [--rounds R] [--events N]

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


def ab_source(args, variants, spans, cpus, kcat, tmp):
    broker = kb.Broker(variants[0][0], tmp)
    try:
        kb.sluice_produce(variants[0][0], tmp, broker.bootstrap, args.events, 7, "bench_sluice")
        ends = kb.offsets(broker.bootstrap, "bench_sluice", -1)
        for r in range(args.rounds):
            order = list(zip(args.variants, variants))
            for name, (binary, settings) in order if r % 2 == 0 else order[::-1]:
                span, cpu, _ = kb.sluice_consume(binary, tmp, broker, args.events, ends, "ab",
                                                 settings)
                spans[name].append(span)
                cpus[name].append(cpu)
            kcat.append(kb.kcat_consume(tmp, broker, args.events)[0])
    finally:
        broker.stop()


def ab_sink(args, variants, spans, cpus, kcat, tmp):
    if any(settings for _, settings in variants):
        raise SystemExit("kafka_ab: --case sink takes no settings")
    kcat_input, _ = kb.make_kcat_input(variants[0][0], tmp, args.events, 7)
    runs = args.rounds * (len(variants) + 1)
    topics = ["ab_sink_%d" % i for i in range(runs)]
    broker = kb.Broker(variants[0][0], tmp, extra_topics=topics)
    try:
        for r in range(args.rounds):
            order = list(zip(args.variants, variants))
            for name, (binary, _) in order if r % 2 == 0 else order[::-1]:
                span, cpu, _ = kb.sluice_produce(binary, tmp, broker.bootstrap, args.events, 7,
                                                 topics.pop())
                spans[name].append(span)
                cpus[name].append(cpu)
            kcat.append(kb.kcat_produce(tmp, broker.bootstrap, kcat_input, topics.pop())[0])
    finally:
        broker.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--case", choices=["source", "sink"], default="source")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--events", type=int, default=200000)
    args = ap.parse_args()
    variants = [parse_variant(v) for v in args.variants]
    spans = {v: [] for v in args.variants}
    cpus = {v: [] for v in args.variants}
    kcat = []
    with tempfile.TemporaryDirectory(prefix="kafka_ab.") as tmp:
        (ab_sink if args.case == "sink" else ab_source)(args, variants, spans, cpus, kcat, tmp)
    k = statistics.median(kcat)
    print("%s, %d events, %d rounds; median span (s), median CPU (s), kcat's median over it"
          % (args.case, args.events, args.rounds))
    for name in args.variants:
        m = statistics.median(spans[name])
        print("%-60s %.3f  %.3f  %.2f  %s" % (name, m, statistics.median(cpus[name]), k / m,
                                           " ".join("%.3f" % t for t in sorted(spans[name]))))
    reference = "kcat -C" if args.case == "source" else "kcat -P"
    print("%-60s %.3f  %s" % (reference, k, " ".join("%.3f" % t for t in sorted(kcat))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
