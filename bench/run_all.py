"""`make bench`: every benchmark in turn at its documented default size (or, with
`BENCH_SCALE=jabar`, at West Java's: 50,000 employees, a 15-million-event month), each in a
process of its own, its output shown as it comes; then the figures of all of them together
(prints figures; never fails on a time).

`bench/README.md` says what each one measures and keeps the table of figures measured.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

# (name, script, arguments at the default size, arguments at BENCH_SCALE=jabar)
BENCHMARKS = (
    ("offline compute", "fold_bench.py", [], []),
    ("replay, projection, close", "close_bench.py", [], []),
    ("attendance commands", "attendance_bench.py", [], ["--employees", "50000"]),
    ("payroll fact ingest", "payroll_ingest_bench.py", [], ["--events", "300000", "--runs", "1"]),
    ("gateway to payroll", "ingest_bench.py", [], ["--employees", "50000"]),
)
# The lines of a benchmark's output that carry its figures (its progress lines do not).
FIGURE = re.compile(r"^(\(\w+\)|ratio|peak|targets|medians|latency|steady rate|facts/s|"
                    r"all stored|none pending|p99 per|broker CPU)")


def run(script: str, arguments: list[str]) -> tuple[int, list[str], float]:
    """Run one benchmark, echoing its output; its exit code, output lines and seconds."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(BENCH_DIR / script), *arguments],
                               stdout=subprocess.PIPE, text=True, bufsize=1)
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line.rstrip("\n"))
    return process.wait(), lines, time.perf_counter() - started


def figures(lines: list[str]) -> list[str]:
    return [line for line in lines if FIGURE.match(line)]


def main() -> int:
    from machine import describe

    jabar = os.environ.get("BENCH_SCALE") == "jabar"
    print(describe(scale="jabar" if jabar else "default"), flush=True)
    summary, failed = [], []
    for name, script, default, scaled in BENCHMARKS:
        arguments = scaled if jabar else default
        print(f"\n=== {name}: {script} {' '.join(arguments)}".rstrip(), flush=True)
        code, lines, seconds = run(script, arguments)
        if code != 0:
            failed.append(name)
        summary.append((name, script, seconds, code, figures(lines)))
    print("\n" + "=" * 100)
    print(describe(scale="jabar" if jabar else "default"))
    for name, script, seconds, code, lines in summary:
        state = "" if code == 0 else f", FAILED (exit {code})"
        print(f"\n{name} ({script}, {seconds:,.0f} s{state})")
        for line in lines:
            print(f"  {line}")
    if failed:
        print(f"\nbenchmarks that did not finish: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
