"""Reading reminder times the way people say them, and the Reminders API body and list (pure)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skill.alexa import intents
from skill.core import reminders
from skill.core.reminders import REPEATS, Asked, Plan, Unclear, listed, plan, read_time, request_body, rrule
from skill.text import LOCALES, for_locale
from skill.text import en_US as speech

BERLIN = ZoneInfo("Europe/Berlin")
EVENING = datetime(2026, 12, 1, 18, 0, tzinfo=BERLIN)  # a Tuesday


@pytest.mark.parametrize("locale", LOCALES)
def test_the_recurrence_slot_offers_exactly_the_repeats_the_core_knows(locale):
    assert set(for_locale(locale).SLOT_VALUES[intents.RECURRENCE.type]) == set(REPEATS)


@pytest.mark.parametrize(("value", "daypart", "expected"), [
    ("20:00", None, time(20, 0)),
    ("07:30", None, time(7, 30)),
    ("08:00", "EV", time(20, 0)),  # "every evening at 8"
    ("08:00", "NI", time(20, 0)),
    ("02:00", "AF", time(14, 0)),
    ("08:00", "MO", time(8, 0)),
    ("00:00", None, time(0, 0)),
    ("12:00", None, time(12, 0)),
    ("MO", None, time(9, 0)),
    ("AF", None, time(14, 0)),
    ("EV", None, time(19, 0)),
    ("NI", None, time(21, 0)),
    ("noon", None, time(12, 0)),
    ("midnight", None, time(0, 0)),
    ("03:00|AF", None, time(15, 0)),  # "at three", then "in the afternoon"
    ("03:00|MO", None, time(3, 0)),
])
def test_times_are_read_as_people_mean_them(value, daypart, expected):
    assert read_time(value, daypart) == expected


@pytest.mark.parametrize(("value", "daypart", "reason", "hour"), [
    (None, None, reminders.NO_TIME, None),
    ("", None, reminders.NO_TIME, None),
    ("25:00", None, reminders.BAD_TIME, None),
    ("12:75", None, reminders.BAD_TIME, None),
    ("?", None, reminders.BAD_TIME, None),
    ("25 o'clock", None, reminders.BAD_TIME, None),
    ("03:00", None, reminders.WHICH_HALF, 3),  # 3 AM or 3 PM?
    ("20:00", "MO", reminders.WHICH_HALF, 8),  # "every morning at 8 PM"
])
def test_times_that_cannot_be_set_as_heard_say_what_to_ask(value, daypart, reason, hour):
    assert read_time(value, daypart) == Unclear(reason, hour)


def test_a_one_off_time_still_ahead_today_is_today():
    assert plan(Asked("upper-back", "20:00"), EVENING) == Plan("upper-back", datetime(2026, 12, 1, 20, 0))


def test_a_one_off_time_already_past_today_moves_to_tomorrow_and_says_so():
    assert plan(Asked(None, "09:00"), EVENING) == Plan(None, datetime(2026, 12, 2, 9, 0), moved_to_tomorrow=True)


def test_the_same_time_as_now_is_past_so_it_is_tomorrow():
    assert plan(Asked(None, "18:00"), EVENING).first == datetime(2026, 12, 2, 18, 0)


def test_a_date_in_the_future_is_used_as_said():
    assert plan(Asked(None, "07:00", "2026-12-02"), EVENING) == Plan(None, datetime(2026, 12, 2, 7, 0))


@pytest.mark.parametrize(("value", "reason"), [
    ("2026-11-30", reminders.PAST_DATE),
    ("2026-W50", reminders.BAD_DATE),
    ("2026-12", reminders.BAD_DATE),
    ("2026-W49-WE", reminders.BAD_DATE),
    ("2026-02-30", reminders.BAD_DATE),
])
def test_days_that_are_not_one_day_ahead_are_asked_again(value, reason):
    assert plan(Asked(None, "08:00", value), EVENING) == Unclear(reason)


def test_every_evening_at_eight_starts_tonight_and_repeats_daily():
    planned = plan(Asked("upper-back", "08:00", repeat="evenings"), EVENING)
    assert planned == Plan("upper-back", datetime(2026, 12, 1, 20, 0), REPEATS["evenings"])
    assert rrule(planned) == "FREQ=DAILY;BYHOUR=20;BYMINUTE=0;BYSECOND=0;INTERVAL=1"


def test_weekends_start_on_the_next_saturday():
    planned = plan(Asked(None, "10:00", repeat="weekends"), EVENING)
    assert planned.first == datetime(2026, 12, 5, 10, 0)
    assert rrule(planned) == "FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=10;BYMINUTE=0;BYSECOND=0;INTERVAL=1"


def test_a_weekly_day_later_today_starts_today():
    assert plan(Asked(None, "19:00", repeat="tuesdays"), EVENING).first == datetime(2026, 12, 1, 19, 0)


@given(st.sampled_from(sorted(REPEATS)), st.integers(0, 23), st.integers(0, 59),
       st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1)))
def test_a_repeating_reminder_first_rings_within_a_week_on_one_of_its_days(repeat, hour, minute, now):
    planned = plan(Asked(None, f"{hour:02d}:{minute:02d}|MO" if hour < 12 else f"{hour:02d}:{minute:02d}",
                         repeat=repeat), now.replace(tzinfo=BERLIN))
    if isinstance(planned, Unclear):
        assert planned.reason == reminders.WHICH_HALF
        return
    assert now < planned.first <= now.replace(hour=0, minute=0, second=0, microsecond=0) + (
        datetime(2000, 1, 9) - datetime(2000, 1, 1))
    assert reminders.WEEKDAYS[planned.first.weekday()] in planned.repeat.days


def test_the_request_body_is_the_reminders_api_shape():
    planned = Plan(None, datetime(2026, 12, 2, 7, 0))
    body = request_body(planned, "Time.", "en-US", "Europe/Berlin", EVENING)
    assert body == {
        "requestTime": "2026-12-01T18:00:00.000",
        "trigger": {"type": "SCHEDULED_ABSOLUTE", "timeZoneId": "Europe/Berlin",
                    "scheduledTime": "2026-12-02T07:00:00.000"},
        "alertInfo": {"spokenInfo": {"content": [{"locale": "en-US", "text": "Time."}]}},
        "pushNotification": {"status": "ENABLED"},
    }


def test_session_attributes_round_trip_and_junk_is_dropped():
    asked = Asked("upper-back", "20:00", None, "evenings")
    assert Asked.from_dict(asked.to_dict()) == asked
    assert Asked.from_dict({"time": 7, "repeat": "x" * 500, "routine_id": "calves", "other": "y"}) == Asked("calves")
    assert Asked.from_dict("nonsense") == Asked()


def test_a_later_answer_fills_in_and_a_half_of_the_day_completes_the_hour():
    earlier = Asked("upper-back", "03:00", None, None)
    assert earlier.merged(Asked(time="AF")) == Asked("upper-back", "03:00|AF")
    assert earlier.merged(Asked(time="16:00")) == Asked("upper-back", "16:00")
    assert Asked(repeat="daily").merged(Asked(time="19:30")) == Asked(None, "19:30", None, "daily")


def test_listed_reminders_read_back_their_repeat_and_time():
    recurring = {"alertToken": "a", "status": "ON",
                 "trigger": {"type": "SCHEDULED_ABSOLUTE", "recurrence": {
                     "recurrenceRules": ["FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=7;BYMINUTE=30;BYSECOND=0"]}},
                 "alertInfo": {"spokenInfo": {"content": [{"locale": "en-US", "text": "Hi."}]}}}
    assert listed(recurring) == reminders.Listed("a", "Hi.", time(7, 30), ("MO", "WE"))
    one_off = {"alertToken": "b", "trigger": {"scheduledTime": "2026-12-02T07:00:00.000"}}
    assert listed(one_off) == reminders.Listed("b", "", time(7, 0), (), date(2026, 12, 2))


@pytest.mark.parametrize("alert", [None, "x", {}, {"alertToken": 5}, {"alertToken": "c", "status": "COMPLETED"}])
def test_alerts_that_are_not_active_readable_reminders_are_left_out(alert):
    assert listed(alert) is None


def test_a_listed_reminder_with_an_unreadable_trigger_still_counts_without_a_time():
    assert listed({"alertToken": "d", "trigger": {"scheduledTime": "soon"}}) == reminders.Listed("d", "", None)


@pytest.mark.parametrize(("hour", "minute", "said"), [
    (20, 0, "8 PM"), (7, 30, "7:30 AM"), (12, 0, "noon"), (0, 0, "midnight"), (0, 15, "12:15 AM"), (12, 5, "12:05 PM"),
])
def test_clock_times_are_said_as_people_say_them(hour, minute, said):
    assert speech.clock_time(hour, minute) == said


def test_the_reminder_text_names_the_routine_and_the_words_that_start_it():
    assert speech.reminder_text("Upper back") == (
        "Time for your upper back routine. Say: Alexa, ask trigger coach to start my upper back routine.")
    assert "start my usual routine" in speech.reminder_text(None)


def test_a_long_list_of_reminders_names_five_and_counts_the_rest():
    items = [("Upper back", f"every day at {h} PM") for h in range(1, 8)]
    text = speech.reminder_list(items)
    assert text.startswith("You have seven reminders from Trigger Coach: upper back every day at 1 PM,")
    assert "upper back every day at 5 PM and two more." in text
    assert "6 PM" not in text


def test_a_listed_reminder_whose_text_is_not_ours_is_called_a_routine():
    assert speech.reminder_list([(None, "tomorrow at 7 AM")]).startswith(
        "You have one reminder from Trigger Coach: a routine tomorrow at 7 AM.")


def test_a_repeat_we_cannot_set_is_asked_about_not_set_once():
    assert plan(Asked(None, "20:00", repeat=reminders.UNKNOWN_REPEAT), EVENING) == Unclear(reminders.BAD_REPEAT)
