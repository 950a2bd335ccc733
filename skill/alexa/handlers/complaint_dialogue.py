"""Answer "what helps a headache" and "my head aches": explain, offer a routine; red flags stop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skill.alexa import intents
from skill.alexa.handlers.deferred import Answer
from skill.alexa.handlers.replies import MAX_HEARD, ask, slot, tell
from skill.alexa.handlers.shared import (
    COMPLAINT_PENDING,
    Coach,
    audio_was_playing,
    context_offset,
    respond,
    run_of,
    start_routine,
)
from skill.alexa.locale import text_of
from skill.alexa.user import (
    user_of,
)
from skill.core import player
from skill.core.complaints import EMERGENCY, Complaint, RedFlag, offers, phrase_key
from skill.core.player import Activity

if TYPE_CHECKING:

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response


MAX_COMPLAINT_HEARD = 400  # read this much for red flags; only MAX_HEARD is ever said back


def offer_for_complaint(
    handler_input: HandlerInput, coach: Coach, complaint: Complaint, index: int, lead: str,
) -> Response:
    """Offer the complaint's routine number `index` (in file order, skipping ones not in the library)."""
    speech = text_of(handler_input)
    routes = offers(complaint, [r.id for r in coach.catalog.library.routines])
    if index >= len(routes):
        none = speech.COMPLAINT_NOTHING_LEFT if index else speech.COMPLAINT_NOT_AVAILABLE
        return ask(handler_input, f"{lead} {none}", speech.WHICH_AREA)
    routine = coach.catalog.library.get(routes[index])
    question = speech.complaint_offer(routine.title) if index == 0 else speech.complaint_next_offer(routine.title)
    return ask(handler_input, lead, question, f"{COMPLAINT_PENDING}{complaint.id}:{index}")


def answer_complaint_offer(handler_input: HandlerInput, coach: Coach, pending: str, yes: bool) -> Response:
    """Start the offered routine on yes; on no, offer the complaint's next routine or ask which area."""
    speech = text_of(handler_input)
    complaint_id, _, index = pending.removeprefix(COMPLAINT_PENDING).rpartition(":")
    complaint = coach.complaints.get(complaint_id)
    if not isinstance(complaint, Complaint) or not index.isdigit():
        return ask(handler_input, "", speech.WHICH_ROUTINE)  # an answer to nothing we know
    offered = int(index)
    if not yes:
        return offer_for_complaint(handler_input, coach, complaint, offered + 1, speech.OKAY)
    routes = offers(complaint, [r.id for r in coach.catalog.library.routines])
    if offered >= len(routes):
        return ask(handler_input, "", speech.WHICH_AREA)
    return start_routine(handler_input, coach, coach.catalog.library.get(routes[offered]))


def answer_red_flag(handler_input: HandlerInput, coach: Coach, flag: RedFlag) -> Response:
    """Advise medical help and start nothing; a routine that was playing is paused, not carried on."""
    speech = text_of(handler_input)
    say = speech.red_flag(flag.about, emergency=flag.urgency == EMERGENCY)
    state = user_of(handler_input).state
    routine, program = run_of(coach, state)
    playing = state.activity is Activity.PLAYING or audio_was_playing(handler_input)
    if playing and state.has_run and program is not None and routine is not None:
        transition = player.pause(state, program, context_offset(handler_input, state))
        return respond(handler_input, coach, transition, program, routine, say)
    return tell(handler_input, say)


class ComplaintHandler(Answer):
    """Handle "what helps a headache" and "my head aches": explain, then offer a routine; red flags stop."""

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        heard, resolved = slot(handler_input, intents.COMPLAINT.name, max_heard=MAX_COMPLAINT_HEARD)
        found = self.coach.complaints.match(heard, resolved)
        if isinstance(found, RedFlag):
            return answer_red_flag(handler_input, self.coach, found)
        if found is None:
            routine = self.coach.catalog.library.find(phrase_key(heard)) if heard else None
            if routine is not None:  # "what helps my calves", "what helps a stiff neck" (a routine synonym)
                return ask(handler_input, "", speech.complaint_offer(routine.title), f"start:{routine.id}")
            said = heard if heard and len(heard) <= MAX_HEARD else None
            return ask(handler_input, speech.unknown_complaint(said, self.coach.complaints.examples()),
                        speech.WHAT_HURTS)
        return offer_for_complaint(handler_input, self.coach, found, 0, found.explanation)

