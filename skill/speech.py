"""Hold every sentence Trigger Coach says, in one place.

Routine-specific instructions live in routines/*.json; everything the coach itself says
(cues, pressure guidance, dialogue) lives here, so a new locale or a rewrite touches one
module. Functions return plain text; `ssml()` makes any of it safe for Alexa.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

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


def ssml(text: str) -> str:
    """Wrap plain text in <speak>, escaping characters SSML reserves."""
    return f"<speak>{escape(text)}</speak>"
