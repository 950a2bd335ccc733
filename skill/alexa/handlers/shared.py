"""Hold what the handlers share: the Coach, turning transitions into responses, starting and resuming."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ask_sdk_core.utils import get_request_type

from skill.alexa import intents
from skill.alexa.device import device_of
from skill.alexa.handlers.replies import ask, tell
from skill.alexa.locale import text_of
from skill.alexa.user import (
    UNAVAILABLE,
    commit,
    last_length,
    mark_briefed,
    needs_briefing,
    recent_runs,
    remember_length,
    resumable,
    take_over,
    user_of,
)
from skill.core import player, progress
from skill.core.player import Activity, PlaybackState, Program, Token, Transition
from skill.core.progress import feelings
from skill.core.routines import Length
from skill.text import Question, ssml

if TYPE_CHECKING:
    from datetime import tzinfo
    from types import ModuleType

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response
    from ask_sdk_model.interfaces.audioplayer import PlayDirective, StopDirective
    from ask_sdk_model.interfaces.display import Image

    from skill.alexa.apl import Screen
    from skill.alexa.catalog import Catalog
    from skill.config import Settings
    from skill.core.complaints import ComplaintBook
    from skill.core.routines import Routine
    from skill.timezone import TimeZoneResolver

log = logging.getLogger("trigger_coach.alexa")

# Offered first to someone new: the upper back and neck are where desk days are felt most,
# the lower back is the commonest complaint of all, and the feet need no lying on the floor.
FEATURED = ("upper-back", "neck-and-skull", "lower-back", "feet")
# Requests a person makes by speaking or touching: their replies may speak, and one that
# starts a stream ends the session (a screen freezes otherwise).
SPOKEN_REQUESTS = ("LaunchRequest", "IntentRequest", intents.APL_USER_EVENT)


@dataclass
class Coach:
    """Everything the handlers share, built once by the bootstrap."""

    settings: Settings
    catalog: Catalog
    timezones: TimeZoneResolver
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    new_run_id: Callable[[], str] = lambda: os.urandom(6).hex()  # 12 random hex digits, as uuid4's first 12
    load_complaints: Callable[[], ComplaintBook] = lambda: _no_complaints()

    @cached_property
    def complaints(self) -> ComplaintBook:
        """Return the complaints book, loaded on first use ("what helps a headache"); a launch never needs it."""
        return self.load_complaints()

    def names(self) -> list[str]:
        """Return every routine's spoken name, in library order."""
        return [r.name for r in self.catalog.library.routines]

    def featured(self) -> list[str]:
        """Return the spoken names of the FEATURED routines this library has, in that order."""
        found = (self.catalog.library.get(routine_id) for routine_id in FEATURED)
        return [r.name for r in found if r is not None]

    def routines_screen(self, speech: ModuleType) -> Screen:
        """Return the screen listing every routine, the FEATURED ones first."""
        from skill.alexa import apl  # only for a device with a screen

        return apl.routines_screen(self.catalog.library.routines, FEATURED, speech)


def _no_complaints() -> ComplaintBook:
    from skill.core.complaints import ComplaintBook

    return ComplaintBook()


# --- rendering ---------------------------------------------------------------------------

# ask-sdk-model's AudioPlayer and display models (about 4 ms to import) load with the first
# directive, not at start: a launch sends none.

def _play_directive(coach: Coach, play: player.Play, routine: Routine) -> PlayDirective:
    from ask_sdk_model.interfaces.audioplayer import AudioItem, AudioItemMetadata, PlayBehavior, PlayDirective, Stream

    from skill.core.screens import ART_PIXELS, BACKGROUND_PIXELS  # loaded with the catalog entry already

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
    from ask_sdk_model.interfaces.display import Image, ImageInstance

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
    directive: PlayDirective | StopDirective | None = None
    if transition.play is not None and routine is not None:
        directive = _play_directive(coach, transition.play, routine)
    elif transition.stop:
        from ask_sdk_model.interfaces.audioplayer import StopDirective

        directive = StopDirective()
    if directive is not None:
        builder.add_directive(directive)
        if get_request_type(handler_input) in SPOKEN_REQUESTS:
            builder.set_should_end_session(True)  # AudioPlayer replies carry directives only
    return builder.response


def shown(handler_input: HandlerInput, response: Response,
          screen: Callable[[ModuleType], Screen]) -> Response:
    """Return the response with the screen added where the device renders APL; else unchanged.

    Not while our audio plays: the screen then shows the track (AudioPlayer's own screen),
    and a document would cover it for the rest of the routine. The APL module is imported
    for the first device with a screen; a voice-only launch never loads it.
    """
    device = device_of(handler_input)
    if not device.screen:
        return response
    from skill.alexa import apl

    if apl.renders(device) and not audio_was_playing(handler_input):
        handler_input.response_builder.add_directive(apl.directive(screen(text_of(handler_input))))
    return response


def run_of(coach: Coach, state: PlaybackState) -> tuple[Routine | None, Program | None]:
    return (coach.catalog.routine(state.routine_id, state.length),
            coach.catalog.program(state.routine_id, state.length))


def context_offset(handler_input: HandlerInput, state: PlaybackState) -> int | None:
    """Return the offset Alexa reports for our current stream, if it reports one."""
    audio = getattr(handler_input.request_envelope.context, "audio_player", None)
    if audio is None or audio.token != state.token:
        return None
    return audio.offset_in_milliseconds


def audio_was_playing(handler_input: HandlerInput) -> bool:
    """Return whether the device was playing our audio when the user spoke."""
    audio = getattr(handler_input.request_envelope.context, "audio_player", None)
    activity = getattr(getattr(audio, "player_activity", None), "value", None)
    return activity == "PLAYING"


def after_greeting(handler_input: HandlerInput, greeting: str) -> str:
    """Return the greeting followed by the storage apology, when storage is down."""
    speech = text_of(handler_input)
    down = user_of(handler_input).health == UNAVAILABLE
    return f"{greeting} {speech.STORAGE_DOWN}" if down else greeting


def request_time(handler_input: HandlerInput) -> str | None:
    """Return the request's timestamp as canonical UTC text (it orders late events)."""
    stamp = getattr(handler_input.request_envelope.request, "timestamp", None)
    if not isinstance(stamp, datetime):
        return None
    try:
        return progress._iso(stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC))
    except OverflowError:  # 0001-01-01T00:00:00+01:00 has no UTC: no order to keep
        return None


def caught_up(coach: Coach, state: PlaybackState, token: str | None) -> PlaybackState:
    """Return the state with a newer token's progress (saves were lost, or the queued track took
    over unsaved: `player.follows`), else as it is."""
    parsed = Token.parse(token)
    if parsed is None or (parsed.seq <= state.seq and token != state.enqueued_token):
        return state
    return player.catch_up(state, coach.catalog.program(parsed.routine_id, parsed.length), token)


def device_state(handler_input: HandlerInput, coach: Coach) -> PlaybackState:
    """Return this device's playback state, caught up with the stream Alexa reports playing."""
    audio = getattr(handler_input.request_envelope.context, "audio_player", None)
    return caught_up(coach, user_of(handler_input).state, getattr(audio, "token", None))


def zone_of(handler_input: HandlerInput, coach: Coach) -> tuple[tzinfo, bool]:
    """Return this device's time zone, and whether it is known (else UTC)."""
    device = device_of(handler_input)
    return coach.timezones.resolve(
        device.api_endpoint or "", device.api_access_token or "", device.device_id or "")


def start_stamp(coach: Coach) -> tuple[int, str]:
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
        return tell(handler_input, speech.NO_AUDIO_PLAYER)
    routine = coach.catalog.routine(routine.id, length_or_last(handler_input, length)) or routine
    program = coach.catalog.program(routine.id, routine.length)
    if program is None:
        return tell(handler_input, speech.AUDIO_NOT_READY)
    floor, at = start_stamp(coach)
    transition = player.start(device_state(handler_input, coach), program, coach.new_run_id(), floor=floor, at=at)
    briefed = not needs_briefing(handler_input)
    intro = speech.routine_intro(speech.length_title(routine.title, routine.length), routine.minutes,
                                 list(routine.equipment), routine.safety.spoken, briefed=briefed)
    intro = with_rest_advice(handler_input, coach, routine, intro)
    mark_briefed(handler_input)
    remember_length(handler_input, routine.length)
    return respond(handler_input, coach, transition, program, routine,
                   after_greeting(handler_input, intro))


def resume_run(handler_input: HandlerInput, coach: Coach, spoken: bool) -> Response:
    """Continue a paused run, on this device or the one paused last on another device of
    the user; explain when there is nothing to continue."""
    speech = text_of(handler_input)
    state = device_state(handler_input, coach)
    if not state.has_run:
        offer = resumable(handler_input)
        if offer is not None:
            state = take_over(handler_input, offer[0])
    routine, program = run_of(coach, state)
    if state.activity is Activity.PLAYING and program is not None:
        # "Resume" while we think it plays: the stop event went missing; resume from where
        # Alexa says the stream was (or where we last knew).
        state = player.pause(state, program, context_offset(handler_input, state)).state
    if state.activity is Activity.FINISHED and routine is not None:
        if not spoken:
            return handler_input.response_builder.response
        return ask(handler_input, speech.finished_already(routine.title),
                    speech.again_offer(routine.title), start_pending(routine.id, state.length))
    if state.activity is not Activity.PAUSED or program is None or routine is None:
        return tell(handler_input, speech.NOTHING_PLAYING) if spoken else handler_input.response_builder.response
    if not device_of(handler_input).audio:  # a button press may carry no speech
        return tell(handler_input, speech.NO_AUDIO_PLAYER) if spoken else handler_input.response_builder.response
    say = speech.resume_intro(routine.title) if spoken and handler_input.request_envelope.session else None
    return respond(handler_input, coach, player.resume(state, program), program, routine, say)


def launch_offer(handler_input: HandlerInput, coach: Coach) -> tuple[Question, str | None]:
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
        length = length_or_last(handler_input, None)
        return (speech.again_offer(speech.length_title(last.title, length)),
                start_pending(last.id, length))
    return speech.WHICH_ROUTINE, None

def length_or_last(handler_input: HandlerInput, length: str | None) -> str:
    """Return the length asked for, else the one this person chose last, else full."""
    return length or last_length(handler_input) or Length.FULL


def launch_task(handler_input: HandlerInput) -> Any:
    """Return the task a LaunchRequest carries (an Alexa Routine's action), or None."""
    return getattr(handler_input.request_envelope.request, "task", None)


COMPLAINT_PENDING = "complaint:"  # + complaint id + ":" + which of its offers was asked


def start_pending(routine_id: str, length: str) -> str:
    """Return the pending answer that a yes to "shall I start it?" means."""
    return f"start:{routine_id}:{length}"


def pending_start(pending: str) -> tuple[str, str | None]:
    """Return the routine and length a pending start names (older ones name no length)."""
    routine_id, _, length = pending.removeprefix("start:").partition(":")
    return routine_id, length or None


def another_routine(coach: Coach, avoid: frozenset[str]) -> Routine | None:
    """Return a routine whose audio is ready for an area not in `avoid`: a featured one first."""
    library = coach.catalog.library
    featured = [r for r in (library.get(i) for i in FEATURED) if r is not None]
    candidates = [(r.id, r.area) for r in [*featured, *library.routines]
                  if coach.catalog.program(r.id) is not None]
    return library.get(feelings.another_area(candidates, avoid) or "")


def with_rest_advice(handler_input: HandlerInput, coach: Coach, routine: Routine, intro: str) -> str:
    """Return the intro, led by one sentence of rest advice when this area is worked a third
    day running. The routine still starts: "stop" pauses it like any other."""
    speech = text_of(handler_input)
    now = coach.clock()
    recent = recent_runs(handler_input, feelings.rest_since(now))
    if not recent:
        return intro
    zone, _ = zone_of(handler_input, coach)
    days = feelings.days_running(recent, routine.area, now, zone)
    if days < progress.REST_AFTER_DAYS:
        return intro
    return f"{speech.rest_at_start(routine.area, days)} {intro}"

