"""Handle the conversation: launch, starting routines, yes and no, how it felt, help."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.utils import is_intent_name, is_request_type

from skill.alexa import intents
from skill.alexa.handlers.replies import PENDING, ask, slot, tell
from skill.alexa.handlers.shared import (
    COMPLAINT_PENDING,
    Coach,
    after_greeting,
    another_routine,
    audio_was_playing,
    launch_offer,
    pending_start,
    resume_run,
    shown,
    start_pending,
    start_routine,
)
from skill.alexa.locale import text_of
from skill.alexa.user import (
    forget,
    mark_briefed,
    note_run,
    recent_runs,
    resumable,
    user_of,
)
from skill.core import progress
from skill.core.progress import feelings
from skill.core.routines import Length, normalise
from skill.text import Question

if TYPE_CHECKING:
    from types import ModuleType

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response


log = logging.getLogger("trigger_coach.alexa")


class LaunchHandler(AbstractRequestHandler):
    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("LaunchRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return shown(handler_input, self._greet(handler_input), self.coach.routines_screen)

    def _greet(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        recent = recent_runs(handler_input, feelings.recent_since(self.coach.clock()))
        check_in = ask_check_in(handler_input, self.coach, recent)
        if check_in is not None:
            return check_in
        question, pending = launch_offer(handler_input, self.coach)
        question, pending = _rested_offer(self.coach, question, pending, recent, speech)
        if pending:  # someone who has been here before
            return ask(handler_input, after_greeting(handler_input, speech.WELCOME_BACK),
                        question, pending)
        greeting = after_greeting(handler_input, speech.WELCOME_NEW)
        return ask(handler_input, f"{greeting} {speech.welcome_list(self.coach.featured())}",
                    question)


class StartRoutineHandler(AbstractRequestHandler):
    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.START_ROUTINE.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        heard, routine_id = slot(handler_input, intents.ROUTINE.name)
        length = _length_slot(handler_input)
        library = self.coach.catalog.library
        routine = library.get(routine_id) if routine_id else None
        said = _raw_slot(handler_input, intents.ROUTINE.name)
        if routine is None and said and not (heard and _unnamed(heard, speech)):
            routine = library.find(heard) if heard else None
            if routine is None:
                return ask(handler_input, speech.unknown_routine(heard, self.coach.featured()),
                            speech.WHICH_ROUTINE)
        if routine is None:
            return _start_unnamed(handler_input, self.coach, length)
        return start_routine(handler_input, self.coach, routine, length)


# --- quick or full, and starting without a name ----------------------------------------------

def _unnamed(heard: str, speech: ModuleType) -> bool:
    """Return whether what was heard in the routine slot names no routine ("my usual")."""
    return normalise(heard) in speech.NO_ROUTINE_NAMED


def _raw_slot(handler_input: HandlerInput, name: str) -> str:
    """Return a slot's value as it came, stripped ("" when the slot is missing or empty)."""
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    slot = (getattr(intent, "slots", None) or {}).get(name)
    value = getattr(slot, "value", None)
    return value.strip() if isinstance(value, str) else ""


def _length_slot(handler_input: HandlerInput) -> str | None:
    """Return the length asked for ("a quick one", "the full one"), or None if none was said."""
    heard, length_id = slot(handler_input, intents.LENGTH.name)
    if length_id in tuple(Length):
        return length_id
    wanted = normalise(heard or "")
    return next((lid for lid, names in text_of(handler_input).SLOT_VALUES[intents.LENGTH.type].items()
                 if wanted in {normalise(n) for n in names}), None)



def _start_unnamed(handler_input: HandlerInput, coach: Coach, length: str | None) -> Response:
    """Start without a name: the routine just offered ("the full one"), else the usual one.

    The usual one is the routine done last, at its last length; someone new is asked which.
    """
    speech = text_of(handler_input)
    attrs = handler_input.attributes_manager.session_attributes
    pending = str(attrs.get(PENDING, "") or "")
    routine_id, offered = pending_start(pending) if pending.startswith("start:") else (None, None)
    if routine_id is None:
        offer = resumable(handler_input)
        routine_id = user_of(handler_input).doc.get("last_routine")
        if routine_id is None and offer is not None:
            routine_id = offer[1].routine_id
    routine = coach.catalog.routine(routine_id)
    if routine is None:
        return ask(handler_input, speech.NO_USUAL_YET, speech.WHICH_ROUTINE)
    attrs.pop(PENDING, None)
    return start_routine(handler_input, coach, routine, length or offered)



class ResumeHandler(AbstractRequestHandler):
    """Handle "resume" (during playback) and "resume my routine" (in a new session)."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return (is_intent_name(intents.RESUME.name)(handler_input)
                or is_intent_name(intents.RESUME_ROUTINE.name)(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        return resume_run(handler_input, self.coach, spoken=True)


class YesNoHandler(AbstractRequestHandler):
    """Answer the question asked last in this session: resume, start a routine, forget."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return (is_intent_name(intents.YES.name)(handler_input)
                or is_intent_name(intents.NO.name)(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        attrs = handler_input.attributes_manager.session_attributes
        pending = str(attrs.pop(PENDING, "") or "")
        if pending.startswith(COMPLAINT_PENDING):
            from skill.alexa.handlers.complaint_dialogue import answer_complaint_offer  # complaints load on use

            return answer_complaint_offer(handler_input, self.coach, pending,
                                          yes=is_intent_name(intents.YES.name)(handler_input))
        if is_intent_name(intents.NO.name)(handler_input):
            if pending == "forget":
                return tell(handler_input, speech.FORGET_KEPT)
            if pending:
                return ask(handler_input, speech.OKAY, speech.WHICH_ROUTINE)
            return tell(handler_input, speech.GOODBYE)
        if pending == "resume":
            return resume_run(handler_input, self.coach, spoken=True)
        if pending.startswith("start:"):
            routine_id, length = pending_start(pending)
            routine = self.coach.catalog.routine(routine_id)
            if routine is not None:
                return start_routine(handler_input, self.coach, routine, length)
        if pending == "forget":
            done = forget(handler_input)
            return tell(handler_input, speech.FORGET_DONE if done else speech.ERROR)
        return ask(handler_input, "", speech.WHICH_ROUTINE)  # a yes to nothing we asked


# --- how it felt: the check-in after a finished run ----------------------------------------
# Asked once at a launch after a completed run (see `skill.core.progress.feelings`); the
# session remembers which run it asked about, so an answer in any other session is late.

CHECK_IN = "check_in"  # session attribute: {"run_id", "area"} of the run the check-in asked about


def ask_check_in(
    handler_input: HandlerInput, coach: Coach, recent: list[dict[str, Any]],
) -> Response | None:
    """Ask how the last finished run felt, if that is due; None when it is not.

    The run is marked as asked before the question is spoken, so no later launch asks again,
    whatever the answer (or silence). A paused run comes first: the offer to pick it up is
    what a launch is for then, and the check-in waits for a later launch (within its days).
    """
    speech = text_of(handler_input)
    now = coach.clock()
    due = feelings.due_check_in(recent, now)
    if due is None or resumable(handler_input) is not None:
        return None
    note_run(handler_input, feelings.mark_asked(due, now).to_dict(), now)
    handler_input.attributes_manager.session_attributes[CHECK_IN] = {
        "run_id": due.run_id, "area": due.area}
    return ask(handler_input, after_greeting(handler_input, speech.WELCOME_BACK),
                speech.feeling_question(due.area))


def _rested_offer(
    coach: Coach, question: Question, pending: str | None, recent: list[dict[str, Any]], speech: ModuleType,
) -> tuple[Question, str | None]:
    """Return the launch offer, changed to another area when the offered one was sore lately."""
    if not pending or not pending.startswith("start:"):
        return question, pending
    offered_id, length = pending_start(pending)
    offered = coach.catalog.routine(offered_id)
    resting = feelings.resting_areas(recent, coach.clock())
    if offered is None or offered.area not in resting:
        return question, pending
    other = another_routine(coach, resting)
    if other is None:
        return question, pending
    return speech.resting_offer(offered.area, other.title), start_pending(other.id, length or Length.FULL)


class FeelingHandler(AbstractRequestHandler):
    """Take the answer to "how did it feel": better, the same or sore, or no / skip.

    A yes, no or "next" answers the check-in only while it is open in this session; a
    feeling said any other time is thanked and not stored.
    """

    ANSWERS = (intents.YES.name, intents.NO.name, intents.NEXT.name)

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        if is_intent_name(intents.FEELING_ANSWER.name)(handler_input):
            return True
        return (any(is_intent_name(n)(handler_input) for n in self.ANSWERS)
                and handler_input.request_envelope.session is not None
                and CHECK_IN in handler_input.attributes_manager.session_attributes)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        attrs = handler_input.attributes_manager.session_attributes
        asked = attrs.pop(CHECK_IN, None)
        area = asked.get("area") if isinstance(asked, dict) else None
        if not isinstance(area, str) or area not in {r.area for r in self.coach.catalog.library.routines}:
            area = None  # only ever an area of ours is spoken back
        if is_intent_name(intents.YES.name)(handler_input) and isinstance(area, str):
            attrs[CHECK_IN] = asked  # a yes says nothing about how it felt: ask again
            return ask(handler_input, "", speech.feeling_question(area))
        if is_intent_name(intents.FEELING_ANSWER.name)(handler_input):
            _, feeling = slot(handler_input, intents.FEELING.name)
        else:
            feeling = "skip"
        if feeling is None and isinstance(area, str):
            attrs[CHECK_IN] = asked
            return ask(handler_input, speech.FEELING_NOT_CAUGHT, speech.feeling_question(area))
        now = self.coach.clock()
        run_id = asked.get("run_id") if isinstance(asked, dict) else None
        runs = recent_runs(handler_input, progress.window_start(now)) if run_id else []
        record = feelings.find_run(runs, run_id)
        if feeling is None or record is None or not feelings.answerable(record, now):
            return ask(handler_input, speech.CHECK_IN_EXPIRED, *launch_offer(handler_input, self.coach))
        answer = feelings.answer(record, feelings.SKIPPED if feeling == "skip" else feeling, runs, now)
        note_run(handler_input, answer.record.to_dict(), now)
        said = speech.feeling_noted(answer.feeling, record.area, answer.see_clinician)
        other = another_routine(self.coach, frozenset({record.area}))
        if answer.feeling == "sore" and other is not None:
            return ask(handler_input, said, speech.instead_offer(other.title), f"start:{other.id}")
        return ask(handler_input, said, *launch_offer(handler_input, self.coach))


# --- conversation ------------------------------------------------------------------------

class ListRoutinesHandler(AbstractRequestHandler):
    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.LIST_ROUTINES.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        return shown(handler_input,
                      ask(handler_input, speech.routine_list(self.coach.names()), speech.WHICH_ROUTINE),
                      self.coach.routines_screen)


class ForgetHistoryHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.FORGET_HISTORY.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        return ask(handler_input, "", speech.FORGET, "forget")


class HelpHandler(AbstractRequestHandler):
    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.HELP.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        state = user_of(handler_input).state
        routine = self.coach.catalog.routine(state.routine_id)
        if state.has_run and routine is not None:
            return ask(handler_input, speech.HELP_PLAYING, speech.resume_offer(routine.title),
                        "resume")
        return ask(handler_input, speech.HELP_START, speech.WHAT_NEXT)


class SafetyTipsHandler(AbstractRequestHandler):
    """Speak the safety briefing at any time; then offer to carry on or to start a routine."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name(intents.SAFETY_TIPS.name)(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        mark_briefed(handler_input)
        if audio_was_playing(handler_input):
            # The routine goes on by itself after the speech; a question would hold it up.
            return tell(handler_input, speech.SAFETY_BRIEFING)
        return ask(handler_input, speech.SAFETY_BRIEFING, *launch_offer(handler_input, self.coach))


class LoopShuffleHandler(AbstractRequestHandler):
    NAMES = tuple(i.name for i in (intents.LOOP_ON, intents.LOOP_OFF, intents.SHUFFLE_ON,
                                   intents.SHUFFLE_OFF))

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return any(is_intent_name(n)(handler_input) for n in self.NAMES)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        return tell(handler_input, speech.LOOP_SHUFFLE)


class FallbackHandler(AbstractRequestHandler):
    """Answer the fallback intent and any intent this skill does not know."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("IntentRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        return ask(handler_input, f"{speech.DID_NOT_CATCH} {speech.HELP_EXAMPLES}", speech.WHAT_NEXT)

