"""Measure the state targets in one run: cost per request at any history length, bytes
written per AudioPlayer event on both stores, and the 32-user load with and without history.

Run: python bench/bench_state.py [--users 32] [--rounds 9] [--quick]

1. Load (SQLite, the real `trigger-coach serve` process). Before the server starts, its
   folder is seeded with three groups of users: no history, a year (365 daily runs) and three
   years (1095), written as the skill keeps them (a profile, one record per run, months older
   than the kept history folded into month records, as summaries fold them; one user per group
   is seeded through the adapter and its rows copied to the others). In each round every group
   in turn (the order rotated each round and reversed every third, so each group runs first,
   second and third equally often) has `--users` users do
   one whole calves routine at once, with
   bench/load.py's clients, which check every reply. The server's CPU time is read around each
   group; afterwards every user's stored runs are compared with what the clients did.
   Ratios: server CPU per request, three years / none (target <= 1.1; the spread of the
   per-round ratios is printed too); p99 latency, a year /
   none (target <= 1.2); and 0 errors with stored completed runs = completed runs.
2. Bytes per AudioPlayer event (in process, one user, one whole routine, at no history and
   at three years): on SQLite the rows each event changed (their doc and keys, found by
   updated_at); on DynamoDB the items of the PutItem requests, counted by a proxy in front of
   a real dynalite. Target: at most 2048 bytes for every event.
Ends with a `RESULT state key=value ...` line. No thresholds on time; exits 1 on any error.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sqlite3
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tests` and `bench` importable
    sys.path.insert(0, str(ROOT))

from bench.load import (  # noqa: E402
    Mix,
    check_store,
    ensure_audio,
    percentile,
    proc_cpu_seconds,
    result_line,
    run_users,
    user_id_of,
    zone_api,
)
from skill.config import Settings  # noqa: E402
from skill.core import progress  # noqa: E402
from skill.storage import SQLITE_FILE_NAME  # noqa: E402
from skill.storage.dynamodb import DynamoAdapter  # noqa: E402
from skill.storage.records import Changes, RunWrite  # noqa: E402
from skill.storage.sqlite import SQLiteAdapter  # noqa: E402
from tests import alexa  # noqa: E402
from tests.server import TEST_AUDIO_DIR, ProcessServer, ThreadServer  # noqa: E402

GROUPS = {"none": 0, "year": 365, "3years": 1095}
BYTES_TARGET = 2048


def history_writes(days: int, now: datetime) -> list[RunWrite]:
    """Return `days` completed daily runs up to yesterday, as run records to write."""
    writes = []
    for day in range(days, 0, -1):
        started = now - timedelta(days=day)
        stamp, ended = progress._iso(started), progress._iso(started + timedelta(minutes=9))
        record = progress.RunRecord(
            run_id=f"seed{day:04d}{uuid.uuid4().hex[:6]}", routine_id="calves", area="calves", started_at=stamp,
            updated_at=ended, ended_at=ended, seconds_guided=540, tracks_completed=15, tracks_skipped=0,
            track_count=15, outcome=progress.COMPLETED)
        writes.append(RunWrite(record.to_dict(), "seed-device"))
    return writes


def seed(store: SQLiteAdapter | DynamoAdapter, user_ids: list[str], days: int) -> dict[str, set[str]]:
    """Give each user `days` of daily history as the skill keeps it; return their run ids.

    Months older than the kept history are folded into month records, as summaries fold
    them: the steady state of a user after `days` of daily use.
    """
    now = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    profile = {"v": progress.VERSION, "epoch": 0, "layout": progress.LAYOUT, "last_routine": "calves"}
    cutoff = progress.fold_before(now)
    seeded = {}
    for user_id in user_ids:
        writes = history_writes(days, now)
        store.save(user_id, Changes("seed-device", now, profile=profile, runs=writes))
        while store.fold(user_id, cutoff, 0, lambda runs: progress.fold_month(runs, now)):
            pass
        seeded[user_id] = {w.record["run_id"] for w in writes}
    return seeded


def clone(db_path: Path, source: str, targets: list[str]) -> None:
    """Copy every record of user ``source`` to each of ``targets``, row for row (seeding is slow)."""
    with closing(sqlite3.connect(db_path)) as db, db:
        for target in targets:
            db.execute("INSERT INTO users SELECT ?, doc, rev, updated_at FROM users WHERE user_id = ?",
                       (target, source))
            db.execute("INSERT INTO devices SELECT ?, device_id, doc, updated_at FROM devices WHERE user_id = ?",
                       (target, source))
            db.execute("INSERT INTO runs SELECT ?, run_id, started_at, device_id, epoch, open, doc, updated_at "
                       "FROM runs WHERE user_id = ?", (target, source))
            db.execute("INSERT INTO months SELECT ?, month, epoch, doc FROM months WHERE user_id = ?",
                       (target, source))


# --- 1. the load ----------------------------------------------------------------------------

def load_phase(users: int, rounds: int, program) -> dict[str, dict[str, float]]:
    work = Path(tempfile.mkdtemp(prefix="trigger-coach-state-"))
    settings = Settings(audio_dir=TEST_AUDIO_DIR, data_dir=work / "data", verify=False,
                        public_url="https://coach.example.test")
    db_path = settings.data_dir / SQLITE_FILE_NAME
    try:
        store = SQLiteAdapter(db_path)
        seeded: dict[str, set[str]] = {}
        for group, days in GROUPS.items():
            ids = [user_id_of(f"{group}-r{r}", 1, n) for r in range(rounds) for n in range(users)]
            first = seed(store, ids[:1], days)[ids[0]]
            clone(db_path, ids[0], ids[1:])
            seeded |= dict.fromkeys(ids, first)
        figures = {g: {"requests": 0, "cpu": 0.0, "errors": 0, "runs": 0} for g in GROUPS}
        per_round: dict[str, list[float]] = {g: [] for g in GROUPS}
        latencies: dict[str, list[float]] = {g: [] for g in GROUPS}
        all_runs = {}
        with zone_api() as zone_url, ProcessServer(settings, log_path=work / "server.log") as server:
            pid = server.proc.pid
            names = list(GROUPS)
            for r in range(rounds):
                # Rotate the order (and reverse it every other cycle), so that every group runs
                # first, second and third equally often: warming up and drifting load favour none.
                order = names[r % 3:] + names[:r % 3]
                for group in order if (r // 3) % 2 == 0 else order[::-1]:
                    before = proc_cpu_seconds(pid)
                    result = run_users(server.url, program, users=users, seconds=None, max_runs=1, mix=Mix(),
                                       seed=1, zone_url=zone_url, user_prefix=f"{group}-r{r}", hard_seconds=600)
                    spent = proc_cpu_seconds(pid) - before
                    per_round[group].append(spent / max(1, result.requests) * 1000)
                    figures[group]["cpu"] += spent
                    figures[group]["requests"] += result.requests
                    figures[group]["errors"] += len(result.recorder.errors) + result.broken_users
                    figures[group]["runs"] += sum(len(v) for v in result.runs.values())
                    latencies[group] += result.all_latencies()
                    all_runs |= result.runs
                    for line in result.recorder.errors[:3]:
                        print(f"  error ({group}): {line}")
                    print(f"  round {r + 1} {group:<7} {result.requests:>6} requests, "
                          f"p99 {percentile(sorted(result.all_latencies()), 0.99) * 1000:7.1f} ms", flush=True)
        completed, problems = check_store(db_path, all_runs, {u: seeded[u] for u in all_runs})
        for line in problems[:5]:
            print(f"  mismatch: {line}")
        for group in GROUPS:
            values = sorted(latencies[group])
            figures[group]["p99_ms"] = percentile(values, 0.99) * 1000
            figures[group]["p50_ms"] = percentile(values, 0.5) * 1000
            figures[group]["cpu_ms"] = figures[group]["cpu"] / max(1, figures[group]["requests"]) * 1000
        figures["all"] = {"completed": completed, "mismatches": len(problems)}
        ratios = sorted(a / b for a, b in zip(per_round["3years"], per_round["none"], strict=True))
        figures["rounds"] = {"low": ratios[0], "median": statistics.median(ratios), "high": ratios[-1]}
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- 2. bytes per event ---------------------------------------------------------------------

def play_and_measure(url: str, user: str, measure: Callable[[Callable[[], None]], int]) -> list[int]:
    """Play one whole routine; return the bytes written by each AudioPlayer event."""
    _, reply = alexa.post(url, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user))
    token = alexa.play_of(reply)["audioItem"]["stream"]["token"]
    sizes = []
    while token:
        queued = None
        for kind in ("PlaybackStarted", "PlaybackNearlyFinished", "PlaybackFinished"):
            replies: list = []
            sizes.append(measure(lambda k=kind, t=token, out=replies: out.append(
                alexa.post(url, alexa.audio_event(k, t, user=user)))))
            if kind == "PlaybackNearlyFinished":
                queued = alexa.play_of(replies[0][1])
        token = queued["audioItem"]["stream"]["token"] if queued else None
    return sizes


def sqlite_bytes(days: int) -> list[int]:
    from skill.hosting.web import create_app

    work = Path(tempfile.mkdtemp(prefix="trigger-coach-bytes-"))
    try:
        settings = Settings(audio_dir=TEST_AUDIO_DIR, data_dir=work / "data", verify=False,
                            public_url="https://coach.example.test")
        db_path = settings.data_dir / SQLITE_FILE_NAME
        adapter = SQLiteAdapter(db_path)
        user = "amzn1.ask.account.BYTES"
        seed(adapter, [user], days)

        def measure(event: Callable[[], None]) -> int:
            mark = datetime.now(UTC).isoformat(timespec="milliseconds")
            event()
            with closing(sqlite3.connect(db_path)) as db:
                return sum(db.execute(
                    f"SELECT COALESCE(SUM(length(CAST(doc AS BLOB)) + length(user_id) + {extra}), 0) "
                    f"FROM {table} WHERE updated_at >= ?", (mark,)).fetchone()[0]
                    for table, extra in (("users", "0"), ("devices", "length(device_id)"),
                                         ("runs", "length(run_id) + length(started_at)")))

        with ThreadServer(create_app(settings, adapter=adapter)) as server:
            return play_and_measure(server.url + "/", user, measure)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def dynamodb_bytes(days: int) -> list[int] | None:
    from skill.hosting.web import create_app
    from tests.integration.dynalite_server import DynaliteError, DynaliteServer
    from tests.integration.dynamo_faults import faulty_dynamodb

    try:
        dynalite = DynaliteServer().start()
    except DynaliteError as exc:
        print(f"  dynalite is not available ({exc}); skipping the DynamoDB figures")
        return None
    try:
        with faulty_dynamodb(dynalite.endpoint_url) as (proxy, counter):
            adapter = DynamoAdapter(f"bench-{uuid.uuid4().hex[:8]}", endpoint_url=proxy, create_table=True)
            user = "amzn1.ask.account.BYTES"
            seed(adapter, [user], days)
            settings = Settings(audio_dir=TEST_AUDIO_DIR, data_dir=Path(tempfile.gettempdir()), verify=False,
                                public_url="https://coach.example.test")

            def measure(event: Callable[[], None]) -> int:
                before = len(counter.item_bytes)
                event()
                return sum(counter.item_bytes[before:])

            with ThreadServer(create_app(settings, adapter=adapter)) as server:
                return play_and_measure(server.url + "/", user, measure)
    finally:
        dynalite.stop()


def main(argv: list[str] | None = None) -> int:
    """Run both parts, print the figures and ratios, return 1 on any error or mismatch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=32, help="users per group and round (default 32)")
    parser.add_argument("--rounds", type=int, default=9, help="rounds over the three groups (default 9)")
    parser.add_argument("--quick", action="store_true", help="8 users, 2 rounds (a smoke test)")
    args = parser.parse_args(argv)
    users, rounds = (8, 2) if args.quick else (args.users, args.rounds)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the in-process servers' access log
    program = ensure_audio()

    print(f"1. Load: {users} users per group at once, {rounds} round(s); groups: "
          + ", ".join(f"{g} ({d} days)" for g, d in GROUPS.items()), flush=True)
    load = load_phase(users, rounds, program)
    for group in GROUPS:
        f = load[group]
        print(f"  {group:<7} {int(f['requests']):>6} requests, {int(f['errors'])} errors, p50 {f['p50_ms']:6.1f} ms, "
              f"p99 {f['p99_ms']:6.1f} ms, server CPU {f['cpu_ms']:.3f} ms/request")
    cpu_ratio = load["3years"]["cpu_ms"] / load["none"]["cpu_ms"]
    p99_ratio = load["year"]["p99_ms"] / load["none"]["p99_ms"]
    errors = int(sum(load[g]["errors"] for g in GROUPS))
    runs = int(sum(load[g]["runs"] for g in GROUPS))
    spread = load["rounds"]
    print(f"  server CPU per request, three years / none = {cpu_ratio:.3f}  (target <= 1.1; per round "
          f"{spread['low']:.3f} .. {spread['high']:.3f}, median {spread['median']:.3f})")
    print(f"  p99 latency, a year / none                  = {p99_ratio:.3f}  (target <= 1.2)")
    print(f"  runs done {runs}, stored completed {load['all']['completed']}, mismatches {load['all']['mismatches']}, "
          f"errors {errors}")

    print("2. Bytes written per AudioPlayer event (one whole routine)", flush=True)
    sizes: dict[str, int] = {}
    for store, measure in (("sqlite", sqlite_bytes), ("dynamodb", dynamodb_bytes)):
        for label, days in (("none", 0), ("3years", 1095)):
            got = measure(days)
            if got is None:
                continue
            sizes[f"{store}_{label}"] = max(got)
            print(f"  {store:<8} {label:<7} max {max(got):5d} B, mean {statistics.mean(got):7.1f} B over "
                  f"{len(got)} events  (max / 2048 B = {max(got) / BYTES_TARGET:.3f})")
    bytes_max = max(sizes.values())
    ok = (errors == 0 and load["all"]["mismatches"] == 0 and load["all"]["completed"] == runs and runs > 0
          and len(sizes) == 4)
    print(("OK" if ok else "FAILED") + ": every reply valid, stored runs equal completed runs")
    print(result_line("state", users=users, rounds=rounds, cpu_ms_none=round(load["none"]["cpu_ms"], 3),
                      cpu_ms_3years=round(load["3years"]["cpu_ms"], 3), cpu_ratio=round(cpu_ratio, 3),
                      cpu_ratio_low=round(spread["low"], 3), cpu_ratio_median=round(spread["median"], 3),
                      cpu_ratio_high=round(spread["high"], 3),
                      p99_ms_none=round(load["none"]["p99_ms"], 2), p99_ms_year=round(load["year"]["p99_ms"], 2),
                      p99_ratio=round(p99_ratio, 3), errors=errors, runs=runs,
                      stored_completed=load["all"]["completed"], mismatches=load["all"]["mismatches"],
                      bytes_max=bytes_max, **{f"bytes_{k}": v for k, v in sizes.items()}, ok=int(ok)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
