"""Handle AudioPlayer events: they carry no session and get no speech."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.utils import get_request_type

from skill.alexa.handlers.shared import (
    Coach,
    caught_up,
    device_state,
    request_time,
    respond,
    run_of,
)
from skill.core import player
from skill.core.player import Transition

if TYPE_CHECKING:

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response


log = logging.getLogger("trigger_coach.alexa")


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
        state = caught_up(self.coach, device_state(handler_input, self.coach), token)
        routine, program = run_of(self.coach, state)
        if program is None or routine is None:
            return handler_input.response_builder.response
        offset = getattr(request, "offset_in_milliseconds", None)
        if kind == "AudioPlayer.PlaybackStopped":
            transition = player.stopped(state, program, token, offset, request_time(handler_input))
        elif kind == "AudioPlayer.PlaybackFailed":
            log.warning("Playback failed for token %s: %s", token, getattr(request, "error", None))
            transition = player.failed(state, program, token, offset, request_time(handler_input))
        elif kind == "AudioPlayer.PlaybackStarted":
            transition = player.started(state, program, token, request_time(handler_input))
        elif kind in self.EVENTS:
            transition = self.EVENTS[kind](state, program, token)
        else:
            return handler_input.response_builder.response
        if kind == "AudioPlayer.PlaybackStopped":  # Alexa accepts no directives here
            transition = Transition(transition.state, events=transition.events)
        return respond(handler_input, self.coach, transition, program, routine)

