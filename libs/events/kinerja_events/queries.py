"""What every service's read API needs: its parameters checked against the contract's types,
and a read on the service's database (an asyncpg connection)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from .observability import QueryError
from .resilience import pooled_asyncpg

T = TypeVar("T")


def param(params: Mapping[str, str], name: str, kind: Any, what: str) -> Any:
    """`params[name]` validated as `kind` (a contract type); a `QueryError` saying it must be
    `what` otherwise."""
    from pydantic import TypeAdapter, ValidationError

    raw = params.get(name, "")
    try:
        return TypeAdapter(kind).validate_python(raw)
    except ValidationError:
        raise QueryError(f"`{name}` must be {what}, got {raw!r:.40}") from None


def nip_param(params: Mapping[str, str], name: str) -> str:
    from .types import NIP

    return param(params, name, NIP, "an 18-digit NIP")  # type: ignore[no-any-return]


def period_param(params: Mapping[str, str], name: str = "period") -> str:
    from .types import Period

    return param(params, name, Period, "YYYY-MM")  # type: ignore[no-any-return]


def year_param(params: Mapping[str, str], name: str = "year") -> int:
    from .events import Year

    return param(params, name, Year, "a year, 2000–2099")  # type: ignore[no-any-return]


async def on_connection(engine: Any, read: Callable[[Any], Awaitable[T]]) -> T:
    """`read(conn)` on an asyncpg connection of `engine`'s pool."""
    async with pooled_asyncpg(engine) as conn:
        return await read(conn)
