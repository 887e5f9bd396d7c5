"""`kinerja docs asyncapi [--out DIR] [--check]`: the AsyncAPI document of each service.

For each service a documentation-only FastStream `KafkaBroker` (it never connects) declares what
the service really consumes — its command topic with the union of its command models, and the
fact topics its bootstrap reads with the envelopes it keeps of them — and what it publishes: its
own topic with the envelopes of the events it emits. FastStream generates the AsyncAPI 3.0 document of
that broker, written as `<service>.yaml`. `--check` writes nothing and fails when a document on
disk differs from a fresh generation.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_OUT = "docs/asyncapi"
DOCUMENTED_SERVER = "kafka:9092"  # the cluster docker-compose.yml runs; set by KINERJA_KAFKA
CONTRACT_VERSION = "1"

EMITTED_BY: dict[str, tuple[str, ...]] = {
    "hr": ("OfficeRegistered", "PositionDefined", "EmployeeRegistered", "EmployeeChanged",
           "EmployeeTerminated", "HolidayDeclared"),
    "attendance": ("CheckedIn", "CheckedOut", "CheckInRejected", "LeaveRecorded",
                   "LeaveCancelled", "OfficialTravelRecorded"),
    "worklog": ("ActivityLogged", "ActivityApproved", "ActivityRejected", "ActivityRefused"),
    "appraisal": ("RatingGiven", "IKPAssigned", "IKPCompleted", "AppraisalRefused",
                  "SKPDrafted", "SKPApproved", "SKPReturned", "EvaluationGiven"),
    "mkd": ("MKDRequested", "MKDGranted", "MKDDenied", "MKDRevoked", "MKDRefused"),
    "payroll": ("TPPCalculated", "MKDEligibilityDetermined", "TPPAdjusted", "PayrollClosed"),
}
"""Which event types each source writes (the HR import writes `kinerja.hr`)."""

SIGNERS = {b"gateway": "the mobile gateway's key (KINERJA_GATEWAY_KEY)",
           b"hr": "the HR side's key (KINERJA_HR_KEY)"}
"""Stand-in keys handed to each service's `command_models`, to read who signs which type."""


@dataclass(frozen=True)
class Declared:
    """What one service consumes and publishes, as its code wires it."""

    service: str
    groups: Mapping[str, str]
    """Each topic it consumes -> the consumer group reading it (`<service>-<part>`, from the
    bootstrap's `CONSUMES`)."""
    commands: Any = None
    """The union of its command models (None: it takes no commands)."""
    signed_by: Mapping[str, bytes] = field(default_factory=dict)
    """Command type -> the stand-in key of its signer (see `SIGNERS`)."""
    kept: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Each fact topic it consumes -> the event types it keeps from it."""


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add `asyncapi` to the `docs` parser."""
    sub = parser.add_subparsers(dest="docs_command", metavar="COMMAND")
    sub.required = True
    asyncapi = sub.add_parser("asyncapi", help="write each service's AsyncAPI document "
                                               "(<service>.yaml)")
    asyncapi.add_argument("--out", type=Path, default=Path(DEFAULT_OUT),
                          help=f"the directory to write them to (default {DEFAULT_OUT}, from "
                               "the repository's root)")
    asyncapi.add_argument("--check", action="store_true",
                          help="write nothing; fail when a document there is not what the "
                               "code generates now")
    asyncapi.set_defaults(func=run_asyncapi)


def run_asyncapi(args: argparse.Namespace) -> int:
    """Write (or `--check`) the documents; one line per problem on stderr."""
    try:
        import yaml  # noqa: F401  (FastStream renders YAML with it)
    except ImportError:
        print("kinerja docs: PyYAML is not installed; install the dev extras "
              "(pip install -e '.[dev]') to write the AsyncAPI documents", file=sys.stderr)
        return 1
    documents = generate_documents()
    if args.check:
        return check_documents(args.out, documents)
    for path in write_documents(args.out, documents):
        print(f"wrote {path}")
    return 0


def check_documents(out: Path, documents: Mapping[str, str]) -> int:
    """0 when `out` holds exactly `documents`; else 1, after naming each difference."""
    stale = stale_documents(out, documents)
    for problem in stale:
        print(f"kinerja docs: {problem}", file=sys.stderr)
    if stale:
        print("kinerja docs: run `kinerja docs asyncapi` to regenerate them", file=sys.stderr)
        return 1
    print(f"{len(documents)} AsyncAPI documents in {out} are up to date")
    return 0


def generate_documents() -> dict[str, str]:
    """File name -> YAML text of every service's AsyncAPI document."""
    return {f"{declared.service}.yaml": document(declared) for declared in declarations()}


def write_documents(out: Path, documents: Mapping[str, str]) -> list[Path]:
    """Write `documents` into `out` (created if missing); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in documents.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_documents(out: Path, documents: Mapping[str, str]) -> list[str]:
    """What in `out` differs from `documents`: missing, changed, or no longer generated."""
    problems = []
    for name, text in documents.items():
        path = out / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path} differs from what the code generates")
    for path in sorted(out.glob("*.yaml")) if out.is_dir() else []:
        if path.name not in documents:
            problems.append(f"{path} is not generated by any service")
    return problems


def declarations() -> list[Declared]:
    """The five services, from their own code: the topics each bootstrap's consumer groups
    read (`CONSUMES`), the command models and who signs which (handlers), and the types each
    keeps of the facts it reads (projection; payroll's intake)."""
    import importlib

    from .services import SERVICE_MODULES

    declared = []
    for service, module in SERVICE_MODULES.items():
        consumes = importlib.import_module(module).CONSUMES
        groups = {topic: f"{service}-{part}" for part, topics in consumes.items()
                  for topic in topics}
        facts = [topic for part, topics in consumes.items() if part != "commands"
                 for topic in topics]
        commands = command_union(service) if "commands" in consumes else None
        declared.append(Declared(service, groups, commands,
                                 signed_by(service) if commands is not None else {},
                                 kept_from(facts, kept_types(service))))
    return declared


def command_union(service: str) -> Any:
    """The union of `service`'s command models, as the contract defines it."""
    from kinerja_events import commands

    return {"attendance": commands.AttendanceCommand, "worklog": commands.WorklogCommand,
            "appraisal": commands.AppraisalCommand, "mkd": commands.MKDCommand}[service]


def signed_by(service: str) -> Mapping[str, bytes]:
    """Command type -> stand-in key of its signer, from the service's `command_models`."""
    import importlib

    handlers = importlib.import_module(f"kinerja_{service}.handlers")
    if service == "attendance":
        return handlers.command_models(handlers.Keys(b"gateway", b"hr")).keys
    return handlers.command_models(b"gateway").keys


def kept_types(service: str) -> frozenset[str]:
    """The event types `service` keeps of the facts it consumes."""
    import importlib

    if service == "payroll":
        from kinerja_payroll.intake import PAYROLL_TYPES_IGNORED

        return frozenset(t for types in EMITTED_BY.values() for t in types) - PAYROLL_TYPES_IGNORED
    return importlib.import_module(f"kinerja_{service}.projection").KEPT_TYPES


def kept_from(fact_topics: list[str], kept: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """Each fact topic -> the types on it that are in `kept`, in contract order."""
    from kinerja_events.topics import SOURCE_TOPIC

    source_of = {topic: source for source, topic in SOURCE_TOPIC.items()}
    return {topic: tuple(t for t in EMITTED_BY[source_of[topic]] if t in kept)
            for topic in fact_topics}


def document(declared: Declared) -> str:
    """The AsyncAPI 3.0 YAML FastStream generates for `declared`'s broker."""
    from faststream.specification import AsyncAPI

    spec = AsyncAPI(service_broker(declared), title=f"Kinerja {declared.service}",
                    version=CONTRACT_VERSION, description=service_description(declared),
                    schema_version="3.0.0")
    return spec.to_specification().to_yaml()


def service_broker(declared: Declared) -> Any:
    """A documentation-only broker declaring `declared`'s subscribers and publisher."""
    from faststream.kafka import KafkaBroker

    from kinerja_events.topics import SOURCE_TOPIC

    broker = KafkaBroker(DOCUMENTED_SERVER, logger=None,
                         description="The Kafka cluster of KINERJA_KAFKA (kafka:9092 in "
                                     "docker-compose.yml; the embedded broker by default).")
    for topic, group in declared.groups.items():
        if topic in declared.kept:
            types = declared.kept[topic]
            subscribe(broker, topic, envelope_union(types), kept_description(types, group))
        else:
            check_command_types(declared)
            subscribe(broker, topic, declared.commands, commands_description(declared, group))
    topic = SOURCE_TOPIC[declared.service]
    broker.publisher(topic, title=topic, schema=envelope_union(EMITTED_BY[declared.service]),
                     description=facts_description(declared.service))
    return broker


def subscribe(broker: Any, topic: str, payload: Any, description: str) -> None:
    """Declare a subscriber of `topic` taking `payload`. Each goes through a router of its own:
    the broker keeps its own subscribers in a set, whose order would change the document from
    one run to the next, and its routers in a list."""
    from faststream.kafka import KafkaRouter

    router = KafkaRouter()
    router.subscriber(topic, title=topic, description=description)(handler(payload))
    broker.include_router(router)


def check_command_types(declared: Declared) -> None:
    """Refuse to document a union that is not exactly the types the service accepts."""
    documented = set(command_types(declared.commands))
    if documented != set(declared.signed_by):
        raise ValueError(f"{declared.service}: the documented commands {sorted(documented)} "
                         f"are not the accepted ones {sorted(declared.signed_by)}")


def command_types(union: Any) -> list[str]:
    """The `type` of each command model of an annotated union."""
    from typing import get_args

    members = get_args(get_args(union)[0])
    return [model.model_fields["type"].default for model in members]


def envelope_union(types: tuple[str, ...]) -> Any:
    """The envelope model of one type, or the union of several, discriminated on `type`."""
    from typing import Annotated, Union

    from pydantic import Field

    from kinerja_events.events import ENVELOPES

    models = tuple(ENVELOPES[t] for t in types)
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="type")]  # type: ignore[valid-type]


def handler(payload: Any) -> Any:
    """A handler that never runs, whose body annotation tells FastStream the payload."""

    async def consume(message: Any) -> None:
        """Documentation only."""

    consume.__annotations__ = {"message": payload, "return": None}
    return consume


def service_description(declared: Declared) -> str:
    """The document's opening paragraph."""
    takes = (f"decides the commands on `kinerja.commands.{declared.service}` and "
             if declared.commands is not None else "takes no commands; it ")
    return (f"The {declared.service} service of Kinerja (wire contract version "
            f"{CONTRACT_VERSION}): it {takes}publishes its events on "
            f"`kinerja.{declared.service}`. Every message is UTF-8 JSON of at most 256 KiB, "
            "nested at most 8 levels, integers in 64 bits, no U+0000. Generated by "
            "`kinerja docs asyncapi` from the service's code; see docs/contract.md.")


def commands_description(declared: Declared, group: str) -> str:
    """What a command record must carry, and who signs which type."""
    by_signer: dict[bytes, list[str]] = {}
    for kind, key in declared.signed_by.items():
        by_signer.setdefault(key, []).append(kind)
    signers = "; ".join(f"{', '.join(kinds)} with {SIGNERS[key]}"
                        for key, kinds in by_signer.items())
    return ("Commands from the mobile gateway. Record key: the actor's NIP. Header "
            "`x-kinerja-signature`: the hex HMAC-SHA256 of the record value under the key its "
            f"type requires ({signers}). The record timestamp is when the command counts as "
            "received. The outcome is an event on the service's topic whose `causation_id` is "
            f"the `command_id`. Consumer group `{group}`.")


def kept_description(types: tuple[str, ...], group: str) -> str:
    """What a service keeps from a fact topic it consumes."""
    return (f"Consumed through the inbox (each event id applied once); kept: "
            f"{', '.join(types)}; other types on the topic are ignored. Consumer group "
            f"`{group}`.")


def facts_description(service: str) -> str:
    """How the service's events reach its topic."""
    return ("Envelopes of the events the service appends, published by its outbox relay in "
            "stream-version order per stream (at least once: dedupe by `event_id`). Record "
            "key: the NIP of the employee the event belongs to, or the stream id where it "
            "names none.")
