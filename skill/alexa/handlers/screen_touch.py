"""Start the routine touched on the routine list."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from skill.alexa import apl
from skill.alexa.handlers.deferred import Answer
from skill.alexa.handlers.replies import ask, tell
from skill.alexa.handlers.shared import (
    start_routine,
)
from skill.alexa.locale import text_of

if TYPE_CHECKING:

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response


log = logging.getLogger("trigger_coach.alexa")


class ScreenTouchHandler(Answer):
    """Start the routine touched on the routine list, as "start my ... routine" would."""

    def handle(self, handler_input: HandlerInput) -> Response:
        arguments = getattr(handler_input.request_envelope.request, "arguments", None)
        routine_id = apl.touched_routine(arguments)
        routine = self.coach.catalog.library.get(routine_id) if routine_id else None
        if routine is not None:
            return start_routine(handler_input, self.coach, routine)
        log.info("A screen event named no routine of ours: %.80r", arguments)
        speech = text_of(handler_input)
        if handler_input.request_envelope.session is None:  # nothing to keep open: say what to say
            return tell(handler_input, speech.SCREEN_TOUCH_UNKNOWN_CLOSED)
        return ask(handler_input, speech.SCREEN_TOUCH_UNKNOWN, speech.WHICH_ROUTINE)

