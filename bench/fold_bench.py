"""Province-scale benchmark of offline compute (prints figures; never fails on a time).

Generates a history of about `--events` envelopes (default 1,000,000) as JSONL in a temp file
with `province.generate` — a province of ~3,400 employees × October 2026: reference data,
check-ins/outs, activities and their decisions, ratings, IKP, leave, travel, MKD, a few lines
delivered twice — then measures, each in a fresh subprocess:
(a) baseline: `json.loads` of every line; (b) the full offline path: parse + validate + facts +
fold (`kinerja_payroll.offline.compute_file`). Prints events/s of each, the time ratio (b)/(a)
and the peak memory: the RSS of each process, and for the sharded run also the PSS of the
processes together (a page the shards share with their parent counted once).

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


WORKERS = len(os.sched_getaffinity(0))
MODES = ("json", "one", "cores")  # json.loads; compute in one process; compute on every core


def measure(mode: str, path: str) -> dict:
    """Run one measurement in this process (called in a fresh subprocess)."""
    import resource

    started = time.perf_counter()
    employees = None
    sampler = PssSampler() if mode == "cores" else None
    if mode == "json":
        loads = json.loads
        with open(path, "rb") as stream:
            for line in stream:
                loads(line)
    else:
        from kinerja_payroll.rules import load_default_rules
        from kinerja_payroll.shards import compute_history

        workers = 1 if mode == "one" else WORKERS
        employees = len(compute_history(path, PERIOD, load_default_rules(), workers))
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shard = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # An upper bound: pages the forked shards share with their parent count in each of them.
    peak = own + (WORKERS * shard if mode == "cores" else 0)
    pss = sampler.stop() if sampler is not None else own
    return {"seconds": seconds, "peak_mib": peak, "peak_pss_mib": pss, "employees": employees}


class PssSampler:
    """The peak, over the run, of the proportional set size (PSS) of this process and its
    children summed: a page the forked shards share with their parent counts once in all,
    split among them, where adding up their peak RSS counts it in each. Sampled every
    `PSS_SECONDS` from /proc (Linux), in a thread; 0 where /proc cannot tell."""

    def __init__(self) -> None:
        import threading

        self.peak_kib = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while not self.done.wait(PSS_SECONDS):
            family = [os.getpid(), *children_of(os.getpid())]
            self.peak_kib = max(self.peak_kib, sum(pss_kib(pid) for pid in family))

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return self.peak_kib / 1024


PSS_SECONDS = 0.25


def children_of(parent: int) -> list[int]:
    """The pids whose parent is `parent` (from /proc/*/stat)."""
    from machine import process_stat

    pids = (int(entry.name) for entry in os.scandir("/proc") if entry.name.isdigit())
    return [pid for pid in pids if (fields := process_stat(pid)) and int(fields[1]) == parent]


def pss_kib(pid: int) -> int:
    """The `Pss` of process `pid` in KiB, from /proc/PID/smaps_rollup (0 if gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _run_measure(mode: str, path: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--measure", mode, path],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"measurement {mode!r} failed:\n{done.stderr}", file=sys.stderr)
        return {"seconds": float("nan"), "peak_mib": float("nan"), "peak_pss_mib": float("nan"),
                "employees": None}
    return json.loads(done.stdout)


def _runs(path: str, runs: int) -> dict[str, list[dict]]:
    """`runs` measurements of each mode, alternating (json, one, cores, json, …) so that a slow
    spell hits every mode; each run printed."""
    measured: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for i in range(1, runs + 1):
        for mode in MODES:
            run = _run_measure(mode, path)
            measured[mode].append(run)
            pss = (f", peak PSS {run['peak_pss_mib']:,.0f} MiB" if mode == "cores" else "")
            print(f"  run {i} {mode:<5}: {run['seconds']:7.2f} s, peak RSS "
                  f"{run['peak_mib']:,.0f} MiB{pss}", flush=True)
    return measured


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main(argv: list[str] | None = None) -> int:
    scale = os.environ.get("BENCH_SCALE") == "jabar"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=15_000_000 if scale else 1_000_000,
                        help="about this many events (default 1,000,000; BENCH_SCALE=jabar: "
                             "15,000,000)")
    parser.add_argument("--runs", type=int, default=1 if scale else 3,
                        help="measurements of each mode (median)")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--keep", help="also keep the generated history at this path")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    from machine import describe

    print(describe(events=args.events, runs=args.runs, workers=WORKERS, seed="2026"), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or os.path.join(tmp, "history.jsonl")
        started = time.perf_counter()
        n = generate(path, args.events)
        size = os.path.getsize(path)
        print(f"generated {n:,} events ({size / 2**20:,.0f} MiB) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        measured = _runs(path, max(1, args.runs))
    report(n, measured)
    return 0


def report(events: int, measured: dict[str, list[dict]]) -> None:
    """The medians, and each compute mode's time as a multiple of json.loads's."""
    base = _median(measured["json"], "seconds")
    print(f"medians of {len(measured['json'])} run(s) each:")
    labels = {"json": "(a) json.loads baseline", "one": "(b) compute, one process",
              "cores": f"(c) compute, {WORKERS} processes"}
    for mode in MODES:
        seconds, peak = _median(measured[mode], "seconds"), _median(measured[mode], "peak_mib")
        ratio = "" if mode == "json" else f"  {seconds / base:5.2f}× json.loads"
        print(f"{labels[mode]:<28}: {events / seconds:>10,.0f} events/s ({seconds:7.2f} s, "
              f"peak RSS {peak:,.0f} MiB = {peak / (events / 1e6):,.0f} MiB per million){ratio}")
    pss = _median(measured["cores"], "peak_pss_mib")
    print(f"peak PSS of (c)'s processes together: {pss:,.0f} MiB = {pss / (events / 1e6):,.0f} "
          f"MiB per million events (a page they share counted once)")
    print("targets: (b) ≤ 1.5×, (c) ≤ 1×, < 600 MiB per million events; "
          "a 15M-event month in < 60 s on 2 cores")


if __name__ == "__main__":
    sys.exit(main())
