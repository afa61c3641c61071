#!/usr/bin/env python3
"""Measures how long a record written to conveyor's stdin takes to come out of stdout.

Runs pipelines/bench/streaming/latency.toml (stdin.read -> filter.apply -> stdout.write in
streaming mode) under each executor. At idle: one record at a time, the next written only after
the previous came back (plus a short random pause, so that every record meets an idle
pipeline). Prints p50/p90/p99/max per executor.

    python3 pipelines/bench/streaming/latency.py [--binary build/bin/conveyor] [-n 2000]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def percentile(sorted_values, p):
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def measure(binary, executor, n, pause_ms):
    proc = subprocess.Popen(
        [binary, "run", os.path.join(HERE, "latency.toml"), "--executor", executor, "-q"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    out = proc.stdout
    latencies = []
    rng = random.Random(1)
    try:
        for i in range(n + 20):  # the first 20 warm up
            line = json.dumps({"seq": i, "level": "info", "msg": "request served"}).encode() + b"\n"
            t0 = time.perf_counter_ns()
            proc.stdin.write(line)
            got = out.readline()
            t1 = time.perf_counter_ns()
            if not got:
                raise RuntimeError("conveyor ended early")
            if json.loads(got)["seq"] != i:
                raise RuntimeError("unexpected record: %r" % got)
            if i >= 20:
                latencies.append((t1 - t0) / 1e6)
            if pause_ms:
                time.sleep(rng.uniform(0, pause_ms) / 1000.0)  # let the pipeline go idle
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    if proc.returncode != 0:
        raise RuntimeError("conveyor exited with %d" % proc.returncode)
    return sorted(latencies)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "conveyor"))
    ap.add_argument("-n", type=int, default=2000, help="records per executor")
    ap.add_argument("--pause-ms", type=float, default=2.0,
                    help="largest random pause between records (0: back to back)")
    ap.add_argument("--executors", default="dag,channel,async")
    args = ap.parse_args()
    print("stdin -> filter.apply -> stdout, %d records one at a time at idle" % args.n)
    print("| executor | records | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    worst_p99 = 0.0
    for ex in args.executors.split(","):
        lat = measure(args.binary, ex, args.n, args.pause_ms)
        p99 = percentile(lat, 99)
        worst_p99 = max(worst_p99, p99)
        print("| %s | %d | %.3f | %.3f | %.3f | %.3f |" % (
            ex + (" (runs as channel)" if ex == "dag" else ""), len(lat), percentile(lat, 50),
            percentile(lat, 90), p99, lat[-1]))
    print("target: a record reaches stdout within 50 ms at idle -> %s (worst p99 %.3f ms)" %
          ("met" if worst_p99 < 50 else "NOT met", worst_p99))


if __name__ == "__main__":
    sys.exit(main())
