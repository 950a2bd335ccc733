"""Turn what someone said about a reminder into one exact plan, or the question to ask back.

Pure: what was said comes in as Alexa's slot values (AMAZON.TIME "20:00" or "EV", AMAZON.DATE
"2026-12-02", a RECURRENCE id) and "now" as an aware local datetime; out come frozen plans,
the Reminders API's request body, and what a listed reminder says about itself. No I/O.

How odd times are read (the handler says the result back, so a wrong guess is heard at once):
- "20:00" is 8 PM. A part of the day alone ("in the evening": EV) picks a usual hour in it.
- A bare hour with a part of the day elsewhere ("every evening at 8") takes that half.
- One to five o'clock with nothing else ("at three") is asked: 3 AM or 3 PM? Six to eleven
  is taken as Alexa heard it (morning), since mornings are when people set these.
- A one-off time already past today moves to tomorrow; a date already past is asked again.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

# AMAZON.TIME's parts of the day, and the hour a reminder for one of them rings.
DAYPARTS = {"MO": time(9, 0), "AF": time(14, 0), "EV": time(19, 0), "NI": time(21, 0)}
_PM_PARTS = frozenset({"AF", "EV", "NI"})
_WORD_TIMES = {"noon": time(12, 0), "midday": time(12, 0), "midnight": time(0, 0)}
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # RRULE BYDAY codes, Monday first


class Repeat(NamedTuple):
    """How a reminder repeats: on which weekdays (all seven: daily), and a part of the day it implies."""

    id: str
    days: tuple[str, ...]
    daypart: str | None = None

    @property
    def rule(self) -> str:
        """Return the RRULE frequency part: FREQ=DAILY, or FREQ=WEEKLY;BYDAY=MO,TU,..."""
        if set(self.days) == set(WEEKDAYS):
            return "FREQ=DAILY"
        return f"FREQ=WEEKLY;BYDAY={','.join(self.days)}"


_WORK = WEEKDAYS[:5]
_WEEKEND = WEEKDAYS[5:]
# The RECURRENCE slot's ids (their spoken values live in skill.alexa.intents).
REPEATS = {r.id: r for r in (
    Repeat("daily", WEEKDAYS),
    Repeat("mornings", WEEKDAYS, "MO"),
    Repeat("afternoons", WEEKDAYS, "AF"),
    Repeat("evenings", WEEKDAYS, "EV"),
    Repeat("nights", WEEKDAYS, "NI"),
    Repeat("weekdays", _WORK),
    Repeat("weekday-mornings", _WORK, "MO"),
    Repeat("weekday-evenings", _WORK, "EV"),
    Repeat("weekends", _WEEKEND),
    *(Repeat(name, (code,)) for name, code in zip(
        ("mondays", "tuesdays", "wednesdays", "thursdays", "fridays", "saturdays", "sundays"),
        WEEKDAYS, strict=True)),
)}


class Plan(NamedTuple):
    """One reminder ready to create: when it first rings (local, naive) and how it repeats."""

    routine_id: str | None
    first: datetime
    repeat: Repeat | None = None
    moved_to_tomorrow: bool = False  # a one-off time already past today


class Unclear(NamedTuple):
    """What to ask back instead of guessing; `hour` is the clock hour heard, for "3 AM or 3 PM?"."""

    reason: str  # one of the constants below
    hour: int | None = None


NO_TIME, BAD_TIME, WHICH_HALF, BAD_DATE, PAST_DATE = (
    "no_time", "bad_time", "which_half", "bad_date", "past_date")
UNKNOWN_ROUTINE, BAD_REPEAT = "unknown_routine", "bad_repeat"
UNKNOWN_REPEAT = "unknown"  # a repeat was said that is none of REPEATS


class Asked(NamedTuple):
    """What a person asked for, as slot values, kept in the session until it can be planned."""

    routine_id: str | None = None
    time: str | None = None
    date: str | None = None
    repeat: str | None = None

    def to_dict(self) -> dict[str, str]:
        """Return the non-empty fields, for session attributes."""
        return {k: v for k, v in self._asdict().items() if isinstance(v, str) and v}

    @classmethod
    def from_dict(cls, raw: object) -> Asked:
        """Read session attributes back; anything not a short string is dropped."""
        if not isinstance(raw, dict):
            return cls()
        return cls(**{k: v for k in ("routine_id", "time", "date", "repeat")
                      if isinstance(v := raw.get(k), str) and 0 < len(v) <= 60})

    def merged(self, later: Asked) -> Asked:
        """Return what was asked with a later answer's values on top ("at 7", "in the evening")."""
        time_value = later.time
        if time_value in DAYPARTS and self.time and _CLOCK.match(self.time):
            time_value = f"{self.time}|{time_value}"  # "3 o'clock" then "in the afternoon"
        return Asked(
            routine_id=later.routine_id or self.routine_id,
            time=time_value or self.time,
            date=later.date or self.date,
            repeat=later.repeat or self.repeat,
        )


def _clock(value: str) -> time | None:
    match = _CLOCK.match(value)
    if not match:
        return None
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def read_time(value: str | None, daypart: str | None = None) -> time | Unclear:
    """Return the clock time AMAZON.TIME's `value` means, with a part of the day heard elsewhere.

    `value` may also be "HH:MM|PART", an hour with the half answered later.
    """
    raw = (value or "").strip()
    if not raw:
        return Unclear(NO_TIME)
    if "|" in raw:
        raw, _, daypart = raw.partition("|")
    word = _WORD_TIMES.get(raw.lower())
    if word is not None:
        return word
    if raw.upper() in DAYPARTS:
        return DAYPARTS[raw.upper()]
    clock = _clock(raw)
    if clock is None:
        return Unclear(BAD_TIME)
    if daypart in _PM_PARTS and 1 <= clock.hour <= 11:
        return clock.replace(hour=clock.hour + 12)
    if daypart == "MO" and clock.hour >= 13:
        return Unclear(WHICH_HALF, clock.hour - 12)
    if daypart is None and 1 <= clock.hour <= 5:
        return Unclear(WHICH_HALF, clock.hour)
    return clock


def read_date(value: str | None, today: date) -> date | Unclear | None:
    """Return the day AMAZON.DATE's `value` names (None: no day was said)."""
    raw = (value or "").strip()
    if not raw:
        return None
    if raw == "PRESENT_REF":
        return today
    match = _DATE.match(raw)
    if not match:
        return Unclear(BAD_DATE)  # a week, a month, a weekend or a year: not one day
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return Unclear(BAD_DATE)
    return Unclear(PAST_DATE) if day < today else day


def plan(asked: Asked, now: datetime) -> Plan | Unclear:
    """Return the reminder `asked` describes, first ringing after `now` (local), or what to ask."""
    repeat = REPEATS.get(asked.repeat or "")
    if asked.repeat and repeat is None:
        return Unclear(BAD_REPEAT)  # "every other day": not a repeat we can set, and not a one-off
    at = read_time(asked.time, repeat.daypart if repeat else None)
    if isinstance(at, Unclear):
        return at
    today = now.date()
    day = read_date(asked.date, today)
    if isinstance(day, Unclear):
        return day
    local_now = now.replace(tzinfo=None)
    if repeat is None:
        first = datetime.combine(day or today, at)
        if first > local_now:
            return Plan(asked.routine_id, first)
        if day is not None and day > today:
            return Plan(asked.routine_id, first)
        return Plan(asked.routine_id, first + timedelta(days=1), moved_to_tomorrow=True)
    start = day or today
    for offset in range(8):
        candidate = datetime.combine(start + timedelta(days=offset), at)
        if WEEKDAYS[candidate.weekday()] in repeat.days and candidate > local_now:
            return Plan(asked.routine_id, candidate, repeat)
    raise AssertionError("a weekly rule always has a day within eight days")  # pragma: no cover


def rrule(plan_: Plan) -> str | None:
    """Return the plan's recurrence rule as the Reminders API takes it, or None for a one-off."""
    if plan_.repeat is None:
        return None
    at = plan_.first
    return f"{plan_.repeat.rule};BYHOUR={at.hour};BYMINUTE={at.minute};BYSECOND=0;INTERVAL=1"


def _local(moment: datetime) -> str:
    return moment.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.000")


def request_body(plan_: Plan, text: str, locale: str, zone: str, now: datetime) -> dict[str, object]:
    """Return the Reminders API's POST body for a plan: local times in `zone`, the spoken text."""
    trigger: dict[str, object] = {"type": "SCHEDULED_ABSOLUTE", "timeZoneId": zone}
    rule = rrule(plan_)
    if rule is None:
        trigger["scheduledTime"] = _local(plan_.first)
    else:
        trigger["recurrence"] = {"startDateTime": _local(plan_.first), "recurrenceRules": [rule]}
    return {
        "requestTime": _local(now),
        "trigger": trigger,
        "alertInfo": {"spokenInfo": {"content": [{"locale": locale, "text": text}]}},
        "pushNotification": {"status": "ENABLED"},
    }


# --- reading reminders back ("what reminders do I have") ---------------------------------------

class Listed(NamedTuple):
    """One reminder as the API lists it: its token, its text, when it rings."""

    token: str
    text: str
    at: time | None  # None: the API's answer named no time we can read
    days: tuple[str, ...] = ()  # repeating on these weekdays; () for a one-off
    on: date | None = None  # a one-off's day


_RULE_PART = re.compile(r"([A-Z]+)=([A-Z0-9,+-]+)")


def _from_rule(rule: str) -> tuple[tuple[str, ...], time | None]:
    parts = dict(_RULE_PART.findall(rule.upper()))
    if parts.get("FREQ") == "DAILY":
        days = WEEKDAYS
    elif parts.get("FREQ") == "WEEKLY":
        days = tuple(d for d in WEEKDAYS if d in parts.get("BYDAY", "").split(","))
    else:
        days = ()
    try:
        at = time(int(parts["BYHOUR"]), int(parts.get("BYMINUTE", "0")))
    except (KeyError, ValueError):
        at = None
    return days, at


def listed(alert: object) -> Listed | None:
    """Read one alert of the API's list answer; None when it is not an active reminder we can read."""
    if not isinstance(alert, dict) or not isinstance(alert.get("alertToken"), str):
        return None
    if alert.get("status") not in (None, "ON"):
        return None  # COMPLETED ones linger in the app for three days; they ring no more
    content = (((alert.get("alertInfo") or {}).get("spokenInfo") or {}).get("content") or [{}])
    text = content[0].get("text") if isinstance(content, list) and isinstance(content[0], dict) else None
    trigger = alert.get("trigger") if isinstance(alert.get("trigger"), dict) else {}
    recurrence = trigger.get("recurrence") if isinstance(trigger.get("recurrence"), dict) else {}
    rules = recurrence.get("recurrenceRules")
    if isinstance(rules, list) and rules and isinstance(rules[0], str):
        days, at = _from_rule(rules[0])
        if days:
            return Listed(alert["alertToken"], text if isinstance(text, str) else "", at, days)
    scheduled = trigger.get("scheduledTime")
    moment = _moment(scheduled) if isinstance(scheduled, str) else None
    return Listed(alert["alertToken"], text if isinstance(text, str) else "",
                  moment.time() if moment else None, (), moment.date() if moment else None)


def _moment(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.rstrip("Z")[:19])
    except ValueError:
        return None
