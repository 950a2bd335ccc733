"""Translate Alexa requests into playback and progress calls, and results into responses.

Handlers pick with a named predicate, call one core function and render the result.
Grouped by concern: conversation (launch, routines, help), playback commands (intents and
device buttons), AudioPlayer events (which may carry no speech), system events. Reminders,
complaints, progress, tasks and screen touches have modules of their own, imported on the
first request they answer (`deferred.Deferred`). `request_handlers` lists them all in the
order the SDK tries them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ask_sdk_core.utils import get_request_type, is_intent_name, is_request_type

from skill.alexa import intents
from skill.alexa.handlers.audio_events import AudioPlayerEventHandler
from skill.alexa.handlers.conversation import (
    FallbackHandler,
    FeelingHandler,
    ForgetHistoryHandler,
    HelpHandler,
    LaunchHandler,
    ListRoutinesHandler,
    LoopShuffleHandler,
    ResumeHandler,
    SafetyTipsHandler,
    StartRoutineHandler,
    YesNoHandler,
)
from skill.alexa.handlers.deferred import Deferred
from skill.alexa.handlers.playback import PlaybackCommandHandler
from skill.alexa.handlers.shared import launch_task
from skill.alexa.handlers.system import (
    AnyOtherRequestHandler,
    SessionEndedHandler,
    SkillDisabledHandler,
    SkillPermissionHandler,
    SystemExceptionHandler,
)

if TYPE_CHECKING:
    from ask_sdk_core.dispatch_components import AbstractRequestHandler
    from ask_sdk_core.handler_input import HandlerInput

    from skill.alexa.handlers.shared import Coach


def is_permission_answer(handler_input: HandlerInput) -> bool:
    """Return whether the request answers our voice permission request (AskFor)."""
    request = handler_input.request_envelope.request
    return (get_request_type(handler_input) == intents.CONNECTIONS_RESPONSE
            and getattr(request, "name", None) == intents.ASK_FOR)


def is_task_launch(handler_input: HandlerInput) -> bool:
    """Return whether the request is a launch carrying a task (an Alexa Routine's action)."""
    return is_request_type("LaunchRequest")(handler_input) and launch_task(handler_input) is not None


def request_handlers(coach: Coach) -> list[AbstractRequestHandler]:
    """Return the handlers in the order the SDK should try them; specific before general."""
    return [
        # 45 of a routine's 48 requests are AudioPlayer events, which no other handler takes:
        # first, the SDK finds their handler without asking every other one.
        AudioPlayerEventHandler(coach),
        Deferred(is_intent_name(intents.SET_REMINDER.name),
                 "skill.alexa.handlers.reminder_dialogue:SetReminderHandler", coach),
        Deferred(is_intent_name(intents.LIST_REMINDERS.name),
                 "skill.alexa.handlers.reminder_dialogue:ListRemindersHandler", coach),
        Deferred(is_intent_name(intents.CANCEL_REMINDERS.name),
                 "skill.alexa.handlers.reminder_dialogue:CancelRemindersHandler", coach),
        Deferred(is_permission_answer, "skill.alexa.handlers.reminder_dialogue:PermissionResponseHandler", coach),
        Deferred(is_task_launch, "skill.alexa.handlers.task_launch:TaskLaunchHandler", coach),
        LaunchHandler(coach),
        StartRoutineHandler(coach),
        ResumeHandler(coach),
        FeelingHandler(coach),
        YesNoHandler(coach),
        ListRoutinesHandler(coach),
        Deferred(is_intent_name(intents.PROGRESS.name), "skill.alexa.handlers.progress_report:ProgressHandler", coach),
        ForgetHistoryHandler(),
        HelpHandler(coach),
        SafetyTipsHandler(coach),
        Deferred(is_intent_name(intents.COMPLAINT_INTENT.name),
                 "skill.alexa.handlers.complaint_dialogue:ComplaintHandler", coach),
        Deferred(is_request_type(intents.APL_USER_EVENT),
                 "skill.alexa.handlers.screen_touch:ScreenTouchHandler", coach),
        LoopShuffleHandler(),
        PlaybackCommandHandler(coach),
        SessionEndedHandler(),
        SkillDisabledHandler(),
        SkillPermissionHandler(),
        SystemExceptionHandler(),
        FallbackHandler(),
        AnyOtherRequestHandler(),
    ]
