"""Record each run of a routine: one record per run that only ever grows.

A run's record is a join (a least upper bound): seconds, tracks, later timestamps and a
stronger outcome only grow, so a duplicated, reordered or retried event, or two devices
writing at once, can never count a run twice or lose one. Storage keeps one record per run
and joins what it holds with what a request writes (`merge.join_runs`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from skill.core.player import Outcome

if TYPE_CHECKING:
    from skill.core.player import PlaybackState, Program

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
    "tracks_completed", "tracks_skipped", "track_count", "outcome", "length",
)
FULL = "full"  # a run recorded before lengths existed played the whole routine
LENGTHS = (FULL, "quick")  # skill.core.routines.Length
_BUCKET_COUNTS = ("sessions", "seconds", "completed", "stopped_early", "abandoned")

# How a finished run felt afterwards (issue 12): asked once at a later launch, then answered
# or skipped. Copies join by (stage, time, word): an answer beats a bare "asked" or "skipped"
# whatever the order they arrive in, and between two answers the later one wins.
ASKED, SKIPPED = "asked", "skipped"
FEELINGS = ("better", "same", "sore")
_FEELING_STAGE = {ASKED: 1, SKIPPED: 2, **{word: 3 for word in FEELINGS}}


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


class RunRecord(NamedTuple):
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
    length: str = FULL  # which version of the routine ran: full or quick
    feeling: str | None = None  # ASKED, SKIPPED or one of FEELINGS; None: never asked
    felt_at: str | None = None  # when `feeling` was last set

    def to_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON types, for the document."""
        data = {
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
            "length": self.length,
        }
        if self.feeling is not None:  # left out until asked, so older records read the same
            data["feeling"], data["felt_at"] = self.feeling, self.felt_at
        return data

    @classmethod
    def from_dict(cls, data: Any) -> RunRecord:
        """Rebuild a record from the document; raise ValueError if it is not one."""
        if not isinstance(data, dict):
            raise ValueError(f"Stored run {data!r} is not a record; expected a JSON object.")
        if _is_canonical(data):
            return cls(**{name: data[name] for name in _FIELDS},
                       feeling=data.get("feeling"), felt_at=data.get("felt_at"))
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
                length=data.get("length", FULL),
                **_feeling_of(data),
            )
        except ValueError as exc:
            raise ValueError(f"Stored run {data.get('run_id')!r} is not valid: {exc}") from None
        if not isinstance(record.outcome, str) or record.outcome not in _RANK:
            raise ValueError(
                f"Stored run {record.run_id!r} has outcome {record.outcome!r}; "
                f"expected one of {', '.join(_RANK)}."
            )
        if record.length not in LENGTHS:
            raise ValueError(f"Stored run {record.run_id!r} has length {record.length!r}; "
                             f"expected one of {', '.join(LENGTHS)}.")
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
            length=max(self.length, other.length),  # one run has one length; max keeps join order-free
            **_later_feeling(self, other),
        )


def _feeling_of(data: dict[str, Any]) -> dict[str, str | None]:
    """Return a stored record's feeling fields, checked; raise ValueError if they are bad."""
    feeling, felt_at = data.get("feeling"), data.get("felt_at")
    if feeling is None:
        return {"feeling": None, "felt_at": None}
    if not isinstance(feeling, str) or feeling not in _FEELING_STAGE:
        raise ValueError(f"feeling {feeling!r} is not one of {', '.join(_FEELING_STAGE)}.")
    return {"feeling": feeling, "felt_at": _canonical_time(felt_at, "felt_at")}


def _feeling_key(record: RunRecord) -> tuple[int, str, str]:
    if record.feeling is None:
        return (0, "", "")
    return (_FEELING_STAGE[record.feeling], record.felt_at or "", record.feeling)


def _later_feeling(a: RunRecord, b: RunRecord) -> dict[str, str | None]:
    chosen = max(a, b, key=_feeling_key)
    return {"feeling": chosen.feeling, "felt_at": chosen.felt_at}


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


def _is_canonical_feeling(data: dict[str, Any]) -> bool:
    if "feeling" not in data and "felt_at" not in data:
        return True
    feeling = data.get("feeling")
    return type(feeling) is str and feeling in _FEELING_STAGE and _is_time(data.get("felt_at"))


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
            and type(outcome) is str and outcome in _RANK and data["length"] in LENGTHS
            and _is_time(data["started_at"]) and _is_time(data["updated_at"])
            and (ended is None or _is_time(ended))
            and _is_canonical_feeling(data)
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
    track playback got; like every other field they never go down. The start is the state's
    `started_at` when it knows it, so every write of a run names the same start (storage keys
    runs by it) without reading the stored record first.
    """
    if state.run_id is None or state.routine_id != program.routine_id or state.length != program.length:
        raise ValueError(
            f"Playback state of run {state.run_id!r} (routine {state.routine_id!r}, "
            f"{state.length}) does not belong to routine {program.routine_id!r} "
            f"({program.length}); pass the program of the state's routine and length."
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
        started_at=min(stamp, state.started_at) if _is_time(state.started_at) else stamp,
        updated_at=stamp,
        ended_at=stamp if ended is not None else None,
        seconds_guided=ms // 1000,
        tracks_completed=len(completed),
        tracks_skipped=len(state.skipped & frozenset(tracks)),
        track_count=len(program.track_ms),
        outcome=ended.value if ended is not None else IN_PROGRESS,
        length=program.length,
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
        return previous.join(previous._replace(outcome=ABANDONED, ended_at=previous.updated_at))
    return previous.join(previous._replace(outcome=outcome.value, ended_at=stamp, updated_at=stamp))


def _effective_outcome(outcome: str, updated_at: str, stale_before: str) -> str:
    return ABANDONED if outcome == IN_PROGRESS and updated_at < stale_before else outcome


def _is_session(outcome: str, seconds_guided: int) -> bool:
    return outcome in (COMPLETED, IN_PROGRESS) or seconds_guided >= MIN_SESSION_SECONDS


