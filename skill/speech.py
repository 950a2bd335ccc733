"""Hold every sentence Trigger Coach says, in one place.

Routine-specific instructions live in routines/*.json; everything the coach itself says
(cues, pressure guidance, dialogue) lives here, so a new locale or a rewrite touches one
module. Functions return plain text; `ssml()` makes any of it safe for Alexa.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from skill.core.progress import Nudge, Summary

# --- Guidance spoken inside tracks -------------------------------------------------------

PRESSURE = {
    "gentle": "Keep the pressure gentle, about three or four out of ten.",
    "moderate": "Aim for about five or six out of ten: strong, but you can still breathe easily.",
    "firm": "Let more weight in, up to six out of ten, never more. If you hold your breath, ease off.",
}

BREATH_IN = "Breathe in"
BREATH_OUT = "and out"
HALFWAY = "Halfway."
TEN_MORE = "Ten more seconds."
RELEASE = "And release."
ROLL_PACE = "Slow strokes. Follow the soft tone: one stroke up, one stroke back."
KEEP_ROLLING = "Keep rolling slowly."
ROUTINE_DONE = "That's the whole routine. Well done. Take a moment before you get up, and move gently."

SIDE_WORDS = {"left": "left", "right": "right"}


def other_side(side: str) -> str:
    """Return the opposite side's name."""
    return "left" if side == "right" else "right"


def fill_side(text: str, side: str | None) -> str:
    """Replace {side} and {other} in a routine sentence with the spoken side names."""
    if side is None:
        return text
    return text.replace("{side}", SIDE_WORDS[side]).replace("{other}", SIDE_WORDS[other_side(side)])


# Characters XML 1.0 forbids even escaped (C0 controls but tab and newlines, U+FFFE/FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def ssml(text: str) -> str:
    """Wrap plain text in <speak>, escaping characters SSML reserves and dropping ones XML forbids."""
    return f"<speak>{escape(_NOT_XML.sub('', text))}</speak>"


def ssml_prefixed(text: str, said: str | None) -> str:
    """Return SSML that says `text` first, then whatever `said` (SSML or None) already says."""
    inner = said.removeprefix("<speak>").removesuffix("</speak>") if said else ""
    return ssml(text)[: -len("</speak>")] + (" " + inner if inner else "") + "</speak>"


# --- Dialogue: what the coach says in conversation --------------------------------------

def spoken_list(items: list[str], joiner: str = "and") -> str:
    """Join names the way people say them: 'a, b and c'."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


SKILL_NAME = "Trigger Coach"
WELCOME_NEW = "Welcome to Trigger Coach. I'll guide you through short self-massage routines with a ball or a foam roller, hands-free."
WELCOME_BACK = "Welcome back to Trigger Coach."
WHICH_ROUTINE = "Which routine would you like? For example, say: start my upper back routine."
WHICH_ROUTINE_REPROMPT = "Which area would you like to work on? You can say upper back, calves, or ask what routines I have."
GOODBYE = "Okay. Take care of yourself."
NOTHING_PLAYING = "There's no routine playing right now. Say: start my upper back routine, to begin one."
NO_AUDIO_PLAYER = (
    "This device can't play the long guided audio a routine needs. "
    "Try me on an Echo speaker or the Alexa app, and I'll coach you through it there."
)
AUDIO_NOT_READY = "The audio for that routine isn't ready yet. Please try another routine, or try again later."
LOOP_SHUFFLE = "Routines play in order from start to finish, so looping and shuffling aren't available. Say resume to carry on."
FALLBACK = "Sorry, I didn't catch that. You can say start my upper back routine, what routines do you have, or how did I do this week."
ERROR = "Sorry, something went wrong on my side. Please try that again in a moment."
STORAGE_DOWN = "I can't reach your saved progress right now, so this session won't be counted. Sorry about that."
RESUME_WHICH = "Say resume to carry on."


def welcome_resume(title: str) -> str:
    """Offer to continue an unfinished run."""
    return f"{WELCOME_BACK} You were partway through your {title.lower()} routine. Would you like to pick up where you left off?"


def welcome_again(title: str) -> str:
    """Suggest the routine the user did last."""
    return f"{WELCOME_BACK} Would you like your {title.lower()} routine again?"


def welcome_list(names: list[str]) -> str:
    """Welcome a new user and name a few routines."""
    return f"{WELCOME_NEW} I have routines for {spoken_list(names)}. {WHICH_ROUTINE}"


def routine_list(names: list[str]) -> str:
    """List every routine by its spoken name."""
    return f"I have {len(names)} routines: {spoken_list(names)}. Which one would you like?"


def unknown_routine(heard: str | None, names: list[str]) -> str:
    """Say we don't have what they asked for, and what we do have."""
    if heard:
        return f"I don't have a {heard} routine yet. I have {spoken_list(names, 'or')}. Which one would you like?"
    return f"I didn't catch which routine. I have {spoken_list(names, 'or')}. Which one would you like?"


EQUIPMENT = {
    "tennis ball": "a tennis ball",
    "lacrosse ball": "a lacrosse ball",
    "two balls in a sock": "two tennis balls in a sock",
    "foam roller": "a foam roller",
    "squash ball": "a squash ball",
    "golf ball": "a golf ball",
}


def routine_intro(title: str, minutes: int, equipment: list[str], safety: str) -> str:
    """Introduce a routine in a sentence or two before its first track plays."""
    kit = spoken_list([EQUIPMENT.get(e, e) for e in equipment], "or")
    return f"Here's your {title.lower()} routine. It takes about {minutes} minutes, with {kit}. {safety}"


def resume_intro(title: str) -> str:
    """Say we are picking a paused routine back up."""
    return f"Picking up your {title.lower()} routine where you left off."


def finished_already(title: str) -> str:
    """Say the last routine was finished and offer it again."""
    return f"You finished your {title.lower()} routine. Would you like to start it again?"


def help_text(playing: bool) -> str:
    """Explain what the user can say, including during a routine."""
    during = (
        "While a routine plays, just say: Alexa, pause, resume, next, go back, repeat, or start over. "
    )
    start = "To begin, say: start my upper back routine, or ask what routines I have. "
    later = "Afterwards, ask me: how did I do this week."
    text = during + later if playing else start + during + later
    return text + (" Say resume to carry on." if playing else " What would you like to do?")


# --- Progress: "how did I do this week", forgetting history -------------------------------
# Sentences about the user's own history: warm, plain and factual (counts and minutes as
# recorded), no judgement, no health claims.

PROGRESS_FIRST_TIME = "You haven't done a routine yet. Say 'start my upper back routine' to begin."
PROGRESS_TZ_UNKNOWN = "I'm counting days in UTC because I couldn't get your time zone."
PROGRESS_UNREADABLE = (
    "Sorry, I couldn't read your saved progress just now. Your routines still work. "
    "If this keeps happening, you can say 'forget my history' to start a fresh record."
)
FORGET_CONFIRM = (
    "Do you want me to forget your routine history? I can't bring it back afterwards. "
    "Say yes to forget it, or no to keep it."
)
FORGET_DONE = "Done. I've forgotten your routine history. Your next session starts a fresh record."
FORGET_KEPT = "Okay, I've kept your history."

_PERIOD_WORDS = {  # period: (this period, the one before, still under way)
    "this_week": ("this week", "last week", True),
    "last_week": ("last week", "the week before", False),
    "this_month": ("this month", "last month", True),
}
_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_PLURAL_AREAS = {"glutes", "hips", "hamstrings", "calves", "feet"}


def _number(n: int) -> str:
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def _counted(n: int, one: str, many: str) -> str:
    return f"{_number(n)} {one if n == 1 else many}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _minutes(seconds: int) -> str:
    minutes = (seconds + 30) // 60
    return "under a minute" if minutes == 0 else _counted(minutes, "minute", "minutes")


def _areas(areas: tuple[str, ...]) -> str:
    if len(areas) > 3:
        return f"{_number(len(areas))} different areas"
    return spoken_list([f"your {areas[0]}", *areas[1:]])


def _outcomes(summary: Summary) -> str:
    unfinished = summary.stopped_early + summary.abandoned
    if summary.completed == summary.sessions:
        return "You finished it." if summary.sessions == 1 else "You finished every one."
    if summary.sessions == 1:
        return "It ended early." if unfinished else "It's still under way."
    if unfinished == summary.sessions:
        return "Each one ended early."
    parts = []
    if summary.completed:
        parts.append(f"you finished {_number(summary.completed)}")
    if unfinished:
        parts.append(f"{_number(unfinished)} ended early")
    if summary.in_progress:
        verb = "is" if summary.in_progress == 1 else "are"
        parts.append(f"{_number(summary.in_progress)} {verb} still under way")
    return _sentence(spoken_list(parts)) + "."


def _comparison(summary: Summary) -> str:
    _, before, ongoing = _PERIOD_WORDS[summary.period]
    if summary.previous_sessions == 0:
        return f"{_sentence(before)} you didn't do any."
    diff = summary.sessions - summary.previous_sessions
    if diff > 0:
        return f"That's {_number(diff)} more than {before}."
    if diff < 0:
        return f"{'So far that' if ongoing else 'That'}'s {_number(-diff)} fewer than {before}."
    return f"That's the same number as {before}."


def _nudge(nudge: Nudge) -> str:
    plural = nudge.area in _PLURAL_AREAS
    if nudge.kind == "rest":
        return (
            f"You've worked on your {nudge.area} {_number(nudge.days or 0)} days in a row. "
            f"If {'they are' if plural else 'it is'} sore or bruised the next day, that's a sign "
            f"it was too much: give {'them' if plural else 'it'} a rest until the soreness "
            "settles, and go lighter next time."
        )
    recent = nudge.days is not None and nudge.days < 60
    since = f"over {_number((nudge.days or 0) // 7)} weeks" if recent else "a while"
    return (
        f"It's been {since} since you worked on your {nudge.area}. "
        "That routine is here whenever you want it."
    )


def progress_summary(summary: Summary) -> str:
    """Say how a period went: sessions, minutes, areas and days, against the one before."""
    if summary.first_time:
        return PROGRESS_FIRST_TIME
    this, before, ongoing = _PERIOD_WORDS[summary.period]
    sentences = []
    if summary.sessions == 0:
        sentences.append(
            f"You haven't done a routine {this} yet." if ongoing
            else f"You didn't do a routine {this}."
        )
        if summary.previous_sessions:
            did = _counted(summary.previous_sessions, "session", "sessions")
            sentences.append(f"{_sentence(before)} you did {did}.")
    else:
        did = f"{_sentence(this)} you did {_counted(summary.sessions, 'session', 'sessions')}"
        if summary.sessions == 1:
            sentences.append(f"{did}, {_minutes(summary.seconds)}, on {_areas(summary.areas)}.")
        else:
            days = (
                f"on {_number(summary.days_active)} different days"
                if summary.days_active > 1 else "all on one day"
            )
            sentences.append(
                f"{did}, {_minutes(summary.seconds)} in all, on {_areas(summary.areas)}, {days}."
            )
        sentences += [_outcomes(summary), _comparison(summary)]
    if summary.streak_days >= 2:
        sentences.append(f"You've done a routine {_number(summary.streak_days)} days in a row.")
    if summary.nudge is not None:
        sentences.append(_nudge(summary.nudge))
    if summary.unreadable == 1:
        sentences.append("I couldn't read one of your saved records, so I left it out.")
    elif summary.unreadable > 1:
        sentences.append(
            f"I couldn't read {_number(summary.unreadable)} of your saved records, "
            "so I left them out."
        )
    if not summary.tz_known:
        sentences.append(PROGRESS_TZ_UNKNOWN)
    return " ".join(sentences)
