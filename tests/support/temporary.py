"""Embedded infrastructure in a temporary directory, for fixtures and tests that need their own."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from kinerja_events.embedded import EmbeddedInfra


@contextlib.asynccontextmanager
async def temporary_infra(prefix: str, **options: Any) -> AsyncIterator[EmbeddedInfra]:
    """An `EmbeddedInfra` (both servers, or what `options` ask) in a fresh directory, stopped
    and removed afterwards.

    The directory is NOT under pytest's basetemp: pytest deletes old basetemps when other runs
    start, which would pull the data directory from under a running server."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    embedded = EmbeddedInfra(data_dir, cleanup_mode="delete", **options)
    await embedded.start()
    try:
        yield embedded
    finally:
        await embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
