"""Ask how a finished run felt, and use the answers: the check-in rules (issue 12, item 5).

At the next launch after a completed run (within `CHECK_IN_DAYS`), the coach asks once how
that area felt: better, the same, or sore. The question is marked on the run (`ASKED`)
before it is spoken, so it is never asked twice; the answer (or `SKIPPED`) is stored on the
same run record and joins like every other field (`RunRecord.join`: an answer beats a bare
"asked" or "skipped", and between two answers the later one wins).

Everything here reads run records as storage returns them (plain dicts) and never the whole
history: a check-in needs the last few days, "sore twice in a row" the summary window.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from skill.core.progress.records import (
    ABANDON_AFTER,
    ASKED,
    COMPLETED,
    FEELINGS,
    REST_AFTER_DAYS,
    SKIPPED,
    RunRecord,
    _effective_outcome,
    _is_session,
    _iso,
    _utc,
)

CHECK_IN_DAYS = 3  # ask about a run that ended no longer ago than this
SORE_REST_DAYS = 2  # "rest it a day or two": after a sore answer, offer other areas this long
SORE_IN_A_ROW = 2  # this many sore answers in a row for one area: check with a clinician


class Answer(NamedTuple):
    """What a check-in answer amounted to, for the coach to say."""

    record: RunRecord  # the run with the answer on it, to store
    feeling: str  # one of FEELINGS, or SKIPPED
    see_clinician: bool  # sore after the last SORE_IN_A_ROW answered runs of this area


def _records(runs: Iterable[Any]) -> list[RunRecord]:
    """Return the readable records among stored runs or records (unreadable ones are left out)."""
    out = []
    for raw in runs:
        if isinstance(raw, RunRecord):
            out.append(raw)
            continue
        try:
            out.append(RunRecord.from_dict(raw))
        except ValueError:
            continue
    return out


def check_in_since(now: datetime) -> str:
    """Return the earliest run end (canonical UTC text) a check-in at `now` may ask about.

    Runs start before they end, so storage loading the runs started since then loads
    every run a check-in may ask about.
    """
    return _iso(_utc(now) - timedelta(days=CHECK_IN_DAYS))


def recent_since(now: datetime) -> str:
    """Return the earliest run start (canonical UTC text) a launch at `now` needs to see.

    That covers the runs a check-in may ask about and those answered "sore" lately (answered
    within `CHECK_IN_DAYS` of ending, sore for `SORE_REST_DAYS` after), with a day to spare.
    """
    return _iso(_utc(now) - timedelta(days=CHECK_IN_DAYS + SORE_REST_DAYS + 1))


def find_run(runs: Iterable[Any], run_id: str | None) -> RunRecord | None:
    """Return the readable record of `run_id` among stored runs, or None."""
    return next((r for r in _records(runs) if r.run_id == run_id), None)


def due_check_in(runs: Iterable[Any], now: datetime) -> RunRecord | None:
    """Return the run to ask "how did it feel" about at a launch at `now`, or None.

    That is the run completed most recently, if it ended within `CHECK_IN_DAYS` and nobody
    has been asked about it yet. An older completed run is never asked about once a newer
    one exists: the question is about the last session, not a backlog.
    """
    done = [r for r in _records(runs) if r.outcome == COMPLETED and r.ended_at is not None]
    if not done:
        return None
    last = max(done, key=lambda r: (r.ended_at or "", r.run_id))
    if (last.ended_at or "") < check_in_since(now) or last.feeling is not None:
        return None
    return last


def mark_asked(record: RunRecord, now: datetime) -> RunRecord:
    """Return the run marked as asked about, so no later launch asks again."""
    return record.join(record._replace(feeling=ASKED, felt_at=_iso(_utc(now))))


def answerable(record: RunRecord | None, now: datetime) -> bool:
    """Return whether an answer at `now` may still be stored on this run.

    Only a completed run that ended within `CHECK_IN_DAYS` and whose question was asked
    (in this session: the caller knows which run it asked about) takes an answer.
    """
    return (
        record is not None
        and record.outcome == COMPLETED
        and record.feeling is not None
        and (record.ended_at or "") >= check_in_since(now)
    )


def answer(record: RunRecord, feeling: str, runs: Iterable[Any], now: datetime) -> Answer:
    """Store `feeling` (one of FEELINGS, or SKIPPED) on the run, and say what follows from it.

    `runs` are the user's recent stored runs (the summary window is plenty); with this answer
    they decide whether the area has been sore after `SORE_IN_A_ROW` answered runs in a row.
    Raise ValueError if `feeling` is not an answer.
    """
    if feeling not in (*FEELINGS, SKIPPED):
        raise ValueError(
            f"Feeling {feeling!r} is not a check-in answer; use one of "
            f"{', '.join((*FEELINGS, SKIPPED))}."
        )
    answered = record.join(record._replace(feeling=feeling, felt_at=_iso(_utc(now))))
    others = [r for r in _records(runs) if r.run_id != record.run_id]
    return Answer(answered, feeling, feeling == "sore" and sore_in_a_row([*others, answered], record.area))


def sore_in_a_row(runs: Iterable[Any], area: str) -> bool:
    """Return whether the last `SORE_IN_A_ROW` answered runs of `area` were all sore.

    Runs nobody answered about (never asked, asked without an answer, skipped) are passed
    over: they say nothing either way, so "sore, skipped, sore" is sore twice in a row.
    """
    told = sorted(
        (r for r in _records(runs) if r.area == area and r.feeling in FEELINGS),
        key=lambda r: (r.ended_at or r.started_at, r.run_id),
    )
    last = told[-SORE_IN_A_ROW:]
    return len(last) == SORE_IN_A_ROW and all(r.feeling == "sore" for r in last)


def resting_areas(runs: Iterable[Any], now: datetime) -> frozenset[str]:
    """Return the areas to leave alone for now: told "sore" within `SORE_REST_DAYS`.

    Only an area's latest answer counts, so "better" after "sore" lifts the rest.
    """
    since = _iso(_utc(now) - timedelta(days=SORE_REST_DAYS))
    latest: dict[str, RunRecord] = {}
    for record in _records(runs):
        if record.feeling in FEELINGS:
            held = latest.get(record.area)
            if held is None or (record.felt_at or "") > (held.felt_at or ""):
                latest[record.area] = record
    return frozenset(
        area for area, r in latest.items() if r.feeling == "sore" and (r.felt_at or "") >= since
    )


def days_running(runs: Iterable[Any], area: str, now: datetime, zone: tzinfo) -> int:
    """Return on how many days in a row `area` will have been worked if a run starts at `now`.

    Days are the user's local days in `zone`; today counts (the run about to start), and
    so does every run that made a session (see `Summary`), not false starts.
    """
    stale_before = _iso(_utc(now) - ABANDON_AFTER)
    days: set[date] = {now.astimezone(zone).date()}
    for record in _records(runs):
        outcome = _effective_outcome(record.outcome, record.updated_at, stale_before)
        if record.area == area and _is_session(outcome, record.seconds_guided):
            days.add(datetime.fromisoformat(record.started_at).astimezone(zone).date())
    today, count = now.astimezone(zone).date(), 0
    while today - timedelta(days=count) in days:
        count += 1
    return count


def needs_rest(runs: Iterable[Any], area: str, now: datetime, zone: tzinfo) -> bool:
    """Return whether starting `area` at `now` makes `REST_AFTER_DAYS` days running or more."""
    return days_running(runs, area, now, zone) >= REST_AFTER_DAYS


def rest_since(now: datetime) -> str:
    """Return the earliest run start (canonical UTC text) `needs_rest` at `now` must see.

    A day of margin covers every time zone.
    """
    return _iso(_utc(now) - timedelta(days=REST_AFTER_DAYS + 1))


def another_area(candidates: Iterable[tuple[str, str]], avoid: Iterable[str]) -> str | None:
    """Return the first routine id among (id, area) candidates whose area is not to avoid."""
    skip = set(avoid)
    return next((routine_id for routine_id, area in candidates if area not in skip), None)
