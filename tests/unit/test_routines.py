"""Routine loading and validation: the shipped library is sound, broken files say why."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from skill.core.routines import ROUTINES_DIR, load_library, normalise
from skill.core.timeline import estimated_minutes, expand

UPPER_BACK = json.loads((ROUTINES_DIR / "upper-back.json").read_text())


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_the_shipped_library_has_at_least_ten_valid_routines():
    lib = load_library()
    assert [str(p) for p in lib.problems] == []
    assert len(lib.routines) >= 10


def test_every_shipped_routine_is_five_to_fifteen_minutes_and_carries_safety_guidance():
    for routine in load_library().routines:
        assert 5 <= estimated_minutes(expand(routine)) <= 15 * 1.2, routine.id
        assert len(routine.safety.notes) >= 5


def first(data: dict, kind: str, **fields: object) -> int:
    """Return the index of the routine's first step of this kind (with these field values)."""
    return next(i for i, s in enumerate(data["steps"])
                if s["kind"] == kind and all(s.get(k) == v for k, v in fields.items()))


def test_a_broken_routine_reports_every_problem_with_file_and_pointer(tmp_path):
    bad = copy.deepcopy(UPPER_BACK)
    hold, place = first(bad, "hold"), first(bad, "place", per_side=True)
    last = len(bad["steps"]) - 1
    bad["steps"][hold]["seconds"] = 200       # hold bound
    bad["steps"][place]["per_side"] = False   # breaks the per-side block and its {side}
    bad["steps"][last]["end_cue"] = "gong"    # unknown cue
    bad["minutes"] = 5                        # declared vs computed
    bad["intro"] = "This routine cures tension between your shoulder blades for good."
    path = write(tmp_path, "upper-back.json", bad)
    problems = load_library([path]).problems
    rules = {(p.rule, p.pointer) for p in problems}
    assert ("hold-bounds", f"/steps/{hold}/seconds") in rules
    assert ("per-side", f"/steps/{place}/say") in rules
    assert ("cue-exists", f"/steps/{last}/end_cue") in rules
    assert ("declared-length", "/minutes") in rules
    assert ("no-medical-claims", "/intro") in rules
    assert all(p.file == str(path) for p in problems)


def test_schema_problems_name_the_pointer_and_all_of_them_are_reported(tmp_path):
    bad = copy.deepcopy(UPPER_BACK)
    hold, roll = first(bad, "hold"), first(bad, "roll")
    bad["steps"][hold]["pressure"] = "crushing"
    del bad["steps"][roll]["stroke_seconds"]
    bad["equipment"] = ["brick"]
    problems = load_library([write(tmp_path, "upper-back.json", bad)]).problems
    pointers = {p.pointer for p in problems if p.rule == "schema"}
    assert {f"/steps/{hold}/pressure", f"/steps/{roll}", "/equipment/0"} <= pointers


def test_duplicate_ids_and_synonym_collisions_across_routines_are_reported(tmp_path):
    a = write(tmp_path, "upper-back.json", UPPER_BACK)
    other = copy.deepcopy(UPPER_BACK)
    other["synonyms"] = ["thoracic", "upper spine"]
    sub = tmp_path / "more"
    sub.mkdir()
    b = write(sub, "upper-back.json", other)
    problems = load_library([a, b]).problems
    rules = [p.rule for p in problems]
    assert "unique-id" in rules
    assert any(p.rule == "synonym-collision" and "thoracic" in p.message.lower() for p in problems)


def test_malformed_json_gives_line_and_column_not_a_traceback(tmp_path):
    path = write(tmp_path, "x.json", '{\n  "id": "x",\n  "title": oops\n}')
    (problem,) = load_library([path]).problems
    assert problem.rule == "json" and "line 3, column 12" in problem.message


def test_a_missing_file_is_a_problem_not_a_crash(tmp_path):
    (problem,) = load_library([tmp_path / "nope.json"]).problems
    assert problem.rule == "exists"


def test_spoken_names_are_matched_loosely():
    lib = load_library()
    assert lib.find("my Upper-Back routine").id == "upper-back"
    assert lib.find("between my shoulder blades").id == "upper-back"
    assert lib.find("knees") is None
    assert normalise("the Calves routine") == "calves"


# Issue 12's six areas: the ids are fixed (the complaints file targets them), and each is
# found by what people say for it.
NEW_AREAS = {
    "top-of-shoulder": ("top of my shoulder", "traps"),
    "forearms": ("my forearm", "forearm muscles"),
    "front-of-thigh": ("front of my thigh", "quads"),
    "hip-flexors": ("my hip flexors", "front of my hip"),
    "shins": ("my shins", "front of my shin"),
    "sides-of-back": ("side of my back", "lats"),
}


def test_the_six_new_areas_exist_under_their_fixed_ids_and_answer_to_everyday_names():
    lib = load_library()
    assert len(lib.routines) >= 16
    for routine_id, said in NEW_AREAS.items():
        routine = lib.get(routine_id)
        assert routine is not None, routine_id
        assert [lib.find(s).id for s in said] == [routine_id] * len(said), said


def test_each_new_area_has_its_own_area_so_progress_and_safety_tell_them_apart():
    lib = load_library()
    areas = [lib.get(routine_id).area for routine_id in NEW_AREAS]
    old = {r.area for r in lib.routines if r.id not in NEW_AREAS}
    assert len(set(areas)) == len(areas)
    assert not set(areas) & old


def test_per_side_blocks_are_mirrored_with_the_switch_between_sides():
    tracks = expand(load_library().get("upper-back"))
    sides = [t.side for t in tracks]
    switch = next(t for t in tracks if t.kind == "switch")
    before, after = sides[: switch.index], sides[switch.index + 1 :]
    assert "right" in before and "left" not in before
    assert "left" in after and "right" not in after
    assert "left side" in switch.text
    assert tracks[-1].is_last and tracks[-1].end_cue == "bell"
    assert [t.index for t in tracks] == list(range(len(tracks)))


@pytest.mark.parametrize("routine", load_library().routines, ids=lambda r: r.id)
def test_no_track_leaves_a_side_placeholder_unfilled(routine):
    for track in expand(routine):
        assert "{" not in track.text, (routine.id, track.index)
