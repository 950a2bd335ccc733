"""Load the body of a rarely needed handler on first use; pick its requests without it.

The SDK asks every request handler's `can_handle` in turn, so picking stays cheap: a
`Deferred` picks with a named predicate over `skill.alexa.intents` names, and imports the
module of its `Answer` (reminders, complaints, progress, tasks, screen touches, and what
each of them imports) when the first request it picks arrives. A cold LaunchRequest then
loads only what a launch needs.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

from ask_sdk_core.dispatch_components import AbstractRequestHandler

if TYPE_CHECKING:
    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response

    from skill.alexa.handlers.shared import Coach


class Answer(abc.ABC):
    """The body of a deferred handler: built with the Coach, it answers what `Deferred` picked."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    @abc.abstractmethod
    def handle(self, handler_input: HandlerInput) -> Response:
        """Answer a request that the deferring handler's predicate picked."""


class Deferred(AbstractRequestHandler):
    """Pick with `picks`; answer with the `Answer` named "module:Class".

    The name is written out in full (entry-point style), so the Lambda packager
    (`skill.hosting.package`) finds the module as it finds an import.
    """

    def __init__(self, picks: Callable[[HandlerInput], bool], answer: str, coach: Coach) -> None:
        module, _, name = answer.partition(":")
        if not module or not name:
            raise ValueError(f"A deferred handler's answer {answer!r} must read 'module:Class', "
                             "e.g. 'skill.alexa.handlers.reminder_dialogue:SetReminderHandler'.")
        self.picks = picks
        self.answer = answer
        self.coach = coach
        self._module = module
        self._name = name
        self._lock = threading.Lock()
        self._body: Answer | None = None

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.picks(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.body().handle(handler_input)

    def body(self) -> Answer:
        """Return the answering handler, importing its module the first time."""
        if self._body is None:
            with self._lock:  # the web server's threads may pick the same handler at once
                if self._body is None:
                    self._body = getattr(import_module(self._module), self._name)(self.coach)
        return self._body
