"""Hold every sentence Trigger Coach says, in one place.

Routine-specific instructions live in routines/*.json; everything the coach itself says
(cues, pressure guidance, dialogue) lives here, so a new locale or a rewrite touches one
module. Functions return plain text; `ssml()` makes any of it safe for Alexa.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from skill.core.progress import Felt, Nudge, Summary

LOCALE = "en-US"  # the locale this text speaks; skill.text sets it for every other locale

# --- Guidance spoken inside tracks -------------------------------------------------------

PRESSURE = {
    "gentle": "Keep the pressure gentle, about three or four out of ten.",
    "moderate": "Aim for about five or six out of ten: strong, but you can still breathe easily.",
    "firm": "Let more weight in, up to six out of ten, never more. If you hold your breath, ease off.",
}
# Said instead of PRESSURE when the same pressure comes back later in the routine.
PRESSURE_AGAIN = {
    "gentle": "Keep the pressure gentle.",
    "moderate": "Keep the pressure moderate, as before.",
    "firm": "Firm again, never more than six.",
}

BREATH_IN = "Breathe in"
BREATH_OUT = "and out"
HALFWAY = "Halfway."
TEN_MORE = "Ten more seconds."
RELEASE = "And release."
ROLL_PACE = "Slow strokes. Follow the soft tone: one stroke up, one stroke back."
KEEP_ROLLING = "Keep rolling slowly."
MOVE_EASY = "Keep the movement small and easy."
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


# Characters XML 1.0 forbids even escaped: C0 controls but tab and newlines, lone surrogates,
# U+FFFE/FFFF. Listed as they are rather than as the complement of what XML allows, which
# takes the regular-expression compiler several milliseconds at every start.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def ssml(text: str) -> str:
    """Wrap plain text in <speak>, escaping characters SSML reserves and dropping ones XML forbids."""
    # html.escape(quote=False) is exactly these three replacements; the html package would
    # load its table of 2,000 entities at start for nothing.
    said = _NOT_XML.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<speak>{said}</speak>"


def ssml_appended(said: str | None, text: str) -> str:
    """Return SSML that says whatever `said` (SSML or None) already says, then `text`."""
    inner = said.removeprefix("<speak>").removesuffix("</speak>") if said else ""
    return "<speak>" + (inner + " " if inner else "") + ssml(text).removeprefix("<speak>")


def spoken_seconds(text: str, words_per_second: float) -> float:
    """Return about how many seconds a voice speaking at `words_per_second` takes to say `text`."""
    return len(re.findall(r"[\w']+", text)) / words_per_second


# --- Dialogue: what the coach says in conversation --------------------------------------
# A response that keeps the session open ends with a Question, whose reprompt answers the
# same question (kept in one value so the two cannot drift). A response that closes the
# session and tells people what to say names the invocation: "say: Alexa, ask trigger coach
# to ...", because without it Alexa no longer knows the words are for us.

ALEXA_SPEAKS_WORDS_PER_SECOND = 2.5  # Alexa's en-US voice at its default rate, roughly


class Question(NamedTuple):
    """A question that ends a response, and the reprompt Alexa says if nobody answers."""

    ask: str
    reprompt: str
    yes_no: bool = False


def _yes_no(ask: str, shall: str) -> Question:
    return Question(ask, f"{shall} Say yes or no.", yes_no=True)


def spoken_list(items: list[str], joiner: str = "and") -> str:
    """Join names the way people say them: 'a, b and c'."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


SKILL_NAME = "Trigger Coach"
INVOCATION = "Alexa, ask trigger coach to"
WELCOME_NEW = "Welcome to Trigger Coach. I'll guide you through short self-massage routines with a ball or a foam roller, hands-free."
WELCOME_BACK = "Welcome back to Trigger Coach."
OKAY = "Okay."
GOODBYE = f"{OKAY} Take care of yourself."
NO_AUDIO_PLAYER = (
    "This device can't play the long guided audio a routine needs. "
    "Try me on an Echo speaker or the Alexa app, and I'll coach you through it there."
)
AUDIO_NOT_READY = "The audio for that routine isn't ready yet. Please try another routine, or try again later."
LOOP_SHUFFLE = (
    "Routines play in order from start to finish, so looping and shuffling aren't available. "
    f"To carry on, say: {INVOCATION} resume my routine."
)
NOTHING_PLAYING = (
    "There's no routine playing right now. "
    f"To begin one, say: {INVOCATION} start my upper back routine."
)
NOTHING_PLAYING_IN_SESSION = "There's no routine playing right now."
DID_NOT_CATCH = "Sorry, I didn't catch that."
ERROR = "Sorry, something went wrong on my side. Please try that again in a moment."
STORAGE_DOWN = "I can't reach your saved progress right now, so this session won't be counted. Sorry about that."
RESUME_LATER = f"To carry on with your routine, say: {INVOCATION} resume my routine."

SAFETY_BRIEFING = (  # about 30 s: 74 words at ALEXA_SPEAKS_WORDS_PER_SECOND
    "Safety first. "
    "Stop at any sharp pain, numbness or tingling. "
    "Avoid injured, bruised or inflamed spots. "
    "Rate pressure out of ten: zero is nothing, ten the worst you can imagine. "
    "Aim for five or six: strong, but you can breathe and relax. "
    "Rest a tender spot for a day or two. "
    "If you're pregnant, take blood thinners or have a medical condition, ask a clinician first. "
    "This is general wellness guidance, not medical advice."
)
SAFETY_REMINDER = (
    "As always, aim for about five or six out of ten, and you can ask trigger coach for "
    "safety tips at any time."
)

WHICH_ROUTINE = Question(
    "You can say, for example: start my upper back routine. Which routine would you like?",
    "Which routine would you like? You can say upper back, or ask what routines I have.",
)
WHAT_NEXT = Question(
    "What would you like to do?",
    "What would you like to do? You can say: start my upper back routine.",
)
FORGET = _yes_no(
    "Do you want me to forget your routine history? I can't bring it back afterwards. "
    "Say yes to forget it, or no to keep it.",
    "Shall I forget your routine history?",
)


def resume_offer(title: str) -> Question:
    """Ask whether to continue a paused run."""
    name = title.lower()
    return _yes_no(f"Would you like to pick up your {name} routine where you left off?",
                   f"Shall I pick up your {name} routine where you left off?")


def again_offer(title: str) -> Question:
    """Ask whether to play the routine the user did last."""
    name = title.lower()
    return _yes_no(f"Would you like your {name} routine again?",
                   f"Shall I start your {name} routine again?")


def welcome_list(names: list[str]) -> str:
    """Name a few routines for someone new (the question follows)."""
    return f"I have routines for {spoken_list(names)}."


def routine_list(names: list[str]) -> str:
    """List every routine by its spoken name (the question follows)."""
    return f"I have {len(names)} routines: {spoken_list(names)}."


def unknown_routine(heard: str | None, names: list[str]) -> str:
    """Say we don't have what they asked for and name what we do have (the question follows).

    `heard` is what Alexa heard, already cleaned and capped; it is never put after "a",
    so "elbows" or "my knee" both read well.
    """
    offer = f"I can guide you through your {', '.join(names)} and more."
    if heard:
        return f"I don't have a routine for {heard}. {offer}"
    return f"I didn't catch which routine. {offer}"


EQUIPMENT = {
    "tennis ball": "a tennis ball",
    "lacrosse ball": "a lacrosse ball",
    "two balls in a sock": "two tennis balls in a sock",
    "foam roller": "a foam roller",
    "squash ball": "a squash ball",
    "golf ball": "a golf ball",
}


def routine_intro(title: str, minutes: int, equipment: list[str], safety: str, briefed: bool) -> str:
    """Introduce a routine before its first track: the full safety briefing the first time."""
    kit = spoken_list([EQUIPMENT.get(e, e) for e in equipment], "or")
    care = SAFETY_REMINDER if briefed else SAFETY_BRIEFING
    return f"Here's your {title.lower()} routine. It takes about {minutes} minutes, with {kit}. {care} {safety}"


def resume_intro(title: str) -> str:
    """Say we are picking a paused routine back up."""
    return f"Picking up your {title.lower()} routine where you left off."


def finished_already(title: str) -> str:
    """Say the last routine was finished (the offer to start it again follows)."""
    return f"You finished your {title.lower()} routine."


HELP_EXAMPLES = (
    "To begin, say: start my upper back routine. "
    "To hear them all, say: what routines do you have. "
    "And for how hard to press, say: safety tips."
)
HELP_COMPLAINTS = "You can also tell me what hurts, like: my head aches."
HELP_START = f"I guide you through short self-massage routines, hands-free. {HELP_EXAMPLES} {HELP_COMPLAINTS}"
HELP_PLAYING = (
    "While a routine plays, you can say: Alexa, pause. "
    "Or: Alexa, next. "
    "Or: Alexa, go back."
)


# --- Progress: "how did I do this week", forgetting history -------------------------------
# Sentences about the user's own history: warm, plain and factual (counts and minutes as
# recorded), no judgement, no health claims.

PROGRESS_FIRST_TIME = (
    f"You haven't done a routine yet. To begin one, say: {INVOCATION} start my upper back routine."
)
PROGRESS_TZ_UNKNOWN = (
    "I couldn't find out your time zone, so a session near midnight may be counted on the "
    "wrong day."
)
PROGRESS_UNREADABLE = (
    "Sorry, I couldn't read your saved progress just now. Your routines still work. "
    "If this keeps happening, you can start a fresh record. "
    f"To do that, say: {INVOCATION} forget my history."
)
FORGET_DONE = "Done. I've forgotten your routine history. Your next session starts a fresh record."
FORGET_KEPT = "Okay, I've kept your history."

_PERIOD_WORDS = {  # period: (this period, the one before, still under way)
    "this_week": ("this week", "last week", True),
    "last_week": ("last week", "the week before", False),
    "this_month": ("this month", "last month", True),
}
_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_PLURAL_AREAS = {"glutes", "hips", "hamstrings", "calves", "feet",
                 "shoulder tops", "forearms", "thighs", "hip flexors", "shins", "sides"}


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


def _nudge(nudge: Nudge, streak_days: int) -> str:
    plural = nudge.area in _PLURAL_AREAS
    if nudge.kind == "rest":
        days = nudge.days or 0
        run = (
            f"You've done a routine {_number(streak_days)} days in a row, and worked on your "
            f"{nudge.area} on {_number(days)} days running."
            if streak_days > days else
            f"You've worked on your {nudge.area} {_number(days)} days in a row."
        )
        return (
            f"{run} "
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
    resting = summary.nudge is not None and summary.nudge.kind == "rest"
    if summary.streak_days >= 2 and not resting:  # a rest nudge tells the streak itself
        sentences.append(f"You've done a routine {_number(summary.streak_days)} days in a row.")
    if summary.nudge is not None:
        sentences.append(_nudge(summary.nudge, summary.streak_days))
    sentences += [felt_sentence(felt) for felt in summary.felt[:2]]
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


# --- Complaints: "what helps a headache", red flags ----------------------------------------
# The explanation of where a pain often comes from is the complaint's own sentence in
# routines/complaints.json; these sentences wrap it. A red flag is answered plainly: what it
# is, who to call, and that no routine starts. en-US text also answers every locale we have
# no text for, so it says "emergency services", not 911; each locale names its own number.

EMERGENCY_CALL = "call emergency services"

# Words people put in front of what hurts, or of a routine's name, that do not change what it is:
# "a really bad headache" is "headache" (skill.core.complaints.phrase_key drops them).
PHRASE_FILLERS = frozenset({"a", "an", "the", "my", "some", "bad", "really"})

WHAT_HURTS = Question(
    "What's bothering you, or which routine would you like?",
    "What's bothering you, or which routine would you like? You can say: my head aches. "
    "Or: start my upper back routine.",
)
WHICH_AREA = Question(
    "You can say, for example: start my calves routine. Which area would you like to work on?",
    "Which area would you like to work on? You can say calves, or ask what routines I have.",
)
COMPLAINT_NOTHING_LEFT = "Those are all the routines I'd suggest for that."
COMPLAINT_NOT_AVAILABLE = "I don't have a routine for that in this library yet."


def complaint_offer(title: str) -> Question:
    """Offer the first routine for a complaint: "Shall I start your neck and base of skull routine?"."""
    name = title.lower()
    return _yes_no(f"Shall I start your {name} routine?", f"Shall I start your {name} routine?")


def complaint_next_offer(title: str) -> Question:
    """Offer another routine for the same complaint, after a no."""
    name = title.lower()
    return _yes_no(f"Another place to try for this is your {name}. Shall I start your {name} routine?",
                   f"Shall I start your {name} routine instead?")


def red_flag(about: str, emergency: bool) -> str:
    """Advise medical help for a red flag and say plainly that nothing starts."""
    what = _sentence(about)
    if emergency:
        return (f"{what} can be a sign of something that needs help right away. "
                f"Please {EMERGENCY_CALL} now, or ask someone near you to call. "
                "I won't start a routine for this.")
    return (f"{what} is something to have checked by a doctor or another clinician soon, "
            "before any self-massage. Please see a clinician about it. "
            "I won't start a routine for this.")


def unknown_complaint(heard: str | None, examples: list[str]) -> str:
    """Say honestly that we don't know this complaint, and what we can help with (the question follows)."""
    known = f"You can tell me things like: {spoken_list(examples, 'or')}."
    if heard:
        return f"I don't know that one: {heard}. {known}"
    return f"I didn't catch what's bothering you. {known}"


# --- How it felt: the check-in after a finished run (issue 12) -----------------------------
# Asked once at the next launch; the answers are the person's own words about how an area
# felt, so the replies only note them, suggest rest, or suggest a clinician: never a diagnosis.

_FELT_WORDS = {"better": "better", "same": "about the same", "sore": "sore"}
CLINICIAN_EXAMPLE = "your doctor or a physical therapist"  # who people here go to for a sore muscle


def _it(area: str) -> tuple[str, str]:
    """Return the pronouns for an area: ("it", "it's") or ("them", "they're")."""
    return ("them", "they're") if area in _PLURAL_AREAS else ("it", "it's")


def feeling_question(area: str) -> Question:
    """Ask how an area felt after the last session (not a yes/no question)."""
    return Question(
        f"How did your {area} feel after your last session: better, the same, or sore?",
        f"How did your {area} feel afterwards? Say better, the same, or sore. Or say skip.",
    )


FEELING_NOT_CAUGHT = "Sorry, I didn't catch how it felt."


def feeling_noted(feeling: str, area: str, see_clinician: bool) -> str:
    """Thank the person for a check-in answer and say what follows from it."""
    them, _ = _it(area)
    if feeling == "better":
        return "Good to hear. I've noted that."
    if feeling == "same":
        return "Thanks, I've noted that."
    if feeling == "sore":
        rest = f"Thanks for telling me. Give your {area} a rest for a day or two, and go lighter next time."
        if see_clinician:
            rest += (
                f" Your {area} has been sore after two sessions in a row, so please check with a "
                f"clinician, such as {CLINICIAN_EXAMPLE}, before you work on {them} again."
            )
        return rest
    return OKAY


CHECK_IN_EXPIRED = (
    "Thanks. I only ask how a session felt for a few days afterwards, and there's no question "
    "open just now, so I haven't noted that."
)


def instead_offer(title: str) -> Question:
    """Offer a routine for another area, while the one that was sore rests."""
    name = title.lower()
    return _yes_no(f"Would you like to work on your {name} instead?",
                   f"Shall I start your {name} routine instead?")


def resting_offer(area: str, title: str) -> Question:
    """Offer another area at launch, because the last one was sore."""
    them, _ = _it(area)
    was = "were" if area in _PLURAL_AREAS else "was"
    offer = instead_offer(title)
    return Question(f"You told me your {area} {was} sore, so let's give {them} a rest. {offer.ask}",
                    offer.reprompt, yes_no=True)


def rest_at_start(area: str, days: int) -> str:
    """Say, as a routine starts, that this area has been worked several days running."""
    them, theyre = _it(area)
    return (
        f"You've worked on your {area} {_number(days)} days in a row, so go gently today, and if "
        f"{theyre} sore, say stop and give {them} a day or two of rest."
    )


def felt_sentence(felt: Felt) -> str:
    """Say how an area felt after a period's sessions, e.g. "better after three of four"."""
    parts = [(word, n) for word, n in (("better", felt.better), ("same", felt.same),
                                       ("sore", felt.sore)) if n]
    (word, n), rest = parts[0], parts[1:]
    if felt.told == 1:
        return f"Your {felt.area} felt {_FELT_WORDS[word]} after one session."
    if n == felt.told:
        return f"Your {felt.area} felt {_FELT_WORDS[word]} after all {_number(n)} sessions."
    said = [f"{_FELT_WORDS[word]} after {_number(n)} of {_number(felt.told)} sessions"]
    said += [f"{_FELT_WORDS[w]} after {_number(k)}" for w, k in rest]
    return f"Your {felt.area} felt {spoken_list(said)}."


# --- Quick or full, and starting without a name (issue 12, lengths) ----------------------------

QUICK_WORD = "quick"
# What fills the routine slot when nobody named one: "start my usual", "start a routine".
NO_ROUTINE_NAMED = frozenset({"", "a", "usual", "the usual", "one", "a one", "it", "this"})
NO_USUAL_YET = "We haven't done a routine together yet, so let's pick one."


def length_title(title: str, length: str) -> str:
    """Return a routine's title as said for its length: "Quick upper back" for the quick one."""
    return f"{QUICK_WORD.capitalize()} {title.lower()}" if length == QUICK_WORD else title


# --- The skill's words outside conversation: model, store listing, offline voice -------------
# Each locale module overrides only what people there say or read differently.

INVOCATION_NAME = "trigger coach"  # what people say to open the skill; INVOCATION above says it
ESPEAK_LANGUAGE = "en-us"  # the eSpeak NG voice that reads this locale's text offline

# The model's samples and slot values, and a locale's additions to them: see the last section.

# The skill store's listing for this locale (skill.json publishingInformation.locales).
STORE_NAME = SKILL_NAME
STORE_SUMMARY = "Hands-free, voice-guided self-massage routines with a ball or foam roller."
STORE_DESCRIPTION = (
    "Trigger Coach talks you through short self-massage routines while you lie on the floor with a "
    "tennis ball or foam roller: where to put the ball, how hard to press, how long to hold, when to "
    "breathe and when to switch sides. Say pause, resume, next or go back at any time, and ask how you "
    "did this week. Trigger Coach is for general wellbeing only and does not diagnose or treat any "
    "condition. Stop if you feel sharp pain, numbness or tingling, and check with a clinician if you "
    "have a medical condition."
)
# "Alexa, ask <invocation name> to ..." : each must parse against this locale's model (tested).
STORE_EXAMPLES = (
    f"Alexa, ask {INVOCATION_NAME} to start my upper back routine",
    f"Alexa, ask {INVOCATION_NAME} what routines do you have",
    f"Alexa, ask {INVOCATION_NAME} how did I do this week",
)
STORE_KEYWORDS = ("massage", "foam roller", "trigger point", "stretch", "back", "relax")
# --- Screens outside playback (APL): the routine list and the week's chart ---------------------
# Short labels, not sentences: a screen is glanced at from the floor. What is said alongside
# stays the spoken text above, word for word.

SCREEN_ROUTINES_TITLE = "Routines"
SCREEN_ROUTINES_HINT = "Touch one to start, or say its name."
SCREEN_SUGGESTED = "A good one to start with"
SCREEN_PERIOD_TITLES = {"this_week": "This week", "last_week": "Last week", "this_month": "This month"}
SCREEN_AREAS_TITLE = "Areas worked"
SCREEN_NO_AREAS = "None yet"
SCREEN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SCREEN_TOUCH_UNKNOWN = "I couldn't tell which routine that was."
SCREEN_TOUCH_UNKNOWN_CLOSED = (
    f"{SCREEN_TOUCH_UNKNOWN} To begin one, say: {INVOCATION} start my upper back routine."
)


def screen_routine_detail(minutes: int, equipment: list[str]) -> str:
    """Return a routine's second line on a screen: "12 min · tennis ball or golf ball"."""
    return f"{minutes} min · {spoken_list(equipment, 'or')}"


def screen_totals(sessions: int, seconds: int) -> str:
    """Return a period's totals as a screen shows them: "3 sessions · 27 min"."""
    if sessions == 0:
        return "No sessions"
    minutes = (seconds + 30) // 60
    return f"{sessions} {'session' if sessions == 1 else 'sessions'} · {minutes} min"


def screen_areas(areas: tuple[str, ...]) -> str:
    """Return the areas worked as a screen lists them: "Upper back, calves"."""
    return ", ".join(areas).capitalize() if areas else SCREEN_NO_AREAS


# --- what a screen shows with each track (skill.core.screens) -------------------------------------
SCREEN_JOIN = " · "
SCREEN_SIDE = "{side} side"  # after the routine's title: "Upper back · right side"
SCREEN_QUICK = "{title}, quick"
SCREEN_HOLD = "hold {seconds} s"
SCREEN_MOVE = "small movements {seconds} s"
SCREEN_ROLL = "roll {seconds} s, {stroke} s strokes"
SCREEN_REST = "Rest {seconds} s"
SCREEN_BREATHS = "{breaths} slow breaths"
SCREEN_BREATH = "breathe in {inhale}, out {exhale}"
SCREEN_BREATH_HOLD = "breathe in {inhale}, hold {hold}, out {exhale}"
SCREEN_NEXT = "next: {where}"  # a step that moves the person, before the ball goes in place
# What a screen shows for a step of each kind (skill.core.steps.StepKind), where nothing more precise is known.
SCREEN_STEP = {
    "position": "Get into position",
    "place": "Place the ball",
    "move": "Small movements",
    "hold": "Hold",
    "breathe": "Breathe",
    "roll": "Roll",
    "switch": "Switch sides",
    "rest": "Rest",
}


# --- Reminders: "remind me to do my upper back every evening at 8" (issue 14) ---------------
# The reminder itself is read by Alexa at the set time, out of our session, so its text names
# the routine and the exact words that start it. Every answer says back exactly when it rings.

_REPEAT_WORDS = {  # RRULE weekdays (Monday first) -> how the repeat is said
    ("MO", "TU", "WE", "TH", "FR", "SA", "SU"): "every day",
    ("MO", "TU", "WE", "TH", "FR"): "every weekday",
    ("SA", "SU"): "every weekend",
}
_DAY_NAMES = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
              "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def reminder_text(title: str | None) -> str:
    """Return what Alexa reads when a reminder rings: the routine and how to start it."""
    if title is None:
        return f"Time for your self-massage routine. Say: {INVOCATION} start my usual routine."
    name = title.lower()
    return f"Time for your {name} routine. Say: {INVOCATION} start my {name} routine."


def clock_time(hour: int, minute: int) -> str:
    """Say a clock time the way people do: "8 PM", "7:30 AM", "noon", "midnight"."""
    if (hour, minute) == (12, 0):
        return "noon"
    if (hour, minute) == (0, 0):
        return "midnight"
    half = "AM" if hour < 12 else "PM"
    shown = hour % 12 or 12
    return f"{shown} {half}" if minute == 0 else f"{shown}:{minute:02d} {half}"


def _at(hour: int, minute: int) -> str:
    said = clock_time(hour, minute)
    return said if said in ("noon", "midnight") else f"at {said}"


def repeat_words(days: tuple[str, ...]) -> str:
    """Say how a reminder repeats: "every day", "every weekday", "every Monday and Thursday"."""
    if days in _REPEAT_WORDS:
        return _REPEAT_WORDS[days]
    return "every " + spoken_list([_DAY_NAMES[d] for d in days])


def reminder_day(day_offset: int, weekday: int, month: int, day: int) -> str:
    """Say a one-off reminder's day: "today", "tomorrow", or "on Friday, December 4"."""
    if day_offset == 0:
        return "today"
    if day_offset == 1:
        return "tomorrow"
    names = list(_DAY_NAMES.values())
    return f"on {names[weekday]}, {_MONTHS[month - 1]} {day}"


def reminder_when(hour: int, minute: int, days: tuple[str, ...] = (), day: str | None = None) -> str:
    """Say when a reminder rings: "every evening at 8 PM", "tomorrow at 7 AM"."""
    at = _at(hour, minute)
    if days:
        return f"{repeat_words(days)} {at}"
    return f"{day} {at}" if day else at


def reminder_set(title: str | None, when: str, moved_to_tomorrow: bool) -> str:
    """Say a reminder was set, exactly when it rings, and how to cancel it."""
    what = f"to do your {title.lower()} routine" if title else "to do a routine"
    moved = "That time has already passed today, so I've made it tomorrow. " if moved_to_tomorrow else ""
    return (f"{moved}Done. I'll remind you {when} {what}. "
            f"To stop it, say: {INVOCATION} cancel my reminders.")


REMINDER_WHEN = Question(
    "You can say, for example: every evening at 8. When shall I remind you?",
    "When shall I remind you? Say a time, like: every evening at 8, or tomorrow at 7 AM.",
)
REMINDER_BAD_TIME = "Sorry, that isn't a time I can set."
REMINDER_BAD_DATE = "Sorry, I need one particular day, like tomorrow or December the fifth."
REMINDER_PAST_DATE = "That day has already passed."
REMINDER_BAD_REPEAT = "I can repeat a reminder every day, on weekdays, at weekends, or on one day of the week."
REMINDER_WHICH_DAY = Question(
    "You can say tomorrow, or every day at 8. Which day shall I remind you?",
    "Which day shall I remind you? Say tomorrow, a date, or every day.",
)


def reminder_which_half(hour: int) -> Question:
    """Ask which half of the day an hour like "three" means."""
    ask = f"Did you mean {hour} in the morning, or {hour} in the afternoon?"
    return Question(ask, f"{ask} Say morning or afternoon.")


def reminder_unknown_routine(heard: str) -> str:
    """Say we have no routine by that name (the question follows)."""
    return f"I don't have a routine for {heard}."


REMINDER_WHICH_ROUTINE = Question(
    "You can say, for example: it's for my upper back. Which routine is the reminder for?",
    "Which routine is the reminder for? Say, for example: it's for my calves.",
)
REMINDER_PERMISSION_LEAD = "To set reminders, I need your permission first."
REMINDER_PERMISSION_CARD = (
    "To let me set reminders, open the Alexa app: I've sent a card there where you can allow it. "
    "Then ask me again."
)
REMINDER_DENIED = (
    "Okay, I won't set any reminders. If you change your mind, you can allow reminders for "
    "Trigger Coach in the Alexa app."
)
REMINDER_NOT_ANSWERED = f"I didn't hear an answer, so I haven't set a reminder. {REMINDER_PERMISSION_CARD}"
REMINDER_ALLOWED_NOTHING_ASKED = (
    "Thanks, reminders are allowed now. "
    f"To set one, say: {INVOCATION} remind me to do my upper back every evening at 8."
)
REMINDER_NO_ZONE = (
    "I couldn't find out your time zone just now, so I can't set a reminder for the right time. "
    "Please try again in a moment."
)
REMINDER_BUSY = "Reminders are busy right now, so nothing has changed. Please try again in a minute."
REMINDER_UNREACHABLE = "I couldn't reach your reminders just now, so nothing has changed. Please try again in a moment."
REMINDERS_NO_PERMISSION = (
    "I don't have permission to use your reminders, so I haven't set any. "
    f"{REMINDER_PERMISSION_CARD}"
)
REMINDERS_NONE = (
    "You don't have any reminders from Trigger Coach. To set one, say: "
    f"{INVOCATION} remind me to do my upper back every evening at 8."
)


MAX_REMINDERS_SAID = 5  # more would be a minute of listening; the rest are counted


def reminder_list(items: list[tuple[str | None, str]]) -> str:
    """List reminders as (routine title or None, when) pairs; past MAX_REMINDERS_SAID, count the rest."""
    said = [f"{title.lower() if title else 'a routine'} {when}".strip() for title, when in items[:MAX_REMINDERS_SAID]]
    if len(items) > MAX_REMINDERS_SAID:
        said.append(f"{_number(len(items) - MAX_REMINDERS_SAID)} more")
    count = "one reminder" if len(items) == 1 else f"{_number(len(items))} reminders"
    return (f"You have {count} from Trigger Coach: {spoken_list(said)}. "
            f"To stop them, say: {INVOCATION} cancel my reminders.")


def reminders_cancelled(done: int, total: int) -> str:
    """Say how many reminders were cancelled, and what to do when some could not be."""
    if total == 0:
        return "You don't have any reminders from Trigger Coach, so there was nothing to cancel."
    if done == total:
        what = "your reminder" if total == 1 else f"all {_number(total)} of your reminders"
        return f"Done. I've cancelled {what} from Trigger Coach."
    return (f"I cancelled {_number(done)} of your {_number(total)} reminders, but couldn't reach "
            "the rest just now. Please say that again in a moment.")
# --- Alexa Routines: a task launch that cannot start anything ---------------------------------
# Said when an Alexa Routine's "start a Trigger Coach routine" action is set up wrongly; the
# fix is always in the Alexa app, so each sentence says where.

TASK_NOT_OURS = (
    "This Alexa Routine asks Trigger Coach for something I can't do. "
    "In the Alexa app, open the routine and choose the action Start a Trigger Coach routine again."
)
TASK_NO_ROUTINE = (
    "This Alexa Routine doesn't say which massage routine to start. "
    "In the Alexa app, open the routine, edit the Trigger Coach action, and pick a routine, like upper back."
)
TASK_BAD_LENGTH = (
    "This Alexa Routine asks for a length I don't have. "
    "In the Alexa app, edit the Trigger Coach action and choose full length or quick."
)


def task_unknown_routine(heard: str | None, names: list[str]) -> str:
    """Say the routine an Alexa Routine names is not one we have, and how to pick another."""
    which = f"a routine called {heard}" if heard else "the routine it names"
    return (f"This Alexa Routine asks for {which}, which I don't have. "
            f"In the Alexa app, edit the Trigger Coach action and pick another, like {spoken_list(names, 'or')}.")


# --- What people say to the skill: the interaction model's samples and slot values ------------
# Intent names and slots are declared once, in skill.alexa.intents; the words people say live
# here. INTENT_SAMPLES and SLOT_VALUES (at the end) are this locale's whole lists: en-US's own
# words below plus the locale's MODEL_SAMPLES and MODEL_SYNONYMS. The model generator writes
# them into <locale>.json, and the handlers read SLOT_VALUES to turn a heard word into an id.

# Starting with a length, and starting without a name ("start my usual"): the handler plays
# the routine offered or done last.
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
_REMIND_WHAT = ("remind me to do my {routine}", "remind me to do my {routine} routine",
                "remind me to roll my {routine}", "remind me about my {routine}")

# What people say to reach each custom intent, by intent name. "Alexa, ask trigger coach for
# safety tips": Alexa strips "ask <invocation> for", so a sample is what follows it, and no
# sample may start with ask, open or tell (Alexa would launch the skill instead).
_SAMPLES: dict[str, tuple[str, ...]] = {
    "StartRoutineIntent": (
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
    ),
    "ListRoutinesIntent": (
        "what routines do you have",
        "what routines are there",
        "which routines do you have",
        "list the routines",
        "list my routines",
        "what can I work on",
        "what areas can you do",
        "what are my options",
    ),
    "ProgressIntent": (
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
    ),
    "ResumeRoutineIntent": (
        "resume my routine",
        "continue my routine",
        "carry on with my routine",
        "pick up where I left off",
        "keep going with my routine",
        "finish my routine",
        "resume where I stopped",
    ),
    "ForgetHistoryIntent": (
        "forget my history",
        "delete my history",
        "erase my history",
        "clear my history",
        "delete my progress",
        "forget everything about me",
    ),
    "SafetyTipsIntent": (
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
    ),
    # Carrier phrases only; the complaint words are the COMPLAINT slot's values, which the
    # validator keeps apart from routine names, so no utterance means both a complaint and a routine.
    "ComplaintIntent": (
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
    ),
    "FeelingIntent": (
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
    ),
    "SetReminderIntent": (
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
    ),
    "ListRemindersIntent": (
        "what reminders do I have",
        "which reminders do I have",
        "what reminders have I got",
        "list my reminders",
        "read my reminders",
        "what are my reminders",
        "do I have any reminders",
        "when are my reminders",
    ),
    "CancelRemindersIntent": (
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
    ),
}

# Spoken values of our own slot types, by slot type and value id: the first word is the value,
# the rest its synonyms. The ids are what the code takes: PERIOD the periods
# skill.core.progress.summarize takes, LENGTH the lengths (skill.core.routines.Length),
# FEELING the answers skill.core.progress.feelings stores ("skip": the person would rather not
# say), RECURRENCE the repeats of skill.core.reminders.REPEATS.
_SLOT_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "PERIOD": {
        "this_week": ("this week", "so far this week"),
        "last_week": ("last week", "the week before"),
        "this_month": ("this month", "so far this month"),
    },
    "LENGTH": {
        "quick": ("quick", "short", "five minute", "5 minute", "five minutes", "shorter", "brief",
                  "fast", "quicker", "mini"),
        "full": ("full", "long", "whole", "complete", "longer", "full length", "regular", "normal",
                 "entire"),
    },
    "FEELING": {
        "better": ("better", "a bit better", "a lot better", "much better", "good", "great",
                   "looser", "lighter", "less tight"),
        "same": ("the same", "same", "no different", "about the same", "no change", "not much different",
                 "okay", "alright"),
        "sore": ("sore", "a bit sore", "a little sore", "very sore", "really sore", "achy", "tender",
                 "worse", "stiff"),
        "skip": ("skip", "skip it", "skip that", "not now", "pass", "I'd rather not say"),
    },
    "RECURRENCE": {
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
    },
}

# Words people use here on top of the shared ones, by slot type and value id: routine ids
# (routines/*.json), complaint ids (routines/complaints.json) and the ids of _SLOT_VALUES.
MODEL_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {}
# More ways to say an intent here, by intent name, on top of _SAMPLES.
MODEL_SAMPLES: dict[str, tuple[str, ...]] = {}


def added_words(words: dict[str, tuple[str, ...]], extra: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Return {id: words} with each id's extra words after its own, each word once.

    An id of `extra` that `words` lacks is left out; the model generator reports it.
    """
    return {key: tuple(dict.fromkeys((*said, *extra.get(key, ())))) for key, said in words.items()}


INTENT_SAMPLES = added_words(_SAMPLES, MODEL_SAMPLES)
SLOT_VALUES = {slot_type: added_words(values, MODEL_SYNONYMS.get(slot_type, {}))
               for slot_type, values in _SLOT_VALUES.items()}
