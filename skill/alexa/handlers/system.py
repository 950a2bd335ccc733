"""Handle session ends, skill events and errors: none of them speaks unless a person asked."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.utils import get_request_type, is_request_type

from skill.alexa.handlers.replies import tell
from skill.alexa.handlers.shared import (
    SPOKEN_REQUESTS,
)
from skill.alexa.locale import text_of
from skill.alexa.user import (
    delete_everything,
)

if TYPE_CHECKING:

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response


log = logging.getLogger("trigger_coach.alexa")


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
            return tell(handler_input, speech.ERROR)
        return handler_input.response_builder.response


def _describe(handler_input: HandlerInput) -> Any:
    try:
        return get_request_type(handler_input)
    except Exception:
        return "an unreadable request"

