"""JSON codec for envelopes, with a registry of schema versions and upcasters.

`decode` reads one envelope from JSON: it looks up `(type, schema_version)`, upcasts older
versions step by step (`upcast_v1_v2` style) to the current one, then validates it with the
model of its type (the same models as the `Event` discriminated union). Errors are
`ContractError`s that name the offending field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .events import ENVELOPES, EnvelopeBase

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class ContractError(ValueError):
    """A message that does not meet the contract. `field` names the offending field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class Registry:
    """Current schema version per event type, and upcasters from each older version."""

    current: dict[str, int] = field(default_factory=lambda: {t: 1 for t in ENVELOPES})
    models: dict[str, type[EnvelopeBase]] = field(default_factory=lambda: dict(ENVELOPES))
    upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=dict)

    def register_version(
        self, event_type: str, version: int, model: type[EnvelopeBase], upcaster: Upcaster
    ) -> None:
        """Make `version` current for `event_type`; `upcaster` lifts `version - 1` to it."""
        self.current[event_type] = version
        self.models[event_type] = model
        self.upcasters[(event_type, version - 1)] = upcaster

    def upcast(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Bring a raw envelope dict to its type's current schema version."""
        event_type = raw.get("type")
        if not isinstance(event_type, str) or event_type not in self.current:
            raise ContractError("type", f"unknown event type {event_type!r}")
        version = raw.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ContractError("schema_version", f"must be an integer, got {version!r}")
        target = self.current[event_type]
        while version < target:
            step = self.upcasters.get((event_type, version))
            if step is None:
                raise ContractError(
                    "schema_version", f"no upcaster for {event_type} v{version}"
                )
            raw = {**step(raw), "schema_version": version + 1}
            version += 1
        if version != target:
            raise ContractError(
                "schema_version", f"unknown schema_version {version} for {event_type}"
            )
        return raw


class Codec:
    """Encodes and decodes envelopes; one per process, made by `make_codec`."""

    def __init__(self, registry: Registry):
        self.registry = registry

    def decode(self, payload: str | bytes | dict[str, Any]) -> EnvelopeBase:
        """Validate one envelope; raise `ContractError` naming the first bad field."""
        raw = payload if isinstance(payload, dict) else load_object(payload)
        raw = self.registry.upcast(raw)
        try:
            return self.registry.models[raw["type"]].model_validate(raw)
        except ValidationError as exc:
            raise contract_error(exc) from None

    def encode(self, envelope: EnvelopeBase) -> bytes:
        """The envelope as compact UTF-8 JSON."""
        return envelope.model_dump_json().encode()


def make_codec(registry: Registry | None = None) -> Codec:
    """A codec over the contract's registry (or a given one)."""
    return Codec(registry or Registry())


def load_object(payload: str | bytes) -> dict[str, Any]:
    """The JSON object in `payload`; `ContractError` on field `(json)` if it is none."""
    try:
        raw = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ContractError("(json)", f"not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ContractError("(json)", "a message must be a JSON object")
    return raw


def contract_error(exc: ValidationError) -> ContractError:
    """The first error of a pydantic validation, as a `ContractError` naming its field."""
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    return ContractError(loc or "(envelope)", first["msg"])
