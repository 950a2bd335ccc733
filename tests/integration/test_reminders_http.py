"""Reminders through the real skill server over HTTP, against a Reminders API stand-in on loopback.

The skill runs in waitress, as `trigger-coach serve` runs it. The request's apiEndpoint
points at `tests.alexa_api`, which speaks the Settings API (time zone) and the Reminders REST
API. The skill's clock is fixed: 17:00 UTC on Tuesday 1 December 2026, which is 18:00 in
Berlin, the devices' zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skill.alexa.builder import build_coach
from skill.alexa.reminders_api import TIMEOUT, RemindersApi, RemindersError
from skill.hosting.web import create_app
from skill.storage import SQLITE_FILE_NAME, SQLiteAdapter
from skill.text import en_US as speech
from tests import alexa
from tests.alexa_api import TOKEN, alexa_api
from tests.server import WaitressServer

USER = "amzn1.ask.account.REMINDERS-USER"
NOW = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # a Tuesday; 18:00 in Berlin
UPPER_BACK = ("upper back", "upper-back")
EVERY_EVENING = ("every evening", "evenings")


@pytest.fixture
def rig(app_settings):
    """Yield (skill URL, API endpoint, API state, settings) with the skill's clock fixed at NOW."""
    settings = app_settings.with_(reminders_timeout=1.0)
    coach = build_coach(settings)
    coach.clock = lambda: NOW
    with alexa_api() as (endpoint, state), WaitressServer(create_app(settings, coach=coach), settings) as server:
        yield server.url, endpoint, state, settings


def say(rig, body: dict) -> dict:
    url, *_ = rig
    status, reply = alexa.post(url, body)
    assert status == 200, reply
    return reply


def remind(rig, slots: dict, *, granted: bool = True, attributes: dict | None = None) -> dict:
    _, endpoint, *_ = rig
    body = alexa.intent("SetReminderIntent", slots, user=USER, api_endpoint=endpoint,
                        session_attributes=attributes)
    return say(rig, alexa.with_reminders_permission(body, granted))


def intent(rig, name: str, *, granted: bool = True) -> dict:
    _, endpoint, *_ = rig
    return say(rig, alexa.with_reminders_permission(
        alexa.intent(name, user=USER, api_endpoint=endpoint), granted))


def answer_permission(rig, answer: str, attributes: dict, *, code: str = "200", granted: bool) -> dict:
    _, endpoint, *_ = rig
    body = alexa.connections_response(answer, code=code, session_attributes=attributes, user=USER,
                                      api_endpoint=endpoint)
    return say(rig, alexa.with_reminders_permission(body, granted))


def said(reply: dict) -> str:
    return alexa.speech_of(reply).removeprefix("<speak>").removesuffix("</speak>")


def ask_for(reply: dict) -> dict | None:
    return next((d for d in alexa.directives(reply) if d["type"] == "Connections.SendRequest"), None)


def stored(settings) -> dict:
    return SQLiteAdapter(settings.data_dir / SQLITE_FILE_NAME).get(USER)


def test_a_recurring_reminder_is_asked_for_denied_then_granted_created_listed_and_cancelled(rig):
    _, _, api, settings = rig
    asked = {"routine": UPPER_BACK, "recurrence": EVERY_EVENING, "time": "08:00"}

    # Not granted yet: the skill asks by voice, keeping what was asked, and calls nothing.
    first = remind(rig, asked, granted=False)
    directive = ask_for(first)
    assert directive == {
        "type": "Connections.SendRequest", "name": "AskFor", "token": "reminder",
        "payload": {"@type": "AskForPermissionsConsentRequest", "@version": "1",
                    "permissionScope": "alexa::alerts:reminders:skill:readwrite"},
    }
    assert said(first) == speech.REMINDER_PERMISSION_LEAD
    assert "reprompt" not in first["response"] and "shouldEndSession" not in first["response"]
    kept = first["sessionAttributes"]
    assert kept["reminder"] == {"routine_id": "upper-back", "time": "08:00", "repeat": "evenings"}
    assert api.reminder_calls() == []

    # Denied: a clear answer, nothing created.
    denied = answer_permission(rig, "DENIED", kept, granted=False)
    assert said(denied) == speech.REMINDER_DENIED
    assert denied["response"]["shouldEndSession"] is True
    assert api.reminders == {}

    # Asked again, and accepted: the reminder asked for is created at once.
    kept = remind(rig, asked, granted=False)["sessionAttributes"]
    accepted = answer_permission(rig, "ACCEPTED", kept, granted=True)
    assert said(accepted) == speech.reminder_set("Upper back", "every day at 8 PM", False)
    [reminder] = api.reminders.values()
    assert reminder["trigger"] == {
        "type": "SCHEDULED_ABSOLUTE", "timeZoneId": "Europe/Berlin",
        "recurrence": {"startDateTime": "2026-12-01T20:00:00.000",
                       "recurrenceRules": ["FREQ=DAILY;BYHOUR=20;BYMINUTE=0;BYSECOND=0;INTERVAL=1"]},
    }
    text = reminder["alertInfo"]["spokenInfo"]["content"][0]
    assert text == {"locale": "en-US", "text": "Time for your upper back routine. Say: Alexa, ask trigger "
                                               "coach to start my upper back routine."}
    assert "reminder" not in accepted.get("sessionAttributes", {})

    # Listed: the routine and when it rings.
    listed = intent(rig, "ListRemindersIntent")
    assert said(listed).startswith("You have one reminder from Trigger Coach: upper back every day at 8 PM.")

    # Cancelled: the API holds none, and the list says so.
    cancelled = intent(rig, "CancelRemindersIntent")
    assert said(cancelled) == "Done. I've cancelled your reminder from Trigger Coach."
    assert api.reminders == {}
    assert said(intent(rig, "ListRemindersIntent")) == speech.REMINDERS_NONE
    assert stored(settings) == {}  # reminders live in the API alone: nothing is stored here


def test_every_api_failure_is_a_clear_answer_that_changes_nothing(rig):
    url, _, api, settings = rig
    status, _ = alexa.post(url, alexa.intent("StartRoutineIntent", {"routine": UPPER_BACK}, user=USER))
    assert status == 200
    before = stored(settings)
    assert before is not None
    asked = {"routine": UPPER_BACK, "recurrence": EVERY_EVENING, "time": "08:00"}
    for failure, expected in ((429, speech.REMINDER_BUSY), (500, speech.REMINDER_UNREACHABLE),
                              (503, speech.REMINDER_UNREACHABLE), (400, speech.REMINDER_UNREACHABLE)):
        api.fail_next = [failure]
        reply = remind(rig, asked)
        assert said(reply) == expected, failure
        assert reply["response"]["shouldEndSession"] is True
    api.slow_next = 1  # hangs far past the skill's deadline
    assert said(remind(rig, asked)) == speech.REMINDER_UNREACHABLE
    api.fail_next = [500]
    assert said(intent(rig, "ListRemindersIntent")) == speech.REMINDER_UNREACHABLE
    api.fail_next = [429]
    assert said(intent(rig, "CancelRemindersIntent")) == speech.REMINDER_BUSY
    assert api.reminders == {}
    assert stored(settings) == before


def test_a_403_from_the_api_despite_a_consent_token_asks_for_permission_by_voice(rig):
    _, _, api, _ = rig
    api.allowed = False
    reply = remind(rig, {"routine": UPPER_BACK, "time": "21:15"})
    assert ask_for(reply) is not None
    assert reply["sessionAttributes"]["reminder"] == {"routine_id": "upper-back", "time": "21:15"}
    # Accepted, but the API still refuses: the consent card goes to the app, no loop of asking.
    accepted = answer_permission(rig, "ACCEPTED", reply["sessionAttributes"], granted=True)
    assert said(accepted) == speech.REMINDER_PERMISSION_CARD
    assert accepted["response"]["card"] == {"type": "AskForPermissionsConsent",
                                            "permissions": ["alexa::alerts:reminders:skill:readwrite"]}
    assert ask_for(accepted) is None


@pytest.mark.parametrize(("answer", "code", "expected"), [
    ("NOT_ANSWERED", "200", speech.REMINDER_NOT_ANSWERED),
    ("ACCEPTED", "500", speech.REMINDER_PERMISSION_CARD),  # AskFor could not run on this device
])
def test_an_unanswered_or_failed_permission_question_sends_the_consent_card(rig, answer, code, expected):
    _, _, api, _ = rig
    kept = remind(rig, {"routine": UPPER_BACK, "time": "21:15"}, granted=False)["sessionAttributes"]
    reply = answer_permission(rig, answer, kept, code=code, granted=False)
    assert said(reply) == expected
    assert reply["response"]["card"]["type"] == "AskForPermissionsConsent"
    assert api.reminders == {}


def test_accepted_without_anything_asked_says_how_to_set_one(rig):
    reply = answer_permission(rig, "ACCEPTED", {}, granted=True)
    assert said(reply) == speech.REMINDER_ALLOWED_NOTHING_ASKED


def test_listing_and_cancelling_without_permission_explain_and_call_nothing(rig):
    _, _, api, _ = rig
    listed = intent(rig, "ListRemindersIntent", granted=False)
    assert said(listed) == speech.REMINDERS_NO_PERMISSION
    assert listed["response"]["card"]["type"] == "AskForPermissionsConsent"
    assert said(intent(rig, "CancelRemindersIntent", granted=False)) == speech.reminders_cancelled(0, 0)
    assert api.reminder_calls() == []


def test_tomorrow_at_seven_am_is_a_one_off_for_that_morning(rig):
    _, _, api, _ = rig
    reply = remind(rig, {"date": "2026-12-02", "time": "07:00"})
    assert said(reply) == speech.reminder_set(None, "tomorrow at 7 AM", False)
    [reminder] = api.reminders.values()
    assert reminder["trigger"] == {"type": "SCHEDULED_ABSOLUTE", "timeZoneId": "Europe/Berlin",
                                   "scheduledTime": "2026-12-02T07:00:00.000"}
    assert "start my usual routine" in reminder["alertInfo"]["spokenInfo"]["content"][0]["text"]


def test_every_weekday_at_half_past_seven_repeats_monday_to_friday(rig):
    _, _, api, _ = rig
    reply = remind(rig, {"routine": UPPER_BACK, "recurrence": ("every weekday", "weekdays"), "time": "07:30"})
    assert "every weekday at 7:30 AM" in said(reply)
    [reminder] = api.reminders.values()
    assert reminder["trigger"]["recurrence"] == {
        "startDateTime": "2026-12-02T07:30:00.000",  # 07:30 today has passed: Wednesday is next
        "recurrenceRules": ["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=7;BYMINUTE=30;BYSECOND=0;INTERVAL=1"],
    }


def test_a_time_already_past_today_is_set_for_tomorrow_and_said_so(rig):
    _, _, api, _ = rig
    reply = remind(rig, {"routine": UPPER_BACK, "time": "09:00"})  # 18:00 now in Berlin
    assert said(reply) == speech.reminder_set("Upper back", "tomorrow at 9 AM", True)
    [reminder] = api.reminders.values()
    assert reminder["trigger"]["scheduledTime"] == "2026-12-02T09:00:00.000"


def test_an_hour_that_could_be_either_half_is_asked_and_the_answer_sets_it(rig):
    _, _, api, _ = rig
    question = remind(rig, {"routine": UPPER_BACK, "time": "03:00"})
    assert said(question) == speech.reminder_which_half(3).ask
    assert question["response"]["shouldEndSession"] is False
    assert api.reminder_calls() == []
    answered = remind(rig, {"time": "AF"}, attributes=question["sessionAttributes"])
    assert said(answered) == speech.reminder_set("Upper back", "tomorrow at 3 PM", True)  # 15:00 has passed
    [reminder] = api.reminders.values()
    assert reminder["trigger"]["scheduledTime"] == "2026-12-02T15:00:00.000"


@pytest.mark.parametrize(("slots", "lead", "question"), [
    ({"routine": UPPER_BACK, "recurrence": ("every day", "daily"), "time": "25:00"},
     speech.REMINDER_BAD_TIME, speech.REMINDER_WHEN),
    ({"routine": UPPER_BACK, "recurrence": ("every day", "daily")}, "", speech.REMINDER_WHEN),
    ({"routine": UPPER_BACK, "date": "2026-11-30", "time": "08:00"},
     speech.REMINDER_PAST_DATE, speech.REMINDER_WHICH_DAY),
    ({"routine": UPPER_BACK, "date": "2026-W50", "time": "08:00"},
     speech.REMINDER_BAD_DATE, speech.REMINDER_WHICH_DAY),
    ({"routine": "elbows", "time": "20:00"}, "I don't have a routine for elbows.", speech.REMINDER_WHICH_ROUTINE),
    ({"routine": UPPER_BACK, "recurrence": "every other day", "time": "20:00"},
     speech.REMINDER_BAD_REPEAT, speech.REMINDER_WHEN),
], ids=["25-oclock", "no-time", "past-date", "a-week", "unknown-routine", "every-other-day"])
def test_times_and_days_that_cannot_be_set_are_asked_again(rig, slots, lead, question):
    _, _, api, _ = rig
    reply = remind(rig, slots)
    assert said(reply) == (f"{lead} {question.ask}" if lead else question.ask)
    assert reply["response"]["shouldEndSession"] is False
    assert api.reminder_calls() == []


def test_a_repeat_said_in_a_locale_s_own_words_is_set_there_and_asked_again_elsewhere(rig):
    _, endpoint, api, _ = rig

    def remind_in(locale: str, recurrence: tuple[str, str | None]) -> dict:
        body = alexa.intent("SetReminderIntent", {"routine": UPPER_BACK, "recurrence": recurrence, "time": "15:00"},
                            user=USER, api_endpoint=endpoint, locale=locale)
        return say(rig, alexa.with_reminders_permission(body, True))

    set_reply = remind_in("en-US", ("every afternoon", "afternoons"))
    [resolved] = api.reminders.values()
    api.reminders.clear()
    reply = remind_in("en-AU", ("every arvo", None))  # no entity match: the word itself is read
    assert said(reply) == said(set_reply)
    [heard] = api.reminders.values()
    assert heard["trigger"]["recurrence"] == resolved["trigger"]["recurrence"]
    api.reminders.clear()
    reply = remind_in("en-US", ("every arvo", None))
    assert said(reply) == f"{speech.REMINDER_BAD_REPEAT} {speech.REMINDER_WHEN.ask}"
    assert api.reminders == {}


def test_the_answer_to_when_keeps_the_routine_asked_for(rig):
    _, _, api, _ = rig
    question = remind(rig, {"routine": UPPER_BACK, "recurrence": ("every day", "daily")})
    answered = remind(rig, {"time": "19:30"}, attributes=question["sessionAttributes"])
    assert said(answered) == speech.reminder_set("Upper back", "every day at 7:30 PM", False)
    assert len(api.reminders) == 1


def test_a_cancel_that_fails_midway_says_how_many_it_cancelled(rig):
    _, _, api, _ = rig
    for time_ in ("19:00", "20:00", "21:00"):
        remind(rig, {"routine": UPPER_BACK, "recurrence": ("every day", "daily"), "time": time_})
    assert len(api.reminders) == 3
    api.fail_next = [None, None, 500]  # the list and one delete work, the next delete fails
    reply = intent(rig, "CancelRemindersIntent")
    assert said(reply) == speech.reminders_cancelled(1, 3)
    assert len(api.reminders) == 2
    assert said(intent(rig, "CancelRemindersIntent")) == speech.reminders_cancelled(2, 2)
    assert api.reminders == {}


def test_a_one_off_is_listed_by_its_local_day(rig):
    remind(rig, {"routine": ("calves", "calves"), "date": "2026-12-04", "time": "18:30"})
    remind(rig, {"routine": UPPER_BACK, "time": "21:00"})
    text = said(intent(rig, "ListRemindersIntent"))
    assert text.startswith("You have two reminders from Trigger Coach: calves on Friday, December 4 at 6:30 PM "
                           "and upper back today at 9 PM."), text


SLOT_TEXT = st.one_of(st.none(), st.text(max_size=30), st.sampled_from([
    "20:00", "08:00", "03:00", "25:00", "MO", "AF", "EV", "NI", "noon", "24:60", "7", "PRESENT_REF",
    "2026-12-02", "2026-11-30", "2026-W50", "XXXX-12-25", "2026-02-30", "x" * 200]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(time_=SLOT_TEXT, date_=SLOT_TEXT, repeat=st.one_of(SLOT_TEXT, st.sampled_from(
    [("every evening", "evenings"), ("every weekday", "weekdays"), ("on mondays", "mondays"), ("odd", "nope")])),
       routine=st.one_of(SLOT_TEXT, st.just(UPPER_BACK)), attributes=st.one_of(
    st.just({}), st.just({"reminder": "junk"}), st.just({"reminder": {"time": 7, "repeat": ["x"]}}),
    st.just({"reminder": {"time": "03:00", "routine_id": "upper-back"}})),
       answer=st.sampled_from(["ACCEPTED", "DENIED", "NOT_ANSWERED", "MAYBE", ""]), granted=st.booleans())
def test_any_reminder_request_or_permission_answer_gets_a_spoken_reply_and_only_well_formed_reminders(
        rig, time_, date_, repeat, routine, attributes, answer, granted):
    _, _, api, _ = rig
    reply = remind(rig, {"time": time_, "date": date_, "recurrence": repeat, "routine": routine},
                   granted=granted, attributes=attributes)
    assert said(reply) and speech.ERROR not in said(reply)
    kept = reply.get("sessionAttributes") or attributes
    reply = answer_permission(rig, answer, kept, granted=granted)
    assert said(reply) and speech.ERROR not in said(reply)
    for reminder in api.reminders.values():
        trigger = reminder["trigger"]
        assert trigger["timeZoneId"] == "Europe/Berlin"
        assert ("scheduledTime" in trigger) != ("recurrence" in trigger)
        start = trigger.get("scheduledTime") or trigger["recurrence"]["startDateTime"]
        assert datetime.fromisoformat(start) > NOW.astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None)


def test_the_calls_of_one_request_share_one_deadline(rig):
    _, endpoint, api, _ = rig
    now = [100.0]
    client = RemindersApi(endpoint, TOKEN, 1.0, clock=lambda: now[0])
    assert client.list() == []
    now[0] += 1.0  # the first call used the whole budget
    with pytest.raises(RemindersError) as error:
        client.delete("any")
    assert error.value.kind == TIMEOUT
    assert [c.method for c in api.reminder_calls()] == ["GET"]  # the second was never sent


def test_a_slow_answer_is_cut_off_and_said_as_unreachable_without_creating_anything(rig):
    _, endpoint, api, _ = rig
    api.slow_next = 1
    with pytest.raises(RemindersError) as error:
        RemindersApi(endpoint, TOKEN, 0.3).create({"trigger": {}})
    assert error.value.kind == TIMEOUT
    assert api.reminders == {}
