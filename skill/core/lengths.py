"""Derive the quick version of a routine from its one JSON file: the rule, declared once.

A quick version plays in about five minutes. It is not a second file: it keeps some steps of
the full routine and shortens their timed parts, by this rule unless a step says otherwise
with its own `quick` field (`false` drops it, `true` keeps it, `{"seconds": N}` or
`{"breaths": N}` keeps it with that timed part):

- Every position and switch step stays (getting down, changing sides), and so does every
  step with a spoken caution.
- The steps between two position or switch steps, or where the side changes (a section),
  keep their first spot only: the first place step and the first ball-work step after it
  (hold, roll or move). A later spot plays only when one of its steps has a caution (then
  its place step, that step and its first ball-work step). Since a side block is mirrored,
  both sides keep the same spots.
- Timed steps outside any spot (breaths, rests) stay.
- A kept step's timed part is at most its kind's `quick_timed` (steps.KINDS), never longer
  than the full one.

`skill.core.validation` checks what comes out against the same rules as a full routine, and
that it still speaks every caution, keeps every setup step and runs QUICK_MINUTES.
"""

from __future__ import annotations

from skill.core.routines import Length, Routine, Step
from skill.core.steps import StepKind
from skill.core.timeline import estimated_minutes, expand

QUICK_MINUTES = (4.0, 6.5)  # the estimated length a quick version must have
LENGTHS = tuple(Length)


def _spots(routine: Routine) -> list[tuple[int, int]]:
    """Return each step's (section, spot): spot 0 is outside any spot, 1 the first one."""
    places: list[tuple[int, int]] = []
    section = spot = 0
    previous: Step | None = None
    for step in routine.steps:
        if (step.kind is StepKind.POSITION or step.kind.rules.changes_side
                or (previous is not None and (previous.kind is StepKind.POSITION
                                              or previous.kind.rules.changes_side
                                              or previous.per_side != step.per_side))):
            section, spot = section + 1, 0
        if step.kind is StepKind.PLACE:
            spot += 1
        places.append((section, spot))
        previous = step
    return places


def kept_steps(routine: Routine) -> tuple[int, ...]:
    """Return the indices of the steps of a (full) routine its quick version keeps."""
    places = _spots(routine)
    steps = routine.steps
    # A spot is played when it is a section's first, or when one of its steps has a caution.
    played = {p for p, step in zip(places, steps, strict=True) if p[1] == 1 or (p[1] and step.caution)}
    worked: set[tuple[int, int]] = set()  # spots whose first ball-work step is already kept
    kept: list[int] = []
    for i, (step, place) in enumerate(zip(steps, places, strict=True)):
        rules = step.kind.rules
        if step.quick_keep is not None:
            keep = step.quick_keep
        elif step.caution or step.kind is StepKind.POSITION or rules.changes_side or not place[1]:
            keep = True  # not place[1]: outside any spot (breaths, rests, a hold before any place)
        elif step.kind is StepKind.PLACE:
            keep = place in played
        else:
            keep = place in played and rules.ball_work and place not in worked
        if keep and rules.ball_work and place[1]:
            worked.add(place)
        if keep:
            kept.append(i)
    return tuple(kept)


def _shortened(step: Step) -> Step:
    """Return the step with its timed part as long as the quick version plays it."""
    rules = step.kind.rules
    if rules.timed_by is None:
        return step
    if step.kind.rules.timed_by == "breaths":
        limit = step.quick_timed or rules.quick_timed or step.breaths
        return step._replace(breaths=min(step.breaths, limit))
    limit = step.quick_timed or rules.quick_timed or step.seconds
    return step._replace(seconds=min(step.seconds, limit))


def version(routine: Routine, length: Length | str) -> Routine:
    """Return the routine as it plays at `length`: itself when full, else its quick version.

    The quick version's `minutes` is its own estimated length, so what the intro says
    ("about five minutes") is what the listener gets. Raise ValueError for an unknown length.
    """
    try:
        length = Length(length)
    except ValueError:
        raise ValueError(f"Unknown routine length {length!r}; use one of "
                         f"{', '.join(LENGTHS)}.") from None
    if length is Length.FULL or routine.length is length:
        return routine
    numbers = kept_steps(routine)
    quick = routine._replace(steps=tuple(_shortened(routine.steps[i]) for i in numbers),
                    length=length, step_numbers=numbers)
    return quick._replace(minutes=max(1, round(estimated_minutes(expand(quick)))))


def versions(routine: Routine) -> tuple[Routine, ...]:
    """Return every version of a routine, full first."""
    return tuple(version(routine, length) for length in LENGTHS)
