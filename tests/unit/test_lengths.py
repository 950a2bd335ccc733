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
    assert [p for p in problems if p.rule != "quick-length"] == []  # the roll makes it long
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
    stripped = glutes._replace(steps=tuple(s._replace(quick_keep=None, quick_timed=None) for s in glutes.steps))
    kept = kept_steps(stripped)
    caution = next(i for i, s in enumerate(glutes.steps) if s.caution)
    assert caution in kept and caution + 1 in kept and caution + 2 not in kept


# --- tokens, playback state and run records carry the length ---------------------------------

def _programs() -> tuple:
    from skill.core.player import Program

    return Program("calves", (10_000, 20_000, 30_000)), Program("calves", (5_000, 6_000), "quick")


def test_a_quick_run_s_tokens_name_the_length_and_a_full_run_s_stay_as_before():
    from skill.core import player
    from skill.core.player import PlaybackState, Token

    full, quick = _programs()
    begun = player.start(PlaybackState(), quick, "run1", floor=7)
    assert begun.play.token == "calves|run1|0|8|quick"
    assert Token.parse(begun.play.token) == Token("calves", "run1", 0, 8, "quick")
    assert begun.state.length == "quick" and begun.events[-1].length == "quick"
    queued = player.nearly_finished(begun.state, quick, begun.play.token)
    assert queued.play.token == "calves|run1|1|9|quick"
    assert player.start(PlaybackState(), full, "run2", floor=7).play.token == "calves|run2|0|8"
    assert Token.parse("calves|run2|0|8").length == "full"  # tokens from before lengths
    assert Token.parse("calves|run2|0|8|") is None
    assert Token.parse("calves|run2|0|8|medium") is None and Token.parse("calves|run2|0|8|\ud800") is None


def test_a_quick_state_never_moves_on_with_the_full_program_and_the_token_alone_catches_up():
    from skill.core import player
    from skill.core.player import PlaybackState

    full, quick = _programs()
    begun = player.start(PlaybackState(), quick, "run1", floor=7)
    assert not player.matches(begun.state, full)
    assert player.finished(begun.state, full, begun.play.token).changed is False
    # a save was lost: the event's token alone is enough to go on with the quick run
    later = "calves|run1|1|20|quick"
    caught = player.catch_up(PlaybackState(seq=3), quick, later)
    assert caught.length == "quick" and caught.index == 1 and caught.run_id == "run1"
    assert player.catch_up(PlaybackState(seq=3), full, later) == PlaybackState(seq=3)
    assert player.check_invariants(caught, quick) == []
    restored = PlaybackState.from_dict(caught.to_dict())
    assert restored == caught
    assert PlaybackState.from_dict({k: v for k, v in caught.to_dict().items() if k != "length"}).length == "full"
    with pytest.raises(ValueError, match="length"):
        PlaybackState.from_dict({**caught.to_dict(), "length": "\ud800"})


def test_a_run_record_keeps_its_length_and_old_records_read_as_full():
    from datetime import UTC, datetime

    from skill.core import player, progress
    from skill.core.player import PlaybackState

    _, quick = _programs()
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    begun = player.start(PlaybackState(), quick, "run1", floor=7, at="2026-03-02T09:00:00Z")
    doc = progress.note(None, begun, quick, "calves", now)
    raw = doc["runs"]["run1"]
    assert raw["length"] == "quick" and raw["track_count"] == 2
    assert progress.RunRecord.from_dict(raw).length == "quick"
    old = {k: v for k, v in raw.items() if k != "length"}
    assert progress.RunRecord.from_dict(old).length == "full"
    with pytest.raises(ValueError, match="length 'medium'"):
        progress.RunRecord.from_dict({**raw, "length": "medium"})
    record = progress.RunRecord.from_dict(raw)
    assert record.join(record) == record
