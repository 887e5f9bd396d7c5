"""Province-scale benchmark of offline compute (prints figures; never fails on a time).

Generates a history of at least `--events` envelopes (default 1,000,000) as JSONL in a temp
file — ~3,000 employees × October 2026 of check-ins/outs, activities and their decisions,
ratings, IKP, leave, plus reference data — then measures, each in a fresh subprocess:
(a) baseline: `json.loads` of every line; (b) the full offline path: parse + validate + facts +
fold (`kinerja_payroll.offline.compute_file`). Prints events/s of each, the time ratio (b)/(a)
(target ≤ 2) and the peak RSS of each process (target < 1 GB).

Timings on a shared machine are noisy, so each measurement is repeated (`--runs`, default 5),
(a) and (b) alternating so that a slow spell hits both, every run is printed, and the figures
reported are the medians and the ratio of the medians, and beside them the ratio of the best
runs: noise here only ever slows a run (user CPU time of one identical run varies by ±30 %),
so the fastest run of each mode is the steadiest estimate of its own cost, as `timeit` holds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta

PERIOD = "2026-10"
EVENTS_PER_EMPLOYEE = 330  # roughly, for October with the mix below


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _envelope(rng, type_, source, stream, version, occurred, data) -> str:
    return (
        f'{{"event_id":"{_uuid(rng)}","type":"{type_}","schema_version":1,"source":"{source}",'
        f'"stream_id":"{stream}","stream_version":{version},"occurred_at":"{occurred}",'
        f'"recorded_at":"{occurred}","correlation_id":null,"causation_id":null,"data":{data}}}'
    )


def _weekdays() -> list[date]:
    d, out = date(2026, 10, 1), []
    while d.month == 10:
        if d.isoweekday() <= 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def generate(path: str, target: int, seed: int = 2026) -> int:
    """Write at least `target` envelopes to `path`; returns the number written."""
    rng = random.Random(seed)
    employees = max(1, -(-target // EVENTS_PER_EMPLOYEE))
    days = _weekdays()
    lines = 0
    with open(path, "w", encoding="utf-8") as out:
        def emit(line: str) -> None:
            nonlocal lines
            out.write(line)
            out.write("\n")
            lines += 1

        for kelas in range(1, 18):
            data = (f'{{"position_code":"P{kelas}","name":"Jabatan {kelas}","kelas_jabatan":{kelas},'
                    f'"mobile":true,"public_service":{"true" if kelas % 5 == 0 else "false"},'
                    f'"tasks":[{{"task_code":"T1","name":"Tugas","unit":"dokumen","minutes_per_unit":30}}]}}')
            emit(_envelope(rng, "PositionDefined", "hr", f"position:P{kelas}", 1,
                           "2026-01-01T08:00:00+07:00", data))
        emit(_envelope(rng, "HolidayDeclared", "hr", "calendar:2026", 1, "2026-01-01T08:00:00+07:00",
                       '{"date":"2026-10-20","name":"Cuti bersama","kind":"joint_leave"}'))
        nips = [f"{1970 + i % 30}0101{2000 + i % 25}{i:06d}" for i in range(employees)]
        for i, nip in enumerate(nips):
            superior = nips[i // 10] if i else None
            sup = f'"{superior}"' if superior else "null"
            data = (f'{{"nip":"{nip}","name":"Pegawai {i}","position_code":"P{1 + i % 17}",'
                    f'"unit":"Unit {i % 40}","office_id":"kantor-{i % 40}","superior_nip":{sup},'
                    f'"effective_date":"2026-01-01"}}')
            emit(_envelope(rng, "EmployeeRegistered", "hr", f"employee:{nip}", 1,
                           "2026-01-01T08:00:00+07:00", data))
        for i, nip in enumerate(nips):
            version = 1
            stream = f"employee:{nip}"
            for day in days:
                if rng.random() < 0.02:
                    continue
                at = f"{day}T07:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}+07:00"
                check = ('"received_at":"{at}","mode":"office","lat":-6.9147,"lon":107.6098,'
                         '"accuracy_m":12.5,"office_id":"kantor-1","flags":[]')
                version += 1
                emit(_envelope(rng, "CheckedIn", "attendance", stream, version, at,
                               f'{{"nip":"{nip}","at":"{at}",' + check.format(at=at) + "}"))
                out_at = f"{day}T{rng.randint(15, 17)}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}+07:00"
                version += 1
                emit(_envelope(rng, "CheckedOut", "attendance", stream, version, out_at,
                               f'{{"nip":"{nip}","at":"{out_at}",' + check.format(at=out_at) + "}"))
                for k in range(7):
                    activity_id = f"{nip}-{day}-{k}"
                    minutes = rng.randint(30, 90)
                    logged = f"{day}T{9 + k:02d}:00:00+07:00"
                    emit(_envelope(
                        rng, "ActivityLogged", "worklog", f"activity:{activity_id}", 1, logged,
                        f'{{"activity_id":"{activity_id}","nip":"{nip}","work_date":"{day}",'
                        f'"task_code":"T1","quantity":2,"minutes":{minutes},'
                        f'"description":"Menyusun laporan kegiatan harian","evidence_ref":null}}'))
                    decided = f"{day}T{9 + k:02d}:30:00+07:00"
                    approver = superior or nip
                    if rng.random() < 0.9:
                        emit(_envelope(
                            rng, "ActivityApproved", "worklog", f"activity:{activity_id}", 2, decided,
                            f'{{"activity_id":"{activity_id}","nip":"{nip}","approver_nip":"{approver}",'
                            f'"approved_minutes":{minutes}}}'))
                    else:
                        emit(_envelope(
                            rng, "ActivityRejected", "worklog", f"activity:{activity_id}", 2, decided,
                            f'{{"activity_id":"{activity_id}","nip":"{nip}","approver_nip":"{approver}",'
                            f'"reason":"bukti kurang"}}'))
            for r, relation in enumerate(("superior", "peer", "subordinate")):
                rater = nips[(i + r + 1) % len(nips)]
                scores = ",".join(f'"{n}":{rng.randint(3, 5)}' for n in (
                    "berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal",
                    "adaptif", "kolaboratif"))
                emit(_envelope(rng, "RatingGiven", "appraisal", f"employee:{nip}", 100 + r,
                               "2026-10-28T10:00:00+07:00",
                               f'{{"rater_nip":"{rater}","ratee_nip":"{nip}","period":"{PERIOD}",'
                               f'"relation":"{relation}","scores":{{{scores}}}}}'))
            for k in range(2):
                ikp_id = f"ikp-{nip}-{k}"
                emit(_envelope(rng, "IKPAssigned", "appraisal", f"ikp:{ikp_id}", 1,
                               "2026-10-02T10:00:00+07:00",
                               f'{{"ikp_id":"{ikp_id}","assigner_nip":"{nips[0]}","assignee_nip":"{nip}",'
                               f'"period":"{PERIOD}","title":"Instruksi","due_date":"2026-10-23"}}'))
                if k == 0:
                    emit(_envelope(rng, "IKPCompleted", "appraisal", f"ikp:{ikp_id}", 2,
                                   "2026-10-22T10:00:00+07:00",
                                   f'{{"ikp_id":"{ikp_id}","assignee_nip":"{nip}","verified_by_nip":"{nips[0]}",'
                                   f'"completed_at":"2026-10-22T10:00:00+07:00"}}'))
            if i % 10 == 0:
                emit(_envelope(rng, "LeaveRecorded", "attendance", stream, 500, "2026-10-01T08:00:00+07:00",
                               f'{{"leave_id":"leave-{nip}","nip":"{nip}","kind":"annual",'
                               f'"start_date":"2026-10-12","end_date":"2026-10-14"}}'))
            if lines >= target:
                break
    return lines


def measure(mode: str, path: str) -> dict:
    """Run one measurement in this process (called in a fresh subprocess)."""
    import resource

    started = time.perf_counter()
    if mode == "json":
        count = 0
        loads = json.loads
        with open(path, "rb") as stream:
            for line in stream:
                loads(line)
                count += 1
        employees = None
    else:
        from kinerja_payroll.offline import compute_file
        from kinerja_payroll.rules import load_default_rules

        results = compute_file(path, PERIOD, load_default_rules())
        employees = len(results)
        count = None
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mib": peak_kib / 1024, "employees": employees, "count": count}


def _run_measure(mode: str, path: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--measure", mode, path],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"measurement {mode!r} failed:\n{done.stderr}", file=sys.stderr)
        return {"seconds": float("nan"), "peak_mib": float("nan"), "employees": None}
    return json.loads(done.stdout)


def _runs(path: str, runs: int) -> tuple[list[dict], list[dict]]:
    """`runs` measurements of each mode, alternating (a), (b), (a), (b), …; each run printed."""
    baseline, full = [], []
    for i in range(1, runs + 1):
        for mode, into in (("json", baseline), ("full", full)):
            run = _run_measure(mode, path)
            into.append(run)
            print(f"  run {i} {mode:<4}: {run['seconds']:6.2f} s, peak RSS {run['peak_mib']:,.0f} MiB",
                  flush=True)
    return baseline, full


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="at least this many events")
    parser.add_argument("--runs", type=int, default=5, help="measurements of each mode (median)")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--keep", help="also keep the generated history at this path")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or os.path.join(tmp, "history.jsonl")
        started = time.perf_counter()
        n = generate(path, args.events)
        size = os.path.getsize(path)
        print(f"generated {n:,} events ({size / 2**20:,.0f} MiB) in {time.perf_counter() - started:.1f} s")
        baseline, full = _runs(path, max(1, args.runs))
    base_s, full_s = _median(baseline, "seconds"), _median(full, "seconds")
    peak = max(run["peak_mib"] for run in full)
    results = full[-1]["employees"] or 0
    print(f"medians of {len(full)} run(s) each:")
    print(f"(a) json.loads baseline : {n / base_s:>12,.0f} events/s "
          f"({base_s:.2f} s, peak RSS {_median(baseline, 'peak_mib'):,.0f} MiB)")
    print(f"(b) offline compute     : {n / full_s:>12,.0f} events/s "
          f"({full_s:.2f} s, peak RSS {_median(full, 'peak_mib'):,.0f} MiB, {results:,} results)")
    ratios = ", ".join(f"{f['seconds'] / b['seconds']:.2f}" for b, f in zip(baseline, full))
    print(f"ratio (b)/(a) time      : {full_s / base_s:.2f}×  (ratio of medians; per run {ratios}; "
          f"target ≤ 2×)")
    best_base = min(run["seconds"] for run in baseline)
    best_full = min(run["seconds"] for run in full)
    print(f"ratio (b)/(a) best runs : {best_full / best_base:.2f}×  "
          f"({best_full:.2f} s / {best_base:.2f} s)")
    print(f"peak memory (b)         : {peak:,.0f} MiB  (highest run; target < 1024 MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
