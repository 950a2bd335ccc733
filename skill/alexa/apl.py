"""Build the screens shown outside playback (APL documents) from routines and summaries.

Two screens: the routine list (launch, "what routines do you have") and a period's chart
of guided minutes per day with the areas worked (the progress summary). Each is one
document plus the datasources it binds, made by a pure function from data, and sent only
to devices that declare `Alexa.Presentation.APL` (see `renders`). During playback the
AudioPlayer's own screen shows the track: nothing here is sent with a Play.

The documents are responsive through APL's own viewport conditions (resources chosen with
`when`), so one document reads well on a small round Echo Spot, an Echo Show and a TV.
Touching a routine sends a UserEvent whose arguments are `[START, routine id]`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from skill.text import en_US

if TYPE_CHECKING:
    from ask_sdk_model.interfaces.alexa.presentation.apl import RenderDocumentDirective

    from skill.alexa.device import Device
    from skill.core.progress import Summary
    from skill.core.routines import Routine

# Every element used here exists since APL 1.1; 1.6 is on every Echo with a screen sold
# since 2021 and on older ones through updates. A device reporting less gets no screen.
APL_VERSION = "1.6"
INTERFACE = "Alexa.Presentation.APL"
ROUTINES_TOKEN = "trigger-coach-routines"
SUMMARY_TOKEN = "trigger-coach-summary"
START = "start"  # first argument of the event a touched routine sends
MAX_ID_LENGTH = 64  # routine ids are short slugs; anything longer is not one of ours
BAR_MAX_PERCENT = 80  # the busiest day's bar; the rest of the chart's height holds its label
MONTH_LABEL_DAYS = (1, 8, 15, 22, 29)  # a month's chart labels only these days, so labels never crowd


@dataclass(frozen=True)
class Screen:
    """One APL document with the datasources it binds, and the token naming it."""

    token: str
    document: dict[str, Any]
    datasources: dict[str, Any]


def _version(text: str | None) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in str(text).split("."))
    except ValueError:
        return None


def renders(device: Device) -> bool:
    """Return whether the device declares APL at our document version (voice-only: never)."""
    if not device.screen:
        return False
    reported = _version(device.apl_max_version) if device.apl_max_version else None
    return reported is None or reported >= _version(APL_VERSION)  # no version said: APL 1.0 era


def directive(screen: Screen) -> RenderDocumentDirective:
    """Return the directive that shows a screen.

    ask-sdk-model's APL package (about 10 ms to import) is imported here, on the first screen
    shown, rather than when the server starts.
    """
    from ask_sdk_model.interfaces.alexa.presentation.apl import RenderDocumentDirective

    return RenderDocumentDirective(token=screen.token, document=screen.document,
                                   datasources=screen.datasources)


def touched_routine(arguments: Any) -> str | None:
    """Return the routine id a touch event names, or None if its arguments are not ours."""
    if not isinstance(arguments, list) or len(arguments) != 2 or arguments[0] != START:
        return None
    routine_id = arguments[1]
    if not isinstance(routine_id, str) or not 0 < len(routine_id) <= MAX_ID_LENGTH:
        return None
    return routine_id


# --- the look: one set of resources, chosen by viewport --------------------------------------
# Calm: a deep blue-green ground, warm off-white text, one amber accent; generous spacing.

_COLORS = {"ground": "#14232B", "ink": "#F2EFE9", "soft": "#AFC1BE", "accent": "#E0A458",
           "line": "#2E4450"}
_RESOURCES: list[dict[str, Any]] = [
    {"colors": _COLORS,
     "strings": {"align": "left"},
     "dimensions": {"sidePad": "56dp", "topPad": "36dp", "title": "40dp", "hint": "22dp",
                    "name": "30dp", "detail": "22dp", "rowGap": "16dp", "chart": "240dp",
                    "value": "20dp", "dayLabel": "20dp"}},
    {"description": "Echo Show 5 and other short landscape screens",
     "when": "${viewport.shape != 'round' && viewport.height < 600}",
     "dimensions": {"topPad": "24dp", "title": "32dp", "name": "26dp", "detail": "20dp",
                    "rowGap": "10dp", "chart": "170dp"}},
    {"description": "TVs are read from across the room",
     "when": "${viewport.mode == 'tv'}",
     "dimensions": {"sidePad": "72dp", "title": "36dp", "name": "28dp", "chart": "200dp"}},
    {"description": "Echo Spot: keep everything inside the circle, centred",
     "when": "${viewport.shape == 'round'}",
     "strings": {"align": "center"},
     "dimensions": {"sidePad": "72dp", "topPad": "56dp", "title": "28dp", "hint": "18dp",
                    "name": "24dp", "detail": "18dp", "rowGap": "10dp", "chart": "120dp",
                    "value": "14dp", "dayLabel": "14dp"}},
]


def _document(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "APL",
        "version": APL_VERSION,
        "theme": "dark",
        "resources": _RESOURCES,
        "mainTemplate": {
            "parameters": ["payload"],
            "items": [{
                "type": "Frame",
                "width": "100vw",
                "height": "100vh",
                "backgroundColor": "@ground",
                "item": {
                    "type": "Container",
                    "width": "100%",
                    "height": "100%",
                    "paddingLeft": "@sidePad",
                    "paddingRight": "@sidePad",
                    "paddingTop": "@topPad",
                    "paddingBottom": "@topPad",
                    "items": items,
                },
            }],
        },
    }


def _text(text: str, size: str, color: str = "@ink", **more: Any) -> dict[str, Any]:
    return {"type": "Text", "text": text, "fontSize": size, "color": color, "textAlign": "@align",
            **more}


# --- the routine list ----------------------------------------------------------------------

_ROUTINE_ROW = {
    "type": "TouchWrapper",
    "accessibilityLabel": "${data.name}",
    "onPress": [{"type": "SendEvent", "arguments": [START, "${data.id}"]}],
    "item": {
        "type": "Container",
        "paddingTop": "@rowGap",
        "paddingBottom": "@rowGap",
        "items": [
            _text("${data.name}", "@name"),
            _text("${data.detail}", "@detail", "@soft"),
            _text("${data.tag}", "@detail", "@accent", when="${data.featured}"),
        ],
    },
}

_ROUTINES_DOCUMENT = _document([
    _text("${payload.routines.title}", "@title"),
    _text("${payload.routines.hint}", "@hint", "@soft", paddingBottom="@rowGap"),
    # A Sequence scrolls only with a definite height: start from half the screen, then grow
    # into whatever the heading leaves.
    {"type": "Sequence", "width": "100%", "grow": 1, "shrink": 1, "height": "50vh",
     "data": "${payload.routines.items}", "items": [_ROUTINE_ROW]},
])


def routines_screen(routines: Sequence[Routine], featured: Collection[str], speech: ModuleType = en_US) -> Screen:
    """Return the routine list: the `featured` ids first (in their order), then the rest.

    Labels come from `speech`, the text of the request's locale (`skill.text.for_locale`).

    Each row shows the title, minutes and kit; touching it starts that routine.
    """
    by_id = {r.id: r for r in routines}
    first = [by_id[i] for i in featured if i in by_id]
    ordered = [*first, *(r for r in routines if r.id not in set(featured))]
    items = [{
        "id": r.id,
        "name": r.title,
        "minutes": r.minutes,
        "kit": list(r.equipment),
        "detail": speech.screen_routine_detail(r.minutes, list(r.equipment)),
        "featured": r in first,
        "tag": speech.SCREEN_SUGGESTED if r in first else "",
    } for r in ordered]
    datasources = {"routines": {"title": speech.SCREEN_ROUTINES_TITLE,
                                "hint": speech.SCREEN_ROUTINES_HINT, "items": items}}
    return Screen(ROUTINES_TOKEN, _ROUTINES_DOCUMENT, datasources)


# --- the period's chart ----------------------------------------------------------------------

_DAY_COLUMN = {
    "type": "Container",
    "width": "1dp",  # every day grows from the same basis, so the bars stand evenly spaced
    "grow": 1,
    "alignItems": "center",
    "items": [
        {"type": "Container", "width": "100%", "height": "@chart", "justifyContent": "end",
         "alignItems": "center",
         "items": [
             {"type": "Text", "text": "${data.value}", "fontSize": "@value", "color": "@soft",
              "textAlign": "center", "maxLines": 1},
             {"type": "Frame", "width": "60%", "height": "${data.height}",
              "backgroundColor": "@accent", "borderRadius": "4dp"},
         ]},
        {"type": "Frame", "width": "100%", "height": "2dp", "backgroundColor": "@line"},
        {"type": "Text", "text": "${data.label}", "fontSize": "@dayLabel", "color": "@soft",
         "textAlign": "center", "maxLines": 1},
    ],
}

_SUMMARY_DOCUMENT = _document([
    _text("${payload.summary.title}", "@title"),
    _text("${payload.summary.totals}", "@hint", "@soft", paddingBottom="@rowGap"),
    {"type": "Container", "direction": "row", "width": "100%", "alignItems": "end",
     "data": "${payload.summary.days}", "items": [_DAY_COLUMN]},
    _text("${payload.summary.areasTitle}", "@detail", "@soft", paddingTop="@rowGap"),
    _text("${payload.summary.areas}", "@name"),
])


def _day_label(summary: Summary, index: int, speech: ModuleType) -> str:
    day = summary.days[index].day
    if summary.period == "this_month":
        return str(day.day) if day.day in MONTH_LABEL_DAYS else ""
    return speech.SCREEN_WEEKDAYS[day.weekday()]


def summary_screen(summary: Summary, speech: ModuleType = en_US) -> Screen:
    """Return the chart of guided minutes per day of the summary's period, and its areas.

    Labels come from `speech`, the text of the request's locale.

    Bar heights are proportional to the guided minutes (the busiest day reaches
    `BAR_MAX_PERCENT` of the chart); a period with no sessions draws every bar at zero.
    A week's bars carry their minutes; a month's have too many bars for numbers.
    """
    busiest = max((d.seconds for d in summary.days), default=0)
    week = summary.period != "this_month"
    days = [{
        "day": d.day.isoformat(),
        "label": _day_label(summary, n, speech),
        "minutes": round(d.seconds / 60, 1),
        "value": str((d.seconds + 30) // 60) if week and d.seconds else "",
        "height": f"{BAR_MAX_PERCENT * d.seconds / busiest:.2f}%" if d.seconds else "0%",
    } for n, d in enumerate(summary.days)]
    datasources = {"summary": {
        "title": speech.SCREEN_PERIOD_TITLES[summary.period],
        "totals": speech.screen_totals(summary.sessions, summary.seconds),
        "areasTitle": speech.SCREEN_AREAS_TITLE,
        "areas": speech.screen_areas(summary.areas),
        "days": days,
    }}
    return Screen(SUMMARY_TOKEN, _SUMMARY_DOCUMENT, datasources)
