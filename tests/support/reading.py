"""Reading a topic from its beginning in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


def topic_reader(bootstrap: str) -> Callable[..., Awaitable[list]]:
    """`await read(topic, until=pred, timeout=45)`: every record of `topic` on `bootstrap` from
    the beginning (no consumer group), read until `pred(records)` holds; raises on timeout."""
    from aiokafka import AIOKafkaConsumer

    async def read(topic: str, *, until: Callable[[list], bool], timeout: float = 45.0) -> list:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=None,
            enable_auto_commit=False, auto_offset_reset="earliest",
        )
        await consumer.start()
        records: list = []
        try:
            async with asyncio.timeout(timeout):
                while not until(records):
                    batches = await consumer.getmany(timeout_ms=200)
                    for partition_records in batches.values():
                        records.extend(partition_records)
        finally:
            await consumer.stop()
        return records

    return read
