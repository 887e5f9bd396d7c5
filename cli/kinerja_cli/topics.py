"""`kinerja topics create`: create the platform's topics on the Kafka cluster of `KINERJA_KAFKA`.

The embedded broker gets its topics when it starts; a real cluster gets them from this command
(docker-compose.yml runs it once before the services).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from kinerja_events.embedded import DEFAULT_PARTITIONS

BROKER_WAIT_SECONDS = 60.0


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add `create` to the `topics` parser."""
    sub = parser.add_subparsers(dest="topics_command", metavar="COMMAND")
    sub.required = True
    create = sub.add_parser("create", help="create every topic of the contract (existing ones "
                                           "are left alone)")
    create.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS,
                        help=f"partitions per new topic (default {DEFAULT_PARTITIONS})")
    create.set_defaults(func=run_create)


def run_create(args: argparse.Namespace) -> int:
    """Create the topics on `KINERJA_KAFKA`; exit 1 with a message when it is not set."""
    from kinerja_events.settings import load_settings

    settings = load_settings()
    if not settings.kafka:
        print("kinerja topics: KINERJA_KAFKA is not set (the embedded broker creates its own "
              "topics)", file=sys.stderr)
        return 1
    if args.partitions < 1:
        print("kinerja topics: --partitions must be at least 1", file=sys.stderr)
        return 1
    names = asyncio.run(create_all(settings.kafka, args.partitions))
    print(f"topics on {settings.kafka}: {', '.join(names)}")
    return 0


async def create_all(bootstrap: str, partitions: int) -> list[str]:
    """Wait for the cluster, create the missing topics, and return every topic name."""
    from kinerja_events import topics
    from kinerja_events.embedded import create_topics, wait_for_broker

    names = topics.all_topics()
    await wait_for_broker(bootstrap, timeout=BROKER_WAIT_SECONDS)
    await create_topics(bootstrap, names, partitions)
    return names
