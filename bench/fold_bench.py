"""Province-scale benchmark of offline compute (prints figures; never fails on a time).

Generates a history of about `--events` envelopes (default 1,000,000) as JSONL in a temp file
with `province.generate` — a province of ~3,400 employees × October 2026: reference data,
check-ins/outs, activities and their decisions, ratings, IKP, leave, travel, MKD, a few lines
delivered twice — then measures, each in a fresh subprocess:
(a) baseline: `json.loads` of every line; (b) the full offline path: parse + validate + facts +
fold (`kinerja_payroll.offline.compute_file`). Prints events/s of each, the time ratio (b)/(a)
(target ≤ 2) and the peak RSS of each process (target < 1 GB).

Timings on a shared machine are noisy, so each measurement is repeated (`--runs`, default 5),
(a) and (b) alternating so that a slow spell hits both, every run is printed, and the figures
reported are the medians and the ratio of the medians, and beside them the ratio of the best
runs: noise here only ever slows a run (user CPU time of one identical run varies by ±30 %),
so the fastest run of each mode is the steadiest estimate of its own cost, as `timeit` holds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent

PERIOD = "2026-10"
# Lines per employee of `province.generate` for October 2026 (about 300; a little less here, so
# that the history reaches the target).
EVENTS_PER_EMPLOYEE = 295


def generate(path: str, target: int, seed: int = 2026) -> int:
    """Write a province of about `target` envelopes (`province.generate` with
    ceil(target / EVENTS_PER_EMPLOYEE) employees) to `path`; returns the number written."""
    if str(BENCH_DIR) not in sys.path:  # imported, not run: bench/ may not be on the path
        sys.path.insert(0, str(BENCH_DIR))
    from province import generate as generate_province

    employees = max(1, -(-target // EVENTS_PER_EMPLOYEE))
    return generate_province(path, employees=employees, seed=seed, period=PERIOD).lines


def measure(mode: str, path: str) -> dict:
    """Run one measurement in this process (called in a fresh subprocess)."""
    import resource

    started = time.perf_counter()
    if mode == "json":
        count = 0
        loads = json.loads
        with open(path, "rb") as stream:
            for line in stream:
                loads(line)
                count += 1
        employees = None
    else:
        from kinerja_payroll.offline import compute_file
        from kinerja_payroll.rules import load_default_rules

        results = compute_file(path, PERIOD, load_default_rules())
        employees = len(results)
        count = None
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mib": peak_kib / 1024, "employees": employees, "count": count}


def _run_measure(mode: str, path: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--measure", mode, path],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"measurement {mode!r} failed:\n{done.stderr}", file=sys.stderr)
        return {"seconds": float("nan"), "peak_mib": float("nan"), "employees": None}
    return json.loads(done.stdout)


def _runs(path: str, runs: int) -> tuple[list[dict], list[dict]]:
    """`runs` measurements of each mode, alternating (a), (b), (a), (b), …; each run printed."""
    baseline, full = [], []
    for i in range(1, runs + 1):
        for mode, into in (("json", baseline), ("full", full)):
            run = _run_measure(mode, path)
            into.append(run)
            print(f"  run {i} {mode:<4}: {run['seconds']:6.2f} s, peak RSS {run['peak_mib']:,.0f} MiB",
                  flush=True)
    return baseline, full


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="at least this many events")
    parser.add_argument("--runs", type=int, default=5, help="measurements of each mode (median)")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--keep", help="also keep the generated history at this path")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or os.path.join(tmp, "history.jsonl")
        started = time.perf_counter()
        n = generate(path, args.events)
        size = os.path.getsize(path)
        print(f"generated {n:,} events ({size / 2**20:,.0f} MiB) in {time.perf_counter() - started:.1f} s")
        baseline, full = _runs(path, max(1, args.runs))
    base_s, full_s = _median(baseline, "seconds"), _median(full, "seconds")
    peak = max(run["peak_mib"] for run in full)
    results = full[-1]["employees"] or 0
    print(f"medians of {len(full)} run(s) each:")
    print(f"(a) json.loads baseline : {n / base_s:>12,.0f} events/s "
          f"({base_s:.2f} s, peak RSS {_median(baseline, 'peak_mib'):,.0f} MiB)")
    print(f"(b) offline compute     : {n / full_s:>12,.0f} events/s "
          f"({full_s:.2f} s, peak RSS {_median(full, 'peak_mib'):,.0f} MiB, {results:,} results)")
    ratios = ", ".join(f"{f['seconds'] / b['seconds']:.2f}" for b, f in zip(baseline, full))
    print(f"ratio (b)/(a) time      : {full_s / base_s:.2f}×  (ratio of medians; per run {ratios}; "
          f"target ≤ 2×)")
    best_base = min(run["seconds"] for run in baseline)
    best_full = min(run["seconds"] for run in full)
    print(f"ratio (b)/(a) best runs : {best_full / best_base:.2f}×  "
          f"({best_full:.2f} s / {best_base:.2f} s)")
    print(f"peak memory (b)         : {peak:,.0f} MiB  (highest run; target < 1024 MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
