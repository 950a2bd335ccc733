"""Quick or full: the quick version is derived from the one routine file and checked like it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from skill.core.lengths import QUICK_MINUTES, kept_steps, version, versions
from skill.core.routines import ROUTINES_DIR, Length, load_library
from skill.core.steps import StepKind
from skill.core.timeline import estimated_minutes, expand

UPPER_BACK = json.loads((ROUTINES_DIR / "upper-back.json").read_text())


def load(tmp_path: Path, data: dict) -> tuple:
    path = tmp_path / f"{data['id']}.json"
    path.write_text(json.dumps(data))
    library = load_library([path])
    return library.routines, [p for p in library.problems]


def test_every_shipped_routine_has_a_quick_version_of_about_five_minutes():
    for routine in load_library().routines:
        quick = version(routine, Length.QUICK)
        minutes = estimated_minutes(expand(quick))
        assert QUICK_MINUTES[0] <= minutes <= QUICK_MINUTES[1], (routine.id, minutes)
        assert quick.minutes == round(minutes)
        assert minutes < estimated_minutes(expand(routine)) * 0.7, routine.id


def test_the_quick_version_keeps_every_caution_position_and_switch_and_both_sides():
    for routine in load_library().routines:
        quick = version(routine, "quick")
        cautions = [s.caution for s in routine.steps if s.caution]
        assert [s.caution for s in quick.steps if s.caution] == cautions, routine.id
        for kind in (StepKind.POSITION, StepKind.SWITCH):
            assert sum(s.kind is kind for s in quick.steps) == sum(s.kind is kind for s in routine.steps)
        sides = [t.side for t in expand(quick) if t.side]
        assert sides.count("left") == sides.count("right") > 0, routine.id


def test_the_quick_upper_back_keeps_the_first_spot_with_a_shorter_hold_and_drops_the_roll():
    upper = load_library().get("upper-back")
    quick = version(upper, Length.QUICK)
    kinds = [(s.kind.value, s.timed_seconds) for s in quick.steps]
    assert kinds == [("position", 0), ("breathe", 20), ("place", 0), ("hold", 30), ("switch", 0),
                     ("rest", 10), ("breathe", 20)]
    assert quick.step_numbers == (0, 1, 2, 3, 7, 8, 9)
    assert quick.key == "upper-back.quick" and upper.key == "upper-back"
    assert quick.id == upper.id and quick.title == upper.title


def test_a_step_s_quick_field_drops_keeps_or_sets_its_timed_part(tmp_path):
    data = copy.deepcopy(UPPER_BACK)
    data["steps"][1]["quick"] = False  # the opening breaths
    data["steps"][4]["quick"] = {"seconds": 20}  # the roll, which the rule would drop
    data["steps"][3]["quick"] = {"seconds": 25}  # a hold
    data["steps"][9]["quick"] = False  # the closing breaths
    (routine,), problems = load(tmp_path, data)
    assert problems == []
    quick = version(routine, Length.QUICK)
    assert quick.step_numbers == (0, 2, 3, 4, 7, 8)
    assert [s.timed_seconds for s in quick.steps][2:4] == [25, 20]
    data["steps"][3]["quick"] = {"seconds": 80}  # never longer than the full hold
    (routine,), _ = load(tmp_path, data)
    assert version(routine, Length.QUICK).steps[2].seconds == 45


def test_the_full_version_is_the_routine_itself_and_an_unknown_length_is_a_clear_error():
    upper = load_library().get("upper-back")
    assert version(upper, "full") is upper
    assert [v.length for v in versions(upper)] == [Length.FULL, Length.QUICK]
    with pytest.raises(ValueError, match=r"'medium'.*full, quick"):
        version(upper, "medium")


def test_a_quick_version_that_drops_a_caution_or_a_switch_is_reported_on_that_step(tmp_path):
    data = copy.deepcopy(UPPER_BACK)
    data["steps"][2]["quick"] = False  # the place step with the spine caution
    data["steps"][7]["quick"] = False  # the switch
    _, problems = load(tmp_path, data)
    rules = {(p.rule, p.pointer) for p in problems}
    assert ("quick-cautions", "/steps/2/quick") in rules
    assert ("quick-setup", "/steps/7/quick") in rules
    assert ("quick-setup", "/steps/2/quick") in rules  # the hold it sets up is still kept
    # the quick version's own per-side rule, named by the file's step numbers
    assert ("per-side", "/steps/3") in rules


def test_a_quick_version_too_long_or_with_a_too_short_hold_says_how_to_fix_it(tmp_path):
    data = copy.deepcopy(UPPER_BACK)
    for step in data["steps"]:
        step["quick"] = True
    data["steps"][3]["quick"] = {"seconds": 10}
    _, problems = load(tmp_path, data)
    by_rule = {p.rule: p for p in problems}
    assert "quick-length" in by_rule and '"quick": false' in by_rule["quick-length"].message
    assert "hold-bounds" in by_rule and by_rule["hold-bounds"].pointer == "/steps/3/seconds"
    assert "10 s" in by_rule["hold-bounds"].message


def test_the_rule_keeps_a_later_spot_whose_step_has_a_caution():
    glutes = load_library().get("glutes")
    stripped = type(glutes)(**{**glutes.__dict__, "steps": tuple(
        type(s)(**{**s.__dict__, "quick_keep": None, "quick_timed": None}) for s in glutes.steps)})
    kept = kept_steps(stripped)
    caution = next(i for i, s in enumerate(glutes.steps) if s.caution)
    assert caution in kept and caution + 1 in kept and caution + 2 not in kept
