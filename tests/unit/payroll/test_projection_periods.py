"""The periods a stored fact speaks of: those the projection keeper recomputes when it folds it."""

from history import NIP_A, NIP_BOSS, History, worked_example

from kinerja_events.codec import make_codec
from kinerja_payroll.projection import DATED_FIELDS, period_of, periods_of


def periods_in_json(envelope: dict) -> set[str]:
    """The periods an envelope's JSON names: its data's `period`, and the WIB months of its
    dates and times."""
    data = envelope["data"]
    named = {data["period"]} if isinstance(data.get("period"), str) else set()
    return named | {period_of(data[name]) for name in DATED_FIELDS
                    if isinstance(data.get(name), str)}


def test_a_facts_periods_are_those_its_json_names() -> None:
    h = worked_example()
    h.leave(NIP_A, "L-1", "2026-11-30", "2026-12-02")
    h.travel(NIP_A, "T-1", "2026-09-30", "2026-10-01")
    h.ikp("IKP-1", NIP_A, "2026-11", "2026-12-15")
    h.rating(NIP_BOSS, NIP_A, "2026-09", "superior", 3)
    codec = make_codec()
    for envelope in h.events:
        assert periods_of(codec.decode(envelope)) == periods_in_json(envelope), envelope["type"]


def test_a_time_speaks_of_its_month_in_wib() -> None:
    h = History()
    late = h.check_in(NIP_A, "2026-10-31T17:30:00+00:00")  # 00:30 on 1 November in WIB
    assert periods_of(make_codec().decode(late)) == {"2026-11"}
