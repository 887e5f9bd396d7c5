"""Shared by the fuzz tests (`test_fuzz_commands`, `test_fuzz_facts`): valid messages drawn from
a pydantic model's JSON schema, hostile variants of them one defect at a time, and the reading
and accounting of a service's refusals.

- `generate_valid`, `generate_messages`, `take_examples`: hypothesis strategies of JSON values
  meeting a schema node or a model (dates and times within 2000–2099), and a fixed sample of one;
- `list_paths`, `get_at`, `replace_at`, `remove_at`, `measure_height`, `encode`,
  `encode_with_token`, `list_out_of_bounds`: reading and rewriting a raw JSON message by path;
- `Mutator` and its `CATEGORIES`: a valid raw message broken one defect at a time, with the
  reason the contract must refuse it for; `mutate_each_category`: the hostile messages of a
  catalogue, by category, on employees' keys;
- `RefusalMetric`: a refusal counter of a metrics registry counted by reason, the check that it
  rose by exactly what was sent, and that no metric label carries message content;
  `assert_accounting_catches`: those checks fail where they should.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from kinerja_events.types import WIB

DEAD_LETTER_REASONS = frozenset({"handler_error", "database_refused", "unknown_version",
                                 "conflicting_duplicate"})
MAX_BYTES = 256 * 1024
LARGE = 64 * 1024  # a message over this is big: at most two of a category per type are sent
MARKERS = ("fuzz", "paybonus", "\x00")  # what hostile messages carry and no label may


# --- valid messages from a model's JSON schema ------------------------------------------------
TEXT = st.characters(codec="utf-8", exclude_characters="\x00")
FREE_TEXT_PATTERNS = ("^[^\\x00]+$", "^[^\\x00]*$")


def resolve(node: dict, defs: dict) -> dict:
    """The node a `$ref` node refers to (through `defs`), or the node itself."""
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    return node


def generate_valid(node: dict, defs: dict) -> st.SearchStrategy[Any]:
    """JSON values meeting a pydantic JSON schema node (with the contract's date bounds, which
    the schema does not carry: 2000–2099 serves every date and time of the contract)."""
    node = resolve(node, defs)
    if "anyOf" in node:
        return st.one_of(*(generate_valid(option, defs) for option in node["anyOf"]))
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "object":
        properties = node["properties"]
        required = set(node.get("required", ())) | {  # `type` has a default, but is required
            name for name, value in properties.items() if "const" in value}
        return st.fixed_dictionaries(
            {k: generate_valid(v, defs) for k, v in properties.items() if k in required},
            optional={k: generate_valid(v, defs) for k, v in properties.items()
                      if k not in required})
    if kind == "array":
        least = node.get("minItems", 0)  # an SKP item's 12 monthly targets: exactly 12
        return st.lists(generate_valid(node["items"], defs), min_size=least,
                        max_size=max(min(node.get("maxItems", 4), 4), least))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "integer":
        return st.integers(node.get("minimum", -(2**63)), node.get("maximum", 2**63 - 1))
    if kind == "number":
        low = node.get("minimum", node.get("exclusiveMinimum", -1e9))
        return st.floats(low, node.get("maximum", 1e9), exclude_min="exclusiveMinimum" in node,
                         allow_nan=False, allow_infinity=False)
    if kind == "string":
        fmt, pattern = node.get("format"), node.get("pattern")
        if fmt == "uuid":
            return st.uuids().map(str)
        if fmt == "date":
            return st.dates(date(2000, 1, 1), date(2099, 12, 31)).map(date.isoformat)
        if fmt == "date-time":
            zones = st.sampled_from([WIB, timezone.utc, timezone(timedelta(hours=-11))])
            return st.datetimes(datetime(2000, 1, 2), datetime(2099, 12, 30),
                                timezones=zones).map(datetime.isoformat)
        if pattern == "^[0-9]{18}$":
            return st.integers(0, 10**18 - 1).map("{:018d}".format)
        if pattern and pattern.startswith("^20[0-9][0-9]-"):
            return st.builds("{}-{:02d}".format, st.integers(2000, 2099), st.integers(1, 12))
        if pattern and pattern not in FREE_TEXT_PATTERNS:
            regex = pattern.replace("\\d", "[0-9]").replace("^", "\\A", 1).replace("$", "\\Z")
            return st.from_regex(regex, fullmatch=True)
        return st.text(TEXT, min_size=node.get("minLength", 0),
                       max_size=min(node.get("maxLength", 16), 16))
    raise NotImplementedError(f"no strategy for {node}")


def generate_messages(model: type[BaseModel]) -> st.SearchStrategy[dict]:
    """Valid raw messages (JSON objects) of `model`."""
    schema = model.model_json_schema()
    return generate_valid(schema, schema.get("$defs", {}))


def take_examples(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    """`n` values of `strategy`, the same on every run (hypothesis, derandomized)."""
    found: list[Any] = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return [found[i % len(found)] for i in range(n)]


# --- JSON paths -------------------------------------------------------------------------------
Path = tuple[str | int, ...]


def list_paths(value: Any, prefix: Path = ()) -> list[Path]:
    """The path of every value inside `value` (object keys and array indices), outermost first."""
    found: list[Path] = []
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, item in items:
        found.append((*prefix, key))
        found += list_paths(item, (*prefix, key))
    return found


def get_at(value: Any, path: Path) -> Any:
    """The value at `path` inside `value`."""
    for part in path:
        value = value[part]
    return value


def replace_at(value: Any, path: Path, new: Any) -> Any:
    """`value` with the value at `path` replaced (or added) by `new`."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replace_at(value.get(head), rest, new)}
    copy = list(value)
    copy[head] = replace_at(value[head], rest, new)  # type: ignore[index]
    return copy


def remove_at(value: Any, path: Path) -> Any:
    """`value` without the member at `path`."""
    head, rest = path[0], path[1:]
    if rest:
        return replace_at(value, (head,), remove_at(value[head], rest))
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != head}
    return [v for i, v in enumerate(value) if i != head]


def measure_height(value: Any) -> int:
    """How many levels of containers `value` is (0 for a scalar)."""
    if isinstance(value, dict | list):
        items = value.values() if isinstance(value, dict) else value
        return 1 + max((measure_height(item) for item in items), default=0)
    return 0


def encode(raw: Any) -> bytes:
    """`raw` as compact UTF-8 JSON (non-ASCII characters as they are)."""
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode()


def encode_with_token(raw: Any, path: Path, token: bytes) -> bytes:
    """`raw` encoded with the value at `path` written as the JSON token `token` (e.g. NaN)."""
    marker = "__fuzz_literal__"
    return encode(replace_at(raw, path, marker)).replace(f'"{marker}"'.encode(), token, 1)


def list_out_of_bounds(node: dict) -> list[Any]:
    """Numbers just and far outside a numeric node's bounds."""
    if "const" in node:
        return [node["const"] + 1, node["const"] - 1]
    outside: list[Any] = []
    if "maximum" in node:
        outside += [node["maximum"] + 1, 1e308, 2**63 - 1]
    if "minimum" in node:
        outside += [node["minimum"] - 1, -1e308, -(2**63)]
    if "exclusiveMinimum" in node:
        outside += [node["exclusiveMinimum"], -1]
    if outside and node.get("type") == "integer":
        outside.append(1.5)
    return outside


# --- breaking a valid message, one defect at a time -------------------------------------------
CATEGORIES = ("truncated", "malformed", "arbitrary", "wrong_type", "missing", "extra",
              "huge_string", "huge_array", "too_deep", "out_of_range", "nul", "unknown_type",
              "future_version", "bad_values")


class Mutator:
    """Hostile variants of a valid raw message of `model`. Each category takes a seeded
    `random.Random` and the valid raw message and returns (the reason the message must be
    refused for, the message bytes); the reason is None only for arbitrary bytes, which any
    reason of the fixed list may refuse."""

    def __init__(self, model: type[BaseModel], other_types: Iterable[str] = ()):
        self.schema = model.model_json_schema()
        self.defs = self.schema.get("$defs", {})
        self.other_types = list(other_types)

    def node(self, path: Path) -> dict:
        """The schema node of the value at `path` (a nullable one's non-null option)."""
        node = resolve(self.schema, self.defs)
        for part in path:
            node = self.concrete(node)
            node = node["items"] if isinstance(part, int) else node["properties"][part]
        return self.concrete(node)

    def concrete(self, node: dict) -> dict:
        node = resolve(node, self.defs)
        if "anyOf" in node:
            node = resolve(next(n for n in node["anyOf"] if n.get("type") != "null"), self.defs)
        return node

    def of_kind(self, raw: dict, *kinds: str) -> list[Path]:
        return [p for p in list_paths(raw) if self.node(p).get("type") in kinds]

    def reason_for(self, path: Path, value: Any) -> str | None:
        """Why the contract refuses `value` at `path`: a broken `type` names no command."""
        return "unknown_type" if path == ("type",) else "invalid"

    def mutate(self, category: str, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        return getattr(self, category)(rnd, raw)

    # --- the categories -----------------------------------------------------------------------
    def truncated(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        body = encode(raw)
        cut = body[:rnd.randrange(len(body))]
        if not cut:
            return "empty", cut
        try:
            cut.decode()
        except UnicodeDecodeError:
            return "not_utf8", cut
        return "not_json", cut

    def malformed(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        body = encode(raw)
        first_string = body.index(b'"') + 1
        how = rnd.randrange(9)
        if how == 0:
            return "not_json", body + rnd.choice([b"}", b",", b"x", b"{}", b"]"])
        if how == 1:
            return "not_json", body.replace(b'"', b"'", 1)
        if how == 2:
            return "not_json", body[:-1] + b",}"
        if how == 3:
            return "not_json", "\ufeff".encode() + body
        if how == 4:
            return "not_json", body.replace(b":", b"=", 1)
        if how == 5:  # a raw control character (a NUL among them) inside a string
            control = bytes([rnd.choice([0, 1, 9, 10, 31])])
            return "not_json", body[:first_string] + control + body[first_string:]
        if how == 6:
            return "not_json", encode_with_token(raw, rnd.choice(list_paths(raw)),
                                       rnd.choice([b"NaN", b"Infinity", b"-Infinity"]))
        if how == 7:  # invalid UTF-8 (an encoded surrogate among them) inside a string
            bad = rnd.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])
            return "not_utf8", body[:first_string] + bad + body[first_string:]
        return "not_object", rnd.choice([b"[]", b"null", b"1", b'"CheckIn"', b"true",
                                         encode([raw])])

    def arbitrary(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        return None, rnd.randbytes(rnd.choice([1, 2, 7, 64, 1000]))

    def wrong_type(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        path = rnd.choice(list_paths(raw))
        node = self.node(path)
        kind = node.get("type")
        if kind == "array":
            bad: Any = rnd.choice(["x", {"fuzz": 1}, 7, True])
        elif kind == "object":
            bad = rnd.choice(["x", [1], 7, True, []])
        elif kind == "string" and "format" not in node:  # no lax conversion to str exists
            bad = rnd.choice([{"fuzz": 1}, [1], 12345, True, 1.5])
        else:  # numbers, booleans, ids and dates: lax mode converts some scalars, no container
            bad = rnd.choice([{"fuzz": 1}, [1], [], {}])
        return self.reason_for(path, bad), encode(replace_at(raw, path, bad))

    def missing(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        required = [p for p in list_paths(raw) if not isinstance(p[-1], int) and (
            p == ("type",) or p[-1] in self.node(p[:-1]).get("required", ()))]
        path = rnd.choice(required)
        return self.reason_for(path, None), encode(remove_at(raw, path))

    def extra(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        objects = [()] + [p for p in list_paths(raw) if isinstance(get_at(raw, p), dict)]
        path = rnd.choice(objects)
        name = rnd.choice(["fuzz_extra", "version", "__proto__", "Type", "command_id ", "ΩFUZZ"])
        if name in get_at(raw, path):
            name = "fuzz_extra"
        value = rnd.choice([1, "x", None, [], {"fuzz": True}, 2])
        return "invalid", encode(replace_at(raw, path, {**get_at(raw, path), name: value}))

    def huge_string(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        path = rnd.choice(self.of_kind(raw, "string"))
        node = self.node(path)
        how = rnd.randrange(3)
        if how == 0 and "maxLength" in node:
            return self.reason_for(path, "a"), encode(
                replace_at(raw, path, "a" * (node["maxLength"] + 1)))
        room = MAX_BYTES - len(encode(replace_at(raw, path, "")))
        if how == 1:  # exactly 256 KiB: within the bound, but no field takes such a string
            return self.reason_for(path, "a"), encode(replace_at(raw, path, "a" * room))
        return "too_large", encode(replace_at(raw, path, "a" * (room + 1 + rnd.randrange(999))))

    def huge_array(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        arrays = [p for p in self.of_kind(raw, "array") if get_at(raw, p)]
        how = rnd.randrange(3)
        if how == 0 and arrays:  # one item more than the contract's 1,000 (or an SKP's 12)
            path = rnd.choice(arrays)
            items = get_at(raw, path)[:1] * (self.node(path)["maxItems"] + 1)
            body = encode(replace_at(raw, path, items))  # 1,001 SKP items may pass 256 KiB
            return ("too_large" if len(body) > MAX_BYTES else "invalid"), body
        path = rnd.choice(list_paths(raw))
        if how == 2:
            return "too_large", encode(replace_at(raw, path, [0] * (MAX_BYTES // 2 + 1)))
        return self.reason_for(path, []), encode(replace_at(raw, path, [0] * 1001))

    def too_deep(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        how = rnd.randrange(4)
        if how == 0:  # a whole message of nesting, closed (9 levels) or beyond the parser's own
            levels = rnd.choice([9, 20_000])
            opening = rnd.choice([b'{"a":', b'{"type":', b'{"a":['])
            closing = b"}" if opening.endswith(b":") else b"]}"
            if levels > 9 and rnd.random() < 0.5:
                return "too_deep", rnd.choice([b"[", opening]) * levels  # never closed
            return "too_deep", opening * levels + b"1" + closing * levels
        path = rnd.choice(list_paths(raw))
        value = get_at(raw, path)
        # The value at `path` is at level len(path) + 1 (the message is level 1); wrapped in n
        # containers its deepest container is at level len(path) + n + measure_height(value).
        wraps = 9 - len(path) - measure_height(value) - (1 if how == 3 else 0)
        for _ in range(wraps):
            value = [value] if rnd.random() < 0.5 else {"fuzz": value}
        body = encode(replace_at(raw, path, value))
        if how == 3:  # exactly 8 levels: within the bound, but not the contract's shape
            return self.reason_for(path, value), body
        return "too_deep", body

    def out_of_range(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        path = rnd.choice(list_paths(raw))
        how = rnd.randrange(6)
        if how == 0:
            return "integer_out_of_range", encode(replace_at(
                raw, path, rnd.choice([2**63, 2**70, -(2**63) - 1, 10**30])))
        if how == 1:  # past Python's own limit on integer digits, too
            return "integer_out_of_range", encode_with_token(
                raw, path, b"9" * rnd.choice([20, 5000, 99_999]))
        if how == 2:  # parsed as an infinite float, which no field takes
            return self.reason_for(path, float("inf")), encode_with_token(
                raw, path, rnd.choice([b"1e309", b"-1e309", b"1e99999"]))
        bounded = [p for p in self.of_kind(raw, "integer", "number")
                   if list_out_of_bounds(self.node(p))]
        if how < 5 and bounded:
            path = rnd.choice(bounded)
            bad: Any = rnd.choice(list_out_of_bounds(self.node(path)))
            return self.reason_for(path, bad), encode(replace_at(raw, path, bad))
        others = [p for p in list_paths(raw)
                  if self.node(p).get("type") not in ("integer", "number")]
        path = rnd.choice(others)
        options = [1e308, 2**63 - 1, -(2**63)]
        if self.node(path).get("format") != "date-time":  # -1 s is a time of 1969, in bounds
            options.append(-1)
        bad = rnd.choice(options)
        return self.reason_for(path, bad), encode(replace_at(raw, path, bad))

    def nul(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        how = rnd.randrange(3)
        strings = self.of_kind(raw, "string")
        if how == 0 and strings:
            path = rnd.choice(strings)
            value = str(get_at(raw, path))
            at = rnd.randrange(len(value) + 1)
            return "nul_character", encode(replace_at(raw, path, value[:at] + "\x00" + value[at:]))
        if how == 1:  # in a key
            objects = [()] + [p for p in list_paths(raw) if isinstance(get_at(raw, p), dict)]
            path = rnd.choice(objects)
            return "nul_character", encode(
                replace_at(raw, path, {**get_at(raw, path), "fu\x00zz": 1}))
        return "nul_character", encode(replace_at(raw, rnd.choice(list_paths(raw)), ["fuzz\x00"]))

    def unknown_type(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        if rnd.random() < 0.2:
            return "unknown_type", encode(remove_at(raw, ("type",)))
        name = raw["type"]
        other = rnd.choice(["PayBonus", "FuzzCommand", name.lower(), name.upper(), "", " " + name,
                            name + " ", None, 1, True, [name], {"type": name}, name + "V2",
                            *self.other_types])
        return "unknown_type", encode({**raw, "type": other})

    def future_version(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        """A command has no version: a `version` of a later gateway is an unknown field."""
        name = rnd.choice(["version", "schema_version", "command_version"])
        return "invalid", encode({**raw, name: rnd.choice([2, 99, "2", 0, 2**31])})

    def bad_values(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        """JSON of the right shape with values the contract refuses."""
        path = rnd.choice(self.of_kind(raw, "string"))
        node, value = self.node(path), str(get_at(raw, path))
        if node.get("format") == "uuid":
            bad = rnd.choice(["not-a-uuid", "", "1234", value + "0", value[:-1], "g" * 32,
                              value.replace("-", "_"), " " + value])
        elif node.get("format") == "date":
            bad = rnd.choice(["2026-02-30", "2026-13-01", "2026-00-10", "1949-12-31",
                              "2100-01-01", "0000-01-01", "26-01-01", "2026/01/05",
                              "yesterday", "2026-01-05T08:30:00"])
        elif node.get("format") == "date-time":
            bad = rnd.choice(["2026-02-30T08:00:00+07:00", "2026-01-05T08:00:00",
                              "1949-12-31T23:59:59+07:00", "2100-01-01T00:00:00+07:00",
                              "2099-12-31T17:00:00+00:00", "2026-01-05T25:00:00+07:00",
                              "2026-01-05T08:00:00+25:00", "now", "9999-12-31T23:59:59+14:00"])
        elif "enum" in node or "const" in node:
            bad = rnd.choice(["FUZZ", "", value.upper() + "x"])
        elif "\\d" in node.get("pattern", ""):  # NIP, period, ratio
            bad = rnd.choice([value[:-1], value + "0", value[:-1] + "x", "", "١" * 18 + "x"])
        elif node.get("minLength"):
            bad = ""
        else:  # a free text: only its length bound can be broken
            return self.huge_string(rnd, raw)
        return self.reason_for(path, bad), encode(replace_at(raw, path, bad))


# --- a catalogue of hostile messages ----------------------------------------------------------
Mutation = tuple[str, str, dict, str | None, bytes]
"""(category, the employee's NIP, the valid raw message broken, the predicted reason, bytes)."""


def mutate_each_category(mutator: Mutator, rnd: random.Random, bases: Iterator[dict],
                         employees: Sequence[str], per_category: int, start: int,
                         as_employees: Callable[[dict, str], dict]) -> Iterator[Mutation]:
    """`per_category` hostile messages of every category, each made of the next message of
    `bases` as one of `employees` would send it (`as_employees`), the employees in turn from the
    `start`th. Taken lazily, so a caller drawing from `rnd` between two of them draws in turn."""
    large: Counter[str] = Counter()
    for category in CATEGORIES:
        for _ in range(per_category):
            nip = employees[start % len(employees)]
            raw, reason, body = draw_hostile(mutator, rnd, bases, category,
                                             lambda raw: as_employees(raw, nip), large)
            large[category] += len(body) > LARGE
            start += 1
            yield category, nip, raw, reason, body


def draw_hostile(mutator: Mutator, rnd: random.Random, bases: Iterator[dict], category: str,
                 adapt: Callable[[dict], dict], large: Counter[str]
                 ) -> tuple[dict, str | None, bytes]:
    """One message of `category`: (the raw message, the reason, its bytes). Drawn again while
    it would be valid (only a fact's version can be) or big while `large` holds two of the
    category already; 20 draws at the most."""
    for _ in range(20):
        raw = adapt(next(bases))
        reason, body = mutator.mutate(category, rnd, raw)
        if (reason is not None or category == "arbitrary") and (
                len(body) <= LARGE or large[category] < 2):
            break
    assert reason is not None or category == "arbitrary", f"{raw['type']} {category}"
    return raw, reason, body


# --- reading a service's refusals -------------------------------------------------------------
@dataclass(frozen=True)
class RefusalMetric:
    """A counter of refused messages by `reason` (e.g. `kinerja_commands_refused_total`) and
    the fixed list its reasons come from."""

    name: str
    reasons: frozenset[str]

    def count_by_reason(self, registry: Any, **labels: str) -> Counter[str]:
        """The counter by reason, as scraped, over the samples carrying `labels`."""
        counts: Counter[str] = Counter()
        for family in registry.collect():
            for sample in family.samples:
                if sample.name == self.name and all(
                        sample.labels[name] == value for name, value in labels.items()):
                    counts[sample.labels["reason"]] += int(sample.value)
        return counts

    def assert_refusals(self, before: Counter[str], after: Counter[str],
                        expected: Counter[str], anything: int) -> None:
        """The counter rose by exactly `expected` per reason, plus `anything` refusals of any
        reason of the fixed list (arbitrary bytes)."""
        delta = after - before
        outside = set(delta) - self.reasons
        assert not outside, f"labels outside the fixed list: {outside}"
        assert sum(delta.values()) == sum(expected.values()) + anything, (
            f"{sum(delta.values())} refusals counted for {sum(expected.values()) + anything} sent")
        short = {reason: (delta[reason], n) for reason, n in expected.items()
                 if delta[reason] < n}
        assert not short, f"refusals counted < sent, by reason (counted, sent): {short}"

    def assert_labels_fixed(self, registry: Any, **labels: str) -> None:
        """Every label value of every metric is free of message content; the refusal and dead
        letter reasons are from their fixed lists; every refusal carries `labels`."""
        for family in registry.collect():
            for sample in family.samples:
                assert_free_of_content(sample)
                if sample.name == self.name:
                    assert sample.labels["reason"] in self.reasons, sample
                    assert all(sample.labels[k] == v for k, v in labels.items()), sample
                if sample.name == "kinerja_dead_letters_total":
                    assert sample.labels["reason"] in DEAD_LETTER_REASONS, sample


def assert_free_of_content(sample: Any) -> None:
    """No label value of a metric sample is long or carries what hostile messages carry."""
    for name, value in sample.labels.items():
        assert len(value) <= 64 and not any(m in value.lower() for m in MARKERS), (
            f"{sample.name}{{{name}={value[:80]!r}}} carries message content")


def assert_accounting_catches(refused: RefusalMetric, other: str, unlisted: str,
                              content: dict[str, str], **labels: str) -> None:
    """`refused.assert_refusals` passes on counts that add up (two `not_json`, three `invalid`,
    and one `other` for the arbitrary bytes) and fails on one refusal missing, one too many,
    one misattributed, or one of the `unlisted` reason; `refused.assert_labels_fixed` (with
    `labels`) fails on a refusal counted with the label values `content` (from a message)."""
    from prometheus_client import CollectorRegistry, Counter as PromCounter

    sent = Counter({"not_json": 2, "invalid": 3})
    refused.assert_refusals(Counter(), Counter({"not_json": 2, "invalid": 3, other: 1}), sent,
                            anything=1)
    for counted in (Counter({"not_json": 2, "invalid": 2, other: 1}),  # one missing
                    Counter({"not_json": 2, "invalid": 4, other: 1}),  # one too many
                    Counter({"not_json": 1, "invalid": 4, other: 1}),  # wrong reason
                    Counter({"not_json": 2, "invalid": 3, unlisted: 1})):  # not listed
        with pytest.raises(AssertionError):
            refused.assert_refusals(Counter(), counted, sent, anything=1)
    registry = CollectorRegistry()
    PromCounter(refused.name.removesuffix("_total"), "", list(content),
                registry=registry).labels(*content.values()).inc()
    with pytest.raises(AssertionError):
        refused.assert_labels_fixed(registry, **labels)
