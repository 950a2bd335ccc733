"""Load and save the one persistent document a user has, around each request.

AudioPlayer events arrive without a session, so everything lives in persistent
attributes keyed by userId. The document is loaded lazily on first use, changed through
`commit()`, and saved once by `SaveUserInterceptor`. A record that cannot be read is
never overwritten blindly; storage that is down never stops playback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ask_sdk_core.dispatch_components import AbstractResponseInterceptor
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_core.utils import get_request_type
from ask_sdk_model.ui import SsmlOutputSpeech

from skill import speech
from skill.core import progress
from skill.core.player import PlaybackState, Program, Transition
from skill.storage import CorruptRecordError

if TYPE_CHECKING:
    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response

    from skill.core.routines import Routine

log = logging.getLogger("trigger_coach.user")

_KEY = "trigger_coach.user"

OK, UNAVAILABLE, CORRUPT = "ok", "unavailable", "corrupt"


@dataclass
class User:
    doc: dict[str, Any]
    state: PlaybackState
    health: str = OK
    dirty: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def writable(self) -> bool:
        """Return whether changes to this user's record may be saved."""
        return self.health == OK


def user_of(handler_input: HandlerInput) -> User:
    """Return this request's user document and playback state, loading it once."""
    cached = handler_input.attributes_manager.request_attributes.get(_KEY)
    if cached is not None:
        return cached
    user = _load(handler_input)
    handler_input.attributes_manager.request_attributes[_KEY] = user
    return user


def _load(handler_input: HandlerInput) -> User:
    user_id = _user_id(handler_input)
    try:
        doc = dict(handler_input.attributes_manager.persistent_attributes or {})
    except CorruptRecordError:
        log.error("The stored record of user %s cannot be read; leaving it untouched.", user_id)
        return User({}, PlaybackState(), CORRUPT)
    except PersistenceException as exc:  # StorageUnavailableError and the SDK's own
        log.error("Storage is unavailable for user %s: %s", user_id, exc)
        return User({}, PlaybackState(), UNAVAILABLE)
    try:
        progress.check_document(doc)
    except ValueError as exc:  # e.g. written by a newer version: changing it would fail mid-request
        log.error("The progress record of user %s cannot be read; leaving it untouched: %s", user_id, exc)
        return User({}, PlaybackState(), CORRUPT)
    try:
        state = PlaybackState.from_dict(doc.get("playback"))
    except ValueError as exc:
        log.error("The playback state of user %s is corrupt: %s", user_id, exc)
        return User(doc, PlaybackState(), CORRUPT)
    return User(doc, state)


def _user_id(handler_input: HandlerInput) -> str | None:
    context = handler_input.request_envelope.context
    system = getattr(context, "system", None)
    return getattr(getattr(system, "user", None), "user_id", None)


def commit(
    handler_input: HandlerInput, transition: Transition, program: Program | None,
    routine: Routine | None, now: Any,
) -> None:
    """Record a transition's new state and progress in the user's document."""
    user = user_of(handler_input)
    if transition.state == user.state and not transition.events:
        return
    user.state = transition.state
    if program is not None and routine is not None:
        user.doc = progress.note(user.doc, transition, program, routine.area, now)
    else:
        user.doc = {**user.doc, "playback": transition.state.to_dict()}
    user.dirty = True


# The history epoch in which this person last heard the full safety briefing. A top-level
# key survives `progress.merge_documents` (last writer's) and `check_document`; tying it to
# the epoch means "forget my history", which raises the epoch, brings the briefing back.
_BRIEFED = "briefed_epoch"


def needs_briefing(handler_input: HandlerInput) -> bool:
    """Return whether this person has yet to hear the full safety briefing (since a forget)."""
    doc = user_of(handler_input).doc
    return doc.get(_BRIEFED) != doc.get("epoch", 0)


def mark_briefed(handler_input: HandlerInput) -> None:
    """Note that this person has heard the full safety briefing; saved with the document."""
    user = user_of(handler_input)
    if needs_briefing(handler_input):
        user.doc = {**user.doc, _BRIEFED: user.doc.get("epoch", 0)}
        user.dirty = True


def forget(handler_input: HandlerInput) -> bool:
    """Clear this user's history now; return whether it worked.

    A readable record is saved as `progress.forget(doc)` through the merging adapter, so a
    write already in flight from an older read cannot bring the history back. A record we
    cannot read is deleted outright: there is nothing in it to merge with.
    """
    user = user_of(handler_input)
    manager = handler_input.attributes_manager
    try:
        if user.health == CORRUPT:
            manager.delete_persistent_attributes()
            user.doc, user.state, user.health = {}, PlaybackState(), OK
        else:
            user.doc = progress.forget(user.doc)
            manager.persistent_attributes = user.doc
            manager.save_persistent_attributes()
    except PersistenceException as exc:
        log.error("Could not forget the history of user %s: %s", _user_id(handler_input), exc)
        return False
    user.dirty = False
    return True


class SaveUserInterceptor(AbstractResponseInterceptor):
    """Save the user's document once per request, if it changed and may be written."""

    def process(self, handler_input: HandlerInput, response: Response | None) -> None:
        user = handler_input.attributes_manager.request_attributes.get(_KEY)
        if user is None or not user.dirty or not user.writable:
            return
        manager = handler_input.attributes_manager
        manager.persistent_attributes = user.doc
        try:
            manager.save_persistent_attributes()
        except PersistenceException as exc:
            log.error("Could not save user %s: %s", _user_id(handler_input), exc)
            _apologise(handler_input, response)


def _apologise(handler_input: HandlerInput, response: Response | None) -> None:
    """Tell a speaking user that this session is not being saved (events may not speak)."""
    if response is None or get_request_type(handler_input) not in ("LaunchRequest", "IntentRequest"):
        return
    said = getattr(response.output_speech, "ssml", None)
    response.output_speech = SsmlOutputSpeech(ssml=speech.ssml_appended(said, speech.STORAGE_DOWN))
