"""Benchmark the progress summary (and the write path) over a year of daily history.

Run: python bench/bench_summary.py [REPEATS]   (default 2000; takes a few seconds)

Builds the history a daily user has after 430 days (one run a day; older months folded into
totals), and a heavy user's (four runs a day, capped at MAX_RUNS runs), then times in-process:
  1. summarize(view, now, period) for this_week / last_week / this_month, America/Los_Angeles,
     over the view storage loads for it: the runs since window_start(now) and the months;
  2. note() on a request's view + join_runs() with the stored record, what a recorded
     AudioPlayer event costs on a write (storage joins one run record, whatever the history).
Prints median and p99 wall time per call and the ratio of each to the 5 ms budget.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from skill.core import player, progress
from skill.core.player import PlaybackState, Program

BUDGET_MS = 5.0
PROGRAM = Program("upper-back", (60_000, 120_000, 90_000, 180_000, 90_000, 60_000))
AREAS = ("upper back", "calves", "neck", "feet")
NOW = datetime(2026, 3, 4, 19, 30, tzinfo=UTC)


def history(days: int, per_day: int) -> dict:
    """Return the merged document of `per_day` complete runs a day for `days` days up to NOW."""
    doc: dict = {"v": 1, "epoch": 0, "runs": {}, "totals": {}}
    for day in range(days, 0, -1):
        for n in range(per_day):
            started = NOW - timedelta(days=day, hours=6 * n)
            rec = progress.RunRecord(
                run_id=f"amzn1-run-{day:04d}-{n}-0f8c2d4e-9a7b-4c1d-8e2f-{day:06d}",
                routine_id="upper-back", area=AREAS[(day + n) % len(AREAS)],
                started_at=progress._iso(started),
                updated_at=progress._iso(started + timedelta(minutes=10)),
                ended_at=progress._iso(started + timedelta(minutes=10)),
                seconds_guided=600 - (day % 7) * 20, tracks_completed=6, tracks_skipped=day % 2,
                track_count=6, outcome="completed" if day % 5 else "stopped_early",
            )
            doc["runs"][rec.run_id] = rec.to_dict()
    return progress._fold(doc, NOW)


def timed(call: Callable[[], object], repeats: int) -> list[float]:
    for _ in range(min(50, repeats)):
        call()  # warm up caches (zoneinfo, the interpreter's)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    median = statistics.median(times)
    p99 = statistics.quantiles(times, n=100)[98]
    print(
        f"  {label:<34} median {median:6.3f} ms ({median / BUDGET_MS:5.3f} x 5 ms)   "
        f"p99 {p99:6.3f} ms ({p99 / BUDGET_MS:5.3f} x 5 ms)"
    )


def main(repeats: int) -> None:
    zone = ZoneInfo("America/Los_Angeles")
    now = NOW.astimezone(zone)
    for name, doc in (("daily user, 430 days", history(430, 1)), ("heavy user, 4 a day", history(250, 4))):
        size = len(json.dumps(doc))
        since = progress.window_start(now)
        view = {**doc, "runs": {k: r for k, r in doc["runs"].items() if r["started_at"] >= since}}
        print(f"{name}: {len(doc['runs'])} runs kept, {len(doc['totals'])} months folded, {size / 1000:.0f} KB JSON; "
              f"a summary reads {len(view['runs'])} runs")
        for period in progress.PERIODS:
            report(f"summarize {period}", timed(lambda p=period, d=view: progress.summarize(d, now, p, True), repeats))

        state = player.start(PlaybackState(), PROGRAM, "bench-run").state
        transition = player.finished(state, PROGRAM, state.token)
        empty = {"v": 1, "epoch": 0, "runs": {}, "totals": {}, "playback": state.to_dict()}
        stored_run = progress.note(empty, player.start(PlaybackState(), PROGRAM, "bench-run"), PROGRAM, "calves",
                                   NOW)["runs"]["bench-run"]

        def write(transition: player.Transition = transition, stored_run: dict = stored_run,
                  empty: dict = empty) -> dict:
            incoming = progress.note(empty, transition, PROGRAM, "calves", NOW)["runs"]["bench-run"]
            return progress.join_runs(stored_run, incoming)

        report("note + join_runs (a write)", timed(write, repeats))
    print(f"Python {sys.version.split()[0]}, {repeats} calls each; budget {BUDGET_MS} ms per summary")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
