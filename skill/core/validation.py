"""Check routines against the content rules the schema cannot express.

Each rule yields Problems naming the file, the JSON pointer and the rule, so an author
sees every problem at once, not the first one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from skill.core.cues import CUES
from skill.core.routines import (
    HOLD_MAX_SECONDS,
    HOLD_MIN_SECONDS,
    LENGTH_TOLERANCE,
    MEDICAL_CLAIMS,
    SAFETY_TOPICS,
    Problem,
    Routine,
    normalise,
)
from skill.core.timeline import estimated_minutes, expand

SIDE_MARKERS = ("{side}", "{other}")


def check_library(routines: Sequence[Routine]) -> list[Problem]:
    """Return every rule problem across a set of routines that passed the schema."""
    problems: list[Problem] = []
    problems.extend(_unique_ids(routines))
    problems.extend(_synonym_collisions(routines))
    for routine in routines:
        problems.extend(check_routine(routine))
    return problems


def check_routine(routine: Routine) -> list[Problem]:
    """Return every rule problem within one routine."""
    return [
        *_id_matches_file(routine),
        *_hold_bounds(routine),
        *_per_side(routine),
        *_cues_exist(routine),
        *_safety(routine),
        *_no_medical_claims(routine),
        *_length(routine),
    ]


def _unique_ids(routines: Sequence[Routine]) -> Iterator[Problem]:
    seen: dict[str, str] = {}
    for r in routines:
        if r.id in seen:
            yield Problem(r.source, "/id", "unique-id",
                          f"The id '{r.id}' is already used by {seen[r.id]}; pick another id.")
        else:
            seen[r.id] = r.source


def _synonym_collisions(routines: Sequence[Routine]) -> Iterator[Problem]:
    owner: dict[str, tuple[Routine, str]] = {}
    for r in routines:
        phrases = [("/id", r.id), ("/name", r.name)]
        phrases += [(f"/synonyms/{i}", s) for i, s in enumerate(r.synonyms)]
        for pointer, phrase in phrases:
            key = normalise(phrase)
            if key in owner and owner[key][0] is not r:
                other, other_pointer = owner[key]
                yield Problem(
                    r.source, pointer, "synonym-collision",
                    f"'{phrase}' is also a name of routine '{other.id}' ({other.source}"
                    f"#{other_pointer}); a spoken phrase must pick exactly one routine.",
                )
            elif key in owner and pointer != "/name":  # a name may equal its own id
                yield Problem(r.source, pointer, "synonym-collision",
                              f"'{phrase}' repeats another name of this routine.")
            else:
                owner[key] = (r, pointer)


def _id_matches_file(routine: Routine) -> Iterator[Problem]:
    if routine.source and not routine.source.endswith(f"{routine.id}.json"):
        yield Problem(routine.source, "/id", "id-matches-file",
                      f"The id '{routine.id}' must match the file name; rename the file to "
                      f"'{routine.id}.json' or change the id.")


def _hold_bounds(routine: Routine) -> Iterator[Problem]:
    for i, step in enumerate(routine.steps):
        if step.kind == "hold" and not HOLD_MIN_SECONDS <= step.seconds <= HOLD_MAX_SECONDS:
            yield Problem(routine.source, f"/steps/{i}/seconds", "hold-bounds",
                          f"A hold of {step.seconds} s is outside {HOLD_MIN_SECONDS}-"
                          f"{HOLD_MAX_SECONDS} s; most holds should be 30-60 s.")


def _per_side(routine: Routine) -> Iterator[Problem]:
    steps = routine.steps
    for i, step in enumerate(steps):
        marked = any(m in step.say for m in SIDE_MARKERS)
        after_block = i > 0 and steps[i - 1].per_side
        if step.kind == "switch" and step.per_side:
            yield Problem(routine.source, f"/steps/{i}/per_side", "per-side",
                          "A switch step cannot be per-side; it is played once between sides.")
        elif marked and not step.per_side and not (step.kind == "switch" and after_block):
            yield Problem(routine.source, f"/steps/{i}/say", "per-side",
                          "The text names {side} or {other} but the step is not per_side; "
                          "mark it per_side or remove the placeholder.")
        starts_block = step.per_side and not (i > 0 and steps[i - 1].per_side)
        if starts_block:
            end = i
            while end < len(steps) and steps[end].per_side:
                end += 1
            block = steps[i:end]
            if not any(any(m in s.say for m in SIDE_MARKERS) for s in block):
                yield Problem(routine.source, f"/steps/{i}", "per-side",
                              f"The per-side steps {i}-{end - 1} never say which side; put "
                              "{side} in the text of at least one of them.")
            if end >= len(steps) or steps[end].kind != "switch":
                yield Problem(routine.source, f"/steps/{end - 1}", "per-side",
                              f"The per-side steps {i}-{end - 1} must be followed by a switch "
                              "step that tells the listener to change sides.")
        if step.kind == "switch" and not after_block:
            yield Problem(routine.source, f"/steps/{i}", "per-side",
                          "A switch step must directly follow a block of per-side steps.")


def _cues_exist(routine: Routine) -> Iterator[Problem]:
    for i, step in enumerate(routine.steps):
        if step.end_cue not in CUES:
            yield Problem(routine.source, f"/steps/{i}/end_cue", "cue-exists",
                          f"No cue named '{step.end_cue}'; known cues: {', '.join(sorted(CUES))}.")


def _safety(routine: Routine) -> Iterator[Problem]:
    text = " ".join(routine.safety.notes)
    for topic, pattern in SAFETY_TOPICS.items():
        if not pattern.search(text):
            yield Problem(routine.source, "/safety/notes", "safety-coverage",
                          f"The safety notes never mention {topic}; add a note about it.")


def _no_medical_claims(routine: Routine) -> Iterator[Problem]:
    # Safety notes may name conditions ("healing wounds"); what the coach promises may not.
    texts = [("/intro", routine.intro), ("/safety/spoken", routine.safety.spoken)]
    texts += [(f"/steps/{i}/say", s.say) for i, s in enumerate(routine.steps)]
    for pointer, text in texts:
        match = MEDICAL_CLAIMS.search(text)
        if match:
            yield Problem(routine.source, pointer, "no-medical-claims",
                          f"'{match.group(0)}' reads as a medical claim; say what people often "
                          "feel instead ('may ease', 'many people find').")


def _length(routine: Routine) -> Iterator[Problem]:
    computed = estimated_minutes(expand(routine))
    if abs(computed - routine.minutes) > LENGTH_TOLERANCE * routine.minutes:
        yield Problem(routine.source, "/minutes", "declared-length",
                      f"Declared {routine.minutes} min but the steps add up to about "
                      f"{computed:.1f} min; the two must agree within 20 percent.")
