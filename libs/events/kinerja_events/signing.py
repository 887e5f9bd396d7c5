"""HMAC signatures of gateway commands (header `x-kinerja-signature`, hex SHA-256 of the body)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "x-kinerja-signature"


def sign(body: bytes, key: bytes) -> str:
    """The hex HMAC-SHA256 of `body` under `key`."""
    return hmac.digest(key, body, "sha256").hex()


def verify(body: bytes, signature: str | bytes | None, key: bytes) -> bool:
    """True when `signature` is `body`'s HMAC under `key` (constant-time compare)."""
    if signature is None:
        return False
    if isinstance(signature, str):
        signature = signature.encode("utf-8", "replace")
    # Compared as bytes: `compare_digest` raises on a str holding anything but ASCII, and a
    # header is whatever bytes the sender put there.
    return hmac.compare_digest(sign(body, key).encode(), signature)


DEV_GATEWAY_KEY = "kinerja-dev-gateway-key"
DEV_HR_KEY = "kinerja-dev-hr-key"
HR_SIGNED = frozenset({"RecordLeave", "CancelLeave", "RecordOfficialTravel"})
"""The commands the HR side signs (with its key); the mobile gateway signs every other one."""


def gateway_key(env: Mapping[str, str]) -> bytes:
    """The mobile gateway's HMAC key: `KINERJA_GATEWAY_KEY` (a development key when unset)."""
    return env.get("KINERJA_GATEWAY_KEY", DEV_GATEWAY_KEY).encode()


def hr_key(env: Mapping[str, str]) -> bytes:
    """The HR side's HMAC key: `KINERJA_HR_KEY` (a development key when unset)."""
    return env.get("KINERJA_HR_KEY", DEV_HR_KEY).encode()
