"""Load a user's records once per request, collect what changes, and save it once.

AudioPlayer events arrive without a session, so everything lives in storage, keyed by the
userId: a small profile per user, one playback record per device (so two Echos of one
account play and finish their own runs), and one record per run. A request loads the
profile and the device records (all small, whatever the history length) once, checks them
once, and the handlers change them only through `commit()`; `SaveUserInterceptor` writes the
changed records once, in one `Changes`. History beyond the current run is read only by the
progress summary, through `history()`, for its window alone.

Every person in the home: when Alexa recognises the speaker (`context.System.person`), the
profile, runs, check-ins, "my usual", the briefing and "forget my history" are that person's
(`User.owner`, a key from `records.person_key`); without a person, the account's, as before.
Playback stays per device, in the account's device records, and each device record names
the person whose run it plays, so the AudioPlayer events that follow (which carry no voice
and so no person) add to that person's run. A person we have never seen starts fresh.

A record that cannot be read is never overwritten blindly. Storage that is down never stops
playback: the handlers continue from the event's token (`player.catch_up`), a failed save is
retried (longer when it would end a run) and on SQLite journaled for the next request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ask_sdk_core.dispatch_components import AbstractRequestInterceptor, AbstractResponseInterceptor
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_core.utils import get_request_type
from ask_sdk_model.ui import SsmlOutputSpeech

from skill.alexa import intents
from skill.alexa.locale import text_of
from skill.core import progress
from skill.core.player import Activity, PlaybackState, Program, RunStarted, Transition, follows, moved
from skill.storage import CorruptRecordError
from skill.storage.records import Changes, RunWrite, is_person_of, person_key, storable_key
from skill.text import ssml_appended

if TYPE_CHECKING:
    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response

    from skill.core.routines import Routine
    from skill.storage.dynamodb import DynamoAdapter
    from skill.storage.sqlite import SQLiteAdapter

    Store = SQLiteAdapter | DynamoAdapter

log = logging.getLogger("trigger_coach.user")

_KEY = "trigger_coach.user"
_STORE = "trigger_coach.store"
NO_DEVICE = "unknown-device"  # requests without a deviceId share one playback record
OWNER = "owner"  # in a device record: the person key whose run it plays (absent: the account)

OK, UNAVAILABLE, CORRUPT = "ok", "unavailable", "corrupt"


@dataclass
class User:
    """One request's view of a user: profile, this device's state, the other devices' (of this owner)."""

    user_id: str | None
    device_id: str
    doc: dict[str, Any]  # the profile (of the owner)
    state: PlaybackState
    others: dict[str, PlaybackState] = field(default_factory=dict)
    owner: str | None = None  # the person key whose profile and runs these are; None: the account's
    mine: bool = True  # this device's run was started by the owner (else it is someone else's)
    loaded_profile: bool = False  # the owner had a stored profile when this request read it
    health: str = OK
    dirty: bool = False
    view: dict[str, Any] = field(default_factory=dict)  # runs this request touched, for progress.note
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)  # device records to write
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # run records to write
    profile_changed: bool = False
    started: bool = False
    now: datetime | None = None

    @property
    def own_state(self) -> PlaybackState:
        """Return this device's state if its run is the owner's, else an idle one (for offers)."""
        return self.state if self.mine else PlaybackState(seq=self.state.seq)

    @property
    def key(self) -> str:
        """Return the storage key of the owner's profile and runs: the person's, else the account's."""
        return self.owner or self.user_id or ""

    def device_record(self, state: PlaybackState) -> dict[str, Any]:
        """Return the device record to store for `state`, naming whose run it plays."""
        record = state.to_dict()
        return {**record, OWNER: self.owner} if self.owner else record

    @property
    def writable(self) -> bool:
        """Return whether changes to this user's records may be saved."""
        return self.health == OK

    @property
    def epoch(self) -> int:
        """Return the forget epoch the user's history is in."""
        epoch = self.doc.get("epoch", 0)
        return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 0

    def change_profile(self, **changes: Any) -> None:
        """Change keys of the profile; saved with the request."""
        self.doc = {**self.doc, **changes, "layout": progress.LAYOUT}
        self.profile_changed = self.dirty = True


def store_of(handler_input: HandlerInput) -> Store:
    """Return the storage adapter `AttachStoreInterceptor` put on this request."""
    return handler_input.attributes_manager.request_attributes[_STORE]


def user_of(handler_input: HandlerInput) -> User:
    """Return this request's user (profile and playback states), loading and checking it once."""
    cached = handler_input.attributes_manager.request_attributes.get(_KEY)
    if cached is not None:
        return cached
    user = _load(handler_input)
    handler_input.attributes_manager.request_attributes[_KEY] = user
    return user


def _load(handler_input: HandlerInput) -> User:
    user_id, device_id = _user_id(handler_input), _device_id(handler_input)
    person = _person_id(handler_input)
    owner = person_key(user_id, person) if user_id and person else None

    def unreadable(health: str) -> User:
        """Return the user with nothing loaded, whose records are `health` and so never written."""
        empty = PlaybackState()
        return User(user_id, device_id, {}, empty, view=_view({}, empty), owner=owner, health=health)

    store = store_of(handler_input)
    try:
        snapshot = store.load(user_id or "", device_id, owner)
        claimed = (snapshot.devices.get(device_id) or {}).get(OWNER)
        if owner is None and _steers_playback(handler_input) and is_person_of(user_id or "", claimed):
            # An AudioPlayer event, a button, or "pause" / "next" from a voice Alexa did not
            # recognise this time: the run on this device belongs to whoever started it.
            owner = claimed
            snapshot.profile = store.profile(owner)
    except CorruptRecordError:
        log.error("The stored record of user %s cannot be read; leaving it untouched.", user_id)
        return unreadable(CORRUPT)
    except (PersistenceException, ValueError) as exc:  # StorageUnavailableError and the SDK's own
        log.error("Storage is unavailable for user %s: %s", user_id, exc)
        return unreadable(UNAVAILABLE)
    try:
        progress.check_document(snapshot.profile)
        state = PlaybackState.from_dict(snapshot.devices.get(device_id))
    except ValueError as exc:  # e.g. written by a newer version: changing it would fail mid-request
        log.error("The records of user %s cannot be read; leaving them untouched: %s", user_id, exc)
        return unreadable(CORRUPT)
    others = {}
    for other, raw in snapshot.devices.items():
        if other == device_id or raw.get(OWNER) != owner:
            continue  # another person's playback is not this owner's to resume or count
        try:
            others[other] = PlaybackState.from_dict(raw)
        except ValueError as exc:
            log.warning("Ignoring the unreadable playback record of device %s: %s", other[:40], exc)
    mine = (snapshot.devices.get(device_id) or {}).get(OWNER) == owner
    return User(user_id, device_id, snapshot.profile, state, others, owner=owner, mine=mine,
                loaded_profile=bool(snapshot.profile), view=_view(snapshot.profile, state))


def _view(profile: dict[str, Any], state: PlaybackState) -> dict[str, Any]:
    """Return the history view `progress.note` grows: no runs yet, only those a request touches."""
    return {"v": progress.VERSION, "epoch": 0, "runs": {}, "totals": {}, "playback": state.to_dict(),
            "last_routine": profile.get("last_routine")}


def _user_id(handler_input: HandlerInput) -> str | None:
    context = handler_input.request_envelope.context
    system = getattr(context, "system", None)
    return getattr(getattr(system, "user", None), "user_id", None)


# Said during a routine, these steer the device's playback, so they act for the run's owner.
_PLAYBACK_INTENTS = frozenset(i.name for i in (
    intents.PAUSE, intents.RESUME, intents.NEXT, intents.PREVIOUS, intents.REPEAT, intents.START_OVER,
    intents.CANCEL, intents.STOP, intents.NAVIGATE_HOME, intents.RESUME_ROUTINE))


def _steers_playback(handler_input: HandlerInput) -> bool:
    """Return whether the request acts on this device's playback: an event, a button, a playback intent."""
    if handler_input.request_envelope.session is None:
        return True
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    return getattr(intent, "name", None) in _PLAYBACK_INTENTS


def _person_id(handler_input: HandlerInput) -> str | None:
    """Return the recognised speaker's person id, or None when Alexa sent none."""
    system = getattr(handler_input.request_envelope.context, "system", None)
    person_id = getattr(getattr(system, "person", None), "person_id", None)
    return person_id if isinstance(person_id, str) and person_id else None


def _device_id(handler_input: HandlerInput) -> str:
    """Return the key of this device's playback record.

    An id that storage cannot hold as it is (a lone surrogate SQLite and DynamoDB refuse to
    encode, or one too long for a DynamoDB sort key) is keyed by its SHA-256 instead, so the
    device still gets a record of its own and playback still works.
    """
    context = handler_input.request_envelope.context
    device = getattr(getattr(context, "system", None), "device", None)
    return device_key(getattr(device, "device_id", None))


def device_key(device_id: object) -> str:
    """Return the playback-record key of a request's raw deviceId (`NO_DEVICE` when it has none)."""
    if not isinstance(device_id, str) or not device_id:
        return NO_DEVICE
    return storable_key(device_id)


def commit(
    handler_input: HandlerInput, transition: Transition, program: Program | None,
    routine: Routine | None, now: datetime,
) -> None:
    """Record a transition: this device's new state, and the records of the runs it changed.

    Nothing is saved for a transition that changes nothing, or only lets the queued track take
    over (`player.follows`): the next request's token proves that step, and the next save
    records it.
    """
    user = user_of(handler_input)
    if not transition.events and (transition.state == user.state or follows(user.state, transition.state)):
        user.state = transition.state  # nothing to save: unchanged, or derived by the next event anyway
        return
    state = transition.state
    user.now = now
    if program is not None and routine is not None:
        before = user.view
        after = progress.note(before, transition, program, routine.area, now)
        for run_id, raw in after["runs"].items():
            if before["runs"].get(run_id) != raw:
                user.runs[run_id] = raw  # only runs that changed are written
        if after.get("last_routine") != before.get("last_routine"):
            user.change_profile(last_routine=after["last_routine"])
        user.view = after
        started = (after["runs"].get(state.run_id) or {}).get("started_at") if state.run_id else None
        if state.started_at is None and isinstance(started, str):
            # A run caught up from its token (its start was never saved) keeps the start its
            # record was given now: storage keys runs by it, and a new one each event would
            # store one run many times.
            state = state._replace(started_at=started)
    user.state = state
    user.devices[user.device_id] = user.device_record(state)
    user.started = user.started or any(isinstance(e, RunStarted) for e in transition.events)
    user.dirty = True


def resumable(handler_input: HandlerInput) -> tuple[str, PlaybackState] | None:
    """Return the device and state of the run to offer to resume: this device's, if paused,
    or else the one paused most recently on another device of this user."""
    user = user_of(handler_input)
    if user.own_state.activity is Activity.PAUSED:
        return user.device_id, user.state
    paused = [(state.paused_at or "", state.seq, device) for device, state in user.others.items()
              if state.activity is Activity.PAUSED]
    if not paused:
        return None
    _, _, device = max(paused)
    return device, user.others[device]


def take_over(handler_input: HandlerInput, device_id: str) -> PlaybackState:
    """Move another device's paused run to this device and return its state here.

    The other device's record is left idle (at the same sequence number, so anything newer
    it does later still wins), so its stale events change nothing. The run plays here under
    a fresh token numbered above this device's own state (`moved`), so this device's
    record takes it even when this device played a newer run of its own meanwhile.
    """
    user = user_of(handler_input)
    if device_id == user.device_id:
        return user.state
    left = user.others[device_id]
    state = moved(left, user.state.seq)
    user.others[device_id] = PlaybackState(seq=left.seq)
    user.devices[device_id] = user.device_record(user.others[device_id])
    user.state = state
    user.devices[user.device_id] = user.device_record(state)
    user.dirty = True
    return state


def playing_runs(handler_input: HandlerInput) -> frozenset[str]:
    """Return the runs some device of this user is playing or has paused."""
    user = user_of(handler_input)
    states = [user.state, *user.others.values()]
    return frozenset(s.run_id for s in states if s.has_run and s.run_id)


def history(handler_input: HandlerInput, now: datetime) -> dict[str, Any]:
    """Return the history view a summary at `now` needs: the runs of its window, folded months.

    Raise StorageError when storage cannot be read.
    """
    user = user_of(handler_input)
    store = store_of(handler_input)
    # Folding old months here (one month per summary at most) keeps what a user stores
    # bounded; events never pay for it.
    store.fold(user.key, progress.fold_before(now), user.epoch, lambda runs: progress.fold_month(runs, now))
    since = progress.window_start(now)
    runs = {r["run_id"]: r for r in store.runs_since(user.key, since, user.epoch)
            if isinstance(r.get("run_id"), str)}
    return {"v": progress.VERSION, "epoch": user.epoch, "runs": runs,
            "totals": store.months(user.key, user.epoch)}


def recent_runs(handler_input: HandlerInput, since: str) -> list[dict[str, Any]]:
    """Return this user's stored runs started since `since` (canonical UTC text).

    Return none when there is no user to read for, their records cannot be read, or storage
    is down: the check-in and rest advice are extras that never stand in a routine's way.
    """
    user = user_of(handler_input)
    if not user.writable or not user.user_id:
        return []
    try:
        return store_of(handler_input).runs_since(user.key, since, user.epoch)
    except (PersistenceException, ValueError) as exc:  # as `_load`: down, or an id it cannot key
        log.error("Cannot read the recent runs of user %s: %s", user.user_id, exc)
        return []


def note_run(handler_input: HandlerInput, record: dict[str, Any], now: datetime) -> None:
    """Save a changed run record (a check-in mark or answer) with this request."""
    user = user_of(handler_input)
    user.runs[record["run_id"]] = record
    user.view = {**user.view, "runs": {**user.view["runs"], record["run_id"]: record}}
    user.now = user.now or now
    user.dirty = True


# The history epoch in which this person last heard the full safety briefing; tying it to the
# epoch means "forget my history", which raises the epoch, brings the briefing back.
_BRIEFED = "briefed_epoch"


def needs_briefing(handler_input: HandlerInput) -> bool:
    """Return whether this person has yet to hear the full safety briefing (since a forget)."""
    user = user_of(handler_input)
    return user.doc.get(_BRIEFED) != user.epoch


def mark_briefed(handler_input: HandlerInput) -> None:
    """Note that this person has heard the full safety briefing; saved with the profile."""
    user = user_of(handler_input)
    if needs_briefing(handler_input):
        user.change_profile(**{_BRIEFED: user.epoch})


def forget(handler_input: HandlerInput) -> bool:
    """Clear this user's history now; return whether it worked.

    A readable profile gets a higher epoch through the merging store, so a write already in
    flight from an older read cannot bring the history back (its runs carry the old epoch and
    stay invisible), then the old runs and months are deleted. A record we cannot read is
    deleted outright: there is nothing in it to merge with.
    """
    user = user_of(handler_input)
    store = store_of(handler_input)
    try:
        if user.health == CORRUPT:
            store.delete(user.key)
            user.doc, user.state, user.health = {}, PlaybackState(), OK
        else:
            forgotten = progress.forget(user.doc)
            profile = {k: v for k, v in forgotten.items() if k not in ("runs", "totals", "playback")}
            profile["layout"] = progress.LAYOUT
            account = user.user_id if user.owner else None
            user.doc = store.update(user.key, lambda stored: progress.join_profiles(stored, profile), account)
            store.delete_history(user.key, user.epoch)
    except PersistenceException as exc:
        log.error("Could not forget the history of user %s: %s", user.user_id, exc)
        return False
    user.runs.clear()
    user.profile_changed = False
    return True


def delete_everything(handler_input: HandlerInput) -> int | None:
    """Delete every record of this request's account and of all its persons; return how many.

    Return None when storage could not do it (logged; a user we never saw deletes nothing).
    """
    user_id = _user_id(handler_input)
    try:
        deleted = store_of(handler_input).delete_account(user_id or "")
    except (PersistenceException, ValueError) as exc:
        log.error("Could not delete the records of user %s, who disabled the skill: %s", user_id, exc)
        return None
    log.info("User %s disabled the skill; deleted their %d stored record(s).", user_id, deleted)
    return deleted


def changes_of(user: User) -> Changes:
    """Return what this request changed for the user, as one save."""
    return Changes(
        device_id=user.device_id,
        now=user.now or datetime.now(UTC),
        epoch=user.epoch,
        profile=user.doc if user.profile_changed else None,
        devices=dict(user.devices),
        runs=[RunWrite(raw, user.device_id if raw.get("run_id") == user.state.run_id else None)
              for raw in user.runs.values()],
        started=user.started,
        owner=user.owner,
        new_owner=user.owner is not None and not user.loaded_profile,
    )


def _run_ends_of(changes: Changes) -> Changes:
    """Return only the ends of runs in the changes, with the device records (nothing, if no run ended)."""
    ended = [write for write in changes.runs if write.record.get("outcome") != progress.IN_PROGRESS]
    if not ended:
        return Changes(changes.device_id, changes.now)
    return Changes(changes.device_id, changes.now, epoch=changes.epoch, devices=changes.devices, runs=ended,
                   owner=changes.owner)


class AttachStoreInterceptor(AbstractRequestInterceptor):
    """Give every request the storage adapter (the user is loaded lazily, on first use)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def process(self, handler_input: HandlerInput) -> None:
        handler_input.attributes_manager.request_attributes[_STORE] = self.store


class SaveUserInterceptor(AbstractResponseInterceptor):
    """Save what the request changed, once, if anything did and it may be written.

    When storage could not even be read, only the end of a run is saved (with this device's
    record): nothing later proves it, whereas the token of the next event proves everything
    else again. The device record cannot roll anything back (a newer one is kept), and the
    run record joins the stored one by the usual rules. If storage is still down, the SQLite
    adapter journals it.
    """

    def process(self, handler_input: HandlerInput, response: Response | None) -> None:
        user = handler_input.attributes_manager.request_attributes.get(_KEY)
        if user is None or not user.dirty:
            return
        if user.writable:
            changes = changes_of(user)
        elif user.health == UNAVAILABLE:
            changes = _run_ends_of(changes_of(user))
        else:
            return
        if changes.empty:
            return
        try:
            store_of(handler_input).save(user.user_id or "", changes)
        except PersistenceException as exc:
            log.error("Could not save user %s: %s", user.user_id, exc)
            _apologise(handler_input, response)


def _apologise(handler_input: HandlerInput, response: Response | None) -> None:
    """Tell a speaking user that this session is not being saved (events may not speak)."""
    if response is None or get_request_type(handler_input) not in ("LaunchRequest", "IntentRequest"):
        return
    said = getattr(response.output_speech, "ssml", None)
    sorry = text_of(handler_input).STORAGE_DOWN
    response.output_speech = SsmlOutputSpeech(ssml=ssml_appended(said, sorry))


# The length (full or quick) this person chose last: the launch offer and "start my usual"
# play it again, and so does naming a routine without saying how long.
_LAST_LENGTH = "last_length"


def last_length(handler_input: HandlerInput) -> str | None:
    """Return the length this person chose last, or None if they never started a routine."""
    length = user_of(handler_input).doc.get(_LAST_LENGTH)
    return length if isinstance(length, str) else None


def remember_length(handler_input: HandlerInput, length: str) -> None:
    """Note the length this person chose; saved with the profile."""
    if last_length(handler_input) != length:
        user_of(handler_input).change_profile(**{_LAST_LENGTH: length})
