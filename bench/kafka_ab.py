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
  --case broker: the variants are `sluice broker` builds, all running at
      once; round by round each takes the sink case of the first variant's
      sluice and a kcat -P run, each into a new topic. Prints, per broker,
      the median of its CPU over each run (/proc/PID/stat) and of the two
      clients' spans, and sluice's ratio to kcat on that broker.

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


def ab_broker(args, variants, tmp):
    if any(settings for _, settings in variants):
        raise SystemExit("kafka_ab: --case broker takes no settings")
    client = variants[0][0]
    kcat_input, _ = kb.make_kcat_input(client, tmp, args.events, 7)
    runs = {name: {"cpu_s": [], "cpu_k": [], "sluice": [], "kcat": []} for name in args.variants}
    brokers = {}
    try:
        for i, (name, (binary, _)) in enumerate(zip(args.variants, variants)):
            own = os.path.join(tmp, "broker%d" % i)
            os.mkdir(own)
            topics = ["ab_broker_%d" % t for t in range(2 * args.rounds)]
            brokers[name] = (kb.Broker(binary, own, extra_topics=topics), topics)
        for r in range(args.rounds):
            order = list(args.variants) if r % 2 == 0 else list(args.variants)[::-1]
            for name in order:
                broker, topics = brokers[name]
                before = kb.proc_cpu(broker.proc.pid)
                span = kb.sluice_produce(client, tmp, broker.bootstrap, args.events, 7,
                                         topics.pop())[0]
                middle = kb.proc_cpu(broker.proc.pid)
                kspan = kb.kcat_produce(tmp, broker.bootstrap, kcat_input, topics.pop())[0]
                after = kb.proc_cpu(broker.proc.pid)
                for key, value in (("sluice", span), ("kcat", kspan), ("cpu_s", middle - before),
                                   ("cpu_k", after - middle)):
                    runs[name][key].append(value)
    finally:
        for broker, _ in brokers.values():
            broker.stop()
    print("broker, %d events, %d rounds, client %s; medians: the broker's CPU (s) over a "
          "sluice sink run and a kcat -P run, their spans (s), kcat's span over sluice's"
          % (args.events, args.rounds, client))
    for name in args.variants:
        m = {key: statistics.median(values) for key, values in runs[name].items()}
        print("%-60s cpu %.3f / %.3f  sluice %.3f  kcat %.3f  %.2f"
              % (name, m["cpu_s"], m["cpu_k"], m["sluice"], m["kcat"], m["kcat"] / m["sluice"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--case", choices=["source", "sink", "broker"], default="source")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--events", type=int, default=200000)
    args = ap.parse_args()
    variants = [parse_variant(v) for v in args.variants]
    if args.case == "broker":
        with tempfile.TemporaryDirectory(prefix="kafka_ab.") as tmp:
            ab_broker(args, variants, tmp)
        return 0
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
