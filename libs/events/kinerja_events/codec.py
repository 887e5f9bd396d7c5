"""JSON codec for envelopes, with a registry of schema versions and upcasters.

`decode` reads one envelope from JSON: it looks up `(type, schema_version)`, upcasts older
versions step by step (`upcast_v1_v2` style) to the current one, then validates it with the
model of its type (the same models as the `Event` discriminated union). Errors are
`ContractError`s that name the offending field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .events import ENVELOPES, SCHEMA_VERSIONS, EnvelopeBase
from .upcasters import UPCASTERS, Upcaster



MAX_MESSAGE_BYTES = 256 * 1024
MAX_DEPTH = 8
INT64 = range(-(2**63), 2**63)

REFUSAL_REASONS = (
    "empty", "too_large", "not_utf8", "not_json", "not_object", "too_deep",
    "integer_out_of_range", "nul_character", "unknown_type", "unknown_version", "invalid",
)
"""Why a message breaks the contract: a fixed list, so metric labels never come from content."""


class ContractError(ValueError):
    """A message that does not meet the contract. `field` names the offending field (for
    people and logs); `reason` is one of `REFUSAL_REASONS` (for metric labels)."""

    def __init__(self, field: str, message: str, reason: str = "invalid"):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.reason = reason


@dataclass
class Registry:
    """Current schema version per event type, and upcasters from each older version."""

    current: dict[str, int] = field(
        default_factory=lambda: {t: SCHEMA_VERSIONS.get(t, 1) for t in ENVELOPES})
    models: dict[str, type[EnvelopeBase]] = field(default_factory=lambda: dict(ENVELOPES))
    upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=lambda: dict(UPCASTERS))

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
            raise ContractError("type", f"unknown event type {event_type!r:.100}", "unknown_type")
        version = raw.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ContractError("schema_version", f"must be an integer, got {version!r:.100}")
        target = self.current[event_type]
        while version < target:
            step = self.upcasters.get((event_type, version))
            if step is None:
                raise ContractError(
                    "schema_version", f"no upcaster for {event_type} v{version}",
                    "unknown_version")
            raw = {**step(raw), "schema_version": version + 1}
            version += 1
        if version != target:
            raise ContractError(
                "schema_version", f"unknown schema_version {version} for {event_type}",
                "unknown_version")
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

    def decode_held(self, text: str | bytes, event_type: str) -> EnvelopeBase:
        """An envelope of type `event_type` held as JSON text since it was decoded (so within
        the message bounds `load_object` checks): validated straight from the text when it is
        of the type's current schema version, else read as `decode` reads it (upcast). Raises
        `ContractError` as `decode` does."""
        model = self.registry.models.get(event_type)
        if model is not None:
            try:
                return model.model_validate_json(text)
            except ValidationError:
                pass  # an older version (or not valid at all): the way `decode` reads it says
        return self.decode(_DECODER.decode(text if isinstance(text, str) else text.decode()))

    def encode(self, envelope: EnvelopeBase) -> bytes:
        """The envelope as compact UTF-8 JSON. Fields that were never set are left out, so an
        `EmployeeChanged` carries only the fields it changes (a `superior_nip` of null means
        "no superior", an absent one "unchanged")."""
        return envelope.model_dump_json(exclude_unset=True).encode()


def make_codec(registry: Registry | None = None) -> Codec:
    """A codec over the contract's registry (or a given one)."""
    return Codec(registry or Registry())


def load_object(payload: str | bytes | None) -> dict[str, Any]:
    """The JSON object in `payload`, within the message bounds of CONTRACT.md: at most 256 KiB
    of UTF-8, nested at most 8 levels, integers in 64 bits, no U+0000, no NaN or infinity.
    Anything else raises `ContractError` (field `(message)` or `(json)`), never another error."""
    body = payload.encode() if isinstance(payload, str) else payload
    if not body:
        raise ContractError("(message)", "empty message", "empty")
    if len(body) > MAX_MESSAGE_BYTES:
        raise ContractError("(message)", f"{len(body)} bytes, more than {MAX_MESSAGE_BYTES}",
                            "too_large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError("(message)", f"not UTF-8: {exc}", "not_utf8") from None
    try:
        raw = _DECODER.decode(text)
    except RecursionError:
        raise ContractError("(json)", f"nested more than {MAX_DEPTH} levels", "too_deep") from None
    except ValueError as exc:  # JSONDecodeError, and Python's limit on huge integers
        if "integer string conversion" in str(exc) or "Exceeds the limit" in str(exc):
            raise ContractError("(json)", "an integer does not fit in 64 bits",
                                "integer_out_of_range") from None
        raise ContractError("(json)", f"not valid JSON: {str(exc)[:200]}", "not_json") from None
    if not isinstance(raw, dict):
        raise ContractError("(json)", "a message must be a JSON object", "not_object")
    # JSON text holds U+0000 only escaped (the decoder refuses it raw): without that escape only
    # the containers and integers need a look, taken without a call per value; any doubt, and
    # `check_values` names the bound broken.
    if "\\u0000" in text or not _plainly_bounded(raw):
        check_values(raw)
    return raw


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number in JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
"""A JSON decoder that refuses NaN and Infinity (made once: `json.loads` with options makes a
decoder per call)."""


def check_values(value: Any, depth: int = 1) -> None:
    """Refuse containers nested deeper than `MAX_DEPTH` (the message itself is level 1),
    integers outside 64 bits and U+0000 anywhere."""
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        raise ContractError("(json)", f"nested more than {MAX_DEPTH} levels", "too_deep")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            check_values(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_values(item, depth + 1)
    elif isinstance(value, str):
        _check_text(value)
    elif isinstance(value, int) and not isinstance(value, bool) and value not in INT64:
        raise ContractError("(json)", "an integer does not fit in 64 bits",
                            "integer_out_of_range")


def _plainly_bounded(container: dict[str, Any] | list[Any], depth: int = 1) -> bool:
    """True when `container`, a dict or list at nesting level `depth`, is nested at most
    `MAX_DEPTH` levels and holds no integer outside 64 bits (strings are not looked at)."""
    if depth > MAX_DEPTH:
        return False
    for item in container.values() if type(container) is dict else container:
        kind = type(item)
        if kind is dict or kind is list:
            if not _plainly_bounded(item, depth + 1):
                return False
        elif kind is int and not _INT64_MIN <= item <= _INT64_MAX:
            return False
    return True


_INT64_MIN, _INT64_MAX = INT64.start, INT64.stop - 1


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ContractError("(json)", "a string holds U+0000", "nul_character")


def contract_error(exc: ValidationError) -> ContractError:
    """The first error of a pydantic validation, as a `ContractError` naming its field."""
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    return ContractError(loc or "(envelope)", first["msg"])
