"""Check routines against the content rules the schema cannot express.

Each rule yields Problems naming the file, the JSON pointer and the rule, so an author
sees every problem at once, not the first one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from skill.core.claims import MEDICAL_CLAIMS
from skill.core.cues import CUES
from skill.core.lengths import QUICK_MINUTES, kept_steps, version
from skill.core.placements import unknown_region
from skill.core.routines import (
    HOLD_MAX_SECONDS,
    HOLD_MIN_SECONDS,
    LENGTH_TOLERANCE,
    Length,
    Problem,
    Routine,
    normalise,
)
from skill.core.steps import MIN_SETTLE_SECONDS, StepKind
from skill.core.timeline import estimated_minutes, expand

SIDE_MARKERS = ("{side}", "{other}")

# Words that ask the person to move the body or the ball to a new place: such a step needs
# quiet settle time. The rolling and small movements of a timed part are not in here.
REPOSITION = re.compile(
    r"\b(roll (a little |back )?(onto|off|over)\b|turn (over|onto|back onto)\b"
    r"|slide (the|your) (ball|balls|sock|roller)\b|lie (back|down|flat|face)\b|sit up\b"
    r"|(move|shift|take|put|set|tuck) the (ball|balls|sock|roller)\b|come off\b|lift off\b"
    r"|roll back to\b)",
    re.I,
)
# "If you feel tingling, move the ball": a way out, not a move everyone makes.
CONTINGENCY = re.compile(r"\s*(if|when|should)\b", re.I)
# Words that say the ball stays put while something else moves: a move, not a roll.
STAYS_PUT = re.compile(
    r"\b(keep (the ball |the roller |your body )?still|(ball|roller) stays|nods?\b|sweep"
    r"|slide your (\{side\} |\{other\} |left |right )?arm|point your (toes|foot)|flex your foot)"
    r"|turn your (face|head)[^.]*\bthen back",
    re.I,
)
# Where each area's danger zones are, and words that show a spoken sentence names them:
# every pattern of a topic must appear in one sentence someone hears.
AREA_SAFETY: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "neck": (("the front and sides of the neck", (r"\bfront\b", r"\bsides?\b")),),
    "lower back": (
        ("keeping off the spine", (r"\b(not|never|off|beside|away)\b", r"\bspine\b")),
        ("not under the ribs", (r"\b(not|never|don't|below|away)\b", r"\bribs?\b")),
    ),
    "calves": (
        ("a swollen, warm or red calf", (r"\bswollen\b", r"\bwarm\b", r"\bred\b")),
        ("the back of the knee", (r"\b(behind|back of)\b", r"\bknees?\b")),
    ),
    "hamstrings": (("the back of the knee", (r"\b(behind|back of)\b", r"\bknees?\b")),),
    "chest": (
        ("the armpit", (r"\barmpits?\b",)),
        ("the breastbone and collarbone", (r"\b(breastbone|collarbone)\b",)),
    ),
    "glutes": (
        ("tingling down the leg", (r"\b(tingl|numb)", r"\blegs?\b")),
        ("the deep inner buttock", (r"\b(crease|inner|sitting bone|tailbone)\b",)),
    ),
    "hips": (("the outer knee", (r"\b(above|off|away from)\b", r"\bknees?\b")),),
    "feet": (("the inner ankle", (r"\b(inner|inside)\b", r"\bankles?\b")),),
    "upper back": (("the spine", (r"\b(not|never|off|beside|away)\b", r"\bspine\b")),),
    "shoulder": (
        ("the spine and the bony edges", (r"\b(not|off|away|below|stay|keep)\b",
                                          r"\b(bone|bony|ridge|spine)\b")),
    ),
    # The six areas of issue 12 (CONTENT.md section 5.3).
    "shoulder tops": (
        ("the hollow above the collarbone", (r"\bhollow\b", r"\babove (your|the) collarbones?\b")),
        ("the front and sides of the neck", (r"\bfront\b", r"\bsides?\b", r"\bneck\b")),
    ),
    "forearms": (
        ("the inner elbow crease", (r"\bcrease\b", r"\belbows?\b")),
        ("the palm side of the wrist", (r"\b(inside|palm side|pulse)\b", r"\bwrists?\b")),
        ("the point of the elbow", (r"\b(point of (your|the) elbows?|funny bone)\b",)),
    ),
    "thighs": (
        ("the kneecap", (r"\b(off|above|never|not|away)\b", r"\bkneecaps?\b")),
        ("the groin crease", (r"\b(below|out of|away|off|before|not|never)\b", r"\bgroin\b")),
    ),
    "hip flexors": (
        ("the groin crease", (r"\b(out of|away|off|not|never)\b", r"\bgroin\b")),
        ("the belly", (r"\b(off|never|not|away|out)\b", r"\b(belly|tummy|stomach)\b")),
        ("tingling or numbness down the leg or thigh",
         (r"\b(tingl\w*|numb\w*|pins and needles)\b", r"\b(legs?|thighs?)\b")),
    ),
    "shins": (
        ("the shin bone", (r"\b(never|not|off|outside|beside)\b", r"\bbone\b")),
        ("a swollen, tight, burning or numb lower leg",
         (r"\bswollen\b", r"\b(burning|deep ache)\b", r"\b(numb\w*|pins and needles)\b")),
        ("pain in one small spot on the bone", (r"\b(one|small|single) (small )?spot\b",
                                                r"\bbone\b")),
    ),
    "sides": (
        ("the armpit hollow", (r"\b(out of|below|away|off|never|not)\b", r"\barmpits?\b")),
        ("a lump under the arm", (r"\blumps?\b", r"\b(don't|do not|never|not|away)\b")),
    ),
}
# Lying face up on a ball under the upper back, pushing through the feet lifts the hips
# and loads the ball: "too strong" guidance there must not say so.
FEET_LOAD_AREAS = ("upper back", "shoulder", "shoulder tops")
LIGHTER = re.compile(r"too strong|ease off|less pressure|lighter|to ease|take (some )?weight off", re.I)
FEET_OR_HIPS = re.compile(r"\b(feet|foot)\b|lift your hips", re.I)
# Lying face up, turning the face toward a side lowers that side of the head onto its ball.
HEAD_TURN_AWAY = re.compile(r"turn your (face|head)[^.]*toward (the|your) \{other\}", re.I)
# Next to the sciatic nerve (the deep hip muscle under a crossed leg) pressure stays gentle.
NEAR_SCIATIC = re.compile(r"ankle over|piriformis|sciatic|figure.four", re.I)
# A different way of doing the routine ("standing at a wall") that no later step follows,
# and a kit the spoken equipment list does not name, both leave the listener stranded.
OTHER_VERSION = re.compile(r"\b(stand(ing)?|sit(ting)?)\b[^.]*\b(wall|chair)\b[^.]*\binstead\b"
                           r"|\bfollow along (standing|sitting)\b|\bagainst a wall\b", re.I)
OTHER_KIT = re.compile(r"\b(softer|harder|firmer|smaller|bigger) (ball|roller)s?\b", re.I)
# Nobody can slide a ball under the side they are lying on.
SLIDE_UNDER_LYING_SIDE = re.compile(r"onto your \{side\} side[^.]*\bslide\b[^.]*\bunder\b", re.I)


def check_library(routines: Sequence[Routine]) -> list[Problem]:
    """Return every rule problem across a set of routines that passed the schema."""
    problems: list[Problem] = []
    problems.extend(_unique_ids(routines))
    problems.extend(_synonym_collisions(routines))
    for routine in routines:
        full = check_routine(routine)
        problems.extend(full)
        problems.extend(check_quick(routine, full))
    return problems


def check_routine(routine: Routine) -> list[Problem]:
    """Return every rule problem within one routine."""
    return [
        *_id_matches_file(routine),
        *_hold_bounds(routine),
        *_per_side(routine),
        *_cues_exist(routine),
        *_regions_exist(routine),
        *_settle(routine),
        *_still_rolls(routine),
        *_spoken_safety(routine),
        *_lighter_without_feet(routine),
        *_head_turn_direction(routine),
        *_gentle_near_sciatic(routine),
        *_slide_under_lying_side(routine),
        *_one_version_one_kit(routine),
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
        if step.kind is StepKind.HOLD and not HOLD_MIN_SECONDS <= step.seconds <= HOLD_MAX_SECONDS:
            yield Problem(routine.source, f"/steps/{i}/seconds", "hold-bounds",
                          f"A hold of {step.seconds} s is outside {HOLD_MIN_SECONDS}-"
                          f"{HOLD_MAX_SECONDS} s; most holds should be 30-60 s.")


def _per_side(routine: Routine) -> Iterator[Problem]:
    steps = routine.steps
    for i, step in enumerate(steps):
        marked = any(m in step.say for m in SIDE_MARKERS)
        after_block = i > 0 and steps[i - 1].per_side
        changes_side = step.kind.rules.changes_side
        if changes_side and step.per_side:
            yield Problem(routine.source, f"/steps/{i}/per_side", "per-side",
                          "A switch step cannot be per-side; it is played once between sides.")
        elif marked and not step.per_side and not (changes_side and after_block):
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
            if end >= len(steps) or not steps[end].kind.rules.changes_side:
                yield Problem(routine.source, f"/steps/{end - 1}", "per-side",
                              f"The per-side steps {i}-{end - 1} must be followed by a switch "
                              "step that tells the listener to change sides.")
        if changes_side and not after_block:
            yield Problem(routine.source, f"/steps/{i}", "per-side",
                          "A switch step must directly follow a block of per-side steps.")


def _cues_exist(routine: Routine) -> Iterator[Problem]:
    for i, step in enumerate(routine.steps):
        if step.end_cue not in CUES:
            yield Problem(routine.source, f"/steps/{i}/end_cue", "cue-exists",
                          f"No cue named '{step.end_cue}'; known cues: {', '.join(sorted(CUES))}.")


def _regions_exist(routine: Routine) -> Iterator[Problem]:
    for i, step in enumerate(routine.steps):
        why = unknown_region(step.region) if step.kind is StepKind.PLACE else None  # others: the schema's
        if why:
            yield Problem(routine.source, f"/steps/{i}/region", "region-exists", why)


def _settle(routine: Routine) -> Iterator[Problem]:
    for i, step in enumerate(routine.steps):
        if step.kind.rules.moving and step.settle_seconds < MIN_SETTLE_SECONDS:
            yield Problem(routine.source, f"/steps/{i}/settle_seconds", "settle-time",
                          f"A {step.kind} step asks the listener to move but leaves "
                          f"{step.settle_seconds} s to do it; give it at least "
                          f"{MIN_SETTLE_SECONDS} s of settle time (or leave settle_seconds out "
                          f"for the default {step.kind.rules.settle_seconds} s).")
        elif not step.kind.rules.moving and step.settle_seconds < MIN_SETTLE_SECONDS:
            match = next((m for s in _sentences(step.say) if not CONTINGENCY.match(s)
                          for m in [REPOSITION.search(s)] if m), None)
            if match:
                yield Problem(routine.source, f"/steps/{i}/say", "settle-time",
                              f"'{match.group(0)}' asks the listener to move, but a {step.kind} "
                              f"step starts its cues at once; set \"settle_seconds\": "
                              f"{MIN_SETTLE_SECONDS} or more, or move those words into a place step.")


def _still_rolls(routine: Routine) -> Iterator[Problem]:
    for i, step in enumerate(routine.steps):
        match = STAYS_PUT.search(step.say) if step.kind.rules.strokes else None
        if match:
            yield Problem(routine.source, f"/steps/{i}/kind", "still-roll",
                          f"'{match.group(0)}' says the ball stays put, but a {step.kind} step "
                          f"plays stroke tones and 'keep rolling'; make it a "
                          f"'{StepKind.MOVE}' step.")


def spoken_texts(routine: Routine) -> list[tuple[str, str]]:
    """Return (pointer, text) for everything a listener hears from the routine file."""
    texts = [("/intro", routine.intro), ("/safety/spoken", routine.safety.spoken)]
    for i, step in enumerate(routine.steps):
        if step.caution:
            texts.append((f"/steps/{i}/caution", step.caution))
        texts.append((f"/steps/{i}/say", step.say))
    return texts


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?;:])\s+", text) if s]


def _spoken_safety(routine: Routine) -> Iterator[Problem]:
    heard = [s for _, text in spoken_texts(routine) for s in _sentences(text)]
    for topic, patterns in AREA_SAFETY.get(routine.area, ()):
        if not any(all(re.search(p, s, re.I) for p in patterns) for s in heard):
            yield Problem(routine.source, "/steps", "spoken-safety",
                          f"Nothing the listener hears warns about {topic} (area "
                          f"'{routine.area}'); say it in a step's \"caution\", just before the "
                          "step it concerns. Written safety notes are never heard.")


def _lighter_without_feet(routine: Routine) -> Iterator[Problem]:
    if routine.area not in FEET_LOAD_AREAS:
        return
    for pointer, text in spoken_texts(routine):
        for sentence in _sentences(text):
            if LIGHTER.search(sentence) and FEET_OR_HIPS.search(sentence):
                yield Problem(routine.source, pointer, "lighter-load",
                              f"'{sentence}' offers the feet or the hips as the way to ease off, "
                              "but pushing through the feet lifts the hips and loads the ball; "
                              "say to lower the hips or shift weight off the ball instead.")


def _head_turn_direction(routine: Routine) -> Iterator[Problem]:
    if routine.area != "neck":
        return
    for i, step in enumerate(routine.steps):
        match = HEAD_TURN_AWAY.search(step.say) if step.per_side else None
        if match:
            yield Problem(routine.source, f"/steps/{i}/say", "head-turn",
                          f"'{match.group(0)}': lying face up, turning the face toward the "
                          "{other} puts the weight on the {other} ball; turn toward the {side}.")


def _gentle_near_sciatic(routine: Routine) -> Iterator[Problem]:
    for i, step in enumerate(routine.steps):
        match = NEAR_SCIATIC.search(step.say)
        if match and step.pressure not in (None, "gentle"):
            yield Problem(routine.source, f"/steps/{i}/pressure", "gentle-near-nerve",
                          f"'{match.group(0)}' works next to the sciatic nerve, so the pressure "
                          f"must be gentle, not '{step.pressure}'.")


def _slide_under_lying_side(routine: Routine) -> Iterator[Problem]:
    for i, step in enumerate(routine.steps):
        match = SLIDE_UNDER_LYING_SIDE.search(step.say)
        if match:
            yield Problem(routine.source, f"/steps/{i}/say", "cannot-do",
                          f"'{match.group(0)}' cannot be done: nobody can slide a ball under "
                          "the side they are lying on; roll toward the {other} side to lift "
                          "the {side} one first.")


def _one_version_one_kit(routine: Routine) -> Iterator[Problem]:
    for pointer, text in spoken_texts(routine):
        other = OTHER_VERSION.search(text)
        if other:
            yield Problem(routine.source, pointer, "one-version",
                          f"'{other.group(0)}' offers another way to do the routine, but the "
                          "steps only guide one; drop it, or make that version its own routine.")
        kit = OTHER_KIT.search(text)
        if kit:
            yield Problem(routine.source, pointer, "kit-matches",
                          f"'{kit.group(0)}' names a kit the routine does not list (equipment: "
                          f"{', '.join(routine.equipment)}); speak only of what the listener "
                          "was told to bring.")


def _no_medical_claims(routine: Routine) -> Iterator[Problem]:
    # Safety notes may name conditions ("healing wounds"); what the coach promises may not.
    for pointer, text in spoken_texts(routine):
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


# --- The quick version ---------------------------------------------------------------------

_STEP_POINTER = re.compile(r"^/steps/(\d+)")


def check_quick(routine: Routine, full_problems: Sequence[Problem] = ()) -> list[Problem]:
    """Return every problem of a routine's quick version (`skill.core.lengths`).

    The quick version must pass every rule a full routine passes (pointers name the steps of
    the file), and on top: speak every caution, keep every position and switch step, keep
    the place step of every spot it works, keep timed parts within their kind's bounds, and
    run QUICK_MINUTES. Problems the full routine already has are not repeated.
    """
    quick = version(routine, Length.QUICK)
    seen = {(p.pointer, p.rule) for p in full_problems}
    problems: list[Problem] = []
    for problem in check_routine(quick):
        match = _STEP_POINTER.match(problem.pointer)
        pointer = problem.pointer
        if match:
            number = quick.step_number(int(match.group(1)))
            pointer = f"/steps/{number}{problem.pointer[match.end():]}"
        if (pointer, problem.rule) not in seen and problem.rule != "declared-length":
            problems.append(Problem(problem.file, pointer, problem.rule,
                                    f"In the quick version: {problem.message}"))
    problems.extend(_quick_rules(routine, quick))
    return problems


def _quick_rules(routine: Routine, quick: Routine) -> Iterator[Problem]:
    kept = set(kept_steps(routine))
    fix = ("set \"quick\": true on it, or \"quick\": false on steps the quick version can "
           "do without")
    spot_place: int | None = None
    for i, step in enumerate(routine.steps):
        if step.kind is StepKind.PLACE:
            spot_place = i
        elif step.kind is StepKind.POSITION or step.kind.rules.changes_side:
            spot_place = None
        if i in kept:
            if step.kind.rules.ball_work and spot_place is not None and spot_place not in kept:
                yield Problem(routine.source, f"/steps/{spot_place}/quick", "quick-setup",
                              f"The quick version keeps step {i} ({step.kind}) but drops the "
                              f"place step {spot_place} that sets up its spot, so the listener "
                              "would never be told where the ball goes; keep both or drop both.")
            continue
        if step.caution:
            yield Problem(routine.source, f"/steps/{i}/quick", "quick-cautions",
                          "The quick version drops this step and so its spoken caution; every "
                          "caution of the routine must be heard in the quick version too; " + fix + ".")
        if step.kind is StepKind.POSITION or step.kind.rules.changes_side:
            yield Problem(routine.source, f"/steps/{i}/quick", "quick-setup",
                          f"The quick version drops this {step.kind} step, but the listener "
                          f"needs it to get into place; {fix}.")
    for j, step in enumerate(quick.steps):
        spec = step.kind.rules.fields.get(step.kind.rules.timed_by or "", {})
        low = HOLD_MIN_SECONDS if step.kind is StepKind.HOLD else spec.get("minimum")
        value = step.breaths if step.kind.rules.timed_by == "breaths" else step.seconds
        if low is not None and value < low:
            yield Problem(routine.source, f"/steps/{quick.step_number(j)}/quick", "quick-bounds",
                          f"The quick version's {step.kind} of {value} is below the least a "
                          f"{step.kind} step takes ({low}); give \"quick\" at least {low}.")
    minutes = estimated_minutes(expand(quick))
    low, high = QUICK_MINUTES
    if not low <= minutes <= high:
        yield Problem(routine.source, "/steps", "quick-length",
                      f"The quick version runs about {minutes:.1f} min, outside the "
                      f"{low:g}-{high:g} min a quick routine takes; set \"quick\": false on "
                      "steps it can do without (a second spot, the opening breaths) or "
                      "{\"seconds\": N} to shorten one, or \"quick\": true to keep one.")
