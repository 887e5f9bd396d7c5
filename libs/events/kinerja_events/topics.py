"""Topic names of CONTRACT.md and which topic each event type travels on."""

from __future__ import annotations

from typing import Any

HR = "kinerja.hr"
ATTENDANCE = "kinerja.attendance"
WORKLOG = "kinerja.worklog"
APPRAISAL = "kinerja.appraisal"
MKD = "kinerja.mkd"
PAYROLL = "kinerja.payroll"

FACT_TOPICS = (HR, ATTENDANCE, WORKLOG, APPRAISAL, MKD)
SERVICES = ("attendance", "worklog", "appraisal", "mkd", "payroll")


def commands_topic(service: str) -> str:
    """The topic on which the mobile gateway sends commands to `service`."""
    return f"kinerja.commands.{service}"


def all_topics() -> list[str]:
    """Every topic the platform uses (the embedded broker needs them created explicitly)."""
    return [*FACT_TOPICS, PAYROLL, *(commands_topic(s) for s in SERVICES if s != "payroll"),
            commands_topic("payroll")]


SOURCE_TOPIC = {
    "hr": HR,
    "attendance": ATTENDANCE,
    "worklog": WORKLOG,
    "appraisal": APPRAISAL,
    "mkd": MKD,
    "payroll": PAYROLL,
}

# The NIP whose record an event belongs to, per CONTRACT.md's keying rule.
_KEY_FIELD = {
    "RatingGiven": "ratee_nip",
    "IKPAssigned": "assignee_nip",
    "IKPCompleted": "assignee_nip",
}


def kafka_key(event_type: str, data: dict, stream_id: str) -> str:
    """Kafka key of an event: the employee's NIP, or the stream id for reference data."""
    field = _KEY_FIELD.get(event_type, "nip")
    value = data.get(field)
    return value if isinstance(value, str) else stream_id


def key_of(envelope: Any) -> bytes:
    """The Kafka key of a sealed envelope (see `kafka_key`), without dumping its data."""
    value = getattr(envelope.data, _KEY_FIELD.get(envelope.type, "nip"), None)
    return (value if isinstance(value, str) else envelope.stream_id).encode()
