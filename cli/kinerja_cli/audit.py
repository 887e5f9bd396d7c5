"""`kinerja audit export | verify P`: the platform's whole history, for auditors.

`export` writes every event the platform holds — each service's event store, the HR facts the
services keep as reference data, and payroll's closes — as one JSONL file of contract envelopes
(one a line, in the platform codec's encoding), each event id once. One fact is held by several
databases (the service that recorded it, payroll, the services that keep it as reference data);
their copies must agree, and a disagreement is an audit finding (exit 1).

The lines are in the order payroll took the facts into its closes: the facts in the first
close's cut-off, then that close's events (`TPPCalculated`, `MKDEligibilityDetermined`,
`TPPAdjusted`, `PayrollClosed` last), then the facts the next close took in and its events, and
so on; last the events no close has taken in (payroll has not received them, or does not fold
their type). Within each part by (recorded_at, source, stream_id, stream_version, event_id). So
the facts before a `PayrollClosed` line are exactly that close's cut-off (RULES.md §9), and
`verify` needs nothing but the file.

`verify P` replays the facts of P's cut-off with the rule set of the close (payroll's own fold)
and compares every figure the close published: each employee's result, MKD eligibility for the
next month, the adjustments it paid for earlier closed months, and its count, total and digest.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from kinerja_events.arguments import period_argument
from kinerja_events.runtime import UNREACHABLE
from kinerja_events.topics import SOURCE_TOPIC

from .services import SERVICE_MODULES

PROGRAM = "kinerja audit"
EXIT_FAILED = 1
EXIT_MALFORMED = 2
SOURCES = tuple(SOURCE_TOPIC)
LATER = 2**31
"""The cut-off ordinal of the events no close has taken in: after every close."""
PROGRESS_EVERY = 100_000

EVENT_STORE, PAYROLL_FACTS, REFERENCE_FACTS = 0, 1, 2
"""Which copy of an event the export writes when several databases hold it (lowest first): the
event store that recorded it, else the copy payroll folded, else a service's reference copy."""
HOLDING = {EVENT_STORE: "event store", PAYROLL_FACTS: "facts", REFERENCE_FACTS: "reference facts"}
READ = {EVENT_STORE: "events in its event store", PAYROLL_FACTS: "facts kept for its closes",
        REFERENCE_FACTS: "reference facts"}
QUERIES = {
    EVENT_STORE: "SELECT event_id, envelope::text, NULL::int FROM events",
    # The ordinal of the first close that took the fact in: its stamp (closes before cut-offs
    # were numbers), else the first close whose cut-off reaches its number.
    PAYROLL_FACTS: "SELECT event_id, envelope::text, COALESCE(close_seq, (SELECT min(seq) "
                   "FROM closes WHERE cutoff >= facts.stored_seq)) FROM facts",
    REFERENCE_FACTS: "SELECT event_id, envelope::text, NULL::int FROM reference_facts",
}


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add `export` and `verify` to the `audit` parser."""
    sub = parser.add_subparsers(dest="audit_command", metavar="COMMAND")
    sub.required = True
    export = sub.add_parser("export", help="write the whole history of the running platform "
                                           "as JSONL: every event once, in close order")
    export.add_argument("--out", type=Path, help="the file to write (default: "
                        "<KINERJA_DATA_DIR or ./var>/exports/history-<time>.jsonl)")
    export.add_argument("--json", action="store_true", help="the summary as one JSON object")
    export.set_defaults(func=run_export)
    verify = sub.add_parser("verify", help="recompute a closed month from the history and "
                                           "compare it with its close")
    verify.add_argument("period", type=period_argument, help="YYYY-MM, a closed month")
    verify.add_argument("--events", type=Path, help="an exported history (default: a fresh "
                        "export of the running platform)")
    verify.add_argument("--rules", type=Path, help="the rule file the close was computed under, "
                        "when it is neither the packaged nor the configured one")
    verify.add_argument("--json", action="store_true", help="the verdict as one JSON object")
    verify.set_defaults(func=run_verify)


# --- export ----------------------------------------------------------------------------------
class DatabaseUnreadable(Exception):
    """A service's database could not be read (unreachable, or missing)."""

    def __init__(self, service: str, exc: BaseException):
        cause = getattr(exc, "orig", None) or exc
        detail = str(cause).splitlines()[0][:200] if str(cause) else ""
        super().__init__(f"cannot read the {service} database: {type(cause).__name__}: {detail}")
        self.service = service


@dataclass(slots=True)
class Held:
    """One event as the export writes it: its encoded line, the fields it is ordered by, and
    which database's copy the line is."""

    event_id: UUID
    line: bytes
    stored: int
    holder: str
    rank: int
    type: str
    source: str
    stream_id: str
    stream_version: int
    recorded_at: datetime


@dataclass
class Holdings:
    """Every event the databases hold, once; payroll's cut-offs; and what the copies break."""

    events: dict[UUID, Held] = field(default_factory=dict)
    cut_of_fact: dict[UUID, int] = field(default_factory=dict)
    cut_of_stream: dict[str, int] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote (events per source), found (copies that disagree or break the
    contract), and noticed (events held only as copies, not by their source's event store)."""

    path: Path
    written: dict[str, int]
    findings: list[str]
    copies_only: dict[str, int]

    @property
    def total(self) -> int:
        """Every event written."""
        return sum(self.written.values())

    def as_json(self) -> dict[str, Any]:
        """The report for machines."""
        return {"path": str(self.path), "sources": self.written, "total": self.total,
                "findings": self.findings, "copies_only": self.copies_only}


async def export_history(engines: Mapping[str, Any], out: Path,
                         progress: Callable[[str], None] = lambda line: None) -> ExportReport:
    """Write the history the databases of `engines` (service name -> engine) hold to `out`,
    each event once, in close order; raises `DatabaseUnreadable` naming a database that fails."""
    from kinerja_events.codec import make_codec

    codec = make_codec()
    holdings = Holdings()
    # Payroll first: every fact it holds was already in its source's store, which only grows,
    # so a fact recorded during the export is never found in payroll alone.
    for service in sorted(engines, key=lambda name: name != "payroll"):
        await read_database(service, engines[service], holdings, codec, progress)
    written = write_history(out, ordered(holdings))
    progress(f"wrote {sum(written.values()):,} events to {out}")
    return ExportReport(out, {source: written.get(source, 0) for source in SOURCES},
                        holdings.findings, held_only_as_copies(holdings, engines))


async def read_database(service: str, engine: Any, holdings: Holdings, codec: Any,
                        progress: Callable[[str], None]) -> None:
    """Take every event `service`'s database holds into `holdings`, from one snapshot."""
    from sqlalchemy.exc import DBAPIError

    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                if service == "payroll":
                    await read_cut_offs(conn, holdings)
                for rank in await tables_of(conn, service):
                    count = await read_table(conn, f"{service} {HOLDING[rank]}", rank, holdings,
                                             codec, progress)
                    progress(f"{service}: {count:,} {READ[rank]}")
    except (DBAPIError, OSError) as exc:
        raise DatabaseUnreadable(service, exc) from exc


async def tables_of(conn: Any, service: str) -> list[int]:
    """The tables of `service`'s database that hold events (as `HOLDING` ranks)."""
    from sqlalchemy import text

    ranks = [EVENT_STORE, PAYROLL_FACTS] if service == "payroll" else [EVENT_STORE]
    if await conn.scalar(text("SELECT to_regclass('reference_facts') IS NOT NULL")):
        ranks.append(REFERENCE_FACTS)
    return ranks


async def read_cut_offs(conn: Any, holdings: Holdings) -> None:
    """Note each close's stream with its ordinal (payroll's `closes`)."""
    from sqlalchemy import text

    from kinerja_payroll.closing import stream_of

    rows = await conn.execute(text("SELECT period, seq FROM closes"))
    holdings.cut_of_stream = {stream_of(row.period): row.seq for row in rows}


async def read_table(conn: Any, holder: str, rank: int, holdings: Holdings, codec: Any,
                     progress: Callable[[str], None]) -> int:
    """Take every row of one table into `holdings`, streamed; how many rows."""
    from sqlalchemy import text

    rows = await conn.stream(text(QUERIES[rank]).execution_options(yield_per=2_000))
    count = 0
    async for row_id, envelope, cut in rows:
        event_id = take(holdings, holder, rank, row_id, envelope, codec)
        if cut is not None and event_id is not None:
            holdings.cut_of_fact[event_id] = cut
        count += 1
        if count % PROGRESS_EVERY == 0:
            progress(f"{holder}: {count:,} read")
    return count


def take(holdings: Holdings, holder: str, rank: int, row_id: Any, envelope: str, codec: Any
         ) -> UUID | None:
    """Add one stored copy of an event; a finding when it breaks the contract or differs from
    another copy. Its event id (None when it cannot be read)."""
    from kinerja_events.codec import ContractError

    stored = hash(envelope)
    known = holdings.events.get(row_id)
    if known is not None and known.stored == stored:  # PostgreSQL prints equal jsonb alike
        if rank < known.rank:
            known.holder, known.rank = holder, rank
        return known.event_id
    try:
        decoded = codec.decode(envelope)
    except ContractError as exc:
        holdings.findings.append(f"the {holder} hold event {row_id}, which breaks the contract "
                                 f"at {exc.field}: {exc.message}")
        return None
    if decoded.event_id != row_id:
        holdings.findings.append(f"the {holder} file event {decoded.event_id} under the id "
                                 f"{row_id}")
    held = Held(decoded.event_id, codec.encode(decoded), stored, holder, rank, decoded.type,
                decoded.source, decoded.stream_id, decoded.stream_version, decoded.recorded_at)
    known = holdings.events.get(held.event_id)
    if known is not None and known.line != held.line:
        holdings.findings.append(disagreement(known, held))
    if known is None or held.rank < known.rank:
        holdings.events[held.event_id] = held
    return held.event_id


def disagreement(first: Held, second: Held) -> str:
    """The finding of two copies of one event that differ: which, where, and in what."""
    fields = differing_fields(json.loads(first.line), json.loads(second.line))
    return (f"event {first.event_id} ({first.type}, {first.stream_id} v{first.stream_version}): "
            f"the {first.holder} and the {second.holder} differ in {', '.join(fields)}")


def differing_fields(left: Mapping[str, Any], right: Mapping[str, Any], prefix: str = ""
                     ) -> list[str]:
    """The fields (`data.name`, `recorded_at`) where two envelopes differ."""
    found = []
    for key in sorted(set(left) | set(right)):
        a, b = left.get(key), right.get(key)
        if key in left and key in right and a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            found += differing_fields(a, b, f"{prefix}{key}.")
        else:
            found.append(prefix + key)
    return found


def held_only_as_copies(holdings: Holdings, services: Iterable[str]) -> dict[str, int]:
    """Per source, the events its own service's event store does not hold — only copies of
    them elsewhere (facts published on a service's topic from outside it, as the demo does)."""
    counts: dict[str, int] = defaultdict(int)
    exported = set(services)
    for held in holdings.events.values():
        if held.source in exported and held.rank != EVENT_STORE:
            counts[held.source] += 1
    return dict(counts)


def ordered(holdings: Holdings) -> list[Held]:
    """The events in the export's order (see the module's docstring)."""
    def key(held: Held) -> tuple:
        if held.source == "payroll" and held.stream_id in holdings.cut_of_stream:
            cut, part = holdings.cut_of_stream[held.stream_id], 1
        else:
            cut, part = holdings.cut_of_fact.get(held.event_id, LATER), 0
        return (cut, part, held.recorded_at, held.source, held.stream_id, held.stream_version,
                str(held.event_id))

    return sorted(holdings.events.values(), key=key)


def write_history(out: Path, events: Iterable[Held]) -> dict[str, int]:
    """Write one line per event to `out`, whole or not at all; how many per source."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    written: dict[str, int] = defaultdict(int)
    with partial.open("wb") as stream:
        for held in events:
            stream.write(held.line + b"\n")
            written[held.source] += 1
    partial.replace(out)
    return dict(written)


def default_history_path() -> Path:
    """`<KINERJA_DATA_DIR or ./var>/exports/history-<WIB time>.jsonl`."""
    from kinerja_events.settings import load_settings
    from kinerja_events.types import WIB

    stamp = datetime.now(WIB).strftime("%Y%m%dT%H%M%S")
    return load_settings().data_dir / "exports" / f"history-{stamp}.jsonl"


def export_running_platform(out: Path) -> Any:
    """`export_history` of the running platform's databases to `out`: its report, a
    `DatabaseUnreadable`, or `UNREACHABLE` when the platform is not running (said on stderr)."""
    import importlib

    from kinerja_events.runtime import on_service_database

    async def work(payroll_engine: Any, endpoints: Any) -> Any:
        engines = open_engines(endpoints, payroll_engine)
        try:
            return await export_history(engines, out, say)
        except DatabaseUnreadable as exc:
            return exc
        finally:
            for engine in engines.values():
                if engine is not payroll_engine:
                    await engine.dispose()

    payroll_database = importlib.import_module(SERVICE_MODULES["payroll"]).DATABASE
    return on_service_database(PROGRAM, payroll_database, work)


def open_engines(endpoints: Any, payroll_engine: Any) -> dict[str, Any]:
    """An engine on every service's database of the running platform (payroll's is given)."""
    import importlib

    from kinerja_events.db import make_engine

    engines = {}
    for service, module in SERVICE_MODULES.items():
        database = importlib.import_module(module).DATABASE
        engines[service] = (payroll_engine if service == "payroll"
                            else make_engine(endpoints.database_url(database)))
    return engines


def render_export(report: ExportReport) -> str:
    """The export for a person: events per source, the total, the file, and any finding."""
    from kinerja_events.display import table

    rows = [("source", "events"), *((source, f"{report.written[source]:,}") for source in SOURCES),
            ("total", f"{report.total:,}")]
    lines = [table(rows), f"written to {report.path}"]
    lines += [f"note: {count:,} {source} events are not in the {source} event store, only copies "
              f"of them (published on its topic from outside the service, as the demo does)"
              for source, count in sorted(report.copies_only.items())]
    if report.findings:
        lines.append(f"{len(report.findings)} audit finding(s):")
        lines += [f"  {finding}" for finding in report.findings]
    return "\n".join(lines)


def run_export(args: argparse.Namespace) -> int:
    """Export the running platform's history; print what was written and any finding."""
    report = export_running_platform(args.out or default_history_path())
    if report is UNREACHABLE:
        return EXIT_FAILED
    if isinstance(report, DatabaseUnreadable):
        return fail(str(report))
    print(json.dumps(report.as_json()) if args.json else render_export(report))
    return EXIT_FAILED if report.findings else 0


# --- verify ----------------------------------------------------------------------------------
class NotVerifiable(Exception):
    """The history cannot be checked for the period: not closed in it, an event id with two
    contents, facts that cannot be computed, or the close's rule file not at hand."""


@dataclass(frozen=True)
class Difference:
    """One figure where the close and the replay of its facts disagree (`nip` empty for a
    figure of the close as a whole)."""

    nip: str
    name: str
    figure: str
    closed: Any
    recomputed: Any

    def as_json(self) -> dict[str, Any]:
        """The difference for machines."""
        return {"nip": self.nip or None, "name": self.name, "figure": self.figure,
                "closed": self.closed, "recomputed": self.recomputed}


@dataclass
class ClosedMonth:
    """What a history holds of a period's close, and the facts of its cut-off."""

    period: str
    facts: Any
    events: int = 0
    closed: dict[str, Any] | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    eligibility: dict[str, int] = field(default_factory=dict)
    adjustments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    earlier: list[str] = field(default_factory=list)
    paid: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(
        lambda: defaultdict(int)))
    rule_sets: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))


@dataclass(frozen=True)
class Verification:
    """The replay of a close: its recomputed figures, and every difference from the close."""

    period: str
    employees: int
    total_rupiah: int
    digest: str
    events: int
    rule_set: str
    adjustments: int
    adjustments_rupiah: int
    differences: list[Difference]

    @property
    def matched(self) -> bool:
        """True when every figure of the close is reproduced."""
        return not self.differences

    def as_json(self) -> dict[str, Any]:
        """The verdict for machines."""
        return {"period": self.period, "match": self.matched, "employees": self.employees,
                "total_rupiah": self.total_rupiah, "digest": self.digest, "events": self.events,
                "rule_set": self.rule_set, "adjustments": self.adjustments,
                "adjustments_rupiah": self.adjustments_rupiah,
                "differences": [d.as_json() for d in self.differences]}


def verify_history(path: Path, period: str, rule_files: Sequence[bytes] = (),
                   progress: Callable[[str], None] = lambda line: None) -> Verification:
    """Replay `period`'s close from the history at `path` and compare every figure. The close's
    rule set is found by its hash among `rule_files` and the packaged one. Raises
    `NotVerifiable`, or `HistoryError` naming a malformed line."""
    from kinerja_payroll.fold import IncompleteFacts, compute_period, index_facts

    month = read_closed_month(path, period)
    if month.closed is None:
        held = " (it holds results of it but no PayrollClosed)" if month.results else ""
        raise NotVerifiable(f"{period} is not closed in {path}{held}")
    candidates = rule_candidates(rule_files)
    rules = rules_of(month, period, candidates)
    progress(f"{path}: {month.events:,} events in {period}'s cut-off; recomputing under "
             f"{rules.id}")
    index = index_facts(month.facts)
    try:
        replayed = compute_period(month.facts, period, rules, index)
        owed = adjustments_owed(month, index, candidates)
    except IncompleteFacts as exc:
        raise NotVerifiable(f"the facts of {period}'s cut-off cannot be computed: {exc}") from None
    return judge(month, replayed, owed, rules.id)


def read_closed_month(path: Path, period: str) -> ClosedMonth:
    """The facts before `period`'s `PayrollClosed` line, and what the closes up to it say."""
    from kinerja_payroll.closing import stream_of
    from kinerja_payroll.facts import ConflictingEvent, Facts
    from kinerja_payroll.offline import decode_line

    month, stream = ClosedMonth(period, Facts()), stream_of(period)
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            envelope = decode_line(raw, number)
            try:
                new = month.facts.add(envelope)
            except ConflictingEvent as exc:
                raise NotVerifiable(f"{path}: line {number}: {exc}") from None
            if new and envelope.source == "payroll":
                note_close_event(month, envelope, envelope.stream_id == stream)
            elif new:
                month.events += 1
            if month.closed is not None:
                break
    return month


def note_close_event(month: ClosedMonth, envelope: Any, own: bool) -> None:
    """Record one of payroll's events: of the close verified (`own`), or of an earlier one."""
    data = envelope.data.model_dump(mode="json")
    if envelope.type == "TPPCalculated":
        month.rule_sets[data["period"]].add((data["rule_set"], data["rule_set_hash"]))
        if own:
            month.results[data["nip"]] = data
        else:
            month.paid[data["period"]][data["nip"]] += data["total_rupiah"]
    elif envelope.type == "TPPAdjusted":
        if own:
            month.adjustments[(data["period"], data["nip"])] = data
        else:
            month.paid[data["period"]][data["nip"]] += data["delta_rupiah"]
    elif envelope.type == "MKDEligibilityDetermined" and own:
        month.eligibility[data["nip"]] = data["days_per_week"]
    elif envelope.type == "PayrollClosed":
        if own:
            month.closed = data
        else:
            month.earlier.append(data["period"])


def rule_candidates(rule_files: Sequence[bytes]) -> list[Any]:
    """The rule sets at hand: those of `rule_files`, then the packaged one."""
    from kinerja_payroll.rules import RuleFileError, default_rules_bytes, parse_rules

    try:
        return [parse_rules(raw) for raw in [*rule_files, default_rules_bytes()]]
    except RuleFileError as exc:
        raise NotVerifiable(f"rule file: {exc}") from None


def rules_of(month: ClosedMonth, period: str, candidates: Sequence[Any]) -> Any:
    """The rule set `period` was closed under, found by the hash its results record (the first
    candidate when it has no results)."""
    named = month.rule_sets.get(period, set())
    if not named:
        return candidates[0]
    if len(named) > 1:
        raise NotVerifiable(f"the results of {period} name {len(named)} rule sets: "
                            + ", ".join(f"{rule_set} ({digest})" for rule_set, digest in
                                        sorted(named)))
    [(rule_set, wanted)] = named
    for rules in candidates:
        if rules.hash == wanted:
            return rules
    raise NotVerifiable(f"{period} was closed under rule set {rule_set} (sha256 {wanted}), and no "
                        "rule file at hand has that hash: give it with --rules FILE")


def adjustments_owed(month: ClosedMonth, index: Any, candidates: Sequence[Any]
                     ) -> dict[tuple[str, str], dict[str, Any]]:
    """The adjustments the close should have paid: each earlier closed month recomputed from
    the same facts with its own rule set, against what was paid for it before (RULES.md §9)."""
    from kinerja_payroll.closing import plan_adjustments
    from kinerja_payroll.fold import compute_period

    owed = {}
    for earlier in sorted(month.earlier):
        recomputed = compute_period(month.facts, earlier,
                                    rules_of(month, earlier, candidates), index)
        for adjustment in plan_adjustments(earlier, month.period, recomputed,
                                           month.paid.get(earlier, {})):
            owed[(earlier, adjustment.nip)] = adjustment.model_dump(mode="json")
    return owed


def judge(month: ClosedMonth, replayed: Sequence[Any],
          owed: Mapping[tuple[str, str], dict[str, Any]], rule_set: str) -> Verification:
    """The verification of `month`'s close against its replay."""
    from kinerja_payroll.digest import digest

    names = names_of(month.facts, month.period)
    tpps = [r.tpp for r in replayed]
    differences = sorted(
        [*result_differences(month.results, {r.nip: r.tpp for r in replayed}, names),
         *eligibility_differences(month, replayed, names),
         *adjustment_differences(month.adjustments, owed, names)],
        key=lambda d: d.nip)
    differences += close_differences(month, tpps)
    return Verification(month.period, len(tpps), sum(t["total_rupiah"] for t in tpps),
                        digest(tpps), month.events, rule_set, len(owed),
                        sum(a["delta_rupiah"] for a in owed.values()), differences)


def names_of(facts: Any, period: str) -> dict[str, str]:
    """Each employee's name on the last day of `period`, from the HR facts."""
    from kinerja_payroll.fold import Month, attributes_on

    last = Month.parse(period).last
    return {nip: str(attributes_on(employee, last).get("name") or "")
            for nip, employee in facts.employees.items()}


def result_differences(closed: Mapping[str, dict], replayed: Mapping[str, dict],
                       names: Mapping[str, str]) -> list[Difference]:
    """Every figure of every employee where the close's `TPPCalculated` and the replay differ."""
    found = []
    for nip in sorted(set(closed) | set(replayed)):
        before, after = closed.get(nip), replayed.get(nip)
        if before is None or after is None:
            found.append(Difference(nip, names.get(nip, ""), "TPPCalculated",
                                    "none" if before is None else "present",
                                    "none" if after is None else "present"))
            continue
        figures = [*after, *(figure for figure in before if figure not in after)]
        found += [Difference(nip, names.get(nip, ""), figure, before.get(figure),
                             after.get(figure))
                  for figure in figures if before.get(figure) != after.get(figure)]
    return found


def eligibility_differences(month: ClosedMonth, replayed: Sequence[Any],
                            names: Mapping[str, str]) -> list[Difference]:
    """Every employee whose MKD days per week for the next month differ."""
    after = {r.nip: r.mkd_days_per_week for r in replayed}
    next_period = replayed[0].mkd_period if replayed else "next month"
    return [Difference(nip, names.get(nip, ""), f"mkd_days_per_week ({next_period})",
                       month.eligibility.get(nip), after.get(nip))
            for nip in sorted(set(month.eligibility) | set(after))
            if month.eligibility.get(nip) != after.get(nip)]


def adjustment_differences(paid: Mapping[tuple[str, str], dict],
                           owed: Mapping[tuple[str, str], dict],
                           names: Mapping[str, str]) -> list[Difference]:
    """Every adjustment of an earlier month paid otherwise than the replay owes."""
    found = []
    for earlier, nip in sorted(set(paid) | set(owed)):
        before, after = paid.get((earlier, nip), {}), owed.get((earlier, nip), {})
        found += [Difference(nip, names.get(nip, ""), f"TPPAdjusted {earlier} {figure}",
                             before.get(figure), after.get(figure))
                  for figure in ("delta_rupiah", "recomputed_total")
                  if before.get(figure) != after.get(figure)]
    return found


def close_differences(month: ClosedMonth, tpps: Sequence[dict]) -> list[Difference]:
    """The close's count, total and digest against the replay; and its digest against the
    results it published."""
    from kinerja_payroll.digest import digest

    closed = month.closed or {}
    replayed = {"employees": len(tpps), "total_rupiah": sum(t["total_rupiah"] for t in tpps),
                "digest": digest(tpps)}
    found = [Difference("", "(the close)", f"PayrollClosed {figure}", closed.get(figure), value)
             for figure, value in replayed.items() if closed.get(figure) != value]
    published = digest(list(month.results.values()))
    if published != closed.get("digest"):
        found.append(Difference("", "(the close)", "digest of its own TPPCalculated",
                                closed.get("digest"), published))
    return found


def render_verification(verification: Verification, path: Path) -> str:
    """The verdict for a person: MATCH with the count and total, or every difference."""
    from kinerja_events.display import table
    from kinerja_payroll.people import rupiah

    v = verification
    if v.matched:
        lines = [f"MATCH {v.period}: {v.employees} employees, total Rp {rupiah(v.total_rupiah)}, "
                 f"digest {v.digest}"]
        if v.adjustments:
            lines.append(f"adjustments of closed months paid in {v.period}: {v.adjustments}, "
                         f"Rp {rupiah(v.adjustments_rupiah)}")
        lines.append(f"recomputed from the {v.events:,} events of its cut-off in {path} under "
                     f"{v.rule_set}")
        return "\n".join(lines)
    rows = [("NIP", "name", "figure", "in the close", "recomputed")]
    rows += [(d.nip or "-", d.name, d.figure, shown(d.closed), shown(d.recomputed))
             for d in v.differences]
    employees = len({d.nip for d in v.differences if d.nip})
    return (f"{table(rows)}\n{len(v.differences)} figure(s) of {employees} employee(s) differ: "
            f"the close of {v.period} does not match its facts in {path}")


def shown(value: Any) -> str:
    """A figure as a table cell."""
    if value is None:
        return "none"
    if isinstance(value, list):
        return " ".join(map(str, value)) or "(empty)"
    return str(value)


def given_rule_files(rules: Path | None) -> list[bytes]:
    """The bytes of `--rules` and of the configured rule file (`KINERJA_PAYROLL_RULES`)."""
    from kinerja_payroll.bootstrap import load_config

    paths = [p for p in (rules, load_config().rules_path) if p is not None]
    try:
        return [p.read_bytes() for p in paths]
    except OSError as exc:
        raise NotVerifiable(f"rule file: {exc}") from None


def run_verify(args: argparse.Namespace) -> int:
    """MATCH (exit 0) when the history reproduces the close; else every difference (exit 1)."""
    from kinerja_payroll.offline import HistoryError

    path, findings = args.events, []
    if path is None:
        report = export_running_platform(default_history_path())
        if report is UNREACHABLE:
            return EXIT_FAILED
        if isinstance(report, DatabaseUnreadable):
            return fail(str(report))
        path, findings = report.path, report.findings
        for finding in findings:
            say(f"audit finding: {finding}")
    try:
        verification = verify_history(path, args.period, given_rule_files(args.rules), say)
    except NotVerifiable as exc:
        return fail(str(exc))
    except HistoryError as exc:
        return fail(f"{path}: {exc}", EXIT_MALFORMED)
    except OSError as exc:
        return fail(f"{path}: {exc}")
    print(json.dumps({**verification.as_json(), "events_file": str(path), "findings": findings})
          if args.json else render_verification(verification, path))
    return 0 if verification.matched and not findings else EXIT_FAILED


def say(line: str) -> None:
    """Progress for a person, on stderr."""
    print(f"{PROGRAM}: {line}", file=sys.stderr, flush=True)


def fail(message: str, code: int = EXIT_FAILED) -> int:
    """Print `kinerja audit: message` on stderr; the exit code."""
    print(f"{PROGRAM}: {message}", file=sys.stderr)
    return code
