"""The validator's listening rules: time to act, still steps, heard safety, known defects.

Each test builds a small routine that passes the schema, puts one defect from issue 9 (or
its fixed form) into it, and checks the rule fires (or stays quiet) at the right pointer.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from skill.core.routines import ROUTINES_DIR, Problem, load_library
from skill.core.steps import KINDS, MIN_SETTLE_SECONDS, StepKind
from skill.core.validation import AREA_SAFETY

BREATH = {"in": 4, "out": 6}
BASE = {
    "id": "rule-test",
    "title": "Rule test",
    "name": "rule test",
    "synonyms": ["rule check", "rules test"],
    "area": "upper back",
    "equipment": ["tennis ball"],
    "minutes": 5,
    "intro": "A routine that exists only to test the content rules of the validator.",
    "safety": {"spoken": "Keep the ball beside your spine, never on it, and stop if it hurts.",
               "notes": ["A written note that nobody hears."] * 5},
    "steps": [
        {"kind": "position", "say": "Lie on your back with your knees bent and your feet flat."},
        {"kind": "place", "per_side": True, "say": "Tuck the ball under your {side} upper back."},
        {"kind": "hold", "per_side": True, "say": "Let your back rest on the ball.", "seconds": 60,
         "pressure": "moderate", "breath": BREATH},
        {"kind": "roll", "per_side": True, "say": "Roll slowly up and down beside the blade.",
         "seconds": 60, "stroke_seconds": 3, "pressure": "moderate"},
        {"kind": "switch", "say": "Roll off the ball. Next, the {side} side."},
        {"kind": "rest", "say": "Rest flat on the floor.", "seconds": 30},
        {"kind": "breathe", "say": "Finish with a few easy breaths.", "breaths": 6, "breath": BREATH},
    ],
}


def found_problems(tmp_path: Path, change=None, **top: object) -> list[Problem]:
    """Write BASE with changes as a routine file; return its problems, none from the schema."""
    data = copy.deepcopy(BASE) | top
    if change:
        change(data["steps"])
    path = tmp_path / "rule-test.json"
    path.write_text(json.dumps(data))
    found = load_library([path]).problems
    assert not [p for p in found if p.rule == "schema"], [str(p) for p in found]
    return found


def problems(tmp_path: Path, change=None, **top: object) -> set[tuple[str, str]]:
    """Write BASE with changes as a routine file; return its (rule, pointer) problems."""
    found = found_problems(tmp_path, change, **top)
    return {(p.rule, p.pointer) for p in found if p.rule not in ("declared-length", "quick-length")}


def test_the_base_routine_breaks_no_rule(tmp_path):
    assert problems(tmp_path) == set()


@pytest.mark.parametrize("kind", [k for k, r in KINDS.items() if r.moving])
def test_a_moving_step_with_less_than_six_seconds_to_settle_is_rejected(tmp_path, kind):
    index = next(i for i, s in enumerate(BASE["steps"]) if s["kind"] == kind)

    def short(steps):
        steps[index]["settle_seconds"] = MIN_SETTLE_SECONDS - 1

    assert ("settle-time", f"/steps/{index}/settle_seconds") in problems(tmp_path, short)


@pytest.mark.parametrize("words", [
    "Turn your face back to the middle. Lift your head gently, slide the sock away.",
    "Now roll onto your side and rest your head on your arm.",
    "Slide the ball a little higher.",
    "Turn over onto your front.",
    "Take the ball away and lie flat.",
    "Roll back to the most tender spot you found and stay there.",
])
def test_a_still_step_whose_words_ask_to_move_needs_settle_time(tmp_path, words):
    def moving_rest(steps):
        steps[5]["say"] = words

    assert ("settle-time", "/steps/5/say") in problems(tmp_path, moving_rest)

    def with_settle(steps):
        moving_rest(steps)
        steps[5]["settle_seconds"] = 8

    assert problems(tmp_path, with_settle) == set()


def test_a_way_out_is_not_a_move_everyone_makes(tmp_path):
    def contingency(steps):
        steps[2]["say"] = "Let your back rest on the ball. If you feel tingling, move the ball up and out."

    assert problems(tmp_path, contingency) == set()


@pytest.mark.parametrize("words", [
    "Keep the ball still. Slowly let your hand tip back toward the floor.",
    "Now make tiny nods, as if you were slowly saying yes.",
    "Keep your body still. Slowly slide your {side} arm along the floor, up toward your head.",
    "Keep still, and slowly point your toes away from you, then pull them back.",
    "Sweep your arm slowly up toward your head and back.",
    "Now turn your face a little further toward the {side}, then back toward the middle.",
])
def test_a_still_step_cued_as_a_roll_is_flagged_and_is_fine_as_a_move(tmp_path, words):
    def as_roll(steps):
        steps[3]["say"] = words

    assert ("still-roll", "/steps/3/kind") in problems(tmp_path, as_roll)

    def as_move(steps):
        steps[3] = {"kind": "move", "per_side": True, "say": words, "seconds": 40, "pressure": "moderate"}

    assert problems(tmp_path, as_move) == set()


def test_danger_zones_count_only_when_they_are_spoken(tmp_path):
    quiet = {"spoken": "Stop if you feel sharp pain, numbness or tingling.",
             "notes": ["Keep the ball off the bony bumps of your spine."] * 5}
    assert ("spoken-safety", "/steps") in problems(tmp_path, safety=quiet)

    def caution(steps):
        steps[1]["caution"] = "Keep the ball beside your spine, never on the spine itself."

    assert problems(tmp_path, caution, safety=quiet) == set()


@pytest.mark.parametrize(("area", "warning"), [
    ("neck", "Keep the balls off the front and sides of your neck."),
    ("lower back", "Keep the ball beside your spine, not on it. Don't let it slide under your ribs."),
    ("calves", "Skip a calf that is swollen, warm or red. Keep off the back of your knee."),
    ("chest", "Keep the ball off your breastbone and collarbone, and out of your armpit."),
    ("glutes", "If tingling runs down your leg, move the ball. Stay out of the deep, inner part."),
    ("hamstrings", "Keep the roller off the back of your knee."),
    ("hips", "Stop a hand's width above your knee."),
    ("feet", "Keep the ball off the inner ankle."),
    ("shoulder", "Stay below the bony ridge of your shoulder blade."),
    ("shoulder tops", "Keep the ball out of the hollow above your collarbone, and off the front "
                      "and sides of your neck."),
    ("forearms", "Keep out of the crease of your elbow. Stop before the inside of your wrist. "
                 "Keep your weight off the point of your elbow."),
    ("thighs", "Stay above your kneecap. Keep the roller out of your groin."),
    ("hip flexors", "Keep the roller off your belly and out of your groin. If you feel tingling "
                    "down your leg, move it."),
    ("shins", "Never roll on the bone. If your leg is swollen, with a burning ache or numbness, "
              "stop. If one small spot on the bone hurts, skip this."),
    ("sides", "Stay out of your armpit. Don't press on a lump."),
])
def test_each_area_needs_its_own_danger_zones_spoken(tmp_path, area, warning):
    safety = {"spoken": "Stop if you feel sharp pain, numbness or tingling.", "notes": ["n" * 10] * 5}
    assert ("spoken-safety", "/steps") in problems(tmp_path, area=area, safety=safety)

    def caution(steps):
        steps[1]["caution"] = warning

    assert ("spoken-safety", "/steps") not in problems(tmp_path, caution, area=area, safety=safety)


def test_every_area_the_schema_allows_has_danger_zones_that_must_be_spoken():
    areas = json.loads((ROUTINES_DIR / "schema.json").read_text())["properties"]["area"]["enum"]
    assert sorted(AREA_SAFETY) == sorted(areas)


@pytest.mark.parametrize(("area", "half_warning", "missing"), [
    ("shoulder tops", "Keep the ball off the front and sides of your neck.", "collarbone"),
    ("forearms", "Keep out of the crease of your elbow and the point of your elbow.", "wrist"),
    ("thighs", "Keep the roller out of your groin.", "kneecap"),
    ("hip flexors", "Keep the roller out of your groin. Stop if you feel tingling down your leg.",
     "belly"),
    ("shins", "Never roll on the bone. If one small spot on the bone hurts, skip this.",
     "swollen, tight, burning or numb"),
    ("sides", "Stay out of your armpit.", "lump"),
])
def test_a_new_area_warning_that_leaves_one_danger_zone_unsaid_is_not_enough(
        tmp_path, area, half_warning, missing):
    safety = {"spoken": "Stop if you feel sharp pain.", "notes": ["n" * 10] * 5}

    def caution(steps):
        steps[1]["caution"] = half_warning

    found = found_problems(tmp_path, caution, area=area, safety=safety)
    unsaid = [p.message for p in found if p.rule == "spoken-safety"]
    assert len(unsaid) == 1, unsaid
    assert missing in unsaid[0]


def test_upper_back_too_strong_guidance_never_sends_weight_into_the_feet(tmp_path):
    def feet(steps):
        steps[2]["say"] = "Rest on the ball. If it feels too strong, put more weight into your feet."

    assert ("lighter-load", "/steps/2/say") in problems(tmp_path, feet)
    assert ("lighter-load", "/steps/2/say") in problems(tmp_path, feet, area="shoulder")
    assert ("lighter-load", "/steps/2/say") in problems(tmp_path, feet, area="shoulder tops")
    assert problems(tmp_path, feet, area="glutes", safety={
        "spoken": "Stay out of the inner crease, and stop if tingling runs down your leg.",
        "notes": ["n" * 10] * 5}) == set()  # on the buttock, the feet do take weight off


def test_lying_face_up_the_face_turns_toward_the_side_being_worked(tmp_path):
    neck = {"spoken": "Never put a ball on the front or sides of your neck.", "notes": ["n" * 10] * 5}

    def away(steps):
        steps[2]["say"] = "Slowly turn your face a little toward the {other}. Rest on the {side} ball."

    assert ("head-turn", "/steps/2/say") in problems(tmp_path, away, area="neck", safety=neck)

    def toward(steps):
        steps[2]["say"] = "Slowly turn your face a little toward the {side}. Rest on the {side} ball."

    assert problems(tmp_path, toward, area="neck", safety=neck) == set()


def test_a_hold_beside_the_sciatic_nerve_must_be_gentle(tmp_path):
    def figure_four(steps):
        steps[2]["say"] = "Cross your {side} ankle over your {other} knee, and let the knee fall open."

    assert ("gentle-near-nerve", "/steps/2/pressure") in problems(tmp_path, figure_four)

    def gentle(steps):
        figure_four(steps)
        steps[2]["pressure"] = "gentle"

    assert problems(tmp_path, gentle) == set()


def test_sliding_the_ball_under_the_side_you_lie_on_is_rejected(tmp_path):
    def impossible(steps):
        steps[1]["say"] = "Now roll a little onto your {side} side, and slide the ball under the blade."

    assert ("cannot-do", "/steps/1/say") in problems(tmp_path, impossible)

    def possible(steps):
        steps[1]["say"] = "Roll a little toward your {other} side, and slide the ball under your {side} blade."

    assert problems(tmp_path, possible) == set()


def test_a_caution_is_checked_for_medical_claims(tmp_path):
    def claim(steps):
        steps[1]["caution"] = "This spot treats headaches, so keep the ball beside your spine."

    assert ("no-medical-claims", "/steps/1/caution") in problems(tmp_path, claim)


def test_a_caution_is_spoken_just_before_the_instruction(tmp_path):
    from skill.core.timeline import expand

    data = copy.deepcopy(BASE)
    data["steps"][1]["caution"] = "Keep the ball off your {side} shoulder blade itself."
    path = tmp_path / "rule-test.json"
    path.write_text(json.dumps(data))
    tracks = expand(load_library([path]).routines[0])
    place = [t for t in tracks if t.kind is StepKind.PLACE]
    assert [t.text for t in place] == [
        f"Keep the ball off your {side} shoulder blade itself. Tuck the ball under your {side} upper back."
        for side in ("right", "left")
    ]


@pytest.mark.parametrize(("pointer", "words", "rule"), [
    ("/steps/0/say", "Find a clear space on the floor. If lying on the ball feels too strong, you can "
     "follow along standing sideways to a wall, with the ball between your hip and the wall.",
     "one-version"),
    ("/steps/0/say", "Put two balls in a sock. Softer balls suit this spot best. Now lie down.",
     "kit-matches"),
])
def test_a_routine_speaks_of_one_version_and_of_the_kit_it_lists(tmp_path, pointer, words, rule):
    def offer(steps):
        steps[0]["say"] = words

    assert (rule, pointer) in problems(tmp_path, offer)


def test_the_full_pressure_sentence_is_heard_once_per_routine_then_a_short_reminder():
    from skill.core.timeline import expand
    from skill.text import en_US as speech

    for routine in load_library().routines:
        texts = [t.text for t in expand(routine)]
        for level, sentence in speech.PRESSURE.items():
            full = sum(sentence in t for t in texts)
            assert full <= 1, (routine.id, level)
            if full:
                first = next(i for i, t in enumerate(texts) if sentence in t)
                assert not any(speech.PRESSURE_AGAIN[level] in t for t in texts[:first])
        assert sum("out of ten" in t for t in texts) <= len(speech.PRESSURE), routine.id
