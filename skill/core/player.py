"""Move a listener through a routine's tracks: the playback state machine.

Pure functions over a frozen `PlaybackState`. Each transition returns a `Transition`:
the new state, what to play (if anything), whether to stop the stream, and what
happened (events the progress record is built from). Nothing here knows about Alexa
requests, storage or audio files.

Every Play gets a fresh token `routine|run|track|seq`, with `|quick` after it for a quick
run (a token without a length is of the full routine) and then, when the program has one,
the track's screen tag (`Program.screens`: 8 hex digits hashing the metadata a screen shows,
which screens cache by token), except resume, which continues the same stream unless the
track's screen changed since (a re-render): then it gets a fresh token at the same offset.
An event whose token is neither the current nor the enqueued one is stale (an old stream,
another run, a foreign token) and changes nothing.

The sequence number only grows on a device, across runs too: a start continues from the
larger of the state's sequence and a floor the caller passes (the request time in
milliseconds), so a later run's tokens always compare above an earlier run's even when the
state that saw the earlier run was never saved. That is what lets `catch_up` tell a token
newer than the stored state (a save was lost: continue from the token) from a stale one
(ignore it), so playback never depends on a save succeeding.

`paused_at` (the request timestamp of the pause, ISO text) orders a late PlaybackStarted:
one stamped before the pause is from the stream that was stopped and changes nothing. One
stamped in the same second resumes: Alexa's timestamps have whole seconds, and a device that
was interrupted by a spoken answer resumes by itself, often within that second.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple


class Activity(StrEnum):
    IDLE = "idle"          # no run
    PLAYING = "playing"
    PAUSED = "paused"
    FINISHED = "finished"  # the last run reached its end


class Behavior(StrEnum):
    REPLACE_ALL = "REPLACE_ALL"
    ENQUEUE = "ENQUEUE"
    REPLACE_ENQUEUED = "REPLACE_ENQUEUED"  # replaces the queue, leaves the playing track alone


class Outcome(StrEnum):
    COMPLETED = "completed"
    STOPPED_EARLY = "stopped_early"
    ABANDONED = "abandoned"


FULL = "full"  # the length of a routine played whole (skill.core.routines.Length)
LENGTHS = (FULL, "quick")  # every length a run may have (skill.core.routines.Length)


class Program(NamedTuple):
    """What the player needs to know of a routine: its id, which length, each track's length."""

    routine_id: str
    track_ms: tuple[int, ...]
    length: str = FULL
    screens: tuple[str, ...] = ()  # each track's screen tag (skill.core.screens.tag), if it has one

    @property
    def last(self) -> int:
        """Return the index of the last track."""
        return len(self.track_ms) - 1

    def screen(self, index: int) -> str:
        """Return track `index`'s screen tag, or "" when the program has none."""
        return self.screens[index] if 0 <= index < len(self.screens) else ""


SCREEN_TAG = re.compile(r"^[0-9a-f]{8}$")
# What a token's routine and run ids can be: ours are slugs and hex digits. Anything else
# (a lone surrogate, a "|"-free blob of punctuation) is not a token we issued, and must not
# reach storage as a run id.
TOKEN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_SEQ = 10**18  # sequence numbers are milliseconds since 1970 plus a count: 13 digits today


class Token(NamedTuple):
    routine_id: str
    run_id: str
    index: int
    seq: int
    length: str = FULL
    screen: str = ""  # the track's screen tag when it was issued; "" for none

    def __str__(self) -> str:
        tail = "" if self.length == FULL else f"|{self.length}"
        tail += f"|{self.screen}" if self.screen else ""
        return f"{self.routine_id}|{self.run_id}|{self.index}|{self.seq}{tail}"

    @classmethod
    def parse(cls, text: str | None) -> Token | None:
        """Parse a token string, or return None for anything that is not one of ours."""
        if not isinstance(text, str) or len(text) > 200:
            return None
        return _parse_token(text)  # a request parses its token several times


@lru_cache(maxsize=4096)
def _parse_token(text: str) -> Token | None:
    """Parse token text (see `Token.parse`); tokens are immutable, so one parse serves every request."""
    parts = text.split("|")
    screen = parts.pop() if len(parts) in (5, 6) and SCREEN_TAG.match(parts[-1]) else ""
    length = parts.pop() if len(parts) == 5 and parts[4] in LENGTHS and parts[4] != FULL else FULL
    if len(parts) != 4 or not TOKEN_ID.match(parts[0]) or not TOKEN_ID.match(parts[1]):
        return None
    try:
        index, seq = int(parts[2]), int(parts[3])
    except ValueError:
        return None
    if not (0 <= index < 10_000 and 0 <= seq < MAX_SEQ):
        return None
    return Token(parts[0], parts[1], index, seq, length, screen)


class PlaybackState(NamedTuple):
    routine_id: str | None = None
    run_id: str | None = None
    index: int = 0
    offset_ms: int = 0
    activity: Activity = Activity.IDLE
    token: str | None = None
    enqueued_token: str | None = None
    seq: int = 0
    completed: frozenset[int] = frozenset()
    skipped: frozenset[int] = frozenset()
    started_at: str | None = None  # when the run began (canonical UTC text), if known
    paused_at: str | None = None  # request timestamp of the last pause or stop
    length: str = FULL  # which version of the routine the run plays

    @property
    def has_run(self) -> bool:
        """Return whether a run is under way (playing or paused)."""
        return self.activity in (Activity.PLAYING, Activity.PAUSED)

    def to_dict(self) -> dict[str, Any]:
        """Return the state as plain JSON types, for storage."""
        return {
            "routine_id": self.routine_id,
            "run_id": self.run_id,
            "index": self.index,
            "offset_ms": self.offset_ms,
            "activity": self.activity.value,
            "token": self.token,
            "enqueued_token": self.enqueued_token,
            "seq": self.seq,
            "completed": sorted(self.completed),
            "skipped": sorted(self.skipped),
            "started_at": self.started_at,
            "paused_at": self.paused_at,
            "length": self.length,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PlaybackState:
        """Rebuild a state from storage; raise ValueError if the record is not a state."""
        if not data:
            return cls()
        try:
            state = cls(
                routine_id=_opt_str(data.get("routine_id")),
                run_id=_opt_str(data.get("run_id")),
                index=_nat(data.get("index", 0)),
                offset_ms=_nat(data.get("offset_ms", 0)),
                activity=Activity(data.get("activity", "idle")),
                token=_opt_str(data.get("token")),
                enqueued_token=_opt_str(data.get("enqueued_token")),
                seq=_nat(data.get("seq", 0)),
                completed=frozenset(map(_nat, data.get("completed", []))),
                skipped=frozenset(map(_nat, data.get("skipped", []))),
                started_at=_opt_str(data.get("started_at")),
                paused_at=_opt_str(data.get("paused_at")),
                length=_length(data.get("length", FULL)),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Stored playback state {data!r} is not valid: {exc}") from exc
        if state.activity is not Activity.IDLE and (state.routine_id is None or state.run_id is None):
            raise ValueError(f"Stored playback state {data!r} has a run without routine or run id.")
        return state


def _length(value: Any) -> str:
    if value not in LENGTHS:
        raise ValueError(f"expected a length ({', '.join(LENGTHS)}), got {value!r}")
    return value


def _opt_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"expected text, got {value!r}")


def _nat(value: Any) -> int:
    if type(value) is int and value >= 0:  # the stored case, decided first
        return value
    if isinstance(value, bool) or not isinstance(value, _NUMBERS) or value < 0:
        raise ValueError(f"expected a non-negative number, got {value!r}")
    return int(value)


_NUMBERS = (int, float)


class Play(NamedTuple):
    token: str
    index: int
    offset_ms: int
    behavior: Behavior
    expected_previous_token: str | None = None


class RunStarted(NamedTuple):
    routine_id: str
    run_id: str
    length: str = FULL


class RunEnded(NamedTuple):
    routine_id: str
    run_id: str
    outcome: Outcome


class StepSkipped(NamedTuple):
    index: int


Event = RunStarted | RunEnded | StepSkipped


class Transition(NamedTuple):
    state: PlaybackState
    play: Play | None = None
    stop: bool = False
    events: tuple[Event, ...] = ()

    @property
    def changed(self) -> bool:
        """Return whether the transition did anything at all."""
        return self.play is not None or self.stop or bool(self.events)


def nothing(state: PlaybackState) -> Transition:
    """Return the transition that changes nothing (stale events, commands with no run)."""
    return Transition(state)


def matches(state: PlaybackState, program: Program | None) -> bool:
    """Return whether a state's run belongs to this program and points at a real track."""
    return (
        program is not None
        and state.routine_id == program.routine_id
        and state.length == program.length
        and 0 <= state.index <= program.last
    )


def _clamp(program: Program, index: int, offset_ms: int | None, fallback: int) -> int:
    if offset_ms is None or isinstance(offset_ms, bool) or not isinstance(offset_ms, int):
        offset_ms = fallback
    return max(0, min(offset_ms, program.track_ms[index]))


def _play_at(state: PlaybackState, program: Program, index: int, **changes: Any) -> Transition:
    """Replace the stream with a fresh token for track `index`, from its start."""
    seq = state.seq + 1
    token = str(Token(program.routine_id, state.run_id or "", index, seq, program.length, program.screen(index)))
    new = state._replace(index=index, offset_ms=0, activity=Activity.PLAYING, token=token,
                         enqueued_token=None, seq=seq, **changes)
    return Transition(new, Play(token, index, 0, Behavior.REPLACE_ALL))


def _end_run(state: PlaybackState, outcome: Outcome, **changes: Any) -> Transition:
    new = state._replace(activity=Activity.FINISHED, enqueued_token=None, offset_ms=0, **changes)
    event = RunEnded(state.routine_id or "", state.run_id or "", outcome)
    return Transition(new, stop=outcome is not Outcome.COMPLETED, events=(event,))


def start(
    state: PlaybackState, program: Program, run_id: str, *, floor: int = 0, at: str | None = None,
) -> Transition:
    """Start a new run of a routine from its first track, ending any run under way.

    `floor` is the least sequence number the run's first token may carry (the request time
    in milliseconds), `at` the run's start time; see the module docstring.
    """
    events: list[Event] = []
    if state.has_run:
        events.append(RunEnded(state.routine_id or "", state.run_id or "", Outcome.STOPPED_EARLY))
    fresh = PlaybackState(routine_id=program.routine_id, run_id=run_id, seq=max(state.seq, floor),
                          started_at=at, length=program.length)
    begun = _play_at(fresh, program, 0)
    events.append(RunStarted(program.routine_id, run_id, program.length))
    return begun._replace(events=tuple(events))


def pause(
    state: PlaybackState, program: Program, offset_ms: int | None = None, at: str | None = None,
) -> Transition:
    """Stop the stream and remember where, so resume continues from there."""
    if not state.has_run or not matches(state, program):
        return nothing(state)
    offset = _clamp(program, state.index, offset_ms, state.offset_ms)
    new = state._replace(activity=Activity.PAUSED, offset_ms=offset, enqueued_token=None,
                         paused_at=_later(state.paused_at, at))
    return Transition(new, stop=True)


def resume(state: PlaybackState, program: Program) -> Transition:
    """Continue the same track, with the same token, from the saved offset.

    When the track's screen tag differs from the token's (the routine was rendered again
    while paused), the track plays from the same offset under a fresh token instead.
    """
    if state.activity is not Activity.PAUSED or not matches(state, program) or state.token is None:
        return nothing(state)
    current = Token.parse(state.token)
    if current is not None and current.screen != program.screen(state.index):
        moved = _play_at(state, program, state.index)  # the screen changed: screens cache by token
        return moved._replace(state=moved.state._replace(offset_ms=state.offset_ms),
                              play=moved.play._replace(offset_ms=state.offset_ms))
    new = state._replace(activity=Activity.PLAYING, enqueued_token=None)
    return Transition(new, Play(state.token, state.index, state.offset_ms, Behavior.REPLACE_ALL))


def moved(state: PlaybackState, floor: int) -> PlaybackState:
    """Return a paused run's state as another device takes it over, that device's sequence being `floor`.

    The run gets a fresh token numbered above both devices' states, so the record of the
    device that takes it over keeps it (it only ever takes a newer state), and the events of
    the stream it plays there are current, not stale. The old token stays behind with the
    device that paused it.
    """
    seq = max(state.seq, floor) + 1
    parsed = Token.parse(state.token)
    token = str(parsed._replace(seq=seq)) if parsed is not None else state.token
    return state._replace(seq=seq, token=token, enqueued_token=None)


def next_track(state: PlaybackState, program: Program) -> Transition:
    """Skip to the next track; skipping the last track ends the run."""
    if not state.has_run or not matches(state, program):
        return nothing(state)
    skipped = state.skipped if state.index in state.completed else state.skipped | {state.index}
    events: tuple[Event, ...] = () if state.index in state.completed else (StepSkipped(state.index),)
    if state.index >= program.last:
        ended = _end_run(state, Outcome.COMPLETED, skipped=skipped)
        return ended._replace(stop=True, events=events + ended.events)
    moved = _play_at(state, program, state.index + 1, skipped=skipped)
    return moved._replace(events=events)


def previous_track(state: PlaybackState, program: Program) -> Transition:
    """Go back one track; on the first track, start it again."""
    if not state.has_run or not matches(state, program):
        return nothing(state)
    return _play_at(state, program, max(0, state.index - 1))


def repeat(state: PlaybackState, program: Program) -> Transition:
    """Play the current track again from its beginning."""
    if not state.has_run or not matches(state, program):
        return nothing(state)
    return _play_at(state, program, state.index)


def start_over(
    state: PlaybackState, program: Program, run_id: str, *, floor: int = 0, at: str | None = None,
) -> Transition:
    """Go back to the first track of the run under way, or start a new run after one ended."""
    if state.has_run and matches(state, program):
        return _play_at(state, program, 0)
    return start(state, program, run_id, floor=floor, at=at)


def nearly_finished(state: PlaybackState, program: Program, token: str | None) -> Transition:
    """Enqueue the track after the one nearly finished.

    Delivered again for the same track (a retry after our reply was lost), it names the
    same queued track with REPLACE_ENQUEUED, which cannot queue it twice, and changes no state.
    """
    if (
        state.activity is not Activity.PLAYING
        or token != state.token
        or not matches(state, program)
        or state.index >= program.last
    ):
        return nothing(state)
    if state.enqueued_token is not None:
        return Transition(state, Play(state.enqueued_token, state.index + 1, 0, Behavior.REPLACE_ENQUEUED))
    seq = state.seq + 1
    queued = str(Token(program.routine_id, state.run_id or "", state.index + 1, seq, program.length,
                       program.screen(state.index + 1)))
    new = state._replace(enqueued_token=queued, seq=seq)
    return Transition(new, Play(queued, state.index + 1, 0, Behavior.ENQUEUE, state.token))


def _advance_to_enqueued(state: PlaybackState) -> PlaybackState:
    queued = Token.parse(state.enqueued_token)
    assert queued is not None  # only our own tokens are ever enqueued
    return state._replace(index=queued.index, offset_ms=0, token=state.enqueued_token, enqueued_token=None,
                          activity=Activity.PLAYING, completed=state.completed | {state.index})


def started(
    state: PlaybackState, program: Program, token: str | None, at: str | None = None,
) -> Transition:
    """Note that a stream began: the enqueued track taking over, or the current one resuming.

    A PlaybackStarted of a paused track stamped before the pause (`at` against
    `paused_at`, both ISO text) is a late delivery from before the stop: the run stays paused.
    """
    if not state.has_run or not matches(state, program):
        return nothing(state)
    if token is not None and token == state.enqueued_token:
        return Transition(_advance_to_enqueued(state))
    if token == state.token and state.activity is not Activity.PLAYING:
        if state.paused_at is not None and (at is None or at < state.paused_at):
            return nothing(state)
        return Transition(state._replace(activity=Activity.PLAYING))
    return nothing(state)


def finished(state: PlaybackState, program: Program, token: str | None) -> Transition:
    """Mark the current track done, then move on: to the queue, the next track, or the end."""
    if not state.has_run or not matches(state, program) or token != state.token:
        return nothing(state)
    done = state.completed | {state.index}
    if state.enqueued_token is not None:
        return Transition(_advance_to_enqueued(state))
    if state.index >= program.last:
        return _end_run(state, Outcome.COMPLETED, completed=done)
    # Nearly-finished never came (or its reply was lost): play the next track now.
    return _play_at(state, program, state.index + 1, completed=done)


def stopped(
    state: PlaybackState, program: Program, token: str | None, offset_ms: int | None,
    at: str | None = None,
) -> Transition:
    """Save where the stream stopped, so resume continues from there."""
    if not state.has_run or not matches(state, program):
        return nothing(state)
    if token is not None and token == state.enqueued_token:
        state = _advance_to_enqueued(state)  # the queued track had already begun
    elif token != state.token:
        return nothing(state)
    offset = _clamp(program, state.index, offset_ms, state.offset_ms)
    return Transition(state._replace(activity=Activity.PAUSED, offset_ms=offset, enqueued_token=None,
                                     paused_at=_later(state.paused_at, at)))


def failed(
    state: PlaybackState, program: Program, token: str | None, offset_ms: int | None = None,
    at: str | None = None,
) -> Transition:
    """Pause at the failed track, so "resume" tries it again rather than looping on errors."""
    if not state.has_run or not matches(state, program):
        return nothing(state)
    if token not in (state.token, state.enqueued_token) or token is None:
        return nothing(state)
    offset = _clamp(program, state.index, offset_ms, state.offset_ms) if token == state.token else 0
    return Transition(state._replace(activity=Activity.PAUSED, offset_ms=offset, enqueued_token=None,
                                     paused_at=_later(state.paused_at, at)))


def _later(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else max(a, b)


def catch_up(state: PlaybackState, program: Program | None, token: str | None) -> PlaybackState:
    """Return the state an event's token proves, when it is newer than the stored state.

    Tokens are only ever issued with a sequence number above the state they were issued
    from; one above the stored state's means the save that followed it was lost (storage
    was down). The track it names is then the one playing, every earlier track of the run is
    taken as done (except those the stored state knows were skipped), and the caller goes on
    from there with the usual event rules. The enqueued token means the queued track took over
    (a step `follows` lets go unsaved): the state advances to it, as PlaybackStarted would. Any
    other token, stale or foreign, leaves the state as it is, so the stale-token rules stay as
    strict as before.
    """
    if token is not None and token == state.enqueued_token and state.activity is Activity.PLAYING:
        return _advance_to_enqueued(state)  # the queued track took over (see `follows`)
    parsed = Token.parse(token)
    if (
        parsed is None or program is None or parsed.routine_id != program.routine_id
        or parsed.length != program.length or not 0 <= parsed.index <= program.last or parsed.seq <= state.seq
        or token in (state.token, state.enqueued_token)
    ):
        return state
    same_run = parsed.run_id == state.run_id
    skipped = state.skipped if same_run else frozenset()
    return PlaybackState(
        routine_id=program.routine_id, run_id=parsed.run_id, index=parsed.index, offset_ms=0,
        activity=Activity.PLAYING, token=token, enqueued_token=None, seq=parsed.seq,
        completed=((state.completed if same_run else frozenset()) | frozenset(range(parsed.index))) - skipped,
        skipped=skipped, started_at=state.started_at if same_run else None, length=program.length,
    )


def follows(stored: PlaybackState, new: PlaybackState) -> bool:
    """Return whether `new` is only the queued track taking over from `stored`, so saving it can wait.

    Every later request about this device names the queued track's token (its events, or
    `context.AudioPlayer` on an intent), and `catch_up` advances a state to its enqueued token
    just as PlaybackFinished and PlaybackStarted do. So a mid-routine Finished, and the Started
    that follows it, need no write of their own: the next change that must be saved (the next
    NearlyFinished, a stop, the end of the run) records the finished track with it. A track's
    completion is thus saved one event later, never lost by a failed save and never counted twice
    (tracks are a set).
    """
    return (
        stored.activity is Activity.PLAYING and stored.enqueued_token is not None
        and new == _advance_to_enqueued(stored)
    )


def check_invariants(state: PlaybackState, program: Program) -> list[str]:
    """Return every way a state is inconsistent with its program (empty when valid)."""
    problems: list[str] = []
    if state.activity is Activity.IDLE:
        return problems
    if state.routine_id != program.routine_id:
        problems.append("routine id differs from the program")
    if state.length != program.length:
        problems.append(f"length {state.length!r} differs from the program's {program.length!r}")
    if not 0 <= state.index <= program.last:
        problems.append(f"index {state.index} outside 0..{program.last}")
    elif not 0 <= state.offset_ms <= program.track_ms[state.index]:
        problems.append(f"offset {state.offset_ms} outside the track")
    current = Token.parse(state.token)
    if (current is None or current.index != state.index or current.run_id != state.run_id
            or current.length != state.length):
        problems.append(f"token {state.token!r} does not name the current track")
    if state.enqueued_token is not None:
        queued = Token.parse(state.enqueued_token)
        if state.activity is not Activity.PLAYING:
            problems.append("a track is enqueued while not playing")
        if queued is None or queued.index != state.index + 1 or queued.seq <= (current.seq if current else 0):
            problems.append(f"enqueued token {state.enqueued_token!r} is not the next track")
    if any(not 0 <= i <= program.last for i in state.completed | state.skipped):
        problems.append("completed or skipped names a track outside the routine")
    return problems
