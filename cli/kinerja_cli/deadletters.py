"""`kinerja deadletters list|show|replay SERVICE`: the messages a service parked.

A consumer parks a message it could not handle after its retries (the database refused a value,
a bug), so its partition moves on. An operator looks at them here and, once the cause is fixed,
replays them: each is published again to its topic as it was first received (key, headers, body,
timestamp), and the service handles it like any message — its command id or event id keeps it
from being applied twice.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kinerja_events.runtime import UNREACHABLE

from .services import SERVICE_MODULES as SERVICES


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add `list`, `show` and `replay` to the `deadletters` parser."""
    sub = parser.add_subparsers(dest="deadletters_command", metavar="COMMAND")
    sub.required = True
    listing = sub.add_parser("list", help="the parked messages of a service, oldest first")
    listing.add_argument("service", choices=sorted(SERVICES))
    listing.add_argument("--all", action="store_true", help="include those already replayed")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=run_list)
    show = sub.add_parser("show", help="one parked message whole: headers, body, error")
    show.add_argument("service", choices=sorted(SERVICES))
    show.add_argument("id", type=int)
    show.set_defaults(func=run_show)
    replay = sub.add_parser("replay", help="publish parked messages again to their topic")
    replay.add_argument("service", choices=sorted(SERVICES))
    replay.add_argument("ids", type=int, nargs="*", help="which (default: every one not yet "
                                                         "replayed)")
    replay.set_defaults(func=run_replay)


def run_list(args: argparse.Namespace) -> int:
    """Print the parked messages as a table (or JSON lines)."""
    from kinerja_events.deadletters import list_dead_letters

    letters = attached(args.service, lambda engine, _: list_dead_letters(
        engine, include_replayed=args.all))
    if letters is UNREACHABLE:
        return 1
    if args.json:
        for letter in letters:
            print(json.dumps(letter.summary()))
        return 0
    if not letters:
        print(f"no dead letters in {args.service}")
        return 0
    print(f"{'id':>5}  {'consumer':<22} {'topic':<28} {'part':>4} {'offset':>8}  "
          f"{'reason':<21} {'tries':>5}  {'last failure':<25} error")
    for letter in letters:
        replayed = "  (replayed)" if letter.replayed_at else ""
        print(f"{letter.id:>5}  {letter.consumer:<22} {letter.topic:<28} {letter.partition:>4} "
              f"{letter.offset:>8}  {letter.reason:<21} {letter.attempts:>5}  "
              f"{letter.last_failure.isoformat(timespec='seconds'):<25} "
              f"{letter.error[:80]}{replayed}")
    print(f"{len(letters)} dead letter(s)")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print one parked message as JSON, with its headers and body."""
    from kinerja_events.deadletters import get_dead_letter, printable

    letter = attached(args.service, lambda engine, _: get_dead_letter(engine, args.id))
    if letter is UNREACHABLE:
        return 1
    if letter is None:
        return fail(f"no dead letter {args.id} in {args.service}")
    detail = letter.summary()
    detail["headers"] = {name: printable(value) for name, value in letter.headers}
    detail["body"] = printable(letter.body)
    detail["timestamp_ms"] = letter.timestamp_ms
    print(json.dumps(detail, indent=2, ensure_ascii=False))
    return 0


def run_replay(args: argparse.Namespace) -> int:
    """Publish the chosen parked messages again; say how many."""
    count = attached(args.service, lambda engine, kafka: replay(engine, kafka, args.ids))
    if count is UNREACHABLE:
        return 1
    if isinstance(count, str):
        return fail(count)
    print(f"replayed {count} dead letter(s) of {args.service}")
    return 0


async def replay(engine: Any, kafka: str, ids: list[int]) -> int | str:
    """Replay the dead letters `ids` (all not yet replayed when empty); a message naming the
    ids that do not exist, if any."""
    from kinerja_events.deadletters import list_dead_letters, replay_dead_letters
    from kinerja_events.outbox import make_producer

    letters = await list_dead_letters(engine, include_replayed=bool(ids))
    if ids:
        missing = sorted(set(ids) - {letter.id for letter in letters})
        if missing:
            return f"no dead letter {', '.join(map(str, missing))}"
        letters = [letter for letter in letters if letter.id in set(ids)]
    producer = make_producer(kafka, max_request_size=8 * 1024 * 1024)
    await producer.start()
    try:
        return await replay_dead_letters(engine, producer, letters)
    finally:
        await producer.stop()


def attached(service: str, work: Any) -> Any:
    """Run `work(engine, kafka_bootstrap)` against the running platform's database of
    `service`; `UNREACHABLE` (after one clear line on stderr) when it cannot be reached."""
    import importlib

    from kinerja_events.runtime import on_service_database

    database = importlib.import_module(SERVICES[service]).DATABASE
    return on_service_database("kinerja deadletters", database,
                               lambda engine, endpoints: work(engine, endpoints.kafka_bootstrap))


def fail(message: str) -> int:
    """Print `kinerja deadletters: message` on stderr; the exit code 1."""
    print(f"kinerja deadletters: {message}", file=sys.stderr)
    return 1
