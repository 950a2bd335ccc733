"""Declare every intent once: its name and its slots.

The interaction-model generator (`skill.alexa.model`) writes these into every <locale>.json and the
handlers pick requests by the same names, so an intent cannot be renamed in one place and
forgotten in the other. A test sends every intent of the generated model over HTTP and
checks that a handler answers it. What people say is text: each locale's `INTENT_SAMPLES`
(by intent name) and `SLOT_VALUES` (by slot type) in skill/text/.
"""

from __future__ import annotations

from typing import NamedTuple


class Slot(NamedTuple):
    """A slot of an intent: its name in requests and its slot type in the model."""

    name: str
    type: str


class Intent(NamedTuple):
    """An intent as the model declares it; its samples are text (skill.text INTENT_SAMPLES), built-ins have none."""

    name: str
    slots: tuple[Slot, ...] = ()

    @property
    def custom(self) -> bool:
        """Return whether this is one of our own intents rather than an AMAZON.* built-in."""
        return not self.name.startswith("AMAZON.")


ROUTINE = Slot("routine", "ROUTINE")  # values: the routine library (ids and spoken names)
PERIOD = Slot("period", "PERIOD")  # values: SLOT_VALUES['PERIOD'] of skill/text/
COMPLAINT = Slot("complaint", "COMPLAINT")  # values: routines/complaints.json phrases (and red flags)
LENGTH = Slot("length", "LENGTH")  # values: SLOT_VALUES['LENGTH'] of skill/text/

START_ROUTINE = Intent("StartRoutineIntent", slots=(ROUTINE, LENGTH))
LIST_ROUTINES = Intent("ListRoutinesIntent")
PROGRESS = Intent("ProgressIntent", slots=(PERIOD,))
RESUME_ROUTINE = Intent("ResumeRoutineIntent")
FORGET_HISTORY = Intent("ForgetHistoryIntent")
SAFETY_TIPS = Intent("SafetyTipsIntent")
# --- complaints: "Alexa, ask trigger coach what helps a headache", "my head aches" ----------
COMPLAINT_INTENT = Intent("ComplaintIntent", slots=(COMPLAINT,))

# --- How it felt: the check-in answer (issue 12) ------------------------------------------
FEELING = Slot("feeling", "FEELING")  # values: SLOT_VALUES['FEELING'] of skill/text/
FEELING_ANSWER = Intent("FeelingIntent", slots=(FEELING,))

# --- Reminders: "remind me to do my upper back every evening at 8" (issue 14) ----------------
TIME = Slot("time", "AMAZON.TIME")  # "20:00", or a part of the day: MO, AF, EV, NI
DATE = Slot("date", "AMAZON.DATE")  # "2026-12-02"; weeks, months and weekends are asked again
RECURRENCE = Slot("recurrence", "RECURRENCE")  # values: SLOT_VALUES['RECURRENCE'] of skill/text/
SET_REMINDER = Intent("SetReminderIntent", slots=(ROUTINE, TIME, DATE, RECURRENCE))
LIST_REMINDERS = Intent("ListRemindersIntent")
CANCEL_REMINDERS = Intent("CancelRemindersIntent")

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

# --- Requests that are not intents, picked by type (and name) ---------------------------------
APL_USER_EVENT = "Alexa.Presentation.APL.UserEvent"  # a touch on a screen we rendered
CONNECTIONS_RESPONSE = "Connections.Response"  # the answer to a Connections.SendRequest ...
ASK_FOR = "AskFor"  # ... named AskFor: the voice permission request (reminders)
