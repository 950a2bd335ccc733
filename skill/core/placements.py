"""Name every spot a ball or roller may sit, once: the landmark regions of the placement pictures.

A `place` step names its region (`"region": "upper-back-beside-spine"`); the region says
which view of the body shows it (back, front or side) and where on a standing figure the
ball sits. The renderer draws the picture from this table (skill.render.pictures), the
validator rejects a region not in it, and the screen of every track shows the spot in effect.

Coordinates are fractions of the body's height, measured on a figure standing upright:
`y` from the top of the head (0) to the soles (1); `x` across it. In the back and front
views `x` is the distance from the midline toward the worked side (0.0 on the midline); in
the side view it is the distance forward of the line through the ear and ankle (the figure
faces the way the worked side looks, so its front is positive). A figure's right and left
follow the view: seen from behind, the person's left is on the viewer's left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple


class View(StrEnum):
    """Which way the figure is seen."""

    BACK = "back"
    FRONT = "front"
    SIDE = "side"


class Tool(StrEnum):
    """What presses on the spot, as drawn."""

    BALL = "ball"
    TWO_BALLS = "two balls"  # two balls in a sock, either side of the midline
    ROLLER = "roller"


class Region(NamedTuple):
    """One named spot: the view that shows it, and where on the figure the ball sits."""

    view: View
    x: float
    y: float
    label: str  # what it is, in the user's words, for error messages and docs
    angle: float = 0.0  # a roller's tilt from horizontal, in degrees (across a limb: 0)
    reach: float | None = None  # how far a roller is drawn each side of the spot, where one limb's width is too much


REGIONS: Mapping[str, Region] = MappingProxyType({
    # back view
    "base-of-skull": Region(View.BACK, 0.022, 0.112, "just under the bony ridge at the back of the skull"),
    "upper-back-beside-spine": Region(View.BACK, 0.03, 0.262, "between the shoulder blade and the spine"),
    "upper-back-top-of-blade": Region(View.BACK, 0.03, 0.222, "beside the spine, at the top of the shoulder blade"),
    "shoulder-blade-flat": Region(View.BACK, 0.07, 0.25, "on the flat of the shoulder blade, below its ridge"),
    "top-of-shoulder-ridge": Region(View.BACK, 0.072, 0.188, "on the top of the shoulder, halfway to its tip"),
    "top-of-shoulder-inner-corner": Region(View.BACK, 0.045, 0.196, "where the neck meets the top of the shoulder"),
    "side-of-back-below-armpit": Region(View.BACK, 0.088, 0.285, "on the side of the back, below the armpit",
                                        reach=0.042),
    "lower-back-beside-spine": Region(View.BACK, 0.026, 0.415, "beside the spine, just above the hip bone"),
    "lower-back-waist": Region(View.BACK, 0.058, 0.42, "a hand's width from the spine, above the hip bone"),
    "glute-centre": Region(View.BACK, 0.052, 0.515, "in the middle of the buttock"),
    "glute-piriformis": Region(View.BACK, 0.06, 0.49, "between the hip knob and the base of the spine"),
    "hamstring-middle": Region(View.BACK, 0.052, 0.63, "the back of the thigh"),
    "calf-middle": Region(View.BACK, 0.056, 0.8, "the back of the calf"),
    "forearm-back": Region(View.BACK, 0.186, 0.395, "the back of the forearm, below the elbow"),
    # front view
    "chest-below-collarbone": Region(View.FRONT, 0.058, 0.218, "just below the collarbone"),
    "forearm-palm-side": Region(View.FRONT, 0.178, 0.4, "the palm side of the forearm, below the elbow"),
    "hip-flexor-below-hip-point": Region(View.FRONT, 0.066, 0.5, "the top of the thigh, below the hip point"),
    "thigh-front": Region(View.FRONT, 0.054, 0.61, "the front of the thigh"),
    "shin-outer": Region(View.FRONT, 0.062, 0.79, "the muscle beside the shin bone"),
    # side view
    "outer-hip-above-knob": Region(View.SIDE, -0.01, 0.49, "the side of the hip, above the hip knob"),
    "outer-hip-front": Region(View.SIDE, 0.03, 0.5, "the front edge of the hip"),
    "sole-front-of-heel": Region(View.SIDE, 0.028, 1.02, "under the sole, just in front of the heel"),
})


class Placement(NamedTuple):
    """Where the ball (or roller) sits for a track: a region, the side worked, the tool."""

    region: str
    side: str | None
    tool: Tool

    @property
    def spot(self) -> Region:
        """Return the region's row of the table."""
        return REGIONS[self.region]

    @property
    def key(self) -> dict[str, str | None]:
        """Return what the picture of this placement is drawn from, as JSON data."""
        return {"region": self.region, "side": self.side, "tool": self.tool.value}


def tool_for(equipment: Sequence[str]) -> Tool:
    """Return what a routine's kit presses with: a roller, two balls in a sock, or a ball."""
    if "foam roller" in equipment:
        return Tool.ROLLER
    if "two balls in a sock" in equipment:
        return Tool.TWO_BALLS
    return Tool.BALL


def unknown_region(name: str | None) -> str | None:
    """Return why a step's region cannot be drawn, or None when it is in the table."""
    if name in REGIONS:
        return None
    known = ", ".join(sorted(REGIONS))
    return (f"Region {name!r} is not a known placement region; use one of: {known} "
            "(or add it to skill/core/placements.py REGIONS).")
