"""docs/ says what the code does: every reason code of every service and of the command pipeline
as the code defines it (docs/reasons.md), and every field of every event and command of the
contract with its type and bounds as the models define them (docs/contract.md). A gateway
developer reads what they get."""

from __future__ import annotations

import importlib
import json
import re
import types
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

import pytest
from pydantic import AwareDatetime, BaseModel

from kinerja_events import commands
from kinerja_events.codec import REFUSAL_REASONS
from kinerja_events.events import EVENT_DATA, BerAKHLAKScores, Data, EnvelopeBase, SKPItem, Task
from kinerja_events.types import WIB

DOCS = Path(__file__).resolve().parents[2] / "docs"
SERVICE_REASONS = ["kinerja_attendance.reasons", "kinerja_worklog.reasons",
                   "kinerja_appraisal.reasons", "kinerja_mkd.reasons"]
PIPELINE = Path(importlib.import_module("kinerja_events.pipeline").__file__).read_text()


# --- reasons ----------------------------------------------------------------------------------
def reason_row(reason: Any) -> str:
    return (f"| `{reason.code}` | {'yes' if reason.retryable else 'no'} | "
            f"{reason.description} |")


def pipeline_refusals() -> set[str]:
    """Why the pipeline refuses a command message before deciding: the codec's message bounds
    and contract reasons (less `unknown_version`: a command has no schema version) and the
    pipeline's own (`Refused("…"` in its source)."""
    own = set(re.findall(r'Refused\("(\w+)"', PIPELINE))
    return own | set(REFUSAL_REASONS) - {"unknown_version"}


def table_codes(text: str, heading: str) -> list[str]:
    """The codes in the first column of the table under `heading`."""
    section = text.split(heading, 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


@pytest.mark.parametrize("module", SERVICE_REASONS)
def test_every_reason_code_is_in_the_docs_as_the_service_defines_it(module):
    lines = set((DOCS / "reasons.md").read_text().splitlines())
    missing = [reason_row(r) for r in importlib.import_module(module).REASONS.values()
               if reason_row(r) not in lines]
    assert missing == []


def test_the_docs_list_exactly_the_pipeline_refusal_reasons():
    documented = table_codes((DOCS / "reasons.md").read_text(), "## Refused before deciding")
    assert sorted(documented) == sorted(pipeline_refusals())


def test_the_docs_list_the_pipeline_s_own_rejections():
    documented = table_codes((DOCS / "reasons.md").read_text(), "## Rejected by the pipeline")
    assert sorted(documented) == sorted(set(re.findall(r'Rejection\("(\w+)"', PIPELINE)))


def test_the_docs_list_exactly_what_a_fact_consumer_refuses():
    documented = table_codes((DOCS / "reasons.md").read_text(),
                             "## Refused by a consumer of a fact topic")
    assert sorted(documented) == sorted(set(REFUSAL_REASONS) - {"unknown_version"})


def test_the_docs_list_exactly_the_dead_letter_reasons():
    from kinerja_events import deadletters

    reasons = {value for name, value in vars(deadletters).items()
               if name.isupper() and isinstance(value, str)}
    documented = table_codes((DOCS / "reasons.md").read_text(), "## Dead letters")
    assert sorted(documented) == sorted(reasons)


# --- contract fields --------------------------------------------------------------------------
PATTERNS = {
    r"^[0-9]{18}$": "NIP (18 digits)",
    r"^20[0-9][0-9]-(0[1-9]|1[0-2])$": "period `YYYY-MM`, 2000–2099",
    r"^-?[0-9]+\.[0-9]{6}$": "decimal string, 6 places",
}


def thousands(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def bounds_of(metadata: list[Any]) -> dict[str, Any]:
    """ge/gt/le/lt/min_length/max_length/pattern of annotated-types and pydantic metadata."""
    found: dict[str, Any] = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
        found.update(bounds_of(getattr(item, "metadata", None) or []))
    return found


def span(low: Any, high: Any, unit: str = "") -> str:
    if low is not None and high is not None:
        between = " to " if low < 0 else "–"
        return f"{thousands(low)}{between}{thousands(high)}{unit}"
    if low is not None:
        return f"≥ {thousands(low)}{unit}"
    return f"≤ {thousands(high)}{unit}"


def describe(annotation: Any, metadata: list[Any]) -> str:
    """A field's type and bounds, in the words docs/contract.md uses."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return describe(base, [*metadata, *extra])
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return " or ".join(describe(a, metadata) for a in options) + " or null"
    if origin is Literal:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in get_args(annotation))
    b = bounds_of(metadata)
    if origin is list:
        size = span(b.get("min_length"), b.get("max_length"), " items")
        return f"list ({size}) of {describe(get_args(annotation)[0], [])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object: the event's fields" if annotation is Data else f"`{annotation.__name__}`"
    if annotation is str:
        if b.get("pattern") in PATTERNS:
            return PATTERNS[b["pattern"]]
        if "max_length" not in b:
            return "string"
        return f"string, {span(b.get('min_length'), b.get('max_length'), ' chars')}"
    if annotation is bool:
        return "boolean"
    if annotation is UUID:
        return "UUID"
    if annotation in (int, float):
        kind = "integer" if annotation is int else "number"
        if "gt" in b:
            return f"{kind}, > {thousands(b['gt'])}"
        low, high = b.get("ge"), b.get("le")
        return kind if low is None and high is None else f"{kind}, {span(low, high)}"
    if annotation is date:
        return f"date, {b['ge']} … {b['le']}"
    if annotation is AwareDatetime:
        first, after = b["ge"].astimezone(WIB).date(), b["lt"].astimezone(WIB).date()
        return f"time with offset, WIB date {first} … {after - timedelta(days=1)}"
    raise AssertionError(f"no wording for {annotation!r}")


def presence(name: str, field: Any) -> str:
    """Required, or the default an absent field takes. A command's `type` has a default in its
    model but must be on the wire: the pipeline picks the signing key by it."""
    if field.is_required() or name == "type":
        return "required"
    return f"optional, default `{json.dumps(field.default)}`"


def own_fields(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields less those of its base (a command's own, after `Command`'s)."""
    if issubclass(model, commands.Command) and model is not commands.Command:
        return {n: f for n, f in model.model_fields.items()
                if n not in commands.Command.model_fields and n != "type"}
    return dict(model.model_fields)


def field_rows(model: type[BaseModel]) -> list[str]:
    """The start of each field's row in the model's table: name, type and bounds, presence."""
    return [f"| `{name}` | {describe(field.annotation, field.metadata)} | "
            f"{presence(name, field)} |" for name, field in own_fields(model).items()]


def documented_rows(text: str, title: str) -> list[str]:
    """The field rows of the table under `#### \\`title\\``."""
    section = text.split(f"\n#### `{title}`\n", 1)[1].split("\n#", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


COMMAND_MODELS = [commands.Command, *(m for m in vars(commands).values()
                                      if isinstance(m, type) and issubclass(m, commands.Command)
                                      and "type" in m.model_fields)]
MODELS = {"Envelope": EnvelopeBase, "Task": Task, "BerAKHLAKScores": BerAKHLAKScores,
          "SKPItem": SKPItem,
          **EVENT_DATA, **{m.__name__: m for m in COMMAND_MODELS}}


@pytest.mark.parametrize("title", list(MODELS))
def test_the_contract_documents_every_field_as_the_model_defines_it(title):
    rows = documented_rows((DOCS / "contract.md").read_text(), title)
    expected = field_rows(MODELS[title])
    assert [r[:len(e)] for r, e in zip(rows, expected)] == expected, "\n".join(expected)
    assert len(rows) == len(expected), "\n".join(expected)


# --- metrics ----------------------------------------------------------------------------------
METRIC = re.compile(r'(Counter|Gauge|Histogram)\(\s*"(kinerja_\w+)"')


def metrics_in_code() -> set[str]:
    """Every `kinerja_*` series the code registers, as Prometheus exposes it (a counter with
    `_total`)."""
    root = DOCS.parent
    found = set()
    for path in [*root.glob("libs/**/*.py"), *root.glob("services/**/*.py"),
                 *root.glob("cli/**/*.py")]:
        for kind, name in METRIC.findall(path.read_text()):
            found.add(f"{name}_total" if kind == "Counter" else name)
    return found


def test_every_metric_in_the_code_is_in_the_operations_guide():
    documented = set(re.findall(r"^\| `(kinerja_\w+)` \|", (DOCS / "operations.md").read_text(),
                                flags=re.MULTILINE))
    assert sorted(metrics_in_code() - documented) == []
    assert sorted(documented - metrics_in_code()) == []
