"""Declare every kind of routine step once, with the rules the rest of the code reads.

A step kind decides what a listener hears around its instruction: whether a timed part
follows, how long the quiet settle after the last word lasts, which cues and tones the
timed part gets, and which JSON fields a step of that kind takes. The routine schema
(`routines/schema.json`), the timeline, the track layout, the validator and the catalog
all read this table; adding a kind means adding a row here and, if it sounds different,
teaching the layout its sound.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from skill.text import en_US as speech

# Quiet seconds after the last word of a step that asks the person to move, at the least.
MIN_SETTLE_SECONDS = 6
MAX_SETTLE_SECONDS = 30
CAUTION_MAX_CHARS = 240
SCREEN_MAX_CHARS = 60  # a place step's `where`: one line on a small screen


class StepKind(StrEnum):
    """The kinds of step a routine may hold; each one's rules are `kind.rules`."""

    POSITION = "position"  # get down onto the floor, turn over, sit on a chair
    PLACE = "place"  # put or move the ball (or roller) under a spot
    MOVE = "move"  # small movements while the ball stays put: nods, arm sweeps, foot points
    HOLD = "hold"  # stay still on the ball
    BREATHE = "breathe"  # paced breaths, no ball work
    ROLL = "roll"  # roll the body over the ball in slow strokes
    SWITCH = "switch"  # change sides between the two halves of a side block
    REST = "rest"  # quiet time off the ball

    @property
    def rules(self) -> KindRules:
        """Return this kind's row of the table."""
        return KINDS[self]

    @property
    def label(self) -> str:
        """Return what a screen shows for a step of this kind, e.g. "Place the ball" (en_US.SCREEN_STEP)."""
        return speech.SCREEN_STEP[self.value]


class KindRules(NamedTuple):
    """What one kind of step sounds like and which JSON fields it takes."""

    timed_by: str | None  # "seconds", "breaths" or None (instruction only)
    moving: bool  # asks the person to move: needs at least MIN_SETTLE_SECONDS of quiet
    settle_seconds: int  # default quiet after the last word, before anything else is said
    pressure: bool = False  # takes a pressure, and its guidance is spoken
    strokes: bool = False  # stroke tones, the roll pace sentence and "keep rolling"
    breath_cues: bool = False  # "Breathe in … and out", then breath tones
    countdown: bool = False  # "Ten more seconds", "And release"
    mid_cue: str | None = None  # said halfway through a timed part longer than 30 s
    changes_side: bool = False  # played once between the two sides of a side block
    fields: Mapping[str, Mapping[str, Any]] = MappingProxyType({})  # JSON Schema
    required: tuple[str, ...] = ()
    quick_timed: int | None = None  # the longest timed part (seconds or breaths) a quick version plays
    ball_work: bool = False  # works a spot a place step set up (a quick version keeps one per spot)

    @property
    def timed(self) -> bool:
        """Return True if a timed part follows the instruction."""
        return self.timed_by is not None


_PRESSURE = {"enum": ["gentle", "moderate", "firm"]}
_BREATH = {"$ref": "#/$defs/breath"}

KINDS: Mapping[StepKind, KindRules] = MappingProxyType({
    StepKind.POSITION: KindRules(None, moving=True, settle_seconds=10),
    StepKind.PLACE: KindRules(
        None, moving=True, settle_seconds=6,
        fields={"region": {"type": "string", "pattern": "^[a-z][a-z-]+$",
                           "description": "Where the ball sits, a name from skill/core/placements.py "
                                          "REGIONS; the placement picture is drawn from it."},
                "where": {"type": "string", "minLength": 8, "maxLength": SCREEN_MAX_CHARS,
                          "description": "The spot in a few words, shown on screens, e.g. 'Ball "
                                         "beside the spine, below the shoulder blade'."}},
        required=("region", "where"),
    ),
    StepKind.MOVE: KindRules(
        "seconds", moving=False, settle_seconds=0, pressure=True,
        countdown=True, mid_cue=speech.MOVE_EASY, quick_timed=30, ball_work=True,
        fields={"seconds": {"type": "integer", "minimum": 20, "maximum": 90},
                "pressure": _PRESSURE},
        required=("seconds", "pressure"),
    ),
    StepKind.HOLD: KindRules(
        "seconds", moving=False, settle_seconds=0, pressure=True, breath_cues=True,
        countdown=True, mid_cue=speech.HALFWAY, quick_timed=30, ball_work=True,
        fields={"seconds": {"type": "integer"}, "pressure": _PRESSURE, "breath": _BREATH},
        required=("seconds", "pressure", "breath"),
    ),
    StepKind.BREATHE: KindRules(
        "breaths", moving=False, settle_seconds=0, breath_cues=True, quick_timed=2,
        fields={"breaths": {"type": "integer", "minimum": 2, "maximum": 12}, "breath": _BREATH},
        required=("breaths", "breath"),
    ),
    StepKind.ROLL: KindRules(
        "seconds", moving=False, settle_seconds=0, pressure=True, strokes=True,
        countdown=True, mid_cue=speech.KEEP_ROLLING, quick_timed=30, ball_work=True,
        fields={"seconds": {"type": "integer", "minimum": 20, "maximum": 120},
                "stroke_seconds": {"type": "integer", "minimum": 2, "maximum": 6},
                "pressure": _PRESSURE},
        required=("seconds", "stroke_seconds", "pressure"),
    ),
    StepKind.SWITCH: KindRules(None, moving=True, settle_seconds=10,
                               changes_side=True),
    StepKind.REST: KindRules(
        "seconds", moving=False, settle_seconds=0, quick_timed=10,
        fields={"seconds": {"type": "integer", "minimum": 5, "maximum": 60}},
        required=("seconds",),
    ),
})

# Fields every kind takes, with their JSON Schema.
COMMON_FIELDS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "kind": {"enum": [k.value for k in StepKind]},
    "say": {"$ref": "#/$defs/say"},
    "caution": {
        "type": "string", "minLength": 10, "maxLength": CAUTION_MAX_CHARS,
        "description": "An area-specific safety warning, spoken just before `say`.",
    },
    "per_side": {"type": "boolean", "default": False},
    "settle_seconds": {
        "type": "integer", "minimum": 0, "maximum": MAX_SETTLE_SECONDS,
        "description": "Quiet seconds after the last word, before anything else is said; "
                       "overrides the kind's default. A timed part starts after it.",
    },
    "end_cue": {"$ref": "#/$defs/cue"},
    "quick": {
        "oneOf": [
            {"type": "boolean"},
            {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
             "properties": {"seconds": {"type": "integer", "minimum": 5},
                            "breaths": {"type": "integer", "minimum": 2}}},
        ],
        "description": "How the quick version plays this step: false drops it, true keeps it "
                       "(timed parts shortened by the kind's rule), {\"seconds\": N} or "
                       "{\"breaths\": N} keeps it with that timed part. Left out: the rule decides "
                       "(skill.core.lengths).",
    },
})


def settle_seconds(kind: StepKind, override: int | None) -> int:
    """Return a step's quiet settle time: its own `settle_seconds`, else its kind's default."""
    return kind.rules.settle_seconds if override is None else override


def step_schema() -> dict[str, Any]:
    """Return the JSON Schema of one step, built from the table (routines/schema.json holds it)."""
    return {
        "type": "object",
        "required": ["kind", "say"],
        "properties": {name: dict(spec) for name, spec in COMMON_FIELDS.items()},
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind.value}}},
                "then": {
                    **({"required": list(rules.required)} if rules.required else {}),
                    "properties": {name: True for name in COMMON_FIELDS}
                    | {name: dict(spec) for name, spec in rules.fields.items()},
                    "additionalProperties": False,
                },
            }
            for kind, rules in KINDS.items()
        ],
    }
