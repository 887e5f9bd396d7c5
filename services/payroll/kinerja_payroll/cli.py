"""`kinerja payroll ...` subcommands: offline `compute`, `explain` and `verify`; and, against
the payroll database of a running platform, `serve`, `close`, `export` and `preview`.

`add_commands(parser)` adds them to the `payroll` parser of the top-level `kinerja` CLI; each
sets `func(args) -> exit code`. `main(argv)` runs them standalone
(`python -m kinerja_payroll.cli compute --events H.jsonl --period 2026-10`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from kinerja_events.arguments import period_argument

EXIT_MALFORMED = 2
EXIT_FAILED = 1


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add `compute` and `explain` to the `payroll` parser."""
    commands = parser.add_subparsers(dest="payroll_command", metavar="COMMAND")
    commands.required = True
    compute = commands.add_parser(
        "compute", help="compute a period from an exported history (no server needed)")
    compute.add_argument("--events", required=True, help="history JSONL, one envelope a line")
    compute.add_argument("--period", required=True, type=period_argument, help="YYYY-MM")
    compute.add_argument("--rules", help="rule file (default: the packaged jabar-2026)")
    compute.add_argument("--workers", type=workers_argument, default=default_workers(),
                         help="processes sharing the work, by NIP (default: the cores, "
                              f"at most {MAX_DEFAULT_WORKERS}; 1: this process alone)")
    compute.set_defaults(func=run_compute)
    explain = commands.add_parser("explain", help="explain one employee's TPP for a period")
    explain.add_argument("nip")
    explain.add_argument("period", type=period_argument, help="YYYY-MM")
    explain.add_argument("--events", help="history JSONL, one envelope a line "
                         "(default: every fact the running platform's payroll holds)")
    explain.add_argument("--rules", help="rule file (default: the packaged jabar-2026)")
    explain.set_defaults(func=run_explain)
    verify = commands.add_parser(
        "verify", help="replay an exported history and compare with the close it contains")
    verify.add_argument("period", type=period_argument, help="YYYY-MM")
    verify.add_argument("--events", required=True, help="history JSONL (kinerja payroll export)")
    verify.add_argument("--rules", help="rule file (default: the packaged jabar-2026)")
    verify.set_defaults(func=run_verify)
    add_service_commands(commands)


def add_service_commands(commands: Any) -> None:
    """The subcommands that work on the payroll database (see `service_cli`)."""
    from .service_cli import add_commands as add

    add(commands)


MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    """The cores this process may use, at most `MAX_DEFAULT_WORKERS`."""
    return max(1, min(MAX_DEFAULT_WORKERS, len(os.sched_getaffinity(0))))


def workers_argument(text: str) -> int:
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if not 1 <= workers <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 64, got {text!r}")
    return workers


def run_compute(args: argparse.Namespace) -> int:
    """Print one JSON object per employee, sorted by nip; nothing at all on any error."""
    from .digest import canonical_line
    from .fold import IncompleteFacts
    from .offline import HistoryError
    from .shards import compute_history

    rules = _rules(args)
    if isinstance(rules, int):
        return rules
    try:
        results = compute_history(args.events, args.period, rules, args.workers)
    except HistoryError as exc:
        return _fail(f"{args.events}: {exc}", EXIT_MALFORMED)
    except OSError as exc:
        return _fail(f"{args.events}: {exc}", EXIT_FAILED)
    except IncompleteFacts as exc:
        return _fail(str(exc), EXIT_FAILED)
    lines = [canonical_line(r.offline_line()) for r in results]
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    """Print a human-readable explanation of one employee's month."""
    from .fold import explain, render_explanation

    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    facts, rules = loaded
    assessment = explain(facts, args.nip, args.period, rules)
    if assessment is None:
        return _fail(f"{args.nip} has no result for {args.period} (not employed on a working day)",
                     EXIT_FAILED)
    sys.stdout.write(render_explanation(assessment, facts))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """MATCH (exit 0) when replaying the history reproduces its close; else every difference."""
    from pathlib import Path

    from .fold import IncompleteFacts, compute_period
    from .verify import read_closed_record, verdict

    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    facts, rules = loaded
    record = read_closed_record(Path(args.events), args.period)
    if record is None:
        return _fail(f"{args.events} holds no close of {args.period} "
                     "(export it with `kinerja payroll export --period`)", EXIT_FAILED)
    try:
        replayed = [r.tpp for r in compute_period(facts, args.period, rules)]
    except IncompleteFacts as exc:
        return _fail(str(exc), EXIT_FAILED)
    matched, lines = verdict(record, replayed)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0 if matched else EXIT_FAILED


def _rules(args: argparse.Namespace):
    """The rule set `--rules` names (the packaged one by default), or the exit code."""
    from .rules import RuleFileError, load_default_rules, load_rules

    try:
        return load_rules(args.rules) if args.rules else load_default_rules()
    except (RuleFileError, OSError) as exc:
        return _fail(f"rule file: {exc}", EXIT_FAILED)


def _load(args: argparse.Namespace):
    from .offline import HistoryError, read_history

    rules = _rules(args)
    if isinstance(rules, int):
        return rules
    if getattr(args, "events", None) is None:
        from kinerja_events.embedded import PlatformNotRunning

        from .service_cli import load_stored_facts

        try:
            return load_stored_facts(), rules
        except PlatformNotRunning as exc:
            return _fail(f"{exc} (or give --events HISTORY.jsonl)", EXIT_FAILED)
    try:
        facts = read_history(args.events)
    except HistoryError as exc:
        return _fail(f"{args.events}: {exc}", EXIT_MALFORMED)
    except OSError as exc:
        return _fail(f"{args.events}: {exc}", EXIT_FAILED)
    return facts, rules


def _fail(message: str, code: int) -> int:
    print(f"kinerja payroll: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run `payroll` subcommands standalone; returns the exit code."""
    parser = argparse.ArgumentParser(prog="kinerja payroll")
    add_commands(parser)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
