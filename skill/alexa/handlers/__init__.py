"""Translate Alexa requests into playback and progress calls, and results into responses.

Handlers pick with a named predicate, call one core function and render the result.
Grouped by concern: conversation (launch, routines, progress, help), playback commands
(intents and device buttons), AudioPlayer events (which may carry no speech), system
events; complaints, reminders, tasks and screen touches have modules of their own.
`request_handlers` lists them in the order the SDK tries them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skill.alexa.handlers.audio_events import AudioPlayerEventHandler
from skill.alexa.handlers.complaint_dialogue import ComplaintHandler
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
from skill.alexa.handlers.playback import PlaybackCommandHandler
from skill.alexa.handlers.progress_report import ProgressHandler
from skill.alexa.handlers.reminder_dialogue import reminder_handlers
from skill.alexa.handlers.screen_touch import ScreenTouchHandler
from skill.alexa.handlers.system import (
    AnyOtherRequestHandler,
    SessionEndedHandler,
    SkillDisabledHandler,
    SkillPermissionHandler,
    SystemExceptionHandler,
)
from skill.alexa.handlers.task_launch import TaskLaunchHandler

if TYPE_CHECKING:
    from ask_sdk_core.dispatch_components import AbstractRequestHandler

    from skill.alexa.handlers.shared import Coach


def request_handlers(coach: Coach) -> list[AbstractRequestHandler]:
    """Return the handlers in the order the SDK should try them; specific before general."""
    return [
        *reminder_handlers(coach),
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
        AudioPlayerEventHandler(coach),
        SessionEndedHandler(),
        SkillDisabledHandler(),
        SkillPermissionHandler(),
        SystemExceptionHandler(),
        FallbackHandler(),
        AnyOtherRequestHandler(),
    ]
