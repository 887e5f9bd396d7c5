"""Process settings read from the environment (one `Settings` per composition root)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


EMBEDDED_FETCH_MAX_WAIT_MS = 20
"""How long a consumer's fetch waits for data on the embedded broker. Tansu 0.6 does not wake a
waiting fetch when a record arrives, so a long wait is added to every hop."""
KAFKA_FETCH_MAX_WAIT_MS = 500


@dataclass(frozen=True)
class Settings:
    """Where the bus and the databases are. Empty `kafka`/`database_url` mean: run embedded.

    `database_url` is a base URL (any database name in it is ignored): each service connects
    to its own database on that server (see `db.service_database_url`).
    """

    kafka: str = ""
    database_url: str = ""
    data_dir: Path = Path("./var")
    log_level: str = "INFO"
    fetch_max_wait_ms: int | None = None
    session_timeout_ms: int | None = None  # None: the client's default (10 s)
    data_dir_given: bool = True  # False: KINERJA_DATA_DIR unset, `./var` is a default

    @property
    def embedded_kafka(self) -> bool:
        """True when no Kafka bootstrap servers are configured."""
        return not self.kafka

    @property
    def embedded_database(self) -> bool:
        """True when no PostgreSQL server is configured."""
        return not self.database_url

    def consumer_options(self) -> dict[str, int]:
        """Options every consumer of the process takes: the fetch wait (set, or short on the
        embedded broker)."""
        wait = self.fetch_max_wait_ms
        if wait is None:
            wait = EMBEDDED_FETCH_MAX_WAIT_MS if self.embedded_kafka else KAFKA_FETCH_MAX_WAIT_MS
        options = {"fetch_max_wait_ms": wait}
        if self.session_timeout_ms:
            # A consumer killed without leaving its group holds its partitions this long.
            options.update(session_timeout_ms=self.session_timeout_ms,
                           heartbeat_interval_ms=max(100, self.session_timeout_ms // 3))
        return options


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    """Settings from `KINERJA_KAFKA`, `KINERJA_DATABASE_URL`, `KINERJA_DATA_DIR`,
    `KINERJA_LOG_LEVEL`, `KINERJA_FETCH_MAX_WAIT_MS`, `KINERJA_CONSUMER_SESSION_TIMEOUT_MS`."""
    wait = env.get("KINERJA_FETCH_MAX_WAIT_MS", "").strip()
    session = env.get("KINERJA_CONSUMER_SESSION_TIMEOUT_MS", "").strip()
    return Settings(
        kafka=env.get("KINERJA_KAFKA", "").strip(),
        database_url=env.get("KINERJA_DATABASE_URL", "").strip(),
        data_dir=Path(env.get("KINERJA_DATA_DIR", "").strip() or "./var"),
        data_dir_given=bool(env.get("KINERJA_DATA_DIR", "").strip()),
        log_level=(env.get("KINERJA_LOG_LEVEL", "").strip() or "INFO").upper(),
        fetch_max_wait_ms=int(wait) if wait else None,
        session_timeout_ms=int(session) if session else None,
    )
