"""Offline compute (`kinerja payroll compute` / `explain`): output equals the fold; a bad line
stops it with a message naming the line, a non-zero exit, and nothing on stdout."""

import hashlib
import json
import os
import random
import subprocess
import sys

import pytest
from history import NIP_A, History, worked_example
from random_history import random_history

from kinerja_payroll.cli import main
from kinerja_payroll.digest import canonical_bytes, canonical_line, digest
from kinerja_payroll.facts import build_facts
from kinerja_payroll.fold import compute_period
from kinerja_payroll.rules import load_default_rules


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def dumps(events):
    return [json.dumps(e, ensure_ascii=False) for e in events]


def expected_lines(events, period):
    results = compute_period(build_facts(events), period, load_default_rules())
    return [canonical_line(r.offline_line()) for r in results]


def run(capsys, *args):
    """`kinerja payroll ARGS`: exit code, stdout, stderr (argparse's usage errors included)."""
    try:
        code = main(list(args))
    except SystemExit as exited:
        code = exited.code
    out, err = capsys.readouterr()
    return code, out, err


def compute(capsys, path, period="2026-10", *extra):
    return run(capsys, "compute", "--events", path, "--period", period, *extra)


def test_compute_prints_the_fold_sorted_by_nip(tmp_path, capsys):
    events = random_history(11).events
    shuffled = list(events)
    random.Random(3).shuffle(shuffled)
    code, out, err = compute(capsys, write(tmp_path / "h.jsonl", dumps(shuffled)))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines == expected_lines(events, "2026-10")
    nips = [json.loads(line)["nip"] for line in lines]
    assert nips == sorted(nips) and all("mkd_days_per_week" in json.loads(x) for x in lines)


def test_compute_of_the_worked_example(tmp_path, capsys):
    code, out, _ = compute(capsys, write(tmp_path / "h.jsonl", dumps(worked_example().events)))
    row = next(json.loads(x) for x in out.splitlines() if json.loads(x)["nip"] == NIP_A)
    assert code == 0
    assert (row["total_rupiah"], row["productivity_ratio"], row["mkd_days_per_week"]) == (
        4_340_455, "0.972727", 0)


def test_identical_duplicates_and_blank_lines_change_nothing(tmp_path, capsys):
    events = worked_example().events
    lines = dumps(events)
    reordered = [json.dumps(dict(reversed(list(e.items())))) for e in events[:30]]
    path = write(tmp_path / "h.jsonl", lines + lines[:50] + ["", "   "] + reordered)
    code, out, _ = compute(capsys, path)
    assert code == 0 and out.splitlines() == expected_lines(events, "2026-10")


@pytest.mark.parametrize("bad, needle", [
    ("{not json", "line 4"),
    ('["an", "array"]', "line 4"),
    ("BADNIP", "data.nip"),
    ("UNKNOWN_TYPE", "type"),
])
def test_a_malformed_line_stops_with_its_number_and_prints_nothing(tmp_path, capsys, bad, needle):
    lines = dumps(worked_example().events)
    if bad == "BADNIP":
        event = json.loads(lines[10])
        event["data"]["nip"] = "12345"
        bad = json.dumps(event)
    elif bad == "UNKNOWN_TYPE":
        event = json.loads(lines[10])
        event["type"] = "SomethingElse"
        bad = json.dumps(event)
    lines.insert(3, bad)
    code, out, err = compute(capsys, write(tmp_path / "h.jsonl", lines))
    assert code == 2 and out == ""
    assert "line 4" in err and needle in err


def test_a_repeated_event_id_with_other_content_is_an_invalid_history(tmp_path, capsys):
    lines = dumps(worked_example().events)
    event = json.loads(lines[20])
    event["data"]["at"] = "2026-10-05T09:00:00+07:00"
    lines.append(json.dumps(event))
    code, out, err = compute(capsys, write(tmp_path / "h.jsonl", lines))
    assert code == 2 and out == ""
    assert f"line {len(lines)}" in err and "line 21" in err and event["event_id"] in err


def test_an_undefined_position_fails_without_output(tmp_path, capsys):
    h = History()
    h.employee(NIP_A, "NOPE", "2026-10-01")
    code, out, err = compute(capsys, write(tmp_path / "h.jsonl", dumps(h.events)))
    assert code != 0 and out == "" and "NOPE" in err


def test_a_bad_period_or_rule_file_fails_without_output(tmp_path, capsys):
    path = write(tmp_path / "h.jsonl", dumps(worked_example().events))
    assert compute(capsys, path, "2026-13")[0] != 0
    rules = tmp_path / "r.toml"
    rules.write_text('id = "x"\n')
    code, out, err = compute(capsys, path, "2026-10", "--rules", str(rules))
    assert code != 0 and out == "" and "rule file" in err


@pytest.mark.parametrize("period", ["2026-13", "0000-01", "2100-01"])
@pytest.mark.parametrize("command", [
    ["compute", "--events", "h.jsonl", "--period"], ["explain", NIP_A], ["verify"], ["close"],
    ["check"], ["preview"], ["show"], ["export", "--out", "x.jsonl", "--period"]])
def test_every_command_refuses_a_bad_period_as_a_usage_error_naming_it(command, period, capsys):
    code, out, err = run(capsys, *command, period)
    assert code == 2 and out == ""
    assert f"period must be YYYY-MM of 2000-2099, got '{period}'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["payroll", "show", "2026-10"],
                                     ["payroll", "close", "2026-10"],
                                     ["deadletters", "list", "attendance"]])
def test_a_command_with_the_database_unreachable_says_so_in_one_line(command):
    unreachable = {"KINERJA_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none",
                   "KINERJA_KAFKA": "127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-m", "kinerja_cli.main", *command],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **unreachable})
    assert done.returncode == 1 and done.stdout == ""
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert "cannot reach" in done.stderr


def test_a_rules_file_is_used_and_its_hash_recorded(tmp_path, capsys):
    from importlib import resources
    raw = resources.files("kinerja_payroll").joinpath("rules", "jabar-2026.toml").read_bytes()
    rules = tmp_path / "r.toml"
    rules.write_bytes(raw + b"\n# a comment changes the hash\n")
    path = write(tmp_path / "h.jsonl", dumps(worked_example().events))
    code, out, _ = compute(capsys, path, "2026-10", "--rules", str(rules))
    row = json.loads(out.splitlines()[-1])
    assert code == 0 and row["rule_set_hash"] == hashlib.sha256(rules.read_bytes()).hexdigest()
    assert row["total_rupiah"] == 4_340_455


def test_explain_shows_the_figures_a_person_can_check(tmp_path, capsys):
    path = write(tmp_path / "h.jsonl", dumps(worked_example().events))
    code = main(["explain", NIP_A, "2026-10", "--events", path])
    out, _ = capsys.readouterr()
    assert code == 0
    for text in ("B = 4,500,000", "W = 22", "2026-10-08 Thu  present in 08:15:00 (L=45)",
                 "2026-10-15 Thu  absent", "A = max(0, Σ − 300 × TK) = 6420", "T = 300 × (W_e − L_d) = 6600",
                 "R_p = 107/110", "→ 2,648,455", "→ 1,692,000", "= 4,340,455 rupiah",
                 "one approved minute", "superior"):
        assert text in out, text


def test_explain_of_someone_without_a_result_fails(tmp_path, capsys):
    path = write(tmp_path / "h.jsonl", dumps(worked_example().events))
    assert main(["explain", "199912312020121999", "2026-10", "--events", path]) != 0


def test_the_module_runs_as_a_program(tmp_path):
    path = write(tmp_path / "h.jsonl", dumps(worked_example().events))
    done = subprocess.run([sys.executable, "-m", "kinerja_payroll.cli", "compute", "--events", path,
                           "--period", "2026-10"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.splitlines() == expected_lines(worked_example().events, "2026-10")
    bad = write(tmp_path / "bad.jsonl", ["{"])
    done = subprocess.run([sys.executable, "-m", "kinerja_payroll.cli", "compute", "--events", bad,
                           "--period", "2026-10"], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and done.stdout == "" and "line 1" in done.stderr


def test_the_digest_is_sha256_of_sorted_canonical_lines():
    results = [r.tpp for r in compute_period(build_facts(worked_example().events), "2026-10",
                                             load_default_rules())]
    text = "\n".join(json.dumps(t, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                     for t in sorted(results, key=lambda t: t["nip"]))
    assert canonical_bytes(reversed(results)) == text.encode()
    assert digest(reversed(results)) == hashlib.sha256(text.encode()).hexdigest()
    assert " " not in canonical_line(results[0]).replace("jabar-2026", "")
