"""The one table of step kinds: the schema, timeline, layout and catalog all follow it."""

from __future__ import annotations

import json
import re

import pytest

from skill.config import PROJECT_ROOT
from skill.core.routines import SCHEMA_PATH, load_library
from skill.core.steps import KINDS, MIN_SETTLE_SECONDS, StepKind, step_schema
from skill.core.timeline import expand
from skill.text import en_US as speech


def test_the_schema_file_holds_exactly_the_step_definition_built_from_the_table():
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$defs"]["step"] == step_schema(), (
        "routines/schema.json is out of date with skill/core/steps.py; replace $defs.step with "
        "json.dumps(skill.core.steps.step_schema(), indent=2)"
    )
    assert schema["$defs"]["step"]["properties"]["kind"]["enum"] == [k.value for k in StepKind]


def test_every_kind_has_a_row_and_every_moving_kind_leaves_time_to_move():
    assert set(KINDS) == set(StepKind)
    for kind, rules in KINDS.items():
        assert kind.label == speech.SCREEN_STEP[kind.value] and kind.label, kind
        if rules.moving:
            assert rules.settle_seconds >= MIN_SETTLE_SECONDS, kind
    assert KINDS[StepKind.POSITION].settle_seconds >= 10
    assert KINDS[StepKind.SWITCH].settle_seconds >= 10


def test_only_real_rolls_get_stroke_tones_and_keep_rolling():
    assert [k for k, r in KINDS.items() if r.strokes] == [StepKind.ROLL]
    assert KINDS[StepKind.ROLL].mid_cue == speech.KEEP_ROLLING
    assert all(r.mid_cue != speech.KEEP_ROLLING for k, r in KINDS.items() if k is not StepKind.ROLL)
    move = KINDS[StepKind.MOVE]
    assert move.timed and move.pressure and not move.strokes and move.mid_cue


def test_no_module_that_reads_kinds_spells_a_kind_as_a_bare_string():
    names = "|".join(k.value for k in StepKind)
    bare = re.compile(rf"""kind\b.*["']({names})["']""")
    for name in ("core/timeline.py", "core/validation.py", "core/routines.py", "render/layout.py",
                 "alexa/catalog.py", "cli.py"):
        text = (PROJECT_ROOT / "skill" / name).read_text()
        assert not bare.findall(text), f"skill/{name} spells a step kind as a string"


def test_every_track_carries_its_steps_settle_and_the_estimate_counts_it():
    for routine in load_library().routines:
        for track in expand(routine):
            step = routine.steps[track.step_index]
            assert track.settle_seconds == step.settle_seconds
            quick = track._replace(settle_seconds=0)
            assert track.estimated_seconds - quick.estimated_seconds == pytest.approx(track.settle_seconds)
