"""Translate Alexa requests into playback and progress calls, and results into responses.

Handlers pick with a named predicate, call one core function and render the result.
Grouped by concern: conversation (launch, routines, progress, help), playback commands
(intents and device buttons), and AudioPlayer events (which may carry no speech).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_core.utils import get_request_type, is_intent_name, is_request_type
from ask_sdk_model.interfaces.audioplayer import (
    AudioItem,
    AudioItemMetadata,
    PlayBehavior,
    PlayDirective,
    StopDirective,
    Stream,
)
from ask_sdk_model.interfaces.display import Image, ImageInstance

from skill.alexa import apl, intents, tasks
from skill.alexa.device import device_of
from skill.alexa.locale import text_of
from skill.alexa.user import (
    UNAVAILABLE,
    commit,
    delete_everything,
    forget,
    history,
    last_length,
    mark_briefed,
    needs_briefing,
    note_run,
    playing_runs,
    recent_runs,
    remember_length,
    resumable,
    take_over,
    user_of,
)
from skill.core import player, progress
from skill.core.complaints import EMERGENCY, Complaint, ComplaintBook, RedFlag, offers, phrase_key
from skill.core.player import Activity, PlaybackState, Program, Token, Transition
from skill.core.progress import feelings
from skill.core.routines import Length, normalise
from skill.core.screens import ART_PIXELS, BACKGROUND_PIXELS
from skill.text import Question, ssml

if TYPE_CHECKING:
    from datetime import tzinfo
    from types import ModuleType

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response

    from skill.alexa.catalog import Catalog
    from skill.config import Settings
    from skill.core.routines import Routine
    from skill.timezone import TimeZoneResolver

log = logging.getLogger("trigger_coach.alexa")

PENDING = "pending"  # session attribute: what a yes/no answers
MAX_HEARD = 60  # longest slot value we repeat back to the user
# Offered first to someone new: the upper back and neck are where desk days are felt most,
# the lower back is the commonest complaint of all, and the feet need no lying on the floor.
FEATURED = ("upper-back", "neck-and-skull", "lower-back", "feet")
# Requests a person makes by speaking or touching: their replies may speak, and one that
# starts a stream ends the session (a screen freezes otherwise).
SPOKEN_REQUESTS = ("LaunchRequest", "IntentRequest", apl.USER_EVENT)


@dataclass
class Coach:
    """Everything the handlers share, built once by the bootstrap."""

    settings: Settings
    catalog: Catalog
    timezones: TimeZoneResolver
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    new_run_id: Callable[[], str] = lambda: uuid.uuid4().hex[:12]
    complaints: ComplaintBook = field(default_factory=ComplaintBook)

    def names(self) -> list[str]:
        """Return every routine's spoken name, in library order."""
        return [r.name for r in self.catalog.library.routines]

    def featured(self) -> list[str]:
        """Return the spoken names of the FEATURED routines this library has, in that order."""
        found = (self.catalog.library.get(routine_id) for routine_id in FEATURED)
        return [r.name for r in found if r is not None]

    def routines_screen(self, speech: ModuleType) -> apl.Screen:
        """Return the screen listing every routine, the FEATURED ones first."""
        return apl.routines_screen(self.catalog.library.routines, FEATURED, speech)


# --- rendering ---------------------------------------------------------------------------

def _play_directive(coach: Coach, play: player.Play, routine: Routine) -> PlayDirective:
    track = coach.catalog.track(routine.id, play.index, routine.length)
    behavior = PlayBehavior(play.behavior.value)
    return PlayDirective(
        play_behavior=behavior,
        audio_item=AudioItem(
            stream=Stream(
                token=play.token,
                url=track.url,
                offset_in_milliseconds=play.offset_ms,
                expected_previous_token=play.expected_previous_token,
            ),
            metadata=AudioItemMetadata(
                title=track.title, subtitle=track.subtitle, art=_image(track.art_url, ART_PIXELS),
                background_image=_image(track.background_url, BACKGROUND_PIXELS)),
        ),
    )


def _image(url: str | None, size: tuple[int, int]) -> Image | None:
    """Return a screen image of one source at its declared pixel size, or None without a URL."""
    if url is None:
        return None
    width, height = size
    return Image(sources=[ImageInstance(url=url, width_pixels=width, height_pixels=height)])


def respond(
    handler_input: HandlerInput, coach: Coach, transition: Transition,
    program: Program | None, routine: Routine | None, say: str | None = None,
) -> Response:
    """Save the transition and turn it into directives, with optional speech."""
    commit(handler_input, transition, program, routine, coach.clock())
    builder = handler_input.response_builder
    if say:
        builder.speak(ssml(say))
    directive = None
    if transition.play is not None and routine is not None:
        directive = _play_directive(coach, transition.play, routine)
    elif transition.stop:
        directive = StopDirective()
    if directive is not None:
        builder.add_directive(directive)
        if get_request_type(handler_input) in SPOKEN_REQUESTS:
            builder.set_should_end_session(True)  # AudioPlayer replies carry directives only
    return builder.response


def _ask(
    handler_input: HandlerInput, lead: str, question: Question, pending: str | None = None,
) -> Response:
    """Say `lead`, end with `question` and keep the session open; a yes/no names its answer."""
    if question.yes_no != bool(pending):
        raise ValueError(f"Question {question.ask!r} with pending answer {pending!r}: a yes/no "
                         "question needs what yes means, and only a yes/no question has one.")
    attrs = handler_input.attributes_manager.session_attributes
    if pending:
        attrs[PENDING] = pending
    else:
        attrs.pop(PENDING, None)
    say = f"{lead} {question.ask}" if lead else question.ask
    return (
        handler_input.response_builder.speak(ssml(say))
        .ask(ssml(question.reprompt)).response
    )


def _tell(handler_input: HandlerInput, say: str) -> Response:
    return handler_input.response_builder.speak(ssml(say)).set_should_end_session(True).response


def _shown(handler_input: HandlerInput, response: Response,
           screen: Callable[[ModuleType], apl.Screen]) -> Response:
    """Return the response with the screen added where the device renders APL; else unchanged.

    Not while our audio plays: the screen then shows the track (AudioPlayer's own screen),
    and a document would cover it for the rest of the routine.
    """
    if apl.renders(device_of(handler_input)) and not _audio_was_playing(handler_input):
        handler_input.response_builder.add_directive(apl.directive(screen(text_of(handler_input))))
    return response


def _run(coach: Coach, state: PlaybackState) -> tuple[Routine | None, Program | None]:
    return (coach.catalog.routine(state.routine_id, state.length),
            coach.catalog.program(state.routine_id, state.length))


def _context_offset(handler_input: HandlerInput, state: PlaybackState) -> int | None:
    """Return the offset Alexa reports for our current stream, if it reports one."""
    audio = getattr(handler_input.request_envelope.context, "audio_player", None)
    if audio is None or audio.token != state.token:
        return None
    return audio.offset_in_milliseconds


def _audio_was_playing(handler_input: HandlerInput) -> bool:
    """Return whether the device was playing our audio when the user spoke."""
    audio = getattr(handler_input.request_envelope.context, "audio_player", None)
    activity = getattr(getattr(audio, "player_activity", None), "value", None)
    return activity == "PLAYING"


def _after_greeting(handler_input: HandlerInput, greeting: str) -> str:
    """Return the greeting followed by the storage apology, when storage is down."""
    speech = text_of(handler_input)
    down = user_of(handler_input).health == UNAVAILABLE
    return f"{greeting} {speech.STORAGE_DOWN}" if down else greeting


def _request_time(handler_input: HandlerInput) -> str | None:
    """Return the request's timestamp as canonical UTC text (it orders late events)."""
    stamp = getattr(handler_input.request_envelope.request, "timestamp", None)
    if not isinstance(stamp, datetime):
        return None
    return progress._iso(stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC))


def _caught_up(coach: Coach, state: PlaybackState, token: str | None) -> PlaybackState:
    """Return the state with a newer token's progress (saves were lost, or the queued track took
    over unsaved: `player.follows`), else as it is."""
    parsed = Token.parse(token)
    if parsed is None or (parsed.seq <= state.seq and token != state.enqueued_token):
        return state
    return player.catch_up(state, coach.catalog.program(parsed.routine_id, parsed.length), token)


def _state(handler_input: HandlerInput, coach: Coach) -> PlaybackState:
    """Return this device's playback state, caught up with the stream Alexa reports playing."""
    audio = getattr(handler_input.request_envelope.context, "audio_player", None)
    return _caught_up(coach, user_of(handler_input).state, getattr(audio, "token", None))


def _zone(handler_input: HandlerInput, coach: Coach) -> tuple[tzinfo, bool]:
    """Return this device's time zone, and whether it is known (else UTC)."""
    device = device_of(handler_input)
    return coach.timezones.resolve(
        device.api_endpoint or "", device.api_access_token or "", device.device_id or "")


def _start_stamp(coach: Coach) -> tuple[int, str]:
    """Return a new run's sequence floor (now in milliseconds) and start time."""
    now = coach.clock()
    return int(now.timestamp() * 1000), progress._iso(now)



# --- starting and resuming ---------------------------------------------------------------

def start_routine(
    handler_input: HandlerInput, coach: Coach, routine: Routine, length: str | None = None,
) -> Response:
    """Introduce a routine and play its first track, at `length` or else the one chosen last."""
    speech = text_of(handler_input)
    if not device_of(handler_input).audio:
        return _tell(handler_input, speech.NO_AUDIO_PLAYER)
    routine = coach.catalog.routine(routine.id, _length_or_last(handler_input, length)) or routine
    program = coach.catalog.program(routine.id, routine.length)
    if program is None:
        return _tell(handler_input, speech.AUDIO_NOT_READY)
    floor, at = _start_stamp(coach)
    transition = player.start(_state(handler_input, coach), program, coach.new_run_id(), floor=floor, at=at)
    briefed = not needs_briefing(handler_input)
    intro = speech.routine_intro(speech.length_title(routine.title, routine.length), routine.minutes,
                                 list(routine.equipment), routine.safety.spoken, briefed=briefed)
    intro = _with_rest_advice(handler_input, coach, routine, intro)
    mark_briefed(handler_input)
    remember_length(handler_input, routine.length)
    return respond(handler_input, coach, transition, program, routine,
                   _after_greeting(handler_input, intro))


def resume_run(handler_input: HandlerInput, coach: Coach, spoken: bool) -> Response:
    """Continue a paused run, on this device or the one paused last on another device of
    the user; explain when there is nothing to continue."""
    speech = text_of(handler_input)
    state = _state(handler_input, coach)
    if not state.has_run:
        offer = resumable(handler_input)
        if offer is not None:
            state = take_over(handler_input, offer[0])
    routine, program = _run(coach, state)
    if state.activity is Activity.PLAYING and program is not None:
        # "Resume" while we think it plays: the stop event went missing; resume from where
        # Alexa says the stream was (or where we last knew).
        state = player.pause(state, program, _context_offset(handler_input, state)).state
    if state.activity is Activity.FINISHED and routine is not None:
        if not spoken:
            return handler_input.response_builder.response
        return _ask(handler_input, speech.finished_already(routine.title),
                    speech.again_offer(routine.title), _start_pending(routine.id, state.length))
    if state.activity is not Activity.PAUSED or program is None or routine is None:
        return _tell(handler_input, speech.NOTHING_PLAYING) if spoken else handler_input.response_builder.response
    if not device_of(handler_input).audio:  # a button press may carry no speech
        return _tell(handler_input, speech.NO_AUDIO_PLAYER) if spoken else handler_input.response_builder.response
    say = speech.resume_intro(routine.title) if spoken and handler_input.request_envelope.session else None
    return respond(handler_input, coach, player.resume(state, program), program, routine, say)


def _offer(handler_input: HandlerInput, coach: Coach) -> tuple[Question, str | None]:
    """Return what to offer next, and what a yes to it means: carry on, the last one, or ask."""
    speech = text_of(handler_input)
    user = user_of(handler_input)
    offer = resumable(handler_input)
    state = offer[1] if offer else user.own_state
    routine = coach.catalog.routine(state.routine_id)
    if state.has_run and routine is not None:
        return speech.resume_offer(routine.title), "resume"
    last = coach.catalog.routine(user.doc.get("last_routine")) or routine
    if last is not None:
        length = _length_or_last(handler_input, None)
        return (speech.again_offer(speech.length_title(last.title, length)),
                _start_pending(last.id, length))
    return speech.WHICH_ROUTINE, None


class LaunchHandler(AbstractRequestHandler):
    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("LaunchRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return _shown(handler_input, self._greet(handler_input), self.coach.routines_screen)

    def _greet(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        recent = recent_runs(handler_input, feelings.recent_since(self.coach.clock()))
        check_in = ask_check_in(handler_input, self.coach, recent)
        if check_in is not None:
            return check_in
        question, pending = _offer(handler_input, self.coach)
        question, pending = _rested_offer(self.coach, question, pending, recent, speech)
        if pending:  # someone who has been here before
            return _ask(handler_input, _after_greeting(handler_input, speech.WELCOME_BACK),
                        question, pending)
        greeting = _after_greeting(handler_input, speech.WELCOME_NEW)
        return _ask(handler_input, f"{greeting} {speech.welcome_list(self.coach.featured())}",
                    question)


def _task(handler_input: HandlerInput) -> Any:
    """Return the task a LaunchRequest carries (an Alexa Routine's action), or None."""
    return getattr(handler_input.request_envelope.request, "task", None)


class TaskLaunchHandler(AbstractRequestHandler):
    """Start the routine an Alexa Routine's task names at once: playback in this one response.

    A task we cannot run gets a spoken explanation of what to change in the Alexa app; no
    question, as nobody may be listening for one.
    """

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("LaunchRequest")(handler_input) and _task(handler_input) is not None

    def handle(self, handler_input: HandlerInput) -> Response:
        task = _task(handler_input)
        found = tasks.read_task(task, self.coach.settings.skill_id, self.coach.catalog.library)
        if isinstance(found, tasks.TaskStart):
            return start_routine(handler_input, self.coach, found.routine, found.length)
        log.info("Cannot run task %.80r version %.10r with input %.120r: %s",
                 getattr(task, "name", None), getattr(task, "version", None), getattr(task, "input", None), found.kind)
        speech = text_of(handler_input)
        if found.kind == tasks.UNKNOWN_ROUTINE:
            return _tell(handler_input, speech.task_unknown_routine(found.heard, self.coach.featured()))
        said = {tasks.NO_ROUTINE: speech.TASK_NO_ROUTINE, tasks.BAD_LENGTH: speech.TASK_BAD_LENGTH}
        return _tell(handler_input, said.get(found.kind, speech.TASK_NOT_OURS))


class StartRoutineHandler(AbstractRequestHandler):
    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.START_ROUTINE.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        heard, routine_id = _slot(handler_input, intents.ROUTINE.name)
        length = _length_slot(handler_input)
        library = self.coach.catalog.library
        routine = library.get(routine_id) if routine_id else None
        said = _raw_slot(handler_input, intents.ROUTINE.name)
        if routine is None and said and not (heard and _unnamed(heard, speech)):
            routine = library.find(heard) if heard else None
            if routine is None:
                return _ask(handler_input, speech.unknown_routine(heard, self.coach.featured()),
                            speech.WHICH_ROUTINE)
        if routine is None:
            return _start_unnamed(handler_input, self.coach, length)
        return start_routine(handler_input, self.coach, routine, length)


# --- quick or full, and starting without a name ----------------------------------------------

def _unnamed(heard: str, speech: ModuleType) -> bool:
    """Return whether what was heard in the routine slot names no routine ("my usual")."""
    return normalise(heard) in speech.NO_ROUTINE_NAMED


def _raw_slot(handler_input: HandlerInput, name: str) -> str:
    """Return a slot's value as it came, stripped ("" when the slot is missing or empty)."""
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    slot = (getattr(intent, "slots", None) or {}).get(name)
    value = getattr(slot, "value", None)
    return value.strip() if isinstance(value, str) else ""


def _length_slot(handler_input: HandlerInput) -> str | None:
    """Return the length asked for ("a quick one", "the full one"), or None if none was said."""
    heard, length_id = _slot(handler_input, intents.LENGTH.name)
    if length_id in tuple(Length):
        return length_id
    wanted = normalise(heard or "")
    return next((lid for lid, names in text_of(handler_input).SLOT_VALUES[intents.LENGTH.type].items()
                 if wanted in {normalise(n) for n in names}), None)


def _length_or_last(handler_input: HandlerInput, length: str | None) -> str:
    """Return the length asked for, else the one this person chose last, else full."""
    return length or last_length(handler_input) or Length.FULL


def _start_pending(routine_id: str, length: str) -> str:
    """Return the pending answer that a yes to "shall I start it?" means."""
    return f"start:{routine_id}:{length}"


def _pending_start(pending: str) -> tuple[str, str | None]:
    """Return the routine and length a pending start names (older ones name no length)."""
    routine_id, _, length = pending.removeprefix("start:").partition(":")
    return routine_id, length or None


def _start_unnamed(handler_input: HandlerInput, coach: Coach, length: str | None) -> Response:
    """Start without a name: the routine just offered ("the full one"), else the usual one.

    The usual one is the routine done last, at its last length; someone new is asked which.
    """
    speech = text_of(handler_input)
    attrs = handler_input.attributes_manager.session_attributes
    pending = str(attrs.get(PENDING, "") or "")
    routine_id, offered = _pending_start(pending) if pending.startswith("start:") else (None, None)
    if routine_id is None:
        offer = resumable(handler_input)
        routine_id = user_of(handler_input).doc.get("last_routine")
        if routine_id is None and offer is not None:
            routine_id = offer[1].routine_id
    routine = coach.catalog.routine(routine_id)
    if routine is None:
        return _ask(handler_input, speech.NO_USUAL_YET, speech.WHICH_ROUTINE)
    attrs.pop(PENDING, None)
    return start_routine(handler_input, coach, routine, length or offered)


# Alexa transcribes words, but a slot value is free text: keep letters, digits, spaces,
# apostrophes and hyphens, so nothing odd is read back.
_HEARD_NOISE = re.compile(r"[^\w' -]|_")


def _slot(
    handler_input: HandlerInput, name: str, max_heard: int = MAX_HEARD,
) -> tuple[str | None, str | None]:
    """Return what was heard in a slot (None past `max_heard` characters) and the id entity resolution matched."""
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    slot = (getattr(intent, "slots", None) or {}).get(name)
    if slot is None:
        return None, None
    heard = " ".join(_HEARD_NOISE.sub(" ", slot.value).split()) if isinstance(slot.value, str) else None
    if not heard or len(heard) > max_heard:  # nobody names a body part in 60 characters
        heard = None
    resolutions = getattr(getattr(slot, "resolutions", None), "resolutions_per_authority", None)
    for authority in resolutions or []:
        code = getattr(getattr(authority.status, "code", None), "value", None)
        if code == "ER_SUCCESS_MATCH" and authority.values:
            return heard, authority.values[0].value.id
    return heard, None


class ResumeHandler(AbstractRequestHandler):
    """Handle "resume" (during playback) and "resume my routine" (in a new session)."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return (is_intent_name(intents.RESUME.name)(handler_input)
                or is_intent_name(intents.RESUME_ROUTINE.name)(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        return resume_run(handler_input, self.coach, spoken=True)


class YesNoHandler(AbstractRequestHandler):
    """Answer the question asked last in this session: resume, start a routine, forget."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return (is_intent_name(intents.YES.name)(handler_input)
                or is_intent_name(intents.NO.name)(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        attrs = handler_input.attributes_manager.session_attributes
        pending = str(attrs.pop(PENDING, "") or "")
        if pending.startswith(COMPLAINT_PENDING):
            return answer_complaint_offer(handler_input, self.coach, pending,
                                          yes=is_intent_name(intents.YES.name)(handler_input))
        if is_intent_name(intents.NO.name)(handler_input):
            if pending == "forget":
                return _tell(handler_input, speech.FORGET_KEPT)
            if pending:
                return _ask(handler_input, speech.OKAY, speech.WHICH_ROUTINE)
            return _tell(handler_input, speech.GOODBYE)
        if pending == "resume":
            return resume_run(handler_input, self.coach, spoken=True)
        if pending.startswith("start:"):
            routine_id, length = _pending_start(pending)
            routine = self.coach.catalog.routine(routine_id)
            if routine is not None:
                return start_routine(handler_input, self.coach, routine, length)
        if pending == "forget":
            done = forget(handler_input)
            return _tell(handler_input, speech.FORGET_DONE if done else speech.ERROR)
        return _ask(handler_input, "", speech.WHICH_ROUTINE)  # a yes to nothing we asked


# --- how it felt: the check-in after a finished run ----------------------------------------
# Asked once at a launch after a completed run (see `skill.core.progress.feelings`); the
# session remembers which run it asked about, so an answer in any other session is late.

CHECK_IN = "check_in"  # session attribute: {"run_id", "area"} of the run the check-in asked about


def ask_check_in(
    handler_input: HandlerInput, coach: Coach, recent: list[dict[str, Any]],
) -> Response | None:
    """Ask how the last finished run felt, if that is due; None when it is not.

    The run is marked as asked before the question is spoken, so no later launch asks again,
    whatever the answer (or silence). A paused run comes first: the offer to pick it up is
    what a launch is for then, and the check-in waits for a later launch (within its days).
    """
    speech = text_of(handler_input)
    now = coach.clock()
    due = feelings.due_check_in(recent, now)
    if due is None or resumable(handler_input) is not None:
        return None
    note_run(handler_input, feelings.mark_asked(due, now).to_dict(), now)
    handler_input.attributes_manager.session_attributes[CHECK_IN] = {
        "run_id": due.run_id, "area": due.area}
    return _ask(handler_input, _after_greeting(handler_input, speech.WELCOME_BACK),
                speech.feeling_question(due.area))


def _another_routine(coach: Coach, avoid: frozenset[str]) -> Routine | None:
    """Return a routine whose audio is ready for an area not in `avoid`: a featured one first."""
    library = coach.catalog.library
    featured = [r for r in (library.get(i) for i in FEATURED) if r is not None]
    candidates = [(r.id, r.area) for r in [*featured, *library.routines]
                  if coach.catalog.program(r.id) is not None]
    return library.get(feelings.another_area(candidates, avoid) or "")


def _rested_offer(
    coach: Coach, question: Question, pending: str | None, recent: list[dict[str, Any]], speech: ModuleType,
) -> tuple[Question, str | None]:
    """Return the launch offer, changed to another area when the offered one was sore lately."""
    if not pending or not pending.startswith("start:"):
        return question, pending
    offered_id, length = _pending_start(pending)
    offered = coach.catalog.routine(offered_id)
    resting = feelings.resting_areas(recent, coach.clock())
    if offered is None or offered.area not in resting:
        return question, pending
    other = _another_routine(coach, resting)
    if other is None:
        return question, pending
    return speech.resting_offer(offered.area, other.title), _start_pending(other.id, length or Length.FULL)


def _with_rest_advice(handler_input: HandlerInput, coach: Coach, routine: Routine, intro: str) -> str:
    """Return the intro, led by one sentence of rest advice when this area is worked a third
    day running. The routine still starts: "stop" pauses it like any other."""
    speech = text_of(handler_input)
    now = coach.clock()
    recent = recent_runs(handler_input, feelings.rest_since(now))
    if not recent:
        return intro
    zone, _ = _zone(handler_input, coach)
    days = feelings.days_running(recent, routine.area, now, zone)
    if days < progress.REST_AFTER_DAYS:
        return intro
    return f"{speech.rest_at_start(routine.area, days)} {intro}"


class FeelingHandler(AbstractRequestHandler):
    """Take the answer to "how did it feel": better, the same or sore, or no / skip.

    A yes, no or "next" answers the check-in only while it is open in this session; a
    feeling said any other time is thanked and not stored.
    """

    ANSWERS = (intents.YES.name, intents.NO.name, intents.NEXT.name)

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        if is_intent_name(intents.FEELING_ANSWER.name)(handler_input):
            return True
        return (any(is_intent_name(n)(handler_input) for n in self.ANSWERS)
                and handler_input.request_envelope.session is not None
                and CHECK_IN in handler_input.attributes_manager.session_attributes)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        attrs = handler_input.attributes_manager.session_attributes
        asked = attrs.pop(CHECK_IN, None)
        area = asked.get("area") if isinstance(asked, dict) else None
        if not isinstance(area, str) or area not in {r.area for r in self.coach.catalog.library.routines}:
            area = None  # only ever an area of ours is spoken back
        if is_intent_name(intents.YES.name)(handler_input) and isinstance(area, str):
            attrs[CHECK_IN] = asked  # a yes says nothing about how it felt: ask again
            return _ask(handler_input, "", speech.feeling_question(area))
        if is_intent_name(intents.FEELING_ANSWER.name)(handler_input):
            _, feeling = _slot(handler_input, intents.FEELING.name)
        else:
            feeling = "skip"
        if feeling is None and isinstance(area, str):
            attrs[CHECK_IN] = asked
            return _ask(handler_input, speech.FEELING_NOT_CAUGHT, speech.feeling_question(area))
        now = self.coach.clock()
        run_id = asked.get("run_id") if isinstance(asked, dict) else None
        runs = recent_runs(handler_input, progress.window_start(now)) if run_id else []
        record = feelings.find_run(runs, run_id)
        if feeling is None or record is None or not feelings.answerable(record, now):
            return _ask(handler_input, speech.CHECK_IN_EXPIRED, *_offer(handler_input, self.coach))
        answer = feelings.answer(record, feelings.SKIPPED if feeling == "skip" else feeling, runs, now)
        note_run(handler_input, answer.record.to_dict(), now)
        said = speech.feeling_noted(answer.feeling, record.area, answer.see_clinician)
        other = _another_routine(self.coach, frozenset({record.area}))
        if answer.feeling == "sore" and other is not None:
            return _ask(handler_input, said, speech.instead_offer(other.title), f"start:{other.id}")
        return _ask(handler_input, said, *_offer(handler_input, self.coach))


# --- conversation ------------------------------------------------------------------------

class ListRoutinesHandler(AbstractRequestHandler):
    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.LIST_ROUTINES.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        return _shown(handler_input,
                      _ask(handler_input, speech.routine_list(self.coach.names()), speech.WHICH_ROUTINE),
                      self.coach.routines_screen)


class ProgressHandler(AbstractRequestHandler):
    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.PROGRESS.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        user = user_of(handler_input)
        if user.health != "ok":
            text = speech.STORAGE_DOWN if user.health == UNAVAILABLE else speech.PROGRESS_UNREADABLE
            return _tell(handler_input, text)
        _, period = _slot(handler_input, intents.PERIOD.name)
        if period is not None and period not in progress.PERIODS:
            log.info("Unknown progress period %r; answering for this week.", period[:40])
            period = None
        zone, known = _zone(handler_input, self.coach)
        now = self.coach.clock().astimezone(zone)
        try:
            view = history(handler_input, now)
        except PersistenceException as exc:
            log.error("Cannot read the history of this user: %s", exc)
            return _tell(handler_input, speech.STORAGE_DOWN)
        try:
            summary = progress.summarize(view, now, period or "this_week", tz_known=known,
                                         playing=playing_runs(handler_input))
        except ValueError as exc:
            log.error("Cannot summarize the progress of this user: %s", exc)
            return _tell(handler_input, speech.PROGRESS_UNREADABLE)
        text = speech.progress_summary(summary)
        if resumable(handler_input) is not None and not _audio_was_playing(handler_input):
            text += " " + speech.RESUME_LATER  # asked during playback, the audio carries on by itself
        return _shown(handler_input, _tell(handler_input, text), lambda speech: apl.summary_screen(summary, speech))


class ForgetHistoryHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.FORGET_HISTORY.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        return _ask(handler_input, "", speech.FORGET, "forget")


class HelpHandler(AbstractRequestHandler):
    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.HELP.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        state = user_of(handler_input).state
        routine = self.coach.catalog.routine(state.routine_id)
        if state.has_run and routine is not None:
            return _ask(handler_input, speech.HELP_PLAYING, speech.resume_offer(routine.title),
                        "resume")
        return _ask(handler_input, speech.HELP_START, speech.WHAT_NEXT)


class SafetyTipsHandler(AbstractRequestHandler):
    """Speak the safety briefing at any time; then offer to carry on or to start a routine."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.SAFETY_TIPS.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        mark_briefed(handler_input)
        if _audio_was_playing(handler_input):
            # The routine goes on by itself after the speech; a question would hold it up.
            return _tell(handler_input, speech.SAFETY_BRIEFING)
        return _ask(handler_input, speech.SAFETY_BRIEFING, *_offer(handler_input, self.coach))


class LoopShuffleHandler(AbstractRequestHandler):
    NAMES = tuple(i.name for i in (intents.LOOP_ON, intents.LOOP_OFF, intents.SHUFFLE_ON,
                                   intents.SHUFFLE_OFF))

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return any(is_intent_name(n)(handler_input) for n in self.NAMES)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        return _tell(handler_input, speech.LOOP_SHUFFLE)


class FallbackHandler(AbstractRequestHandler):
    """Answer the fallback intent and any intent this skill does not know."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("IntentRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        return _ask(handler_input, f"{speech.DID_NOT_CATCH} {speech.HELP_EXAMPLES}", speech.WHAT_NEXT)


# --- complaints: "what helps a headache", red flags -------------------------------------------

COMPLAINT_PENDING = "complaint:"  # + complaint id + ":" + which of its offers was asked
MAX_COMPLAINT_HEARD = 400  # read this much for red flags; only MAX_HEARD is ever said back


def offer_for_complaint(
    handler_input: HandlerInput, coach: Coach, complaint: Complaint, index: int, lead: str,
) -> Response:
    """Offer the complaint's routine number `index` (in file order, skipping ones not in the library)."""
    speech = text_of(handler_input)
    routes = offers(complaint, [r.id for r in coach.catalog.library.routines])
    if index >= len(routes):
        none = speech.COMPLAINT_NOTHING_LEFT if index else speech.COMPLAINT_NOT_AVAILABLE
        return _ask(handler_input, f"{lead} {none}", speech.WHICH_AREA)
    routine = coach.catalog.library.get(routes[index])
    question = speech.complaint_offer(routine.title) if index == 0 else speech.complaint_next_offer(routine.title)
    return _ask(handler_input, lead, question, f"{COMPLAINT_PENDING}{complaint.id}:{index}")


def answer_complaint_offer(handler_input: HandlerInput, coach: Coach, pending: str, yes: bool) -> Response:
    """Start the offered routine on yes; on no, offer the complaint's next routine or ask which area."""
    speech = text_of(handler_input)
    complaint_id, _, index = pending.removeprefix(COMPLAINT_PENDING).rpartition(":")
    complaint = coach.complaints.get(complaint_id)
    if not isinstance(complaint, Complaint) or not index.isdigit():
        return _ask(handler_input, "", speech.WHICH_ROUTINE)  # an answer to nothing we know
    offered = int(index)
    if not yes:
        return offer_for_complaint(handler_input, coach, complaint, offered + 1, speech.OKAY)
    routes = offers(complaint, [r.id for r in coach.catalog.library.routines])
    if offered >= len(routes):
        return _ask(handler_input, "", speech.WHICH_AREA)
    return start_routine(handler_input, coach, coach.catalog.library.get(routes[offered]))


def answer_red_flag(handler_input: HandlerInput, coach: Coach, flag: RedFlag) -> Response:
    """Advise medical help and start nothing; a routine that was playing is paused, not carried on."""
    speech = text_of(handler_input)
    say = speech.red_flag(flag.about, emergency=flag.urgency == EMERGENCY)
    state = user_of(handler_input).state
    routine, program = _run(coach, state)
    playing = state.activity is Activity.PLAYING or _audio_was_playing(handler_input)
    if playing and state.has_run and program is not None and routine is not None:
        transition = player.pause(state, program, _context_offset(handler_input, state))
        return respond(handler_input, coach, transition, program, routine, say)
    return _tell(handler_input, say)


class ComplaintHandler(AbstractRequestHandler):
    """Handle "what helps a headache" and "my head aches": explain, then offer a routine; red flags stop."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.COMPLAINT_INTENT.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        heard, resolved = _slot(handler_input, intents.COMPLAINT.name, max_heard=MAX_COMPLAINT_HEARD)
        found = self.coach.complaints.match(heard, resolved)
        if isinstance(found, RedFlag):
            return answer_red_flag(handler_input, self.coach, found)
        if found is None:
            routine = self.coach.catalog.library.find(phrase_key(heard)) if heard else None
            if routine is not None:  # "what helps my calves", "what helps a stiff neck" (a routine synonym)
                return _ask(handler_input, "", speech.complaint_offer(routine.title), f"start:{routine.id}")
            said = heard if heard and len(heard) <= MAX_HEARD else None
            return _ask(handler_input, speech.unknown_complaint(said, self.coach.complaints.examples()),
                        speech.WHAT_HURTS)
        return offer_for_complaint(handler_input, self.coach, found, 0, found.explanation)


# --- touches on a screen ---------------------------------------------------------------------

class ScreenTouchHandler(AbstractRequestHandler):
    """Start the routine touched on the routine list, as "start my ... routine" would."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type(apl.USER_EVENT)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        arguments = getattr(handler_input.request_envelope.request, "arguments", None)
        routine_id = apl.touched_routine(arguments)
        routine = self.coach.catalog.library.get(routine_id) if routine_id else None
        if routine is not None:
            return start_routine(handler_input, self.coach, routine)
        log.info("A screen event named no routine of ours: %.80r", arguments)
        speech = text_of(handler_input)
        if handler_input.request_envelope.session is None:  # nothing to keep open: say what to say
            return _tell(handler_input, speech.SCREEN_TOUCH_UNKNOWN_CLOSED)
        return _ask(handler_input, speech.SCREEN_TOUCH_UNKNOWN, speech.WHICH_ROUTINE)


# --- playback commands (intents and device buttons) ----------------------------------------

PAUSE, RESUME, NEXT, PREVIOUS, REPEAT, START_OVER = (
    "pause", "resume", "next", "previous", "repeat", "start_over")

INTENT_COMMANDS = {
    intents.PAUSE.name: PAUSE,
    intents.CANCEL.name: PAUSE,
    intents.STOP.name: PAUSE,
    intents.NAVIGATE_HOME.name: PAUSE,
    intents.NEXT.name: NEXT,
    intents.PREVIOUS.name: PREVIOUS,
    intents.REPEAT.name: REPEAT,
    intents.START_OVER.name: START_OVER,
}
BUTTON_COMMANDS = {
    "PlaybackController.PlayCommandIssued": RESUME,
    "PlaybackController.PauseCommandIssued": PAUSE,
    "PlaybackController.NextCommandIssued": NEXT,
    "PlaybackController.PreviousCommandIssued": PREVIOUS,
}


def command_transition(
    command: str, state: PlaybackState, program: Program, run_id: Callable[[], str],
    offset_ms: int | None, at: str | None = None, floor: int = 0,
) -> Transition:
    """Return the player transition for a user command (`at`: the request time)."""
    if command == PAUSE:
        return player.pause(state, program, offset_ms, at)
    if command == RESUME:
        return player.resume(state, program)
    if command == NEXT:
        return player.next_track(state, program)
    if command == PREVIOUS:
        return player.previous_track(state, program)
    if command == REPEAT:
        return player.repeat(state, program)
    return player.start_over(state, program, run_id(), floor=floor, at=at)


class PlaybackCommandHandler(AbstractRequestHandler):
    """Pause, stop, cancel, next, previous, repeat, start over: spoken or pressed."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def _command(self, handler_input: HandlerInput) -> str | None:
        request_type = get_request_type(handler_input)
        if request_type == "IntentRequest":
            return INTENT_COMMANDS.get(handler_input.request_envelope.request.intent.name)
        return BUTTON_COMMANDS.get(request_type)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self._command(handler_input) is not None

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        command = self._command(handler_input)
        is_button = get_request_type(handler_input) != "IntentRequest"
        if command == RESUME:
            return resume_run(handler_input, self.coach, spoken=not is_button)
        state = _state(handler_input, self.coach)
        routine, program = _run(self.coach, state)
        can_replay = command == START_OVER and state.activity is Activity.FINISHED
        if program is None or routine is None or not (state.has_run or can_replay):
            if is_button:
                return handler_input.response_builder.response
            intent = handler_input.request_envelope.request.intent.name
            if intent in (intents.STOP.name, intents.CANCEL.name, intents.NAVIGATE_HOME.name):
                return _tell(handler_input, speech.GOODBYE)
            return _ask(handler_input, speech.NOTHING_PLAYING_IN_SESSION, speech.WHICH_ROUTINE)
        if command != PAUSE and not is_button and not device_of(handler_input).audio:
            return _tell(handler_input, speech.NO_AUDIO_PLAYER)
        floor, _ = _start_stamp(self.coach)
        transition = command_transition(command, state, program, self.coach.new_run_id,
                                        _context_offset(handler_input, state), _request_time(handler_input),
                                        floor)
        return respond(handler_input, self.coach, transition, program, routine)


# --- AudioPlayer events (no session, no speech) ----------------------------------------------

class AudioPlayerEventHandler(AbstractRequestHandler):
    EVENTS: ClassVar[dict[str, Callable[..., Transition]]] = {
        "AudioPlayer.PlaybackNearlyFinished": player.nearly_finished,
        "AudioPlayer.PlaybackFinished": player.finished,
    }

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return get_request_type(handler_input).startswith("AudioPlayer.")

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        kind = get_request_type(handler_input)
        token = getattr(request, "token", None)
        # A token newer than the stored state means saves were lost: go on from the token, so
        # storage that is down never stops playback. The stream Alexa reports playing comes
        # first: a late NearlyFinished of the track before it is then stale.
        state = _caught_up(self.coach, _state(handler_input, self.coach), token)
        routine, program = _run(self.coach, state)
        if program is None or routine is None:
            return handler_input.response_builder.response
        offset = getattr(request, "offset_in_milliseconds", None)
        if kind == "AudioPlayer.PlaybackStopped":
            transition = player.stopped(state, program, token, offset, _request_time(handler_input))
        elif kind == "AudioPlayer.PlaybackFailed":
            log.warning("Playback failed for token %s: %s", token, getattr(request, "error", None))
            transition = player.failed(state, program, token, offset, _request_time(handler_input))
        elif kind == "AudioPlayer.PlaybackStarted":
            transition = player.started(state, program, token, _request_time(handler_input))
        elif kind in self.EVENTS:
            transition = self.EVENTS[kind](state, program, token)
        else:
            return handler_input.response_builder.response
        if kind == "AudioPlayer.PlaybackStopped":  # Alexa accepts no directives here
            transition = Transition(transition.state, events=transition.events)
        return respond(handler_input, self.coach, transition, program, routine)


# --- session and system ----------------------------------------------------------------------

class SessionEndedHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("SessionEndedRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.response


class SkillDisabledHandler(AbstractRequestHandler):
    """Delete everything stored for a user who disabled the skill; the event wants no speech."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("AlexaSkillEvent.SkillDisabled")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        delete_everything(handler_input)
        return handler_input.response_builder.response


class SkillPermissionHandler(AbstractRequestHandler):
    """Log which permissions a user granted or changed; the event wants no speech."""

    EVENTS = ("AlexaSkillEvent.SkillPermissionAccepted", "AlexaSkillEvent.SkillPermissionChanged")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return get_request_type(handler_input) in self.EVENTS

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        granted = getattr(getattr(request, "body", None), "accepted_permissions", None) or []
        scopes = sorted(str(getattr(p, "scope", None))[:80] for p in granted)
        log.info("%s: the user now grants %s.", get_request_type(handler_input), scopes or "no permissions")
        return handler_input.response_builder.response


class SystemExceptionHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("System.ExceptionEncountered")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        log.error("Alexa reported an error with our last response: %s (cause: %s)",
                  getattr(request, "error", None), getattr(request, "cause", None))
        return handler_input.response_builder.response


class AnyOtherRequestHandler(AbstractRequestHandler):
    """Answer request types we do not use (e.g. Alexa.Presentation events) with nothing."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return True

    def handle(self, handler_input: HandlerInput) -> Response:
        log.info("Ignoring request type %s.", get_request_type(handler_input))
        return handler_input.response_builder.response


class ErrorHandler(AbstractExceptionHandler):
    """Log any unexpected error loudly, then give a polite answer instead of an HTTP 500."""

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        speech = text_of(handler_input)
        log.exception("Unhandled error for %s", _describe(handler_input), exc_info=exception)
        request_type = get_request_type(handler_input)
        if request_type in SPOKEN_REQUESTS:
            return _tell(handler_input, speech.ERROR)
        return handler_input.response_builder.response


def _describe(handler_input: HandlerInput) -> Any:
    try:
        return get_request_type(handler_input)
    except Exception:
        return "an unreadable request"


def request_handlers(coach: Coach) -> list[AbstractRequestHandler]:
    """Return the handlers in the order the SDK should try them; specific before general."""
    return [
        # 45 of a routine's 48 requests are AudioPlayer events, which no other handler takes:
        # first, the SDK finds their handler without asking every other one.
        AudioPlayerEventHandler(coach),
        TaskLaunchHandler(coach),
        LaunchHandler(coach),
        StartRoutineHandler(coach),
        ResumeHandler(coach),
        FeelingHandler(coach),
        YesNoHandler(coach),
        ListRoutinesHandler(coach),
        ProgressHandler(coach),
        ForgetHistoryHandler(),
        HelpHandler(coach),
        SafetyTipsHandler(coach),
        ComplaintHandler(coach),
        ScreenTouchHandler(coach),
        LoopShuffleHandler(),
        PlaybackCommandHandler(coach),
        SessionEndedHandler(),
        SkillDisabledHandler(),
        SkillPermissionHandler(),
        SystemExceptionHandler(),
        FallbackHandler(),
        AnyOtherRequestHandler(),
    ]
