#!/usr/bin/env python3
"""Conveyor's benchmark: builds Release, runs the workloads and their peers in one run on this
machine, and prints markdown tables (also written to pipelines/bench/RESULTS.md).

    pipelines/bench/bench.py                 # everything (about 10 minutes on 2 cores)
    pipelines/bench/bench.py --only w1,memory --runs 3
    pipelines/bench/bench.py --no-build --build-dir build

Workloads (see pipelines/bench/README.md):
  w1       csv.read -> filter.apply (amount >= 1000) -> json.write (NDJSON and array),
           1M and 5M rows, conveyor under dag/channel/async vs the C++ reference converter,
           the read()+memchr floor, Miller and DuckDB; output checked against DuckDB's.
  memory   peak RSS of W1 (NDJSON) at 500k and 5M rows per executor, and their ratio.
  w3       one csv.read (1M rows) -> 5 transforms -> 10 sinks under each executor; every
           sink's output compared across executors.
  startup  `conveyor run` of a one-record pipeline and `conveyor validate`, median of 30.
  scaling  W1 wall at 1M vs 5M rows, and workers = 1 vs 2 (plus CPU time / wall).
  w2       http.fetch against the shared 100 ms delay server (pipelines/bench/http/run.sh).
  w4       csv.read -> sort.apply (amount descending) -> NDJSON at the --w1-sizes, in memory and
           with memory_limit = 64MiB (spilling), vs DuckDB's ORDER BY and Miller's sort -nr.
  top      sort.apply + limit.apply (top 100 by amount) at 5M rows vs the full sort (W4) and
           DuckDB's ORDER BY ... LIMIT 100.
  w5       groupby.apply by country, category (count, sum, avg, max of amount) at 5M rows vs
           DuckDB's GROUP BY and Miller's stats1; then a 5M-key group-by with memory_limit =
           64MiB (spilling) vs in memory.
  w1cbs    W1 (NDJSON) under each executor with channel_buffer_size 10, 100 and 4096,
           interleaved runs; each against the best (issue 20: within 1.15x).
  w1gz     W1 (NDJSON) reading rows_<size>.csv.gz (gzip -6 of the W1 data) vs the plain file,
           `zcat | mlr`, DuckDB reading the .gz, and zcat alone (the decompression floor).
  w7       NDJSON in: json.read of the W1 data as JSON lines (1M rows) -> filter.apply
           (amount >= 1000) -> csv.write under each executor (the default configuration) vs
           DuckDB's read_json, Miller and `jq -c 'select(.amount >= 1000)'`.
  w1par    W1 (NDJSON) at the --w1-sizes with workers = 1 vs 2 under each executor, vs DuckDB
           and the C++ converter's time divided by the workers; outputs compared byte for byte.
  w1shard  W1 (NDJSON) at the --w1-sizes as one process vs [global] backend = "local" with
           processes = 2 (two shards as processes, then finalize), each with the default
           workers and with workers = 1; outputs compared byte for byte (issue 21).
  w6       join.apply of 5M orders with 500k customers (inner and left) vs DuckDB's JOIN and
           Miller's join; then the inner join with memory_limit = 64MiB (grace hash join).
  w8       databases, 1M W1 rows: csv.read -> postgres.write vs `psql -c "\\copy t from ..."`,
           postgres.read -> NDJSON vs `psql -c "\\copy (select ...) to ..."` (a PostgreSQL 15
           started for the run: initdb into the data directory, as the postgres user when root),
           and csv.read -> sqlite.write vs `sqlite3 .import`; each load into an empty table.

Only the Python standard library is used. Peers are skipped (and say so) when missing:
Miller (`mlr`), DuckDB through node + @duckdb/node-api (installed into the build directory
with npm when missing), the C++ reference and floor programs from ../shared/bench/cpp.
"""

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "pipelines" / "bench"
SIZES = {"1k": 1_000, "500k": 500_000, "1m": 1_000_000, "5m": 5_000_000}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Measure:
    """Runs a command several times; wall median, min/max, peak RSS and CPU of the child."""

    def __init__(self, cmd, env=None, cwd=None, shell=False):
        self.cmd, self.env, self.cwd, self.shell = cmd, env, cwd, shell
        self.walls, self.rss_kb, self.cpu = [], [], []

    launcher = None  # path of the compiled measure.c

    def once(self):
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        argv = ["/bin/sh", "-c", self.cmd] if self.shell else list(self.cmd)
        report = Path(Measure.launcher).with_suffix(".report")
        p = subprocess.run([Measure.launcher, str(report)] + argv, env=env, cwd=self.cwd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.decode(errors="replace")
        wall, rss, user, system, code = report.read_text().split()
        if int(code) != 0:
            raise RuntimeError(f"command failed ({code}): {self.cmd}\n{err}")
        self.walls.append(float(wall))
        self.rss_kb.append(int(rss))
        self.cpu.append(float(user) + float(system))

    def run(self, runs, warmup=1):
        for _ in range(warmup):
            self.once()
        self.walls, self.rss_kb, self.cpu = [], [], []
        for _ in range(runs):
            self.once()
        return self

    @property
    def median(self):
        return statistics.median(self.walls)

    @property
    def rss_mib(self):
        return max(self.rss_kb) / 1024.0

    @property
    def cpu_median(self):
        return statistics.median(self.cpu)


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---:" if i else "---" for i in range(len(headers))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def fmt_s(x):
    return f"{x:.3f}" if x < 10 else f"{x:.2f}"


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = Path(args.build_dir).resolve()
        self.conveyor = self.build / "bin" / "conveyor"
        self.data = Path(args.data_dir).resolve()
        self.out = self.data / "out"
        self.shared = Path(args.shared).resolve()
        self.sections = []

    # ---- set-up -------------------------------------------------------------------------
    def build_release(self):
        launcher = self.data / "bin" / "measure"
        launcher.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cc", "-O2", "-o", str(launcher), str(BENCH / "measure.c")], check=True)
        Measure.launcher = str(launcher)
        if self.args.no_build:
            return
        log("building Release ...")
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(self.build), "-G", "Ninja",
                        "-DCMAKE_BUILD_TYPE=Release", "-DCONVEYOR_BUILD_TESTS=OFF"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", str(self.build), "--target", "conveyor"], check=True,
                       stdout=subprocess.DEVNULL)

    def dataset(self, size):
        path = self.data / f"rows_{size}.csv"
        if not path.exists():
            gen = self.shared / "bench" / "gen_data.py"
            log(f"generating {path.name} ...")
            self.data.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, str(gen), str(SIZES[size]), str(path)], check=True,
                           stdout=subprocess.DEVNULL)
        return path

    def cpp_peer(self, name):
        exe = self.data / "bin" / name
        src = self.shared / "bench" / "cpp" / f"{name}.cpp"
        if not exe.exists():
            if not src.exists() or not shutil.which("g++"):
                return None
            exe.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["g++", "-O2", "-std=c++20", "-o", str(exe), str(src)], check=True)
        return exe

    def duckdb(self):
        """Command prefix running DuckDB SQL through node, or None."""
        if not shutil.which("node"):
            return None
        script = self.shared / "bench" / "node" / "duck_sql.mjs"
        if not script.exists():
            return None
        node_dir = self.build / "bench-node"
        if not (node_dir / "node_modules" / "@duckdb" / "node-api").exists():
            if not shutil.which("npm"):
                return None
            node_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.shared / "bench" / "node" / "package.json", node_dir)
            lock = self.shared / "bench" / "node" / "package-lock.json"
            if lock.exists():
                shutil.copy(lock, node_dir)
            log("installing @duckdb/node-api with npm ...")
            r = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=node_dir,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode != 0:
                return None
        shutil.copy(script, node_dir / "duck_sql.mjs")
        return ["node", str(node_dir / "duck_sql.mjs")]

    def conveyor_env(self, **kw):
        env = {"CONVEYOR_LOG": "warn"}
        env.update({k: str(v) for k, v in kw.items()})
        return env

    # ---- W1 -----------------------------------------------------------------------------
    def w1(self):
        duck = self.duckdb()
        floor = self.cpp_peer("floor_scan")
        ref = self.cpp_peer("csv2ndjson")
        mlr = shutil.which("mlr")
        pipeline = str(BENCH / "w1_filter.toml")
        text = ["## W1: csv.read -> filter.apply (amount >= 1000) -> json.write", ""]
        self.w1_results = {}
        for size in self.args.w1_sizes:
            data = self.dataset(size)
            mb = data.stat().st_size / 1e6
            runs = self.args.runs
            self.out.mkdir(parents=True, exist_ok=True)
            cmds = []  # (name, output kind, Measure, output path)
            if floor:
                cmds.append(("floor: read()+memchr", "-", Measure([str(floor), str(data)]), None))
            if ref:
                o = self.out / f"cpp_{size}.ndjson"
                cmds.append(("C++ reference csv2ndjson (1 thread)", "NDJSON",
                             Measure([str(ref), str(data), str(o), "amount", "1000"]), o))
            for fmt, ext in (("jsonl", "ndjson"), ("records", "json")):
                for ex in ("dag", "channel", "async"):
                    o = self.out / f"conveyor_{ex}_{size}.{ext}"
                    env = self.conveyor_env(BENCH_EXECUTOR=ex, BENCH_IN=data, BENCH_OUT=o,
                                            BENCH_FORMAT=fmt)
                    cmds.append((f"conveyor executor={ex}", "NDJSON" if fmt == "jsonl" else "JSON array",
                                 Measure([str(self.conveyor), "run", pipeline, "-q"], env=env), o))
            if mlr:
                for flag, kind, ext in (("--ojsonl", "NDJSON", "ndjson"), ("--ojson", "JSON array", "json")):
                    o = self.out / f"mlr_{size}.{ext}"
                    cmds.append(("Miller", kind, Measure(
                        f"mlr --icsv {flag} filter '$amount >= 1000' {data} > {o}", shell=True), o))
            if duck:
                for opt, kind, ext in (("(FORMAT JSON)", "NDJSON", "ndjson"),
                                       ("(FORMAT JSON, ARRAY true)", "JSON array", "json")):
                    o = self.out / f"duck_{size}.{ext}"
                    sql = (f"COPY (SELECT * FROM read_csv_auto('{data}') WHERE amount >= 1000) "
                           f"TO '{o}' {opt}")
                    cmds.append(("DuckDB", kind, Measure(duck + [sql]), o))
            results = {}
            for name, kind, m, o in cmds:
                log(f"W1 {size}: {name} ({kind}) x{runs}")
                m.run(runs)
                results[(name, kind)] = (m, o)
            self.w1_results[size] = results
            duck_nd = results.get(("DuckDB", "NDJSON"))
            duck_ar = results.get(("DuckDB", "JSON array"))
            ref_m = results.get(("C++ reference csv2ndjson (1 thread)", "NDJSON"))
            rows = []
            for (name, kind), (m, o) in results.items():
                duck_same = duck_nd if kind != "JSON array" else duck_ar
                rows.append([name, kind, fmt_s(m.median), f"{fmt_s(min(m.walls))}..{fmt_s(max(m.walls))}",
                             f"{m.cpu_median:.2f}", f"{mb / m.median:,.0f}", f"{m.rss_mib:,.0f}",
                             f"{count_records(o):,}" if o else "-",
                             f"{m.median / duck_same[0].median:.2f}" if duck_same else "-",
                             f"{m.median / ref_m[0].median:.2f}" if ref_m else "-"])
            text += [f"### {SIZES[size]:,} rows ({mb:.1f} MB), median of {runs} runs", "",
                     table(["tool", "output", "wall (s)", "min..max", "CPU (s)", "MB/s",
                            "peak RSS (MiB)", "records", "x DuckDB", "x C++ ref"], rows), ""]
            if duck_nd:
                ok, detail = same_records(self.out / f"conveyor_channel_{size}.ndjson", duck_nd[1])
                text.append(f"Output vs DuckDB (NDJSON, as records): {'identical' if ok else 'DIFFERENT'}"
                            f" — {detail}")
                text.append("")
        self.sections.append("\n".join(text))

    # ---- W1 on both cores (issue 20) ------------------------------------------------------
    def two_core_ceiling(self, data, runs):
        """What two cores of this machine give two independent single-threaded processes: the
        C++ reference converter run alone, then two copies at once on the same input. On a VM
        whose two vCPUs share a physical core or a busy host, two copies finish in more than
        one copy's time; 2 x alone / together is the most any two-way split can gain here.
        Returns (alone, together, ceiling) or None without the converter."""
        ref = self.cpp_peer("csv2ndjson")
        if not ref:
            return None
        o1, o2 = self.out / "ceiling_1.ndjson", self.out / "ceiling_2.ndjson"
        alone = Measure([str(ref), str(data), str(o1), "amount", "1000"]).run(runs)
        both = Measure(f"'{ref}' '{data}' '{o1}' amount 1000 & '{ref}' '{data}' '{o2}' amount "
                       "1000; wait", shell=True).run(runs)
        return alone.median, both.median, 2 * alone.median / both.median

    def ceiling_line(self, data, runs):
        c = self.two_core_ceiling(data, runs)
        if not c:
            return None
        alone, both, ceiling = c
        return (f"- this machine's two-core ceiling: the C++ converter alone {fmt_s(alone)} s, "
                f"two copies at once {fmt_s(both)} s: two cores do {ceiling:.2f}x the work of one")

    def w1par(self):
        """W1 (NDJSON) with workers = 1 and 2 under each executor (csv.read parsing chunks of
        the file on the workers, json.write encoding on them), against DuckDB and the C++
        converter in the same run; outputs compared byte for byte."""
        duck = self.duckdb()
        ref = self.cpp_peer("csv2ndjson")
        pipeline = str(BENCH / "w1_filter.toml")
        runs = self.args.runs
        text = ["## W1 on both cores: workers = 1 vs 2 (csv.read -> filter.apply -> json.write, "
                "NDJSON)", ""]
        self.out.mkdir(parents=True, exist_ok=True)
        for size in self.args.w1_sizes:
            data = self.dataset(size)
            mb = data.stat().st_size / 1e6
            cmds = []  # (name, workers, Measure, output)
            if ref:
                o = self.out / f"par_cpp_{size}.ndjson"
                cmds.append(("C++ reference csv2ndjson (1 thread)", "-",
                             Measure([str(ref), str(data), str(o), "amount", "1000"]), o))
            for ex in ("dag", "channel", "async"):
                for workers in (1, 2):
                    o = self.out / f"par_{ex}_{workers}_{size}.ndjson"
                    env = self.conveyor_env(BENCH_EXECUTOR=ex, BENCH_IN=data, BENCH_OUT=o)
                    cmds.append((f"conveyor executor={ex}", workers, Measure(
                        [str(self.conveyor), "run", pipeline, "-q", "--workers", str(workers)],
                        env=env), o))
            if duck:
                o = self.out / f"par_duck_{size}.ndjson"
                sql = (f"COPY (SELECT * FROM read_csv_auto('{data}') WHERE amount >= 1000) "
                       f"TO '{o}' (FORMAT JSON)")
                cmds.append(("DuckDB", "all", Measure(duck + [sql]), o))
            results = {}
            for name, workers, m, o in cmds:
                log(f"w1par {size}: {name} workers={workers} x{runs}")
                m.run(runs)
                results[(name, workers)] = (m, o)
            duck_m = results.get(("DuckDB", "all"))
            ref_m = results.get(("C++ reference csv2ndjson (1 thread)", "-"))
            rows = []
            for (name, workers), (m, o) in results.items():
                cores = workers if isinstance(workers, int) else 1
                rows.append([name, workers, fmt_s(m.median),
                             f"{fmt_s(min(m.walls))}..{fmt_s(max(m.walls))}",
                             f"{m.cpu_median:.2f}", f"{mb / m.median:,.0f}", f"{m.rss_mib:,.0f}",
                             f"{m.median / duck_m[0].median:.2f}" if duck_m else "-",
                             f"{m.median / (ref_m[0].median / cores):.2f}" if ref_m else "-"])
            text += [f"### {SIZES[size]:,} rows ({mb:.1f} MB), median of {runs} runs", "",
                     table(["tool", "workers", "wall (s)", "min..max", "CPU (s)", "MB/s",
                            "peak RSS (MiB)", "x DuckDB", "x (C++ ref / workers)"], rows), ""]
            for ex in ("dag", "channel", "async"):
                one, o1 = results[(f"conveyor executor={ex}", 1)]
                two, o2 = results[(f"conveyor executor={ex}", 2)]
                same = o1.read_bytes() == o2.read_bytes()
                line = (f"- {ex}: workers 1 -> 2 {one.median / two.median:.2f}x faster "
                        f"(target >= 1.6); output {'byte-identical' if same else 'DIFFERENT'}")
                if duck_m:
                    line += f"; workers = 2 is {two.median / duck_m[0].median:.2f}x DuckDB (<= 0.25)"
                if ref_m:
                    line += (f", {two.median / (ref_m[0].median / 2):.2f}x the C++ converter's "
                             "time / 2 (<= 1.2)")
                text.append(line)
            ceiling = self.ceiling_line(data, runs)
            if ceiling:
                text.append(ceiling)
            text.append("")
        self.sections.append("\n".join(text))

    # ---- W1 at every channel_buffer_size (issue 20) -----------------------------------------
    def w1cbs(self):
        """W1 (NDJSON) under each executor with channel_buffer_size 10, 100 and 4096: the
        default configuration must be the fast one (each within 1.15x of the best). Runs are
        interleaved round by round so that a change in the machine's load hits every
        configuration alike; outputs compared byte for byte."""
        pipeline = str(BENCH / "w1_filter.toml")
        runs = self.args.runs
        text = ["## W1 at channel_buffer_size 10, 100 and 4096 (csv.read -> filter.apply -> "
                "json.write, NDJSON)", ""]
        self.out.mkdir(parents=True, exist_ok=True)
        for size in self.args.w1_sizes:
            data = self.dataset(size)
            configs = []  # (executor, capacity, Measure, output)
            for ex in ("dag", "channel", "async"):
                for cap in (10, 100, 4096):
                    o = self.out / f"cbs_{ex}_{cap}_{size}.ndjson"
                    env = self.conveyor_env(BENCH_EXECUTOR=ex, BENCH_IN=data, BENCH_OUT=o)
                    configs.append((ex, cap, Measure(
                        [str(self.conveyor), "run", pipeline, "-q", "--set",
                         f"global.channel_buffer_size={cap}"], env=env), o))
            log(f"w1cbs {size}: {len(configs)} configurations x{runs}, interleaved")
            for _, _, m, _ in configs:
                m.once()  # warm-up
            for _, _, m, _ in configs:
                m.walls, m.rss_kb, m.cpu = [], [], []
            for _ in range(runs):
                for _, _, m, _ in configs:
                    m.once()
            best = min(m.median for _, _, m, _ in configs)
            reference = configs[0][3].read_bytes()
            rows, worst = [], 0.0
            for ex, cap, m, o in configs:
                ratio = m.median / best
                worst = max(worst, ratio)
                rows.append([ex, cap, fmt_s(m.median), f"{fmt_s(min(m.walls))}..{fmt_s(max(m.walls))}",
                             f"{m.cpu_median:.2f}", f"{m.rss_mib:,.0f}", f"{ratio:.2f}",
                             "yes" if o.read_bytes() == reference else "DIFFERENT"])
            text += [f"### {SIZES[size]:,} rows, median of {runs} interleaved runs", "",
                     table(["executor", "channel_buffer_size", "wall (s)", "min..max", "CPU (s)",
                            "peak RSS (MiB)", "x best", "same output"], rows), "",
                     f"- slowest configuration: {worst:.2f}x the best (target <= 1.15): "
                     f"{'met' if worst <= 1.15 else 'NOT met'}", ""]
        self.sections.append("\n".join(text))

    # ---- W1 as shards (issue 21) ------------------------------------------------------------
    def w1shard(self):
        """W1 (NDJSON) in one process vs backend = "local" with 2 processes (shards 0/2 and 1/2
        as child processes, then finalize into the output), with the default workers and with
        workers = 1; the finalized output must equal the single run's byte for byte."""
        pipeline = str(BENCH / "w1_shard.toml")
        runs = self.args.runs
        text = ["## W1 as shards: one process vs backend = \"local\", processes = 2 "
                "(csv.read -> filter.apply -> json.write, NDJSON)", ""]
        self.out.mkdir(parents=True, exist_ok=True)
        for size in self.args.w1_sizes:
            data = self.dataset(size)
            mb = data.stat().st_size / 1e6
            results = {}
            for backend in ("none", "local"):
                for workers in (0, 1):
                    o = self.out / f"shard_{backend}_{workers}_{size}.ndjson"
                    env = self.conveyor_env(BENCH_IN=data, BENCH_OUT=o, BENCH_BACKEND=backend,
                                            BENCH_WORKERS=workers, BENCH_PROCESSES=2)
                    m = Measure([str(self.conveyor), "run", pipeline, "-q"], env=env)
                    log(f"w1shard {size}: backend={backend} workers={workers} x{runs}")
                    m.run(runs)
                    results[(backend, workers)] = (m, o)
            rows = []
            for (backend, workers), (m, o) in results.items():
                rows.append(["one process" if backend == "none" else "local, 2 processes",
                             workers or "default (0)", fmt_s(m.median),
                             f"{fmt_s(min(m.walls))}..{fmt_s(max(m.walls))}",
                             f"{m.cpu_median:.2f}", f"{mb / m.median:,.0f}"])
            text += [f"### {SIZES[size]:,} rows ({mb:.1f} MB), median of {runs} runs", "",
                     table(["run", "workers", "wall (s)", "min..max", "CPU (s)", "MB/s"], rows),
                     ""]
            for workers in (0, 1):
                one, o1 = results[("none", workers)]
                two, o2 = results[("local", workers)]
                same = o1.read_bytes() == o2.read_bytes()
                text.append(f"- workers = {workers or 'default'}: 2 processes are "
                            f"{one.median / two.median:.2f}x as fast as one (target >= 1.7); "
                            f"output {'byte-identical' if same else 'DIFFERENT'}")
            ceiling = self.ceiling_line(data, runs)
            if ceiling:
                text.append(ceiling)
            text.append("")
        self.sections.append("\n".join(text))

    # ---- W1 on gzip (issue 17) ---------------------------------------------------------------
    def w1gz(self):
        duck = self.duckdb()
        mlr = shutil.which("mlr")
        size = self.args.w1_sizes[-1]
        data = self.dataset(size)
        gz = data.with_suffix(".csv.gz")
        if not gz.exists() or gz.stat().st_mtime < data.stat().st_mtime:
            log(f"compressing {data.name} (gzip -6) ...")
            with open(gz, "wb") as f:
                subprocess.run(["gzip", "-6", "-c", str(data)], stdout=f, check=True)
        runs = self.args.runs
        self.out.mkdir(parents=True, exist_ok=True)
        pipeline = str(BENCH / "w1_filter.toml")
        cmds = [("zcat > /dev/null (decompression floor)",
                 Measure(f"zcat {gz} > /dev/null", shell=True), None)]
        for name, src in (("conveyor, plain .csv", data), ("conveyor, .csv.gz", gz)):
            o = self.out / f"gz_{'gz' if src == gz else 'plain'}_{size}.ndjson"
            env = self.conveyor_env(BENCH_EXECUTOR="channel", BENCH_IN=src, BENCH_OUT=o)
            cmds.append((name, Measure([str(self.conveyor), "run", pipeline, "-q"], env=env), o))
        if mlr:
            o = self.out / f"gz_mlr_{size}.ndjson"
            cmds.append(("zcat, piped to mlr", Measure(
                f"zcat {gz} | mlr --icsv --ojsonl filter '$amount >= 1000' > {o}", shell=True), o))
        if duck:
            o = self.out / f"gz_duck_{size}.ndjson"
            sql = (f"COPY (SELECT * FROM read_csv_auto('{gz}') WHERE amount >= 1000) "
                   f"TO '{o}' (FORMAT JSON)")
            cmds.append(("DuckDB, .csv.gz", Measure(duck + [sql]), o))
        results = {}
        for name, m, o in cmds:
            log(f"w1gz {size}: {name} x{runs}")
            m.run(runs)
            results[name] = (m, o)
        ours = results["conveyor, .csv.gz"][0].median
        rows = [[name, fmt_s(m.median), f"{fmt_s(min(m.walls))}..{fmt_s(max(m.walls))}",
                 f"{m.cpu_median:.2f}", f"{m.rss_mib:,.0f}",
                 f"{count_records(o):,}" if o else "-", f"{m.median / ours:.2f}"]
                for name, (m, o) in results.items()]
        text = [f"## W1 on gzip: {SIZES[size]:,} rows ({gz.stat().st_size / 1e6:.1f} MB "
                f"compressed), NDJSON, median of {runs} runs", "",
                table(["run", "wall (s)", "min..max", "CPU (s)", "peak RSS (MiB)", "records",
                       "x conveyor .gz"], rows), ""]
        for peer in ("DuckDB, .csv.gz", "zcat, piped to mlr"):
            if peer in results:
                text.append(f"- conveyor .gz / {peer}: {ours / results[peer][0].median:.2f}")
        if "DuckDB, .csv.gz" in results:
            ok, detail = same_records(results["conveyor, .csv.gz"][1], results["DuckDB, .csv.gz"][1])
            text.append(f"- output vs DuckDB (as records): {'identical' if ok else 'DIFFERENT'} — {detail}")
        self.sections.append("\n".join(text + [""]))

    # ---- expressions (issue 15) -----------------------------------------------------------
    def expressions(self):
        """W1's filter as an expression vs as column/operator/value, and W1 plus map.apply
        computing three columns vs W1; Miller doing the same work in the same run."""
        mlr = shutil.which("mlr")
        size = self.args.w1_sizes[0]
        data = self.dataset(size)
        runs = self.args.runs
        self.out.mkdir(parents=True, exist_ok=True)
        cmds = []  # (name, Measure, output)
        for name, file in (("W1 column filter", "w1_filter.toml"),
                           ("W1 expression filter", "w1_expression.toml"),
                           ("W1 + map.apply (3 columns)", "w1_map.toml")):
            o = self.out / f"expr_{file}_{size}.ndjson"
            env = self.conveyor_env(BENCH_EXECUTOR="channel", BENCH_IN=data, BENCH_OUT=o)
            cmds.append((f"conveyor: {name}",
                         Measure([str(self.conveyor), "run", str(BENCH / file), "-q"], env=env), o))
        if mlr:
            o = self.out / f"expr_mlr_filter_{size}.ndjson"
            cmds.append(("Miller: filter", Measure(
                f"mlr --icsv --ojsonl filter '$amount >= 1000' {data} > {o}", shell=True), o))
            o = self.out / f"expr_mlr_put_{size}.ndjson"
            cmds.append(("Miller: filter + put (3 columns)", Measure(
                f"mlr --icsv --ojsonl filter '$amount >= 1000' then put "
                f"'$gross = roundm($amount * 1.2, 0.01); $country_lc = tolower($country); "
                f"$high_score = $score >= 0.5' {data} > {o}", shell=True), o))
        results = {}
        for name, m, o in cmds:
            log(f"expressions {size}: {name} x{runs}")
            m.run(runs)
            results[name] = (m, o)
        base = results["conveyor: W1 column filter"][0].median
        rows = [[name, fmt_s(m.median), f"{fmt_s(min(m.walls))}..{fmt_s(max(m.walls))}",
                 f"{m.rss_mib:,.0f}", f"{count_records(o):,}", f"{m.median / base:.2f}"]
                for name, (m, o) in results.items()]
        expr_ratio = results["conveyor: W1 expression filter"][0].median / base
        map_ratio = results["conveyor: W1 + map.apply (3 columns)"][0].median / base
        self.sections.append("\n".join([
            f"## Expressions: {SIZES[size]:,} rows, NDJSON, channel, median of {runs} runs", "",
            table(["run", "wall (s)", "min..max", "peak RSS (MiB)", "records", "x W1"], rows), "",
            f"- expression filter / column filter: {expr_ratio:.2f} (target <= 1.2): "
            f"{'met' if expr_ratio <= 1.2 else 'NOT met'}",
            f"- W1 + map.apply (3 columns) / W1: {map_ratio:.2f} (target <= 1.5): "
            f"{'met' if map_ratio <= 1.5 else 'NOT met'}", ""]))

    # ---- W4 sort (issue 16) --------------------------------------------------------------
    def w4(self):
        """W4: sort by amount descending -> NDJSON, in memory and with memory_limit = 64MiB
        (spilling), against DuckDB and Miller in the same run."""
        duck = self.duckdb()
        mlr = shutil.which("mlr")
        text = ["## W4: csv.read -> sort.apply (amount descending) -> json.write (NDJSON)", ""]
        for size in self.args.w1_sizes:
            data = self.dataset(size)
            mb = data.stat().st_size / 1e6
            runs = self.args.runs
            self.out.mkdir(parents=True, exist_ok=True)
            cmds = []
            for label, memory in (("conveyor (in memory)", "4GiB"),
                                  ("conveyor memory_limit=64MiB", "64MiB")):
                o = self.out / f"w4_conveyor_{memory}_{size}.ndjson"
                env = self.conveyor_env(BENCH_IN=data, BENCH_OUT=o, BENCH_MEMORY=memory,
                                        BENCH_STATE=self.out / "w4_state")
                cmds.append((label, Measure([str(self.conveyor), "run", str(BENCH / "w4_sort.toml"),
                                             "-q"], env=env), o))
            if duck:
                o = self.out / f"w4_duck_{size}.ndjson"
                sql = (f"COPY (SELECT * FROM read_csv_auto('{data}') ORDER BY amount DESC) "
                       f"TO '{o}' (FORMAT JSON)")
                cmds.append(("DuckDB", Measure(duck + [sql]), o))
            if mlr and size != "5m":
                o = self.out / f"w4_mlr_{size}.ndjson"
                cmds.append(("Miller", Measure(
                    f"mlr --icsv --ojsonl sort -nr amount {data} > {o}", shell=True), o))
            results = {}
            for name, m, o in cmds:
                log(f"W4 {size}: {name} x{runs}")
                m.run(runs)
                results[name] = (m, o)
            duck_m = results.get("DuckDB")
            rows = [[name, fmt_s(m.median), f"{fmt_s(min(m.walls))}..{fmt_s(max(m.walls))}",
                     f"{m.cpu_median:.2f}", f"{m.rss_mib:,.0f}", f"{count_records(o):,}",
                     f"{m.median / duck_m[0].median:.2f}" if duck_m else "-"]
                    for name, (m, o) in results.items()]
            text += [f"### {SIZES[size]:,} rows ({mb:.1f} MB), median of {runs} runs", "",
                     table(["tool", "wall (s)", "min..max", "CPU (s)", "peak RSS (MiB)",
                            "records", "x DuckDB"], rows), ""]
            a = results["conveyor (in memory)"][1]
            b = results["conveyor memory_limit=64MiB"][1]
            same = a.read_bytes() == b.read_bytes()
            text.append(f"In memory vs spilled output: {'byte-identical' if same else 'DIFFERENT'}")
            text.append("")
        self.sections.append("\n".join(text))

    # ---- top-N, W5 group-by, W6 join (issue 16) -----------------------------------------
    def compare(self, title, cmds, runs, note=""):
        """Runs (name, Measure, output) commands and adds a table with ratios to DuckDB."""
        results = {}
        for name, m, o in cmds:
            log(f"{title}: {name} x{runs}")
            m.run(runs)
            results[name] = (m, o)
        duck = results.get("DuckDB")
        rows = [[name, fmt_s(m.median), f"{fmt_s(min(m.walls))}..{fmt_s(max(m.walls))}",
                 f"{m.cpu_median:.2f}", f"{m.rss_mib:,.0f}",
                 f"{count_records(o):,}" if o else "-",
                 f"{m.median / duck[0].median:.2f}" if duck else "-"]
                for name, (m, o) in results.items()]
        self.sections.append("\n".join(
            [f"## {title}", "", f"Median of {runs} runs. {note}".strip(), "",
             table(["tool", "wall (s)", "min..max", "CPU (s)", "peak RSS (MiB)", "records",
                    "x DuckDB"], rows), ""]))
        return results

    def top(self):
        duck = self.duckdb()
        data = self.dataset("5m")
        self.out.mkdir(parents=True, exist_ok=True)
        cmds = []
        o_top = self.out / "top_conveyor.ndjson"
        cmds.append(("conveyor sort + limit 100", Measure(
            [str(self.conveyor), "run", str(BENCH / "w4_top.toml"), "-q"],
            env=self.conveyor_env(BENCH_IN=data, BENCH_OUT=o_top)), o_top))
        o_full = self.out / "top_full.ndjson"
        cmds.append(("conveyor full sort (W4)", Measure(
            [str(self.conveyor), "run", str(BENCH / "w4_sort.toml"), "-q"],
            env=self.conveyor_env(BENCH_IN=data, BENCH_OUT=o_full)), o_full))
        if duck:
            o = self.out / "top_duck.ndjson"
            cmds.append(("DuckDB", Measure(duck + [
                f"COPY (SELECT * FROM read_csv_auto('{data}') ORDER BY amount DESC LIMIT 100) "
                f"TO '{o}' (FORMAT JSON)"]), o))
        runs = self.args.runs
        r = self.compare("Top-100 of 5M rows by amount (sort.apply + limit.apply)", cmds, runs)
        top_m = r["conveyor sort + limit 100"][0]
        full_m = r["conveyor full sort (W4)"][0]
        head = b"".join(o_full.open("rb").readlines()[:100])
        self.sections.append(
            f"- top-100 / full sort: {top_m.median / full_m.median:.2f} (target <= 0.5): "
            f"{'met' if top_m.median / full_m.median <= 0.5 else 'NOT met'}; the top-100 "
            f"equals the full sort's first 100 records: "
            f"{'yes' if head == o_top.read_bytes() else 'NO'}\n")

    def w5(self):
        duck = self.duckdb()
        mlr = shutil.which("mlr")
        data = self.dataset("5m")
        self.out.mkdir(parents=True, exist_ok=True)
        pipeline = str(BENCH / "w5_groupby.toml")
        cmds = []
        o = self.out / "w5_conveyor.csv"
        cmds.append(("conveyor", Measure([str(self.conveyor), "run", pipeline, "-q"],
                                         env=self.conveyor_env(BENCH_IN=data, BENCH_OUT=o)), o))
        # Issue 20: with one worker csv.read parses on its own thread only.
        o1 = self.out / "w5_conveyor_workers1.csv"
        cmds.append(("conveyor workers = 1", Measure(
            [str(self.conveyor), "run", pipeline, "-q", "--workers", "1"],
            env=self.conveyor_env(BENCH_IN=data, BENCH_OUT=o1)), o1))
        if duck:
            od = self.out / "w5_duck.csv"
            cmds.append(("DuckDB", Measure(duck + [
                f"COPY (SELECT country, category, count(*) AS n, sum(amount) AS total, "
                f"avg(amount) AS mean, max(amount) AS top FROM read_csv_auto('{data}') "
                f"GROUP BY country, category) TO '{od}' (HEADER)"]), od))
        if mlr:
            om = self.out / "w5_mlr.csv"
            cmds.append(("Miller", Measure(
                f"mlr --icsv --ocsv stats1 -a count,sum,mean,max -f amount -g country,category "
                f"{data} > {om}", shell=True), om))
        runs = self.args.runs
        r = self.compare("W5: group-by 5M rows by country, category (count, sum, avg, max)",
                         cmds, runs)
        if "DuckDB" in r:
            ratio = r["conveyor"][0].median / r["DuckDB"][0].median
            self.sections.append(f"- conveyor / DuckDB: {ratio:.2f} (target <= 0.6): "
                                 f"{'met' if ratio <= 0.6 else 'NOT met'}\n")
        # 5M distinct keys (id, country), in memory and spilling under 64 MiB.
        cmds = []
        outs = {}
        for label, memory in (("conveyor 5M keys, in memory", "8GiB"),
                              ("conveyor 5M keys, memory_limit=64MiB", "64MiB")):
            o = self.out / f"w5_keys_{memory}.csv"
            outs[label] = o
            cmds.append((label, Measure([str(self.conveyor), "run", pipeline, "-q"],
                                        env=self.conveyor_env(BENCH_IN=data, BENCH_OUT=o,
                                                              BENCH_BY1="id", BENCH_BY2="country",
                                                              BENCH_MEMORY=memory,
                                                              BENCH_STATE=self.out / "w5_state")),
                         o))
        if duck:
            od = self.out / "w5_keys_duck.csv"
            cmds.append(("DuckDB", Measure(duck + [
                f"COPY (SELECT id, country, count(*) AS n, sum(amount) AS total, avg(amount) AS "
                f"mean, max(amount) AS top FROM read_csv_auto('{data}') GROUP BY id, country) "
                f"TO '{od}' (HEADER)"]), od))
        self.compare("W5b: group-by of 5M distinct keys, in memory and spilling", cmds,
                     max(1, runs // 2))
        vals = [o.read_bytes() for o in outs.values()]
        self.sections.append(f"- in memory vs spilled output: "
                             f"{'byte-identical' if vals[0] == vals[1] else 'DIFFERENT'}\n")

    # ---- W7: NDJSON in (issue 20) ---------------------------------------------------------
    def ndjson_dataset(self, size):
        """The W1 data as JSON lines (numbers as numbers), written once by conveyor itself."""
        path = self.data / f"rows_{size}.ndjson"
        if not path.exists():
            log(f"writing {path.name} ...")
            env = dict(os.environ, **self.conveyor_env(BENCH_EXECUTOR="channel",
                                                       BENCH_IN=self.dataset(size),
                                                       BENCH_OUT=path, BENCH_FORMAT="jsonl"))
            subprocess.run([str(self.conveyor), "run", str(BENCH / "w1_copy.toml"), "-q"],
                           env=env, check=True)
        return path

    def w7(self):
        duck = self.duckdb()
        mlr = shutil.which("mlr")
        jq = shutil.which("jq")
        data = self.ndjson_dataset("1m")
        self.out.mkdir(parents=True, exist_ok=True)
        pipeline = str(BENCH / "w7_ndjson.toml")
        cmds = []
        for ex in ("dag", "channel", "async"):
            o = self.out / f"w7_conveyor_{ex}.csv"
            cmds.append((f"conveyor executor={ex}", Measure(
                [str(self.conveyor), "run", pipeline, "-q"],
                env=self.conveyor_env(BENCH_EXECUTOR=ex, BENCH_IN=data, BENCH_OUT=o)), o))
        if duck:
            od = self.out / "w7_duck.csv"
            cmds.append(("DuckDB", Measure(duck + [
                f"COPY (SELECT * FROM read_json('{data}', format = 'newline_delimited') "
                f"WHERE amount >= 1000) TO '{od}' (HEADER)"]), od))
        if mlr:
            om = self.out / "w7_mlr.csv"
            cmds.append(("Miller", Measure(
                f"mlr --ijsonl --ocsv filter '$amount >= 1000' {data} > {om}", shell=True), om))
        if jq:
            oj = self.out / "w7_jq.ndjson"
            cmds.append(("jq -c (NDJSON out)", Measure(
                f"jq -c 'select(.amount >= 1000)' {data} > {oj}", shell=True), oj))
        mb = data.stat().st_size / 1e6
        r = self.compare(f"W7: NDJSON in, 1M rows ({mb:.0f} MB) -> filter -> CSV", cmds,
                         self.args.runs)
        if "DuckDB" in r:
            best = min(r[f"conveyor executor={ex}"][0].median for ex in ("dag", "channel", "async"))
            ratio = best / r["DuckDB"][0].median
            self.sections.append(f"- conveyor (best executor) / DuckDB: {ratio:.2f} (target <= "
                                 f"0.3): {'met' if ratio <= 0.3 else 'NOT met'}\n")

    def join_data(self):
        orders = self.data / "orders_5m.csv"
        customers = self.data / "customers_500k.csv"
        if not orders.exists():
            log("deriving orders_5m.csv (customer_id = id * 7919 mod 500000) ...")
            rows = self.dataset("5m")
            with rows.open() as src, orders.open("w") as dst:
                header = src.readline().rstrip("\n")
                dst.write(header + ",customer_id\n")
                for line in src:
                    line = line.rstrip("\n")
                    i = int(line[:line.index(",")])
                    dst.write(f"{line},{i * 7919 % 500000}\n")
        if not customers.exists():
            log("writing customers_500k.csv ...")
            tiers = ["bronze", "silver", "gold", "platinum"]
            with customers.open("w") as f:
                f.write("customer_id,tier,region,since\n")
                for i in range(500000):
                    f.write(f"{i},{tiers[i * 31 % 4]},r{i * 17 % 50 + 1},{2000 + i % 27}\n")
        return orders, customers

    def w6(self):
        duck = self.duckdb()
        mlr = shutil.which("mlr")
        orders, customers = self.join_data()
        self.out.mkdir(parents=True, exist_ok=True)
        pipeline = str(BENCH / "w6_join.toml")
        runs = self.args.runs
        for kind in ("inner", "left"):
            cmds = []
            o = self.out / f"w6_{kind}_conveyor.csv"
            cmds.append(("conveyor", Measure([str(self.conveyor), "run", pipeline, "-q"],
                                             env=self.conveyor_env(BENCH_ORDERS=orders,
                                                                   BENCH_CUSTOMERS=customers,
                                                                   BENCH_TYPE=kind,
                                                                   BENCH_OUT=o)), o))
            if kind == "inner":
                o64 = self.out / "w6_inner_64MiB.csv"
                cmds.append(("conveyor memory_limit=64MiB (grace hash join)", Measure(
                    [str(self.conveyor), "run", pipeline, "-q"],
                    env=self.conveyor_env(BENCH_ORDERS=orders, BENCH_CUSTOMERS=customers,
                                          BENCH_TYPE=kind, BENCH_OUT=o64, BENCH_MEMORY="64MiB",
                                          BENCH_STATE=self.out / "w6_state")), o64))
            if duck:
                od = self.out / f"w6_{kind}_duck.csv"
                cmds.append(("DuckDB", Measure(duck + [
                    f"COPY (SELECT * FROM read_csv_auto('{orders}') o {kind.upper()} JOIN "
                    f"read_csv_auto('{customers}') c USING (customer_id)) TO '{od}' (HEADER)"]),
                    od))
            if mlr:
                om = self.out / f"w6_{kind}_mlr.csv"
                unpaired = "--ul " if kind == "left" else ""
                cmds.append(("Miller", Measure(
                    f"mlr --icsv --ocsv join {unpaired}-j customer_id -f {customers} {orders} "
                    f"> {om}", shell=True), om))
            r = self.compare(f"W6: {kind} join of 5M orders with 500k customers", cmds, runs)
            if "DuckDB" in r:
                ratio = r["conveyor"][0].median / r["DuckDB"][0].median
                self.sections.append(f"- conveyor / DuckDB: {ratio:.2f} (target <= 1.0): "
                                     f"{'met' if ratio <= 1.0 else 'NOT met'}\n")
            if kind == "inner":
                same = o.read_bytes() == o64.read_bytes()
                self.sections.append(f"- in memory vs grace hash join output: "
                                     f"{'byte-identical' if same else 'DIFFERENT'}\n")

    # ---- memory (issue 3) ---------------------------------------------------------------
    def memory(self):
        """Peak RSS at 500k and 5M rows. The peak varies from run to run (it depends on how the
        stages' bounded buffers happen to fill at the same moment), so each size runs several
        times and both the median and the highest peak are shown."""
        pipeline = str(BENCH / "w1_filter.toml")
        runs = max(7, self.args.runs)
        rows = []
        for ex in ("channel", "async", "dag"):
            peak = {}
            for size in ("500k", "5m"):
                data = self.dataset(size)
                o = self.out / f"mem_{ex}_{size}.ndjson"
                self.out.mkdir(parents=True, exist_ok=True)
                env = self.conveyor_env(BENCH_EXECUTOR=ex, BENCH_IN=data, BENCH_OUT=o, BENCH_FORMAT="jsonl")
                log(f"memory: {ex} {size} x{runs}")
                m = Measure([str(self.conveyor), "run", pipeline, "-q"], env=env)
                m.run(runs, warmup=0)
                peak[size] = m
            med = {k: statistics.median(v.rss_kb) / 1024.0 for k, v in peak.items()}
            top = {k: max(v.rss_kb) / 1024.0 for k, v in peak.items()}
            rows.append([ex, f"{top['500k']:.1f} ({med['500k']:.1f})", f"{top['5m']:.1f} ({med['5m']:.1f})",
                         f"{top['5m'] / top['500k']:.2f} ({med['5m'] / med['500k']:.2f})",
                         fmt_s(peak["500k"].median), fmt_s(peak["5m"].median)])
        self.sections.append("\n".join([
            "## Memory: W1 (NDJSON) peak RSS by input size", "",
            f"Memory stays constant in the input size: `channel` and `async` stream every edge, "
            f"and under `dag` this linear pipeline is one chain streamed inside its level (dag "
            f"materialises only forks, joins and edges around I/O stages; see W3 for that). "
            f"Highest peak of {runs} runs (what a run must be given), the median in parentheses: "
            f"the peak is bimodal at both sizes (a step of about 4 MiB in some runs, by how "
            f"the bounded buffers happen to fill at the same moment), so medians of two sizes "
            f"can land in different modes.", "",
            table(["executor", "peak RSS 500k rows (MiB)", "peak RSS 5M rows (MiB)", "5M / 500k",
                   "wall 500k (s)", "wall 5M (s)"], rows), ""]))

    # ---- W3 -----------------------------------------------------------------------------
    def w3(self):
        data = self.dataset("1m")
        pipeline = str(BENCH / "w3_fan_out.toml")
        rows, digests, results = [], {}, {}
        for ex in ("dag", "channel", "async"):
            out_dir = self.out / f"w3_{ex}"
            if out_dir.exists():
                shutil.rmtree(out_dir)
            out_dir.mkdir(parents=True)
            env = self.conveyor_env(BENCH_EXECUTOR=ex, BENCH_IN=data, BENCH_OUT_DIR=out_dir)
            log(f"W3: {ex} x{self.args.runs}")
            m = Measure([str(self.conveyor), "run", pipeline, "-q"], env=env).run(self.args.runs)
            results[ex] = m
            digests[ex] = digest_dir(out_dir)
        dag = results["dag"].median
        for ex, m in results.items():
            rows.append([ex, fmt_s(m.median), f"{fmt_s(min(m.walls))}..{fmt_s(max(m.walls))}",
                         f"{m.cpu_median:.2f}", f"{m.cpu_median / m.median:.2f}",
                         f"{m.rss_mib:,.0f}", f"{dag / m.median:.2f}"])
        same = digests["dag"] == digests["channel"] == digests["async"]
        self.sections.append("\n".join([
            "## W3: one csv.read (1M rows) -> 5 transforms -> 10 sinks", "",
            table(["executor", "wall (s)", "min..max", "CPU (s)", "CPU / wall", "peak RSS (MiB)",
                   "speed-up vs dag"], rows), "",
            f"All {len(digests['dag'])} sink outputs byte-identical across executors: "
            f"{'yes' if same else 'NO'}.", ""]))

    # ---- W8: databases (issue 19) --------------------------------------------------------
    W8_PG_TABLE = ("CREATE TABLE t (id bigint, name text, email text, amount double precision, "
                   "category text, country text, ts timestamptz, score double precision, active boolean)")
    W8_SQLITE_TABLE = ("CREATE TABLE t (id INTEGER, name TEXT, email TEXT, amount REAL, category TEXT, "
                       "country TEXT, ts TEXT, score REAL, active TEXT)")

    def postgres_server(self):
        """A PostgreSQL 15 of the benchmark's own (default settings, fsync on), on a free port of
        127.0.0.1; returns (port, stop) or None when it is not installed."""
        bin_dir = Path("/usr/lib/postgresql/15/bin")
        if not (bin_dir / "initdb").exists() or not shutil.which("psql"):
            return None
        root = self.data / "w8-postgres"
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        as_pg = []
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
            as_pg = ["runuser", "-u", "postgres", "--"]
        subprocess.run(as_pg + [str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "postgres",
                                "-A", "trust", "-E", "UTF8", "--locale=C"], check=True,
                       stdout=subprocess.DEVNULL)
        import socket
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        subprocess.run(as_pg + [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-w", "-l",
                                str(root / "server.log"), "-o",
                                f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root}",
                                "start"], check=True, stdout=subprocess.DEVNULL)

        def stop():
            subprocess.run(as_pg + [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast",
                                    "stop"], stdout=subprocess.DEVNULL)
            shutil.rmtree(root, ignore_errors=True)
        return port, stop

    def w8(self):
        data = self.dataset("1m")
        runs = self.args.runs
        self.out.mkdir(parents=True, exist_ok=True)
        text = ["## W8: databases (1M W1 rows)", "",
                f"Median of {runs} runs; load: `{os.getloadavg()[0]:.2f}` (1-minute load average "
                "when W8 started). Each load starts from an empty table (the `TRUNCATE`, or a new "
                "SQLite file, is part of every timed command, peers' too).", ""]
        rows = []

        def add(section, name, m, peer):
            rows.append([section, name, fmt_s(m.median), f"{fmt_s(min(m.walls))}..{fmt_s(max(m.walls))}",
                         f"{m.cpu_median:.2f}", f"{m.rss_mib:,.0f}",
                         f"{m.median / peer.median:.2f}" if peer else "-"])

        server = self.postgres_server()
        if server is None:
            text.append("PostgreSQL 15 is not installed (apt-get install postgresql-15): "
                        "PostgreSQL part skipped.")
        else:
            port, stop = server
            try:
                psql = f"psql -X -q -h 127.0.0.1 -p {port} -U postgres"
                subprocess.run(f"{psql} -c 'CREATE DATABASE bench'", shell=True, check=True)
                psql += " -d bench"
                subprocess.run([*psql.split(), "-c", self.W8_PG_TABLE], check=True)
                dsn = f"host=127.0.0.1 port={port} user=postgres dbname=bench"
                truncate = f"{psql} -c 'TRUNCATE t'"
                count = lambda: subprocess.run([*psql.split(), "-A", "-t", "-c", "SELECT count(*) FROM t"],
                                               capture_output=True, text=True, check=True).stdout.strip()
                peer = Measure(f"{truncate} && {psql} -c \"\\copy t from '{data}' csv header\"",
                               shell=True)
                log(f"W8: psql \\copy into PostgreSQL x{runs}")
                peer.run(runs)
                add("load CSV -> PostgreSQL", "psql \\copy (CSV, server-side parsing)", peer, None)
                for interval in (100000, 1000):
                    m = Measure(f"{truncate} && {self.conveyor} run {BENCH / 'w8_pg_load.toml'} -q",
                                env=self.conveyor_env(BENCH_IN=data, BENCH_DSN=dsn,
                                                      BENCH_COMMIT_INTERVAL=interval),
                                shell=True)
                    log(f"W8: conveyor -> PostgreSQL (commit_interval {interval}) x{runs}")
                    m.run(runs)
                    note = " (the default)" if interval == 100000 else ""
                    add("load CSV -> PostgreSQL",
                        f"conveyor csv.read -> postgres.write, commit_interval = {interval:,}{note}", m, peer)
                    if count() != "1000000":
                        raise RuntimeError(f"postgres.write left {count()} rows, not 1000000")
                o_peer = self.out / "w8_psql.csv"
                peer = Measure([*psql.split(), "-c", f"\\copy (select * from t) to '{o_peer}' csv"])
                log(f"W8: psql \\copy out of PostgreSQL x{runs}")
                peer.run(runs)
                add("read PostgreSQL -> file", "psql \\copy (select * from t) to a CSV file", peer, None)
                o = self.out / "w8_pg.ndjson"
                m = Measure([str(self.conveyor), "run", str(BENCH / "w8_pg_read.toml"), "-q"],
                            env=self.conveyor_env(BENCH_DSN=dsn, BENCH_OUT=o))
                log(f"W8: conveyor postgres.read -> NDJSON x{runs}")
                m.run(runs)
                add("read PostgreSQL -> file", "conveyor postgres.read -> json.write (NDJSON)", m, peer)
                if count_records(o) != 1_000_000:
                    raise RuntimeError("postgres.read did not write 1000000 records")
            finally:
                stop()
        if shutil.which("sqlite3"):
            db = self.out / "w8.db"
            fresh = f"rm -f {db} {db}-wal {db}-shm && sqlite3 {db} '{self.W8_SQLITE_TABLE}'"
            peer = Measure(f"{fresh} && sqlite3 {db} '.import --csv --skip 1 {data} t'", shell=True)
            log(f"W8: sqlite3 .import x{runs}")
            peer.run(runs)
            add("load CSV -> SQLite", "sqlite3 .import --csv (one transaction)", peer, None)
            m = Measure(f"{fresh} && {self.conveyor} run {BENCH / 'w8_sqlite_load.toml'} -q",
                        env=self.conveyor_env(BENCH_IN=data, BENCH_DB=db), shell=True)
            log(f"W8: conveyor -> SQLite x{runs}")
            m.run(runs)
            add("load CSV -> SQLite", "conveyor csv.read -> sqlite.write, commit_interval = 100,000 (the default)", m, peer)
        else:
            text.append("sqlite3 is not installed: SQLite part skipped.")
        text += [table(["workload", "tool", "wall (s)", "min..max", "CPU (s)", "peak RSS (MiB)",
                        "x peer"], rows), ""]
        self.sections.append("\n".join(text))

    # ---- checkpoints ---------------------------------------------------------------------
    def checkpoints(self):
        """What checkpoints (on by default, every 1000 records) cost: the same runs with
        checkpoint_interval = 0."""
        data = self.dataset("1m")
        rows = []
        for name, file, extra in (("W1 1M NDJSON", "w1_filter.toml", {"BENCH_FORMAT": "jsonl"}),
                                  ("W3 fan-out 1M", "w3_fan_out.toml", {})):
            off = self.out / f"no_checkpoints_{file}"
            text = (BENCH / file).read_text().replace("[global]\n", "[global]\ncheckpoint_interval = 0\n", 1)
            off.write_text(text)
            for ex in ("dag", "channel", "async"):
                results = {}
                for label, pipeline in (("on", BENCH / file), ("off", off)):
                    out_dir = self.out / f"ckpt_{ex}_{label}"
                    if out_dir.exists():
                        shutil.rmtree(out_dir)
                    out_dir.mkdir(parents=True)
                    env = self.conveyor_env(BENCH_EXECUTOR=ex, BENCH_IN=data, BENCH_OUT=out_dir / "out",
                                            BENCH_OUT_DIR=out_dir, **extra)
                    log(f"checkpoints {label}: {name} {ex} x{self.args.runs}")
                    results[label] = Measure([str(self.conveyor), "run", str(pipeline), "-q"],
                                             env=env).run(self.args.runs)
                on, off_m = results["on"], results["off"]
                rows.append([name, ex, fmt_s(off_m.median), fmt_s(on.median),
                             f"{on.median / off_m.median:.2f}", f"{off_m.cpu_median:.2f}",
                             f"{on.cpu_median:.2f}", f"{off_m.rss_mib:,.0f}", f"{on.rss_mib:,.0f}"])
        self.sections.append("\n".join([
            "## Checkpoints: the cost of being resumable", "",
            "Checkpoints are on by default (every 1000 records: each source reports its position, "
            "each file sink hands its buffered output to the kernel, the journal gets one line). "
            "Same runs with `checkpoint_interval = 0`:", "",
            table(["workload", "executor", "off: wall (s)", "on: wall (s)", "on / off", "off: CPU (s)",
                   "on: CPU (s)", "off: RSS (MiB)", "on: RSS (MiB)"], rows), ""]))

    # ---- start-up -----------------------------------------------------------------------
    def startup(self):
        tiny = self.data / "one_record.csv"
        tiny.parent.mkdir(parents=True, exist_ok=True)
        tiny.write_text("id,name,amount\n1,Ann,10\n")
        o = self.out / "one_record.json"
        self.out.mkdir(parents=True, exist_ok=True)
        pipeline = str(BENCH / "startup.toml")
        env = self.conveyor_env(BENCH_IN=tiny, BENCH_OUT=o)
        run = Measure([str(self.conveyor), "run", pipeline, "-q"], env=env).run(30, warmup=3)
        val = Measure([str(self.conveyor), "validate", pipeline], env=env).run(30, warmup=3)
        ver = Measure([str(self.conveyor), "--version"]).run(30, warmup=3)
        rows = [["conveyor run (1 record, csv -> json)", f"{run.median * 1000:.1f}",
                 f"{min(run.walls) * 1000:.1f}", f"{run.rss_mib:.1f}"],
                ["conveyor validate", f"{val.median * 1000:.1f}", f"{min(val.walls) * 1000:.1f}",
                 f"{val.rss_mib:.1f}"],
                ["conveyor --version", f"{ver.median * 1000:.1f}", f"{min(ver.walls) * 1000:.1f}",
                 f"{ver.rss_mib:.1f}"]]
        self.sections.append("\n".join([
            "## Start-up", "", table(["command", "median (ms)", "min (ms)", "peak RSS (MiB)"], rows), ""]))

    # ---- scaling ------------------------------------------------------------------------
    def scaling(self):
        rows = []
        walls = {}
        w1_src = (BENCH / "w1_filter.toml").read_text()
        w3_src = (BENCH / "w3_fan_out.toml").read_text()
        for workers in (1, 2):
            variant = self.data / f"w1_workers{workers}.toml"
            variant.write_text(w1_src.replace("channel_buffer_size = 4096",
                                              f"channel_buffer_size = 4096\nworkers = {workers}"))
            for size in ("1m", "5m"):
                data = self.dataset(size)
                o = self.out / f"scale_{workers}_{size}.ndjson"
                env = self.conveyor_env(BENCH_EXECUTOR="channel", BENCH_IN=data, BENCH_OUT=o)
                runs = self.args.runs if size == "1m" else max(2, self.args.runs - 2)
                log(f"scaling: W1 workers={workers} {size} x{runs}")
                m = Measure([str(self.conveyor), "run", str(variant), "-q"], env=env).run(runs)
                walls[("w1", workers, size)] = m
                rows.append(["W1", workers, f"{SIZES[size]:,}", fmt_s(m.median), f"{m.cpu_median:.2f}",
                             f"{m.cpu_median / m.median:.2f}"])
            variant = self.data / f"w3_workers{workers}.toml"
            variant.write_text(w3_src.replace("channel_buffer_size = 4096",
                                              f"channel_buffer_size = 4096\nworkers = {workers}"))
            out_dir = self.out / f"w3_workers{workers}"
            out_dir.mkdir(parents=True, exist_ok=True)
            env = self.conveyor_env(BENCH_EXECUTOR="async", BENCH_IN=self.dataset("1m"), BENCH_OUT_DIR=out_dir)
            log(f"scaling: W3 workers={workers} x{self.args.runs}")
            m = Measure([str(self.conveyor), "run", str(variant), "-q"], env=env).run(self.args.runs)
            walls[("w3", workers)] = m
            rows.append(["W3 (async)", workers, f"{SIZES['1m']:,}", fmt_s(m.median), f"{m.cpu_median:.2f}",
                         f"{m.cpu_median / m.median:.2f}"])
        lin = walls[("w1", 2, "5m")].median / (5 * walls[("w1", 2, "1m")].median)
        w1_speedup = walls[("w1", 1, "1m")].median / walls[("w1", 2, "1m")].median
        w3_speedup = walls[("w3", 1)].median / walls[("w3", 2)].median
        self.sections.append("\n".join([
            "## Scaling", "",
            table(["workload", "workers", "rows", "wall (s)", "CPU (s)", "CPU / wall"], rows), "",
            f"- W1, 5M vs 1M rows (workers = 2): wall ratio / 5 = {lin:.2f} (1.00 = linear)",
            f"- W3 (10 sinks), workers = 1 -> 2: {w3_speedup:.2f}x faster",
            f"- W1, workers = 1 -> 2: {w1_speedup:.2f}x (with one worker the source parses on a "
            "thread of its own while the worker filters and encodes; with two, csv.read parses "
            "chunks of the file on both workers and json.write encodes on them; see w1par)", ""]))

    # ---- W2 (http.fetch against the shared delay server) ---------------------------------
    def w2(self):
        script = BENCH / "http" / "run.sh"
        env = dict(os.environ)
        env.setdefault("SKIP_C1", "1")           # the C = 1 rows take 100 s each
        env.setdefault("BENCH_DIR", str(self.shared / "bench"))
        log("W2: pipelines/bench/http/run.sh (about 5 minutes) ...")
        subprocess.run(["bash", str(script), str(self.build)], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        self.w2_saved(rerun=True)

    def w2_saved(self, rerun=False):
        """The W2 table from pipelines/bench/http/RESULTS.md (its own run's date and commit are
        there): W2 takes minutes of mostly waiting, `--only ...,w2_saved` reuses the last one."""
        path = BENCH / "http" / "RESULTS.md"
        if not path.exists():
            return
        text = path.read_text()
        when = next((l for l in text.splitlines() if l.startswith("Measured")), "")
        table = text[text.index("| workload"):] if "| workload" in text else text
        self.sections.append("\n".join([
            "## W2: csv.read -> http.fetch (-> http.fetch) -> json.write against a 100 ms server", "",
            "From `pipelines/bench/http/run.sh` (details and the machine in "
            "`pipelines/bench/http/RESULTS.md`)" + ("." if rerun else f", not re-run here: {when}"),
            "", table.strip(), ""]))

    def report(self):
        cpu = "unknown"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        head = [
            "# conveyor benchmark results", "",
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `pipelines/bench/bench.py` on "
            f"{os.cpu_count()} x {cpu}, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}; "
            "warm page cache; every ratio comes from the same run. The machine is shared and noisy: "
            "compare ratios, not absolute times.", "",
            f"conveyor: `{self.conveyor}` ({subprocess.run([str(self.conveyor), '--version'], capture_output=True, text=True).stdout.strip()}).", ""]
        text = "\n".join(head + self.sections)
        print(text)
        if self.args.write:
            Path(self.args.write).write_text(text + "\n")
            log(f"written to {self.args.write}")


def in_child(*args):
    """Runs a check in a separate Python process. The parent must stay small: a child's
    ru_maxrss includes the memory of the process it was forked from, up to its exec."""
    r = subprocess.run([sys.executable, __file__, *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def count_records(path):
    return in_child("--count", path) if path else 0


def same_records(ours, theirs):
    ok, detail = in_child("--compare", ours, theirs)
    return ok, detail


def digest_dir(path):
    return in_child("--digest", path)


def _count_records(path):
    if path is None or not Path(path).exists():
        return 0
    p = Path(path)
    if p.suffix == ".json":
        with p.open(encoding="utf-8") as f:
            return len(json.load(f))
    with p.open("rb") as f:
        return sum(1 for _ in f)


_TS = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:Z|\+00(?::?00)?)$")


def _norm(v):
    """DuckDB sniffs types (booleans, timestamps); compare values as a reader would."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        m = _TS.match(v)
        if m:
            return f"{m.group(1)}T{m.group(2)}Z"
    return v


def _same_records(ours, theirs):
    with open(ours, encoding="utf-8") as a, open(theirs, encoding="utf-8") as b:
        n = 0
        for la, lb in zip(a, b):
            ra, rb = json.loads(la), json.loads(lb)
            if list(ra) != list(rb):
                return False, f"record {n}: fields {list(ra)} vs {list(rb)}"
            for k in ra:
                if _norm(ra[k]) != _norm(rb[k]):
                    return False, f"record {n} field {k}: {ra[k]!r} vs {rb[k]!r}"
            n += 1
        if a.readline() or b.readline():
            return False, "different record counts"
    return True, (f"{n:,} records, same order, same fields and values (DuckDB's sniffed booleans "
                  "and re-formatted timestamps normalised; conveyor keeps them as the text of the input)")


def _digest_dir(path):
    out = {}
    for f in sorted(Path(path).iterdir()):
        h = hashlib.sha256()
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        out[f.name] = h.hexdigest()
    return out


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("--count", "--compare", "--digest"):
        fn = {"--count": _count_records, "--compare": _same_records, "--digest": _digest_dir}[sys.argv[1]]
        print(json.dumps(fn(*sys.argv[2:])))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=str(ROOT / "build-bench"))
    ap.add_argument("--data-dir", default=None, help="datasets and outputs (default: BUILD_DIR/bench-data)")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"), help="the shared/ folder (generator, peers)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="w1,memory,w3,checkpoints,startup,scaling,w2")
    ap.add_argument("--w1-sizes", default="1m,5m")
    ap.add_argument("--write", default=str(BENCH / "RESULTS.md"), help="also write the tables here ('' = no)")
    args = ap.parse_args()
    args.data_dir = args.data_dir or str(Path(args.build_dir) / "bench-data")
    args.w1_sizes = [s for s in args.w1_sizes.split(",") if s]
    b = Bench(args)
    b.build_release()
    for part in args.only.split(","):
        getattr(b, part)()
    b.report()


if __name__ == "__main__":
    main()
