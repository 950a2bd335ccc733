"""Record each run of a routine, merge a user's history safely, and summarize it.

Pure functions over one JSON document per user (plain JSON types only)::

    {"v": 1, "epoch": 0,
     "playback": PlaybackState.to_dict(),
     "last_routine": "upper-back",
     "runs": {run_id: RunRecord.to_dict()},
     "totals": {"2024-03": {"sessions": 9, "seconds": 4860, "completed": 8,
                            "stopped_early": 1, "abandoned": 0, "areas": {"calves": 9}}}}

Storage writes with an atomic read-merge-write through `merge_documents`. Recording is a
join (a least upper bound): a run's record only grows (seconds, tracks, later timestamps,
a stronger outcome), so a duplicated, reordered or retried event, or two devices writing at
once, can never count a run twice or lose one. `playback` and `last_routine` are simply the
last writer's.

History stays bounded: once a whole UTC month lies more than `HISTORY_DAYS` ago (or the
document holds more than `MAX_RUNS` runs and the month is older than `KEEP_DAYS`), its runs
are folded into one bucket under `totals` and the month is sealed. A sealed bucket is never
added to again: a run of a sealed month that turns up later (from a stale copy) is dropped,
because the bucket already counted it. That relies on a run's `started_at` never changing,
which holds because only the request that starts a run creates its record.

`forget` raises `epoch`; a higher epoch's history replaces a lower one's wholesale, so a
write that began before the user said "forget my history" cannot bring the history back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from skill.core.player import Activity, Outcome, RunEnded, RunStarted

if TYPE_CHECKING:
    from skill.core.player import PlaybackState, Program, Transition

VERSION = 1
HISTORY_DAYS = 400
KEEP_DAYS = 62  # never fold what a summary or its comparison may still need
MAX_RUNS = 600
ABANDON_AFTER = timedelta(hours=12)
MIN_SESSION_SECONDS = 30  # a run stopped before this is a false start, not a session
REST_AFTER_DAYS = 3
REVISIT_AFTER_DAYS = 14
PERIODS = ("this_week", "last_week", "this_month")

IN_PROGRESS = "in_progress"
ABANDONED = Outcome.ABANDONED.value
STOPPED_EARLY = Outcome.STOPPED_EARLY.value
COMPLETED = Outcome.COMPLETED.value
# Precedence of outcomes when two copies of a record disagree: the later word wins.
_RANK = {IN_PROGRESS: 0, ABANDONED: 1, STOPPED_EARLY: 2, COMPLETED: 3}
_FIELDS = (
    "run_id", "routine_id", "area", "started_at", "updated_at", "ended_at", "seconds_guided",
    "tracks_completed", "tracks_skipped", "track_count", "outcome",
)
_BUCKET_COUNTS = ("sessions", "seconds", "completed", "stopped_early", "abandoned")


# --- Time --------------------------------------------------------------------------------

def _utc(moment: datetime, what: str = "now") -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"{what}={moment!r} has no time zone; pass an aware datetime.")
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    """Format as canonical UTC text, so comparing the strings compares the moments."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: Any, what: str) -> datetime:
    if not isinstance(text, str):
        raise ValueError(f"{what} {text!r} is not an ISO-8601 time.")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not an ISO-8601 time.") from None
    if moment.tzinfo is None:
        raise ValueError(f"{what} {text!r} has no time zone; store times in UTC with a Z.")
    return moment.astimezone(UTC)


def _canonical_time(text: Any, what: str) -> str:
    """Return stored time text in canonical UTC form, checking that it is a real time."""
    if isinstance(text, str) and len(text) == 20 and text[-1] == "Z" and text[10] == "T":
        try:
            datetime.fromisoformat(text)  # checks the date is real; it is canonical already
            return text
        except ValueError:
            pass
    return _iso(_parse_iso(text, what))


def _month(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _month_end(month: str) -> datetime:
    year, mon = int(month[:4]), int(month[5:7])
    return datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UTC)


# --- One run -----------------------------------------------------------------------------

def _whole(value: Any, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # some stores hand back 3.0 for 3
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} {value!r} is not a whole number of zero or more.")
    return value


def _count(data: dict[str, Any], key: str) -> int:
    return _whole(data.get(key), key)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValueError(f"{key} {value!r} is not a short non-empty text.")
    return value


@dataclass(frozen=True)
class RunRecord:
    """What one run of a routine amounted to; every field only ever grows."""

    run_id: str
    routine_id: str
    area: str
    started_at: str
    updated_at: str
    ended_at: str | None
    seconds_guided: int
    tracks_completed: int
    tracks_skipped: int  # tracks skipped at least once (a skipped track may be done later)
    track_count: int
    outcome: str = IN_PROGRESS

    def to_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON types, for the document."""
        return {
            "run_id": self.run_id,
            "routine_id": self.routine_id,
            "area": self.area,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "ended_at": self.ended_at,
            "seconds_guided": self.seconds_guided,
            "tracks_completed": self.tracks_completed,
            "tracks_skipped": self.tracks_skipped,
            "track_count": self.track_count,
            "outcome": self.outcome,
        }

    @classmethod
    def from_dict(cls, data: Any) -> RunRecord:
        """Rebuild a record from the document; raise ValueError if it is not one."""
        if not isinstance(data, dict):
            raise ValueError(f"Stored run {data!r} is not a record; expected a JSON object.")
        if _is_canonical(data):
            return cls(**{name: data[name] for name in _FIELDS})
        try:
            ended = data.get("ended_at")
            record = cls(
                run_id=_text(data, "run_id"),
                routine_id=_text(data, "routine_id"),
                area=_text(data, "area"),
                started_at=_canonical_time(data.get("started_at"), "started_at"),
                updated_at=_canonical_time(data.get("updated_at"), "updated_at"),
                ended_at=None if ended is None else _canonical_time(ended, "ended_at"),
                seconds_guided=_count(data, "seconds_guided"),
                tracks_completed=_count(data, "tracks_completed"),
                tracks_skipped=_count(data, "tracks_skipped"),
                track_count=_count(data, "track_count"),
                outcome=data.get("outcome"),
            )
        except ValueError as exc:
            raise ValueError(f"Stored run {data.get('run_id')!r} is not valid: {exc}") from None
        if not isinstance(record.outcome, str) or record.outcome not in _RANK:
            raise ValueError(
                f"Stored run {record.run_id!r} has outcome {record.outcome!r}; "
                f"expected one of {', '.join(_RANK)}."
            )
        return record

    def join(self, other: RunRecord) -> RunRecord:
        """Return the least record that includes both copies of this run (order-free)."""
        if other.run_id != self.run_id:
            raise ValueError(f"Cannot join run {self.run_id!r} with run {other.run_id!r}.")
        ends = [e for e in (self.ended_at, other.ended_at) if e is not None]
        return RunRecord(
            run_id=self.run_id,
            routine_id=max(self.routine_id, other.routine_id),
            area=max(self.area, other.area),
            started_at=min(self.started_at, other.started_at),
            updated_at=max(self.updated_at, other.updated_at),
            ended_at=max(ends) if ends else None,
            seconds_guided=max(self.seconds_guided, other.seconds_guided),
            tracks_completed=max(self.tracks_completed, other.tracks_completed),
            tracks_skipped=max(self.tracks_skipped, other.tracks_skipped),
            track_count=max(self.track_count, other.track_count),
            outcome=max(self.outcome, other.outcome, key=_RANK.__getitem__),
        )


def _is_time(text: Any) -> bool:
    if type(text) is not str or len(text) != 20 or text[10] != "T" or text[19] != "Z":
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_text(value: Any) -> bool:
    return type(value) is str and 0 < len(value) <= 200


def _is_canonical(data: dict[str, Any]) -> bool:
    """Return whether a stored record is exactly as this module writes it (a cheap check).

    Summaries read every run on every request; this spares the common case the careful
    path of `from_dict`, which also builds the error sentences.
    """
    try:
        ended, outcome = data["ended_at"], data["outcome"]
        return (
            _is_text(data["run_id"]) and _is_text(data["routine_id"]) and _is_text(data["area"])
            and type(data["seconds_guided"]) is int and data["seconds_guided"] >= 0
            and type(data["tracks_completed"]) is int and data["tracks_completed"] >= 0
            and type(data["tracks_skipped"]) is int and data["tracks_skipped"] >= 0
            and type(data["track_count"]) is int and data["track_count"] >= 0
            and type(outcome) is str and outcome in _RANK
            and _is_time(data["started_at"]) and _is_time(data["updated_at"])
            and (ended is None or _is_time(ended))
        )
    except KeyError:
        return False


def record_run(
    previous: RunRecord | None,
    state: PlaybackState,
    program: Program,
    area: str,
    now: datetime,
    ended: Outcome | None,
) -> RunRecord:
    """Build or grow the record of the state's run after a transition.

    Seconds guided are the lengths of the completed tracks plus how far into the current
    track playback got; like every other field they never go down.
    """
    if state.run_id is None or state.routine_id != program.routine_id:
        raise ValueError(
            f"Playback state of run {state.run_id!r} (routine {state.routine_id!r}) does not "
            f"belong to routine {program.routine_id!r}; pass the program of the state's routine."
        )
    if previous is not None and previous.run_id != state.run_id:
        raise ValueError(f"Previous record is of run {previous.run_id!r}, not {state.run_id!r}.")
    tracks = range(len(program.track_ms))
    completed = state.completed & frozenset(tracks)
    ms = sum(program.track_ms[i] for i in completed)
    if state.index in tracks and state.index not in completed:
        ms += min(state.offset_ms, program.track_ms[state.index])
    stamp = _iso(_utc(now))
    seen = RunRecord(
        run_id=state.run_id,
        routine_id=program.routine_id,
        area=area,
        started_at=stamp,
        updated_at=stamp,
        ended_at=stamp if ended is not None else None,
        seconds_guided=ms // 1000,
        tracks_completed=len(completed),
        tracks_skipped=len(state.skipped & frozenset(tracks)),
        track_count=len(program.track_ms),
        outcome=ended.value if ended is not None else IN_PROGRESS,
    )
    return seen if previous is None else previous.join(seen)


def _end(previous: RunRecord, outcome: Outcome, now: datetime) -> RunRecord:
    """Close a run that the playback state has already left behind."""
    stamp = _iso(now)
    if (
        outcome is Outcome.STOPPED_EARLY
        and previous.outcome == IN_PROGRESS
        and previous.updated_at < _iso(now - ABANDON_AFTER)
    ):
        # Left paused for days, then replaced by a new run: it was abandoned back then.
        return previous.join(replace(previous, outcome=ABANDONED, ended_at=previous.updated_at))
    return previous.join(replace(previous, outcome=outcome.value, ended_at=stamp, updated_at=stamp))


def _effective_outcome(outcome: str, updated_at: str, stale_before: str) -> str:
    return ABANDONED if outcome == IN_PROGRESS and updated_at < stale_before else outcome


def _is_session(outcome: str, seconds_guided: int) -> bool:
    return outcome in (COMPLETED, IN_PROGRESS) or seconds_guided >= MIN_SESSION_SECONDS


# --- The document ------------------------------------------------------------------------

def _version(doc: Any, role: str) -> dict[str, Any]:
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ValueError(f"The {role} progress document {doc!r:.80} is not a JSON object.")
    version = doc.get("v", VERSION)
    if version != VERSION:
        raise ValueError(
            f"The {role} progress document has version {version!r}; this code reads version "
            f"{VERSION}. Deploy the newer code everywhere before it writes."
        )
    epoch = doc.get("epoch", 0)
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"The {role} progress document has epoch {epoch!r}; expected 0 or more.")
    for key in ("runs", "totals"):
        if not isinstance(doc.get(key, {}), dict):
            raise ValueError(f"The {role} progress document's {key!r} is not a JSON object.")
    return doc


def check_document(doc: Any) -> None:
    """Raise ValueError, saying why, if a stored document is not one this code can read and grow."""
    _version(doc, "stored")


def _document(doc: Any, role: str = "stored") -> dict[str, Any]:
    """Return a checked shallow copy with every part present, ready to change.

    Keys this module does not know (other parts of the skill may keep their own) are kept.
    """
    checked = _version(doc, role)
    return {
        **checked,
        "v": VERSION,
        "epoch": checked.get("epoch", 0),
        "runs": dict(checked.get("runs", {})),
        "totals": dict(checked.get("totals", {})),
    }


def _readable(raw: Any, run_id: str) -> RunRecord | None:
    """Return the stored record of `run_id`, or None if it is missing or unreadable."""
    try:
        record = RunRecord.from_dict(raw)
    except ValueError:
        return None
    return record if record.run_id == run_id else None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


def _join_raw_runs(run_id: str, a: Any, b: Any) -> Any:
    """Join two stored copies of one run; a readable copy beats an unreadable one."""
    if a == b:
        return a
    ra, rb = _readable(a, run_id), _readable(b, run_id)
    if ra is not None and rb is not None:
        return ra.join(rb).to_dict()
    if ra is not None or rb is not None:
        return (ra or rb).to_dict()  # type: ignore[union-attr]
    return max(a, b, key=_canonical)  # keep one unreadable copy, the same one whatever the order


def _bucket_rank(bucket: Any) -> tuple[int, int, str]:
    try:
        return (1, _count(bucket, "sessions"), _canonical(bucket))
    except (ValueError, AttributeError):
        return (0, 0, _canonical(bucket))


def _join_buckets(a: Any, b: Any) -> Any:
    # Both are the same sealed month, counted from the same runs, so normally equal; if not,
    # take one whole (never add them: that would count a run twice).
    return a if a == b else max(a, b, key=_bucket_rank)


def _run_month(raw: Any) -> str | None:
    started = raw.get("started_at") if isinstance(raw, dict) else None
    if isinstance(started, str) and len(started) == 20 and started[-1] == "Z":
        return started[:7]  # canonical, as every record we write is
    try:
        return _month(_parse_iso(raw.get("started_at"), "started_at"))
    except (ValueError, AttributeError):
        return None


def _drop_sealed(doc: dict[str, Any]) -> dict[str, Any]:
    sealed = doc["totals"]
    if sealed:
        doc["runs"] = {
            run_id: raw for run_id, raw in doc["runs"].items() if _run_month(raw) not in sealed
        }
    return doc


def merge_documents(stored: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    """Merge what storage holds with what a request wants to write, losing and doubling nothing.

    History (epoch, runs, totals) is joined: idempotent, commutative and associative, so
    retries, duplicates and concurrent devices all converge. Every other key (`playback`,
    `last_routine`, anything else) is the incoming document's when it has it: the last
    writer wins. Raise ValueError if either document is not a version this code
    understands, rather than overwrite it.
    """
    new = _document(incoming, "incoming")
    if stored is None:
        return _drop_sealed(new)
    old = _document(stored, "stored")
    merged = {**old, **new}
    if old["epoch"] > new["epoch"]:  # written from a read before "forget my history"
        merged.update(epoch=old["epoch"], runs=old["runs"], totals=old["totals"])
    elif old["epoch"] == new["epoch"]:
        runs = old["runs"]
        for run_id, raw in new["runs"].items():
            runs[run_id] = _join_raw_runs(run_id, runs[run_id], raw) if run_id in runs else raw
        totals = old["totals"]
        for month, bucket in new["totals"].items():
            totals[month] = _join_buckets(totals[month], bucket) if month in totals else bucket
        merged.update(runs=runs, totals=totals)
    return _drop_sealed(merged)


def forget(doc: dict[str, Any] | None) -> dict[str, Any]:
    """Return the document with all history cleared; the playback position is kept."""
    epoch = doc.get("epoch", 0) if isinstance(doc, dict) else 0
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        epoch = 0  # an unreadable document is being forgotten anyway
    out: dict[str, Any] = {
        "v": VERSION, "epoch": max(epoch, 0) + 1, "runs": {}, "totals": {}, "last_routine": None,
    }
    if isinstance(doc, dict) and isinstance(doc.get("playback"), dict):
        out["playback"] = doc["playback"]
    return out


def _fold(doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Seal old months into totals, so the document stays bounded (changes `doc` in place)."""
    starts = [
        raw["started_at"] for raw in doc["runs"].values()
        if isinstance(raw, dict) and isinstance(raw.get("started_at"), str)
    ]
    if not starts:
        return doc
    age_cutoff = _month(now - timedelta(days=HISTORY_DAYS))
    if min(starts)[:7] >= age_cutoff and len(doc["runs"]) <= MAX_RUNS:
        return doc  # the common case: nothing old enough, decided without parsing
    by_month: dict[str, list[RunRecord]] = {}
    for run_id, raw in doc["runs"].items():
        record = _readable(raw, run_id)
        if record is not None:
            by_month.setdefault(record.started_at[:7], []).append(record)
    count = len(doc["runs"])
    keep_cutoff = now - timedelta(days=KEEP_DAYS)
    totals = doc["totals"]
    for month in sorted(by_month):
        too_old = _month_end(month) <= now - timedelta(days=HISTORY_DAYS)
        too_many = count > MAX_RUNS and _month_end(month) <= keep_cutoff
        if not (too_old or too_many):
            break
        if month not in totals:  # a sealed month already counted these runs
            totals[month] = _bucket(by_month[month], _iso(now - ABANDON_AFTER))
        count -= len(by_month[month])
    return _drop_sealed(doc)


def _bucket(records: list[RunRecord], stale_before: str) -> dict[str, Any]:
    bucket: dict[str, Any] = {key: 0 for key in _BUCKET_COUNTS}
    areas: dict[str, int] = {}
    for record in records:
        outcome = _effective_outcome(record.outcome, record.updated_at, stale_before)
        if not _is_session(outcome, record.seconds_guided):
            continue
        bucket["sessions"] += 1
        bucket["seconds"] += record.seconds_guided
        if outcome in (COMPLETED, STOPPED_EARLY, ABANDONED):
            bucket[outcome] += 1
        areas[record.area] = areas.get(record.area, 0) + 1
    bucket["areas"] = dict(sorted(areas.items()))
    return bucket


def note(
    doc: dict[str, Any] | None,
    transition: Transition,
    program: Program,
    area: str,
    now: datetime,
) -> dict[str, Any]:
    """Return the document with a transition recorded: its runs, its playback state.

    `program` and `area` are those of the routine of `transition.state`. A transition that
    changes nothing (a stale or duplicate event) leaves the history as it was. Runs whose
    stored records cannot be read are started afresh; the merge prefers readable copies.
    """
    now = _utc(now)
    out = _document(doc)
    state = transition.state
    runs = out["runs"]
    ended_here: Outcome | None = None
    for event in transition.events:
        if isinstance(event, RunEnded) and event.run_id == state.run_id:
            ended_here = event.outcome
        elif isinstance(event, RunEnded):
            previous = _readable(runs.get(event.run_id), event.run_id)
            if previous is not None:  # a run we never recorded has nothing to close
                runs[event.run_id] = _end(previous, event.outcome, now).to_dict()
        elif isinstance(event, RunStarted):
            out["last_routine"] = event.routine_id
    playback = state.to_dict()
    moved = bool(transition.events) or playback != out.get("playback")
    if moved and state.run_id is not None and state.activity is not Activity.IDLE:
        previous = _readable(runs.get(state.run_id), state.run_id)
        runs[state.run_id] = record_run(previous, state, program, area, now, ended_here).to_dict()
    out["playback"] = playback
    return _fold(out, now)


# --- Summaries ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Nudge:
    """One suggestion drawn from the history: rest an area, or come back to one."""

    kind: str  # "rest" | "revisit"
    area: str
    days: int | None  # rest: days in a row; revisit: days since (None: before kept history)


@dataclass(frozen=True)
class Summary:
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


def summarize(doc: dict[str, Any] | None, now: datetime, period: str, tz_known: bool) -> Summary:
    """Summarize a period of the user's history, counting days in the zone of `now`.

    `now` must be aware and in the user's zone: weeks run Monday to Sunday there, so a run
    at 23:30 on a local Sunday belongs to that week whatever the UTC date. Raise ValueError
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
    )
