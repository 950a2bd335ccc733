"""Expand a routine into the ordered tracks a listener hears, one per step and side.

Per-side steps are written once in JSON. A run of consecutive per-side steps (a side
block) is played on the routine's first side, then the `switch` step that follows the
block, then the same block mirrored onto the other side.
"""

from __future__ import annotations

from typing import NamedTuple

from skill.core.cues import CUES, FINAL_CUE, SWITCH_CUE
from skill.core.routines import Breath, Routine, Step
from skill.core.steps import StepKind
from skill.text import en_US as speech

# A calm coaching voice speaks about 140 words a minute, with a short pause per sentence.
WORDS_PER_SECOND = 2.3
SENTENCE_PAUSE_SECONDS = 0.35


class Track(NamedTuple):
    """One playable piece of a routine: an instruction, then a timed part, then a cue."""

    index: int
    step_index: int
    kind: StepKind
    side: str | None
    text: str
    seconds: int
    breath: Breath | None
    pressure: str | None
    stroke_seconds: int
    end_cue: str
    is_last: bool = False
    settle_seconds: int = 0  # quiet after the instruction's last word, before anything else

    @property
    def pointer(self) -> str:
        """Return the JSON pointer of the step this track plays."""
        return f"/steps/{self.step_index}"

    @property
    def estimated_seconds(self) -> float:
        """Estimate the track's length from its words; the renderer measures the real one."""
        spoken = estimate_speech_seconds(self.text)
        if self.is_last:
            spoken += estimate_speech_seconds(speech.ROUTINE_DONE)
        cue = CUES.get(self.end_cue)  # an unknown cue is the validator's to report
        return spoken + self.settle_seconds + self.seconds + (cue.seconds if cue else 0.0)


def estimate_speech_seconds(text: str) -> float:
    """Estimate how long a sentence takes to say at the coach's pace."""
    words = len(text.split())
    sentences = max(1, sum(text.count(p) for p in ".!?"))
    return words / WORDS_PER_SECOND + sentences * SENTENCE_PAUSE_SECONDS


def _expand_steps(routine: Routine) -> list[tuple[int, Step, str | None]]:
    """Return (step index, step, side) in play order, mirroring each side block."""
    order: list[tuple[int, Step, str | None]] = []
    steps = routine.steps
    first, second = routine.first_side, speech.other_side(routine.first_side)
    i = 0
    while i < len(steps):
        if not steps[i].per_side:
            order.append((i, steps[i], None))
            i += 1
            continue
        start = i
        while i < len(steps) and steps[i].per_side:
            i += 1
        block = list(range(start, i))
        order.extend((j, steps[j], first) for j in block)
        if i < len(steps) and steps[i].kind.rules.changes_side:
            order.append((i, steps[i], second))
            i += 1
        order.extend((j, steps[j], second) for j in block)
    return order


def expand(routine: Routine) -> tuple[Track, ...]:
    """Return the routine's tracks in play order, with sides mirrored and text filled in.

    The first track opens with the routine's intro, in the coach's voice, so what the intro
    promises is heard where the routine begins. A step's caution is spoken just before its
    instruction. A step that takes a pressure
    says its guidance when the pressure differs from the previous one on this side: the
    full sentence the first time the routine uses that pressure, a short reminder after.
    """
    order = _expand_steps(routine)
    tracks: list[Track] = []
    last_pressure: str | None = None
    explained: set[str] = set()
    for index, (step_index, step, side) in enumerate(order):
        text = speech.fill_side(step.say, side)
        if step.caution:
            text = f"{speech.fill_side(step.caution, side)} {text}"
        if index == 0:
            text = f"{routine.intro} {text}"
        if step.pressure and step.pressure != last_pressure:
            guidance = speech.PRESSURE_AGAIN if step.pressure in explained else speech.PRESSURE
            text = f"{text} {guidance[step.pressure]}"
            explained.add(step.pressure)
            last_pressure = step.pressure
        is_last = index == len(order) - 1
        end_cue = step.end_cue
        if step.kind.rules.changes_side:
            end_cue = SWITCH_CUE
            last_pressure = None  # the new side hears its pressure guidance once too
        if is_last:
            end_cue = FINAL_CUE
        tracks.append(
            Track(
                index=index,
                step_index=step_index,
                kind=step.kind,
                side=side if step.per_side else None,
                text=text,
                seconds=step.timed_seconds,
                breath=step.breath,
                pressure=step.pressure,
                stroke_seconds=step.stroke_seconds,
                end_cue=end_cue,
                is_last=is_last,
                settle_seconds=step.settle_seconds,
            )
        )
    return tuple(tracks)


def estimated_minutes(tracks: tuple[Track, ...]) -> float:
    """Return the estimated length of a list of tracks in minutes."""
    return sum(t.estimated_seconds for t in tracks) / 60.0
