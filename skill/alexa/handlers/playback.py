"""Handle playback commands: spoken (pause, next, start over) or pressed on the device."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.utils import get_request_type

from skill.alexa import intents
from skill.alexa.device import device_of
from skill.alexa.handlers.replies import ask, tell
from skill.alexa.handlers.shared import (
    Coach,
    context_offset,
    device_state,
    request_time,
    respond,
    resume_run,
    run_of,
    start_stamp,
)
from skill.alexa.locale import text_of
from skill.core import player
from skill.core.player import Activity, PlaybackState, Program, Transition

if TYPE_CHECKING:

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response


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
        state = device_state(handler_input, self.coach)
        routine, program = run_of(self.coach, state)
        can_replay = command == START_OVER and state.activity is Activity.FINISHED
        if program is None or routine is None or not (state.has_run or can_replay):
            if is_button:
                return handler_input.response_builder.response
            intent = handler_input.request_envelope.request.intent.name
            if intent in (intents.STOP.name, intents.CANCEL.name, intents.NAVIGATE_HOME.name):
                return tell(handler_input, speech.GOODBYE)
            return ask(handler_input, speech.NOTHING_PLAYING_IN_SESSION, speech.WHICH_ROUTINE)
        if command != PAUSE and not is_button and not device_of(handler_input).audio:
            return tell(handler_input, speech.NO_AUDIO_PLAYER)
        floor, _ = start_stamp(self.coach)
        transition = command_transition(command, state, program, self.coach.new_run_id,
                                        context_offset(handler_input, state), request_time(handler_input),
                                        floor)
        return respond(handler_input, self.coach, transition, program, routine)

