"""HMAC signatures of gateway commands (header `x-kinerja-signature`, hex SHA-256 of the body)."""

from __future__ import annotations

import hmac

SIGNATURE_HEADER = "x-kinerja-signature"


def sign(body: bytes, key: bytes) -> str:
    """The hex HMAC-SHA256 of `body` under `key`."""
    return hmac.digest(key, body, "sha256").hex()


def verify(body: bytes, signature: str | bytes | None, key: bytes) -> bool:
    """True when `signature` is `body`'s HMAC under `key` (constant-time compare)."""
    if signature is None:
        return False
    if isinstance(signature, bytes):
        signature = signature.decode("ascii", "replace")
    return hmac.compare_digest(sign(body, key), signature)
