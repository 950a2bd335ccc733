"""Summarize a period of a user's history in their local days.

Reads a history view (the runs of the window a summary needs, and the folded months), never
the whole history: `WINDOW_DAYS` bounds what storage has to load.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from skill.core.progress.merge import _document, _readable
from skill.core.progress.records import (
    ABANDON_AFTER,
    ABANDONED,
    COMPLETED,
    FEELINGS,
    IN_PROGRESS,
    PERIODS,
    REST_AFTER_DAYS,
    REVISIT_AFTER_DAYS,
    STOPPED_EARLY,
    _count,
    _effective_outcome,
    _is_canonical,
    _is_session,
    _iso,
    _whole,
)

# --- Summaries ---------------------------------------------------------------------------

class Nudge(NamedTuple):
    """One suggestion drawn from the history: rest an area, or come back to one."""

    kind: str  # "rest" | "revisit"
    area: str
    days: int | None  # rest: days in a row; revisit: days since (None: before kept history)


class Felt(NamedTuple):
    """How one area felt after the period's sessions, as the person told the check-in."""

    area: str
    told: int  # sessions of the period with an answer
    better: int = 0
    same: int = 0
    sore: int = 0


class Day(NamedTuple):
    """The guided time of one local day of the period (a screen draws it as a bar)."""

    day: date
    seconds: int = 0


class Summary(NamedTuple):
    """What one period amounted to, counted in the user's local days.

    `seconds` are guided seconds as recorded, not the routines' declared lengths. The
    `previous_*` fields describe the whole period before (all of last week, even when this
    week has only begun). A run counts once it is under way or finished, or once it guided
    `MIN_SESSION_SECONDS`; shorter runs that ended early are false starts.
    """

    period: str
    tz_known: bool
    first_time: bool
    sessions: int
    seconds: int
    completed: int
    stopped_early: int
    abandoned: int
    in_progress: int
    areas: tuple[str, ...]  # most worked first
    days_active: int
    streak_days: int
    previous_sessions: int
    previous_seconds: int
    nudge: Nudge | None = None
    unreadable: int = 0
    felt: tuple[Felt, ...] = ()  # areas with check-in answers, most answers first
    days: tuple[Day, ...] = ()  # every local day of the period, first to last, days to come too

    @property
    def minutes(self) -> int:
        """Return the guided time in whole minutes, rounded to the nearest."""
        return (self.seconds + 30) // 60

    @property
    def previous_minutes(self) -> int:
        """Return the previous period's guided time in whole minutes, rounded to the nearest."""
        return (self.previous_seconds + 30) // 60


def _period_days(period: str, today: date) -> tuple[date, date, date]:
    """Return the start of the previous period, and the start and end of this one."""
    if period in ("this_week", "last_week"):
        monday = today - timedelta(days=today.weekday())
        if period == "last_week":
            monday -= timedelta(days=7)
        return monday - timedelta(days=7), monday, monday + timedelta(days=7)
    first = today.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return previous, first, following


def _run_of_days(days: set[date], last: date) -> int:
    count = 0
    while last - timedelta(days=count) in days:
        count += 1
    return count


def _nudge(
    area_days: dict[str, set[date]], folded_areas: dict[str, int], today: date
) -> Nudge | None:
    yesterday = today - timedelta(days=1)
    rest = [
        (max(_run_of_days(days, today), _run_of_days(days, yesterday)), area)
        for area, days in area_days.items()
    ]
    rest = [(n, area) for n, area in rest if n >= REST_AFTER_DAYS]
    if rest:
        n, area = min(rest, key=lambda item: (-item[0], item[1]))
        return Nudge("rest", area, n)
    worked = {area: len(days) for area, days in area_days.items()}
    for area, sessions in folded_areas.items():
        worked[area] = worked.get(area, 0) + sessions
    idle = []
    for area, sessions in worked.items():
        days = area_days.get(area)
        since = (today - max(days)).days if days else None
        if since is None or since >= REVISIT_AFTER_DAYS:
            idle.append((sessions, area, since))
    if not idle:
        return None
    sessions, area, since = min(idle, key=lambda item: (-item[0], item[1]))
    return Nudge("revisit", area, since)


WINDOW_DAYS = 62  # the longest a summary looks back: this month and last, and the streak


def window_start(now: datetime) -> str:
    """Return the earliest run start (canonical UTC text) any summary at `now` reads.

    A day of margin on either side of the local dates keeps every time zone's weeks whole;
    the streak and the rest/revisit nudges look back no further than this either.
    """
    return _iso(now - timedelta(days=WINDOW_DAYS + 1))


def summarize(
    doc: dict[str, Any] | None, now: datetime, period: str, tz_known: bool,
    playing: frozenset[str] | None = None,
) -> Summary:
    """Summarize a period of the user's history, counting days in the zone of `now`.

    `now` must be aware and in the user's zone: weeks run Monday to Sunday there, so a run
    at 23:30 on a local Sunday belongs to that week whatever the UTC date. `doc` is a history
    view: the runs since `window_start(now)` (more do no harm) and the folded months.
    `playing` names the runs some device is playing or has paused; a run recorded in
    progress that no device holds any more (its end was never saved) counts as abandoned,
    never as still under way. None means "unknown": trust the records. Raise ValueError
    if the document as a whole cannot be read; single unreadable runs are left out and
    counted in `Summary.unreadable`.
    """
    if period not in PERIODS:
        raise ValueError(f"Period {period!r} is not known; use one of {', '.join(PERIODS)}.")
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ValueError(f"now={now!r} has no time zone; pass the user's local time.")
    checked = _document(doc)
    zone, today = now.tzinfo, now.date()
    before, start, end = _period_days(period, today)
    stale_before = _iso(now - ABANDON_AFTER)

    counts = {COMPLETED: 0, STOPPED_EARLY: 0, ABANDONED: 0, IN_PROGRESS: 0}
    sessions = seconds = previous_sessions = previous_seconds = unreadable = 0
    area_counts: dict[str, int] = {}
    active: set[date] = set()
    all_days: set[date] = set()
    area_days: dict[str, set[date]] = {}
    area_felt: dict[str, dict[str, int]] = {}
    day_seconds: dict[date, int] = {}
    for run_id, raw in checked["runs"].items():
        if isinstance(raw, dict) and raw.get("run_id") == run_id and _is_canonical(raw):
            view = raw  # read in place: this loop runs over every run on every summary
        else:
            record = _readable(raw, run_id)
            if record is None:
                unreadable += 1
                continue
            view = record.to_dict()
        area, run_seconds = view["area"], view["seconds_guided"]
        outcome = _effective_outcome(view["outcome"], view["updated_at"], stale_before)
        if outcome == IN_PROGRESS and playing is not None and run_id not in playing:
            outcome = ABANDONED
        if not _is_session(outcome, run_seconds):
            continue
        day = datetime.fromisoformat(view["started_at"]).astimezone(zone).date()
        all_days.add(day)
        area_days.setdefault(area, set()).add(day)
        if start <= day < end:
            sessions += 1
            seconds += run_seconds
            counts[outcome] += 1
            area_counts[area] = area_counts.get(area, 0) + 1
            active.add(day)
            day_seconds[day] = day_seconds.get(day, 0) + run_seconds
            feeling = view.get("feeling")
            if feeling in FEELINGS:
                felt = area_felt.setdefault(area, {word: 0 for word in FEELINGS})
                felt[feeling] += 1
        elif before <= day < start:
            previous_sessions += 1
            previous_seconds += run_seconds

    folded_areas: dict[str, int] = {}
    folded_sessions = 0
    for bucket in checked["totals"].values():
        try:
            folded_sessions += _count(bucket, "sessions")
            for area, n in bucket.get("areas", {}).items():
                folded_areas[area] = folded_areas.get(area, 0) + _whole(n, "area count")
        except (ValueError, AttributeError, TypeError):
            unreadable += 1

    yesterday = today - timedelta(days=1)
    return Summary(
        period=period,
        tz_known=tz_known,
        first_time=not checked["runs"] and not folded_sessions,
        sessions=sessions,
        seconds=seconds,
        completed=counts[COMPLETED],
        stopped_early=counts[STOPPED_EARLY],
        abandoned=counts[ABANDONED],
        in_progress=counts[IN_PROGRESS],
        areas=tuple(sorted(area_counts, key=lambda a: (-area_counts[a], a))),
        days_active=len(active),
        streak_days=max(_run_of_days(all_days, today), _run_of_days(all_days, yesterday)),
        previous_sessions=previous_sessions,
        previous_seconds=previous_seconds,
        nudge=_nudge(area_days, folded_areas, today),
        unreadable=unreadable,
        felt=tuple(sorted(
            (Felt(area, sum(n.values()), **n) for area, n in area_felt.items()),
            key=lambda f: (-f.told, f.area),
        )),
        days=tuple(Day(start + timedelta(days=n), day_seconds.get(start + timedelta(days=n), 0))
                   for n in range((end - start).days)),
    )
