"""Answer "how did I do this week": the progress summary, spoken and shown."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ask_sdk_core.exceptions import PersistenceException

from skill.alexa import apl, intents
from skill.alexa.handlers.deferred import Answer
from skill.alexa.handlers.replies import slot, tell
from skill.alexa.handlers.shared import (
    audio_was_playing,
    shown,
    zone_of,
)
from skill.alexa.locale import text_of
from skill.alexa.user import (
    UNAVAILABLE,
    history,
    playing_runs,
    resumable,
    user_of,
)
from skill.core import progress

if TYPE_CHECKING:

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response


log = logging.getLogger("trigger_coach.alexa")


class ProgressHandler(Answer):
    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        user = user_of(handler_input)
        if user.health != "ok":
            text = speech.STORAGE_DOWN if user.health == UNAVAILABLE else speech.PROGRESS_UNREADABLE
            return tell(handler_input, text)
        _, period = slot(handler_input, intents.PERIOD.name)
        if period is not None and period not in progress.PERIODS:
            log.info("Unknown progress period %r; answering for this week.", period[:40])
            period = None
        zone, known = zone_of(handler_input, self.coach)
        now = self.coach.clock().astimezone(zone)
        try:
            view = history(handler_input, now)
        except PersistenceException as exc:
            log.error("Cannot read the history of this user: %s", exc)
            return tell(handler_input, speech.STORAGE_DOWN)
        try:
            summary = progress.summarize(view, now, period or "this_week", tz_known=known,
                                         playing=playing_runs(handler_input))
        except ValueError as exc:
            log.error("Cannot summarize the progress of this user: %s", exc)
            return tell(handler_input, speech.PROGRESS_UNREADABLE)
        text = speech.progress_summary(summary)
        if resumable(handler_input) is not None and not audio_was_playing(handler_input):
            text += " " + speech.RESUME_LATER  # asked during playback, the audio carries on by itself
        return shown(handler_input, tell(handler_input, text), lambda speech: apl.summary_screen(summary, speech))

