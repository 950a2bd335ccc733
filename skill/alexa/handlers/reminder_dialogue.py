"""Handle reminders: set one, list them, cancel them, and the permission they need.

The Reminders API is the only place reminders live: nothing is written to our storage, so a
failure anywhere changes nothing stored. What someone asked for waits in the session while
the skill asks back (a time, which half of the day, which routine) or asks for permission by
voice (`Connections.SendRequest` AskFor); the `Connections.Response` that answers it then
creates exactly what was asked. Where AskFor cannot run, or was not answered, the consent
card goes to the Alexa app instead.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ask_sdk_model.interfaces.connections import SendRequestDirective
from ask_sdk_model.ui import AskForPermissionsConsentCard

from skill.alexa import intents
from skill.alexa.device import device_of
from skill.alexa.handlers.deferred import Answer
from skill.alexa.handlers.replies import ask, slot, tell
from skill.alexa.locale import text_of
from skill.alexa.reminders_api import PERMISSION, THROTTLED, RemindersApi, RemindersError
from skill.core import reminders
from skill.core.reminders import Asked, Plan, Unclear
from skill.text import ssml

if TYPE_CHECKING:
    from datetime import date, datetime
    from types import ModuleType

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response

    from skill.alexa.handlers.shared import Coach

log = logging.getLogger("trigger_coach.reminders")

SCOPE = "alexa::alerts:reminders:skill:readwrite"
ASKED = "reminder"  # session attribute: the reminder asked for (skill.core.reminders.Asked)


def reminders_allowed(handler_input: HandlerInput) -> bool:
    """Return whether the request says the user has granted the reminders permission."""
    system = getattr(handler_input.request_envelope.context, "system", None)
    permissions = getattr(getattr(system, "user", None), "permissions", None)
    scope = (getattr(permissions, "scopes", None) or {}).get(SCOPE)
    status = getattr(getattr(scope, "status", None), "value", None)
    if status is not None:
        return status == "GRANTED"
    return bool(getattr(permissions, "consent_token", None))


def _api(handler_input: HandlerInput, coach: Coach) -> RemindersApi:
    device = device_of(handler_input)
    return RemindersApi(device.api_endpoint or "", device.api_access_token or "",
                        coach.settings.reminders_timeout)


def _consent_card(handler_input: HandlerInput, say: str) -> Response:
    """Tell, and send the consent card to the Alexa app (where voice consent cannot run)."""
    builder = handler_input.response_builder.speak(ssml(say))
    builder.set_card(AskForPermissionsConsentCard(permissions=[SCOPE]))
    return builder.set_should_end_session(True).response


def _ask_permission(handler_input: HandlerInput, asked: Asked) -> Response:
    """Ask for the reminders permission by voice, keeping what was asked in the session."""
    speech = text_of(handler_input)
    if handler_input.request_envelope.session is None:
        return _consent_card(handler_input, speech.REMINDERS_NO_PERMISSION)
    handler_input.attributes_manager.session_attributes[ASKED] = asked.to_dict()
    directive = SendRequestDirective(
        name=intents.ASK_FOR,
        payload={"@type": "AskForPermissionsConsentRequest", "@version": "1", "permissionScope": SCOPE},
        token="reminder",
    )
    # No reprompt and no shouldEndSession: Alexa speaks the permission prompt next.
    return (handler_input.response_builder.speak(ssml(speech.REMINDER_PERMISSION_LEAD))
            .add_directive(directive).response)


def _failure(handler_input: HandlerInput, error: RemindersError) -> Response:
    """Say what went wrong with the API: busy, or unreachable. Nothing has changed."""
    speech = text_of(handler_input)
    log.warning("%s", error)
    return tell(handler_input, speech.REMINDER_BUSY if error.kind == THROTTLED else speech.REMINDER_UNREACHABLE)


def _title(coach: Coach, routine_id: str | None) -> str | None:
    routine = coach.catalog.library.get(routine_id) if routine_id else None
    return routine.title if routine is not None else None


def _when(speech: ModuleType, plan: Plan, now: datetime) -> str:
    at = plan.first
    if plan.repeat is not None:
        return speech.reminder_when(at.hour, at.minute, plan.repeat.days)
    day = speech.reminder_day((at.date() - now.date()).days, at.weekday(), at.month, at.day)
    return speech.reminder_when(at.hour, at.minute, day=day)


def _question_for(handler_input: HandlerInput, asked: Asked, unclear: Unclear, heard: str | None) -> Response:
    """Ask back what is missing or unclear, keeping the rest of what was asked."""
    speech = text_of(handler_input)
    handler_input.attributes_manager.session_attributes[ASKED] = asked.to_dict()
    if unclear.reason == reminders.WHICH_HALF and unclear.hour is not None:
        return ask(handler_input, "", speech.reminder_which_half(unclear.hour))
    if unclear.reason == reminders.UNKNOWN_ROUTINE:
        return ask(handler_input, speech.reminder_unknown_routine(heard or "that"),
                    speech.REMINDER_WHICH_ROUTINE)
    if unclear.reason == reminders.BAD_REPEAT:  # the answer may well be a one-off: forget the odd repeat
        handler_input.attributes_manager.session_attributes[ASKED] = Asked(
            asked.routine_id, asked.time, asked.date).to_dict()
        return ask(handler_input, speech.REMINDER_BAD_REPEAT, speech.REMINDER_WHEN)
    if unclear.reason in (reminders.BAD_DATE, reminders.PAST_DATE):
        lead = speech.REMINDER_PAST_DATE if unclear.reason == reminders.PAST_DATE else speech.REMINDER_BAD_DATE
        return ask(handler_input, lead, speech.REMINDER_WHICH_DAY)
    lead = speech.REMINDER_BAD_TIME if unclear.reason == reminders.BAD_TIME else ""
    return ask(handler_input, lead, speech.REMINDER_WHEN)


def set_reminder(
    handler_input: HandlerInput, coach: Coach, asked: Asked, heard: str | None = None, *, just_allowed: bool = False,
) -> Response:
    """Plan what was asked and create it, or ask back, or ask for permission; say exactly when it rings.

    `just_allowed`: the person has just accepted the permission by voice, so it is not asked
    for again; if the API still refuses, the consent card goes to the app instead.
    """
    speech = text_of(handler_input)
    attrs = handler_input.attributes_manager.session_attributes if handler_input.request_envelope.session else {}
    if asked.routine_id == reminders.UNKNOWN_ROUTINE:
        return _question_for(handler_input, Asked(None, asked.time, asked.date, asked.repeat),
                             Unclear(reminders.UNKNOWN_ROUTINE), heard)
    device = device_of(handler_input)
    zone, known = coach.timezones.resolve(
        device.api_endpoint or "", device.api_access_token or "", device.device_id or "")
    if not known:
        attrs.pop(ASKED, None)
        return tell(handler_input, speech.REMINDER_NO_ZONE)
    now = coach.clock().astimezone(zone)
    planned = reminders.plan(asked, now)
    if isinstance(planned, Unclear):
        return _question_for(handler_input, asked, planned, heard)
    if not just_allowed and not reminders_allowed(handler_input):
        return _ask_permission(handler_input, asked)
    title = _title(coach, planned.routine_id)
    body = reminders.request_body(planned, speech.reminder_text(title), device.locale, zone.key, now)
    try:
        _api(handler_input, coach).create(body)
    except RemindersError as error:
        if error.kind == PERMISSION and not just_allowed:
            return _ask_permission(handler_input, asked)
        attrs.pop(ASKED, None)
        if error.kind == PERMISSION:
            log.warning("%s, just after the permission was accepted; sending the consent card.", error)
            return _consent_card(handler_input, speech.REMINDER_PERMISSION_CARD)
        return _failure(handler_input, error)
    attrs.pop(ASKED, None)
    return tell(handler_input, speech.reminder_set(title, _when(speech, planned, now), planned.moved_to_tomorrow))


class SetReminderHandler(Answer):
    """Handle "remind me to do my upper back every evening at 8", and the answers to its questions."""

    def handle(self, handler_input: HandlerInput) -> Response:
        heard, routine_id = slot(handler_input, intents.ROUTINE.name)
        library = self.coach.catalog.library
        routine = library.get(routine_id) if routine_id else (library.find(heard) if heard else None)
        _, repeat = slot(handler_input, intents.RECURRENCE.name)
        if repeat is None:  # no entity match: the value may still be one of ours, said exactly
            said, _ = slot(handler_input, intents.RECURRENCE.name)
            repeats = text_of(handler_input).SLOT_VALUES[intents.RECURRENCE.type]
            repeat = next((rid for rid, names in repeats.items()
                           if said and said.lower() in names), reminders.UNKNOWN_REPEAT if said else None)
        now_said = Asked(
            routine_id=routine.id if routine else (reminders.UNKNOWN_ROUTINE if heard else None),
            time=_value(handler_input, intents.TIME.name),
            date=_value(handler_input, intents.DATE.name),
            repeat=repeat,
        )
        earlier = Asked()
        if handler_input.request_envelope.session is not None:
            earlier = Asked.from_dict(handler_input.attributes_manager.session_attributes.get(ASKED))
        return set_reminder(handler_input, self.coach, earlier.merged(now_said), heard)


def _value(handler_input: HandlerInput, name: str) -> str | None:
    """Return a built-in slot's value (AMAZON.TIME, AMAZON.DATE) as sent, capped, or None."""
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    slot = (getattr(intent, "slots", None) or {}).get(name)
    value = getattr(slot, "value", None)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:40]


class ListRemindersHandler(Answer):
    """Handle "what reminders do I have": each one's routine and when it rings."""

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        if not reminders_allowed(handler_input):
            return _consent_card(handler_input, speech.REMINDERS_NO_PERMISSION)
        try:
            alerts = _api(handler_input, self.coach).list()
        except RemindersError as error:
            if error.kind == PERMISSION:
                return _consent_card(handler_input, speech.REMINDERS_NO_PERMISSION)
            return _failure(handler_input, error)
        items = [item for item in map(reminders.listed, alerts) if item is not None]
        if not items:
            return tell(handler_input, speech.REMINDERS_NONE)
        device = device_of(handler_input)
        zone, _ = self.coach.timezones.resolve(
            device.api_endpoint or "", device.api_access_token or "", device.device_id or "")
        today = self.coach.clock().astimezone(zone).date()
        titles = {speech.reminder_text(r.title): r.title for r in self.coach.catalog.library.routines}
        return tell(handler_input, speech.reminder_list([_described(speech, item, titles, today) for item in items]))


def _described(
    speech: ModuleType, item: reminders.Listed, titles: dict[str, str], today: date,
) -> tuple[str | None, str]:
    """Return a listed reminder's routine title (if the text is one of ours) and when it rings."""
    title = titles.get(item.text)
    if item.at is None:
        return title, ""
    if item.days:
        return title, speech.reminder_when(item.at.hour, item.at.minute, item.days)
    day = None
    if item.on is not None:
        day = speech.reminder_day((item.on - today).days, item.on.weekday(), item.on.month, item.on.day)
    return title, speech.reminder_when(item.at.hour, item.at.minute, day=day)


class CancelRemindersHandler(Answer):
    """Handle "cancel my reminders": delete every reminder this skill set, and say how many."""

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        if not reminders_allowed(handler_input):
            return tell(handler_input, speech.reminders_cancelled(0, 0))
        api = _api(handler_input, self.coach)
        try:
            tokens = [item.token for item in map(reminders.listed, api.list()) if item is not None]
        except RemindersError as error:
            if error.kind == PERMISSION:
                return tell(handler_input, speech.reminders_cancelled(0, 0))
            return _failure(handler_input, error)
        done = 0
        for token in tokens:
            try:
                api.delete(token)
            except RemindersError as error:
                log.warning("Stopped cancelling after %d of %d reminders: %s", done, len(tokens), error)
                if done == 0:
                    return _failure(handler_input, error)
                break
            done += 1
        return tell(handler_input, speech.reminders_cancelled(done, len(tokens)))


class PermissionResponseHandler(Answer):
    """Handle the Connections.Response to AskFor: accepted, denied, not answered, or failed."""

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = text_of(handler_input)
        request = handler_input.request_envelope.request
        code = str(getattr(getattr(request, "status", None), "code", "") or "")
        payload: Any = getattr(request, "payload", None)
        answer = payload.get("status") if isinstance(payload, dict) else None
        session = handler_input.request_envelope.session
        attrs = handler_input.attributes_manager.session_attributes if session else {}
        asked = Asked.from_dict(attrs.pop(ASKED, None))
        if code != "200":
            log.warning("AskFor could not run (status %r %r); sending the consent card.",
                        code[:10], str(getattr(getattr(request, "status", None), "message", ""))[:80])
            return _consent_card(handler_input, speech.REMINDER_PERMISSION_CARD)
        if answer == "ACCEPTED":
            if asked == Asked():
                return tell(handler_input, speech.REMINDER_ALLOWED_NOTHING_ASKED)
            return set_reminder(handler_input, self.coach, asked, just_allowed=True)
        if answer == "DENIED":
            return tell(handler_input, speech.REMINDER_DENIED)
        return _consent_card(handler_input, speech.REMINDER_NOT_ANSWERED)

