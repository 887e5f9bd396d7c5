"""What the service benchmarks share: the embedded platform and the broker round-trip baseline.

A baseline is the same messages sent to a topic of their own and read back by a plain aiokafka
consumer (manual assignment, from the beginning): the broker round trip alone, no service and
no database.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any


async def start_platform(stack: contextlib.AsyncExitStack) -> tuple[Any, Any]:
    """An embedded PostgreSQL + Tansu and a started producer on it; `stack` stops both."""
    from kinerja_events.embedded import EmbeddedInfra
    from kinerja_events.outbox import make_producer

    data_dir = Path(tempfile.mkdtemp(prefix="kinerja-bench-"))
    stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
    infra = EmbeddedInfra(data_dir, cleanup_mode="delete")
    stack.push_async_callback(infra.stop)
    await infra.start()
    producer = make_producer(infra.kafka_bootstrap)
    stack.push_async_callback(producer.stop)
    await producer.start()
    return infra, producer


async def create_topic(bootstrap: str, topic: str) -> None:
    """Create `topic` with the platform's partition count."""
    from kinerja_events.embedded import DEFAULT_PARTITIONS, create_topics

    await create_topics(bootstrap, [topic], DEFAULT_PARTITIONS)


async def time_round_trip(bootstrap: str, topic: str, count: int,
                          send: Callable[[], Awaitable[None]], timeout: float) -> float:
    """Seconds from `send()` starting until `count` records of `topic` have been read back."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from kinerja_events.embedded import DEFAULT_PARTITIONS

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(DEFAULT_PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        started = time.perf_counter()
        receiving = asyncio.create_task(receive(consumer, count))
        try:
            await send()
            await asyncio.wait_for(receiving, timeout)
        finally:
            receiving.cancel()
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def receive(consumer: Any, count: int) -> None:
    """Until `consumer` has read `count` records."""
    received = 0
    while received < count:
        batches = await consumer.getmany(timeout_ms=100)
        received += sum(len(records) for records in batches.values())
