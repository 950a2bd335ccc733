"""Start the routine an Alexa Routine's task names, in the launch response."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from skill.alexa import tasks
from skill.alexa.handlers.deferred import Answer
from skill.alexa.handlers.replies import tell
from skill.alexa.handlers.shared import (
    launch_task,
    start_routine,
)
from skill.alexa.locale import text_of

if TYPE_CHECKING:

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response


log = logging.getLogger("trigger_coach.alexa")


class TaskLaunchHandler(Answer):
    """Start the routine an Alexa Routine's task names at once: playback in this one response.

    A task we cannot run gets a spoken explanation of what to change in the Alexa app; no
    question, as nobody may be listening for one.
    """

    def handle(self, handler_input: HandlerInput) -> Response:
        task = launch_task(handler_input)
        found = tasks.read_task(task, self.coach.settings.skill_id, self.coach.catalog.library)
        if isinstance(found, tasks.TaskStart):
            return start_routine(handler_input, self.coach, found.routine, found.length)
        log.info("Cannot run task %.80r version %.10r with input %.120r: %s",
                 getattr(task, "name", None), getattr(task, "version", None), getattr(task, "input", None), found.kind)
        speech = text_of(handler_input)
        if found.kind == tasks.UNKNOWN_ROUTINE:
            return tell(handler_input, speech.task_unknown_routine(found.heard, self.coach.featured()))
        said = {tasks.NO_ROUTINE: speech.TASK_NO_ROUTINE, tasks.BAD_LENGTH: speech.TASK_BAD_LENGTH}
        return tell(handler_input, said.get(found.kind, speech.TASK_NOT_OURS))

