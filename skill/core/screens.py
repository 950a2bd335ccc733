"""Say what a screen shows with each track: title, subtitle, and where the ball sits.

Echo Show, Echo Spot, Fire TV and the Alexa app show a Play directive's metadata while the
track plays. It is derived here from the timeline, once per track, never in handlers:

- title: the routine, and the side being worked ("Upper back · right side");
- subtitle: the spot in a few words (the place step's `where`), then what to do and for how
  long ("Ball between the spine and the shoulder blade · hold 45 s · breathe in 4, out 6");
- placement: what the picture shows. A place step and the ball work after it show the spot
  in effect; a step that moves the person or rests (position, switch, rest, breathe) shows
  the next spot, so the picture says where the ball is going, else the last one.

`tag` hashes everything a screen shows for a track; the player puts it in the track's
token, since screens cache what they show by token.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from skill.core.placements import Placement, tool_for
from skill.core.routines import Length, Routine
from skill.core.steps import StepKind
from skill.core.timeline import Track, expand
from skill.text import en_US as speech

TAG_LENGTH = 8
# The picture sizes the AudioPlayer reference recommends: album art at least 480 x 480
# pixels, a background image at least 1024 x 640 (width, height).
ART_PIXELS = (480, 480)
BACKGROUND_PIXELS = (1024, 640)


class Screen(NamedTuple):
    """What a screen shows while one track plays."""

    title: str
    subtitle: str
    placement: Placement | None


def _placements(routine: Routine, tracks: tuple[Track, ...]) -> list[Placement | None]:
    """Return each track's placement: the spot in effect, or for moving and resting the next one."""
    tool = tool_for(routine.equipment)
    own = [Placement(routine.steps[t.step_index].region or "", t.side, tool) if t.kind is StepKind.PLACE
           else None for t in tracks]
    shown: list[Placement | None] = []
    current: Placement | None = None
    for i, track in enumerate(tracks):
        current = own[i] or current
        if track.kind is StepKind.PLACE or track.kind.rules.ball_work:
            shown.append(current)
        else:
            shown.append(next((p for p in own[i + 1:] if p), current))
    return shown


def _timed(routine: Routine, track: Track) -> list[str]:
    """Return what the track asks for and for how long, as short screen phrases."""
    step = routine.steps[track.step_index]
    breath = track.breath
    breathing = []
    if breath is not None and track.kind.rules.breath_cues:
        form = speech.SCREEN_BREATH_HOLD if breath.hold else speech.SCREEN_BREATH
        breathing = [form.format(inhale=breath.inhale, hold=breath.hold, exhale=breath.exhale)]
    if track.kind is StepKind.HOLD:
        return [speech.SCREEN_HOLD.format(seconds=track.seconds), *breathing]
    if track.kind is StepKind.MOVE:
        return [speech.SCREEN_MOVE.format(seconds=track.seconds)]
    if track.kind is StepKind.ROLL:
        return [speech.SCREEN_ROLL.format(seconds=track.seconds, stroke=track.stroke_seconds)]
    if track.kind is StepKind.BREATHE:
        return [speech.SCREEN_BREATHS.format(breaths=step.breaths), *breathing]
    if track.kind is StepKind.REST:
        return [speech.SCREEN_REST.format(seconds=track.seconds)]
    return []


def screens(routine: Routine, tracks: tuple[Track, ...] | None = None) -> tuple[Screen, ...]:
    """Return what a screen shows with each of the routine's tracks, in play order."""
    tracks = expand(routine) if tracks is None else tracks
    title = routine.title if routine.length is Length.FULL else speech.SCREEN_QUICK.format(title=routine.title)
    shown = _placements(routine, tracks)
    out: list[Screen] = []
    where: str | None = None
    for track, placement in zip(tracks, shown, strict=True):
        step = routine.steps[track.step_index]
        if track.kind is StepKind.PLACE:
            where = step.where
        heading = title if track.side is None else speech.SCREEN_JOIN.join(
            (title, speech.SCREEN_SIDE.format(side=speech.SIDE_WORDS[track.side])))
        if track.kind is StepKind.PLACE or track.kind.rules.ball_work:
            parts = [where or track.kind.label, *_timed(routine, track)]
        elif track.kind.rules.moving:
            ahead = _next_where(routine, tracks, track.index)
            parts = [track.kind.label, *([speech.SCREEN_NEXT.format(where=ahead)] if ahead else [])]
        else:
            parts = _timed(routine, track) or [track.kind.label]
        subtitle = speech.SCREEN_JOIN.join(parts)
        out.append(Screen(heading, subtitle[:1].upper() + subtitle[1:], placement))
    return tuple(out)


def _next_where(routine: Routine, tracks: tuple[Track, ...], index: int) -> str | None:
    """Return the `where` of the next place step after track `index`, lower-cased, if any."""
    for track in tracks[index + 1:]:
        if track.kind is StepKind.PLACE:
            where = routine.steps[track.step_index].where or ""
            return where[:1].lower() + where[1:]
    return None


def tag(*shown: str | None) -> str:
    """Return a short hash of what a screen shows for a track (texts and file names)."""
    data = "\0".join(part or "" for part in shown).encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:TAG_LENGTH]
