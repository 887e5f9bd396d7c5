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


async def group_caught_up(bootstrap: str, group: str, topic: str, timeout: float = 60.0) -> None:
    """Until consumer `group` on `bootstrap` has committed the end offset of every partition of
    `topic` (as of the call)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await probe.start()
    try:
        partitions = probe.partitions_for_topic(topic)
        if partitions is None:
            await probe._client.force_metadata_update()  # noqa: SLF001
            partitions = probe.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions or ())]
        ends = await probe.end_offsets(tps)
    finally:
        await probe.stop()
    # (Tansu 0.6 answers an admin OffsetFetch for *all* partitions with a frame aiokafka
    # cannot decode; a group member's `committed(tp)` works.)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                              enable_auto_commit=False)
    await reader.start()
    try:
        async with asyncio.timeout(timeout):
            while True:
                committed = {tp: await reader.committed(tp) for tp in ends}
                if all((committed[tp] or 0) >= end for tp, end in ends.items()):
                    return
                await asyncio.sleep(0.1)
    finally:
        await reader.stop()

