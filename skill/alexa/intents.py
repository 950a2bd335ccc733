"""Declare every intent once: its name, its slots and what people say to reach it.

The interaction-model generator (`skill.alexa.model`) writes these into every <locale>.json and the
handlers pick requests by the same names, so an intent cannot be renamed in one place and
forgotten in the other. A test sends every intent of the generated model over HTTP and
checks that a handler answers it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """A slot of an intent: its name in requests and its slot type in the model."""

    name: str
    type: str


@dataclass(frozen=True)
class Intent:
    """An intent as the model declares it; built-in AMAZON.* intents have no samples."""

    name: str
    samples: tuple[str, ...] = ()
    slots: tuple[Slot, ...] = ()

    @property
    def custom(self) -> bool:
        """Return whether this is one of our own intents rather than an AMAZON.* built-in."""
        return not self.name.startswith("AMAZON.")


ROUTINE = Slot("routine", "ROUTINE")  # values: the routine library (ids and spoken names)
PERIOD = Slot("period", "PERIOD")  # values: PERIOD_VALUES below
COMPLAINT = Slot("complaint", "COMPLAINT")  # values: routines/complaints.json phrases (and red flags)
LENGTH = Slot("length", "LENGTH")  # values: LENGTH_VALUES below

# Spoken values of the PERIOD slot, by the id `skill.core.progress.summarize` takes.
PERIOD_VALUES = {
    "this_week": ("this week", "so far this week"),
    "last_week": ("last week", "the week before"),
    "this_month": ("this month", "so far this month"),
}

# Spoken values of the LENGTH slot, by the length id (skill.core.routines.Length).
LENGTH_VALUES = {
    "quick": ("quick", "short", "five minute", "5 minute", "five minutes", "shorter", "brief",
              "fast", "quicker", "mini"),
    "full": ("full", "long", "whole", "complete", "longer", "full length", "regular", "normal",
             "entire"),
}

# Starting with a length, and starting without a name ("start my usual"): the handler plays
# the routine offered or done last. Kept apart so the merge with other intents' samples is easy.
_START_WITH_LENGTH = (
    "start a {length} {routine} routine",
    "start my {length} {routine} routine",
    "start the {length} {routine} routine",
    "start a {length} {routine}",
    "do a {length} {routine} routine",
    "do the {length} {routine} routine",
    "play a {length} {routine} routine",
    "begin a {length} {routine} routine",
    "can we do a {length} {routine} routine",
    "let's do a {length} {routine} routine",
    "I want a {length} {routine} routine",
    "a {length} {routine} routine",
    "the {length} {routine} routine",
    "give me a {length} {routine} routine",
    "start a {length} routine for my {routine}",
    "start a {length} routine for {routine}",
    "do a {length} routine for my {routine}",
    "give me a {length} routine for my {routine}",
    "start my {routine} routine the {length} one",
    "start the {length} version of my {routine} routine",
    "start a {length} routine",
    "start a {length} one",
    "start the {length} one",
    "do the {length} one",
    "do a {length} one",
    "play the {length} one",
    "give me the {length} one",
    "I want the {length} one",
    "I'll take the {length} one",
    "let's do the {length} one",
    "let's do a {length} one",
    "the {length} one",
    "a {length} one",
    "the {length} version",
    "the {length} routine",
    "a {length} routine",
    "make it {length}",
    "make it a {length} one",
    "{length} please",
    "do my usual {length}",
    "start my usual {length} routine",
)
_START_WITHOUT_NAME = (
    "start my usual",
    "start my usual routine",
    "start the usual",
    "do my usual",
    "do the usual",
    "my usual",
    "the usual",
    "start my routine",
    "start a routine",
    "start the routine",
    "begin a routine",
    "begin my routine",
    "do a routine",
    "play my routine",
    "let's go",
    "let's start",
    "let's begin",
    "let's do this",
    "let's do it",
)
_START_VERBS = (
    "begin the {routine} routine",
    "begin {routine}",
    "begin my {routine}",
    "can we do {routine}",
    "can we do my {routine}",
    "can we do the {routine} routine",
    "can we do a {routine} routine",
    "can we work on my {routine}",
    "let's do {routine}",
    "let's do the {routine} routine",
    "let's do a {routine} routine",
    "let's work on {routine}",
    "do {routine}",
    "do a {routine} routine",
    "play {routine}",
    "play the {routine} routine",
    "play a {routine} routine",
    "work on {routine}",
    "work on my {routine} routine",
    "start a {routine} routine",
    "begin a {routine} routine",
)

START_ROUTINE = Intent("StartRoutineIntent", slots=(ROUTINE, LENGTH), samples=(
    "start my {routine} routine",
    "start my {routine}",
    "start the {routine} routine",
    "start {routine}",
    "begin my {routine} routine",
    "do my {routine}",
    "do my {routine} routine",
    "do the {routine} routine",
    "roll out my {routine}",
    "roll my {routine}",
    "I want to work on my {routine}",
    "I want to roll out my {routine}",
    "work on my {routine}",
    "let's do my {routine}",
    "let's work on my {routine}",
    "play my {routine} routine",
    "guide me through my {routine} routine",
    "help me loosen my {routine}",
    "massage my {routine}",
    "my {routine} routine",
    "the {routine} routine",
    "{routine}",
    *_START_VERBS,
    *_START_WITH_LENGTH,
    *_START_WITHOUT_NAME,
))
LIST_ROUTINES = Intent("ListRoutinesIntent", samples=(
    "what routines do you have",
    "what routines are there",
    "which routines do you have",
    "list the routines",
    "list my routines",
    "what can I work on",
    "what areas can you do",
    "what are my options",
))
PROGRESS = Intent("ProgressIntent", slots=(PERIOD,), samples=(
    "how did I do this week",
    "how did I do {period}",
    "how am I doing",
    "what's my progress",
    "what is my progress",
    "what's my progress {period}",
    "what did I do {period}",
    "how many sessions did I do {period}",
    "give me my weekly summary",
    "my progress",
))
RESUME_ROUTINE = Intent("ResumeRoutineIntent", samples=(
    "resume my routine",
    "continue my routine",
    "carry on with my routine",
    "pick up where I left off",
    "keep going with my routine",
    "finish my routine",
    "resume where I stopped",
))
FORGET_HISTORY = Intent("ForgetHistoryIntent", samples=(
    "forget my history",
    "delete my history",
    "erase my history",
    "clear my history",
    "delete my progress",
    "forget everything about me",
))
# "Alexa, ask trigger coach for safety tips": Alexa strips "ask <invocation> for", so the
# sample is what follows it. No sample may start with ask, open or tell: Alexa would launch.
SAFETY_TIPS = Intent("SafetyTipsIntent", samples=(
    "safety tips",
    "the safety tips",
    "give me the safety tips",
    "give me safety tips",
    "safety",
    "the safety advice",
    "safety advice",
    "is this safe",
    "is it safe",
    "how hard should I press",
    "how hard do I press",
    "how much pressure should I use",
    "what does out of ten mean",
))
# --- complaints: "Alexa, ask trigger coach what helps a headache", "my head aches" ----------
# Carrier phrases only; the complaint words are the COMPLAINT slot's values, which the
# validator keeps apart from routine names, so no utterance means both a complaint and a routine.
COMPLAINT_INTENT = Intent("ComplaintIntent", slots=(COMPLAINT,), samples=(
    "what helps {complaint}",
    "what helps a {complaint}",
    "what helps my {complaint}",
    "what helps with {complaint}",
    "what helps with my {complaint}",
    "what helps for {complaint}",
    "what's good for {complaint}",
    "what's good for a {complaint}",
    "what's good for my {complaint}",
    "what can I do for {complaint}",
    "what can I do for a {complaint}",
    "what can I do for my {complaint}",
    "what can I do about {complaint}",
    "what can I do about my {complaint}",
    "what should I do for {complaint}",
    "what should I do about my {complaint}",
    "something for {complaint}",
    "something for my {complaint}",
    "help with {complaint}",
    "help with my {complaint}",
    "help me with my {complaint}",
    "I have {complaint}",
    "I have a {complaint}",
    "I've got {complaint}",
    "I've got a {complaint}",
    "I get {complaint}",
    "I keep getting {complaint}",
    "I'm getting {complaint}",
    "I suffer from {complaint}",
    "I'm feeling {complaint}",
    "my {complaint}",
    "{complaint}",
))

# --- How it felt: the check-in answer (issue 12) ------------------------------------------
FEELING = Slot("feeling", "FEELING")  # values: FEELING_VALUES below

# Spoken values of the FEELING slot, by the answer `skill.core.progress.feelings` stores
# ("skip": the person would rather not say; it is stored as skipped).
FEELING_VALUES = {
    "better": ("better", "a bit better", "a lot better", "much better", "good", "great",
               "looser", "lighter", "less tight"),
    "same": ("the same", "same", "no different", "about the same", "no change", "not much different",
             "okay", "alright"),
    "sore": ("sore", "a bit sore", "a little sore", "very sore", "really sore", "achy", "tender",
             "worse", "stiff"),
    "skip": ("skip", "skip it", "skip that", "not now", "pass", "I'd rather not say"),
}

FEELING_ANSWER = Intent("FeelingIntent", slots=(FEELING,), samples=(
    "{feeling}",
    "it felt {feeling}",
    "it feels {feeling}",
    "it's {feeling}",
    "it is {feeling}",
    "it was {feeling}",
    "felt {feeling}",
    "feels {feeling}",
    "I feel {feeling}",
    "it's feeling {feeling}",
))

# --- Reminders: "remind me to do my upper back every evening at 8" (issue 14) ----------------
TIME = Slot("time", "AMAZON.TIME")  # "20:00", or a part of the day: MO, AF, EV, NI
DATE = Slot("date", "AMAZON.DATE")  # "2026-12-02"; weeks, months and weekends are asked again
RECURRENCE = Slot("recurrence", "RECURRENCE")  # values: RECURRENCE_VALUES below

# Spoken values of the RECURRENCE slot, by the id `skill.core.reminders.REPEATS` takes.
RECURRENCE_VALUES = {
    "daily": ("every day", "daily", "each day", "every single day", "once a day"),
    "mornings": ("every morning", "each morning", "in the mornings", "mornings"),
    "afternoons": ("every afternoon", "each afternoon", "in the afternoons", "afternoons"),
    "evenings": ("every evening", "each evening", "in the evenings", "evenings"),
    "nights": ("every night", "each night", "nightly", "at night", "nights"),
    "weekdays": ("every weekday", "on weekdays", "weekdays", "monday to friday", "every work day",
                 "on work days"),
    "weekday-mornings": ("every weekday morning", "weekday mornings", "on weekday mornings"),
    "weekday-evenings": ("every weekday evening", "weekday evenings", "on weekday evenings"),
    "weekends": ("every weekend", "on weekends", "at weekends", "weekends", "saturdays and sundays"),
    **{f"{day}s": (f"every {day}", f"on {day}s", f"{day}s", f"each {day}")
       for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
}

_REMIND_WHAT = ("remind me to do my {routine}", "remind me to do my {routine} routine",
                "remind me to roll my {routine}", "remind me about my {routine}")
SET_REMINDER = Intent("SetReminderIntent", slots=(ROUTINE, TIME, DATE, RECURRENCE), samples=(
    *(f"{what} {tail}" for what in _REMIND_WHAT for tail in (
        "{recurrence} at {time}", "{date} at {time}", "at {time}", "{recurrence}", "{date}")),
    *_REMIND_WHAT,
    "remind me {recurrence} at {time}",
    "remind me {date} at {time}",
    "remind me at {time}",
    "remind me {recurrence}",
    "remind me {date}",
    "remind me to do a routine {recurrence} at {time}",
    "remind me to do a routine at {time}",
    "remind me to do a routine {date} at {time}",
    "set a reminder",
    "set a reminder for {time}",
    "set a reminder {recurrence} at {time}",
    "set a reminder for {date} at {time}",
    "set a reminder for my {routine}",
    "set a reminder for my {routine} routine",
    "set a reminder for my {routine} {recurrence} at {time}",
    "set a reminder for my {routine} at {time}",
    "set up a reminder",
    "give me a reminder {recurrence} at {time}",
    "remind me",
    "remind me to do my routine",
    "{recurrence} at {time}",
    "{date} at {time}",
    "at {time}",
    "{time}",
    "it's for my {routine}",
    "the reminder is for my {routine}",
))
LIST_REMINDERS = Intent("ListRemindersIntent", samples=(
    "what reminders do I have",
    "which reminders do I have",
    "what reminders have I got",
    "list my reminders",
    "read my reminders",
    "what are my reminders",
    "do I have any reminders",
    "when are my reminders",
))
CANCEL_REMINDERS = Intent("CancelRemindersIntent", samples=(
    "cancel my reminders",
    "cancel my reminder",
    "cancel all my reminders",
    "cancel the reminders",
    "cancel the reminder",
    "delete my reminders",
    "delete my reminder",
    "remove my reminders",
    "stop my reminders",
    "turn off my reminders",
    "I don't want any reminders",
    "no more reminders",
))

PAUSE = Intent("AMAZON.PauseIntent")
RESUME = Intent("AMAZON.ResumeIntent")
NEXT = Intent("AMAZON.NextIntent")
PREVIOUS = Intent("AMAZON.PreviousIntent")
REPEAT = Intent("AMAZON.RepeatIntent")
START_OVER = Intent("AMAZON.StartOverIntent")
LOOP_ON = Intent("AMAZON.LoopOnIntent")
LOOP_OFF = Intent("AMAZON.LoopOffIntent")
SHUFFLE_ON = Intent("AMAZON.ShuffleOnIntent")
SHUFFLE_OFF = Intent("AMAZON.ShuffleOffIntent")
CANCEL = Intent("AMAZON.CancelIntent")
STOP = Intent("AMAZON.StopIntent")
HELP = Intent("AMAZON.HelpIntent")
FALLBACK = Intent("AMAZON.FallbackIntent")
NAVIGATE_HOME = Intent("AMAZON.NavigateHomeIntent")
YES = Intent("AMAZON.YesIntent")
NO = Intent("AMAZON.NoIntent")

CUSTOM = (START_ROUTINE, LIST_ROUTINES, PROGRESS, RESUME_ROUTINE, FORGET_HISTORY, SAFETY_TIPS,
          COMPLAINT_INTENT, FEELING_ANSWER, SET_REMINDER, LIST_REMINDERS, CANCEL_REMINDERS)
BUILT_IN = (
    PAUSE, RESUME, NEXT, PREVIOUS, REPEAT, START_OVER, LOOP_ON, LOOP_OFF, SHUFFLE_ON,
    SHUFFLE_OFF, CANCEL, STOP, HELP, FALLBACK, NAVIGATE_HOME, YES, NO,
)
ALL = CUSTOM + BUILT_IN
