"""The screens outside playback: APL documents built from routines and summaries."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from ask_sdk_core.response_helper import ResponseFactory
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import ResponseEnvelope
from ask_sdk_model.interfaces.alexa.presentation.apl import (
    Command,
    RenderDocumentDirective,
    SendEventCommand,
)
from hypothesis import given
from hypothesis import strategies as st

from skill.alexa import apl
from skill.alexa.device import Device
from skill.alexa.handlers.shared import FEATURED
from skill.config import PROJECT_ROOT
from skill.core import progress
from skill.core.claims import MEDICAL_CLAIMS
from skill.core.progress import Day, Summary
from skill.core.routines import load_library
from skill.text import en_US as speech

LIBRARY = load_library()
SERIALIZER = DefaultSerializer()
EXPRESSION = re.compile(r"\$\{([^}]*)\}")
NAME = re.compile(r"\b(payload|data)((?:\.\w+)+)")


def summary(period: str = "this_week", seconds: list[int] | None = None,
            areas: tuple[str, ...] = ()) -> Summary:
    """Return a summary whose days carry `seconds`, from Monday 3 March 2025 (a month: from 1 March)."""
    seconds = seconds if seconds is not None else [0] * 7
    first = date(2025, 3, 1) if period == "this_month" else date(2025, 3, 3)
    days = tuple(Day(first + timedelta(days=n), s) for n, s in enumerate(seconds))
    return Summary(period=period, tz_known=True, first_time=False, sessions=sum(1 for s in seconds if s),
                   seconds=sum(seconds), completed=0, stopped_early=0, abandoned=0, in_progress=0,
                   areas=areas, days_active=0, streak_days=0, previous_sessions=0,
                   previous_seconds=0, days=days)


def screens() -> list[apl.Screen]:
    month = [0] * 31
    month[4], month[20] = 600, 1500
    return [
        apl.routines_screen(LIBRARY.routines, FEATURED),
        apl.summary_screen(summary(seconds=[540, 480, 0, 605, 0, 0, 0], areas=("upper back", "calves"))),
        apl.summary_screen(summary()),
        apl.summary_screen(summary("this_month", month, ("feet",))),
    ]


def walk(node: Any, scope: dict[str, Any] | None, datasources: dict[str, Any], found: list[str]) -> None:
    """Check every ${...} under `node` against the datasources; `scope` is the bound data item's keys."""
    if isinstance(node, dict):
        bound = node.get("data")
        items = None
        if isinstance(bound, str):
            items = resolve(EXPRESSION.fullmatch(bound).group(1), datasources)
            assert isinstance(items, list) and items, f"{bound} must bind a non-empty list"
        for key, value in node.items():
            if key == "data":
                continue
            if items is not None and key in ("items", "item"):
                for item in items:  # every item of the list must have every key the template reads
                    walk(value, item, datasources, found)
            else:
                walk(value, scope, datasources, found)
    elif isinstance(node, list):
        for value in node:
            walk(value, scope, datasources, found)
    elif isinstance(node, str):
        for expression in EXPRESSION.findall(node):
            for root, path in NAME.findall(expression):
                keys = path.strip(".").split(".")
                if root == "data":
                    assert scope is not None, f"${{{expression}}} is outside any data-bound list"
                    assert keys[0] in scope, f"data.{keys[0]} is missing from {scope}"
                else:
                    resolve(f"payload{path}", datasources)
                found.append(f"{root}.{'.'.join(keys)}")


def resolve(name: str, datasources: dict[str, Any]) -> Any:
    value: Any = datasources
    for key in name.split(".")[1:]:
        assert isinstance(value, dict) and key in value, f"{name} is not in the datasources"
        value = value[key]
    return value


@pytest.mark.parametrize("screen", screens(), ids=lambda s: s.token)
def test_every_bound_expression_names_a_datasource_key_that_exists(screen):
    found: list[str] = []
    walk(screen.document["mainTemplate"], None, screen.datasources, found)
    assert found, "the document binds nothing"
    assert screen.document["mainTemplate"]["parameters"] == ["payload"]
    json.dumps(screen.document), json.dumps(screen.datasources)  # plain JSON all the way down


def test_the_routine_list_shows_every_routine_once_the_featured_ones_first_in_their_order():
    items = apl.routines_screen(LIBRARY.routines, FEATURED).datasources["routines"]["items"]
    ids = [i["id"] for i in items]
    assert sorted(ids) == sorted(r.id for r in LIBRARY.routines)
    assert ids[:len(FEATURED)] == list(FEATURED)
    assert ids[len(FEATURED):] == [r.id for r in LIBRARY.routines if r.id not in FEATURED]
    assert [i["featured"] for i in items] == [i < len(FEATURED) for i in range(len(items))]


def test_each_row_shows_the_routines_title_minutes_and_kit():
    items = {i["id"]: i for i in apl.routines_screen(LIBRARY.routines, FEATURED).datasources["routines"]["items"]}
    for routine in LIBRARY.routines:
        row = items[routine.id]
        assert (row["name"], row["minutes"], row["kit"]) == (routine.title, routine.minutes, list(routine.equipment))
        assert row["detail"].startswith(f"{routine.minutes} min · ")
        assert all(kit in row["detail"] for kit in routine.equipment)
    assert items["feet"]["detail"].endswith("tennis ball or golf ball")


def test_a_featured_id_the_library_lacks_is_skipped():
    items = apl.routines_screen(LIBRARY.routines, ("no-such-routine", "calves")).datasources["routines"]["items"]
    assert items[0]["id"] == "calves" and len(items) == len(LIBRARY.routines)


@given(st.lists(st.integers(min_value=0, max_value=4 * 3600), min_size=7, max_size=7))
def test_chart_bars_are_proportional_to_each_days_minutes(seconds):
    days = apl.summary_screen(summary(seconds=seconds)).datasources["summary"]["days"]
    heights = [float(d["height"].removesuffix("%")) for d in days]
    busiest = max(seconds)
    if busiest == 0:
        assert heights == [0.0] * 7
        return
    assert max(heights) == apl.BAR_MAX_PERCENT
    for height, day_seconds, day in zip(heights, seconds, days, strict=True):
        assert height == pytest.approx(apl.BAR_MAX_PERCENT * day_seconds / busiest, abs=0.01)
        assert day["minutes"] == pytest.approx(day_seconds / 60, abs=0.0501)
        assert day["value"] == (str((day_seconds + 30) // 60) if day_seconds else "")


def test_a_week_with_nothing_draws_seven_empty_bars_and_says_so():
    data = apl.summary_screen(summary()).datasources["summary"]
    assert [d["height"] for d in data["days"]] == ["0%"] * 7
    assert [d["label"] for d in data["days"]] == list(speech.SCREEN_WEEKDAYS)
    assert all(d["value"] == "" for d in data["days"])
    assert (data["title"], data["totals"], data["areas"]) == ("This week", "No sessions", speech.SCREEN_NO_AREAS)


def test_the_week_chart_names_its_totals_and_areas_and_a_month_labels_only_a_few_days():
    week = apl.summary_screen(summary(seconds=[540, 480, 0, 605, 0, 0, 0], areas=("upper back", "calves")))
    data = week.datasources["summary"]
    assert data["totals"] == "3 sessions · 27 min" and data["areas"] == "Upper back, calves"
    assert [d["value"] for d in data["days"]] == ["9", "8", "", "10", "", "", ""]
    month = [0] * 31
    month[9] = 60
    days = apl.summary_screen(summary("this_month", month)).datasources["summary"]["days"]
    assert [d["label"] for d in days if d["label"]] == ["1", "8", "15", "22", "29"]
    assert all(d["value"] == "" for d in days)  # 31 bars leave no room for numbers
    assert days[9]["height"] == f"{apl.BAR_MAX_PERCENT:.2f}%"


def test_a_real_summary_of_no_history_draws_the_days_of_its_week():
    real = progress.summarize(None, datetime(2025, 3, 6, 12, tzinfo=UTC), "this_week", True)
    days = apl.summary_screen(real).datasources["summary"]["days"]
    assert [d["day"] for d in days] == [f"2025-03-{n:02}" for n in range(3, 10)]


def test_the_directive_round_trips_through_the_sdk_serializer_as_apl_types():
    for screen in screens():
        response = ResponseFactory()
        response.add_directive(apl.directive(screen))
        wire = json.dumps(SERIALIZER.serialize(ResponseEnvelope(version="1.0", response=response.response)))
        back = SERIALIZER.deserialize(wire, ResponseEnvelope).response.directives[0]
        assert isinstance(back, RenderDocumentDirective)
        assert (back.token, back.document, back.datasources) == (screen.token, screen.document, screen.datasources)
    row = apl.routines_screen(LIBRARY.routines, FEATURED).document
    touch = find(row, "TouchWrapper")["onPress"][0]
    command = SERIALIZER.deserialize(json.dumps(touch), Command)
    assert isinstance(command, SendEventCommand) and command.arguments == [apl.START, "${data.id}"]


def find(node: Any, kind: str) -> dict[str, Any] | None:
    if isinstance(node, dict):
        if node.get("type") == kind:
            return node
        node = list(node.values())
    if isinstance(node, list):
        return next((hit for hit in (find(v, kind) for v in node) if hit), None)
    return None


def test_the_layout_has_resources_for_round_short_and_tv_screens():
    conditions = [r.get("when", "") for r in screens()[0].document["resources"]]
    assert conditions[0] == ""  # the defaults come first; later matches override them
    assert any("viewport.shape == 'round'" in c for c in conditions)
    assert any("viewport.mode == 'tv'" in c for c in conditions)
    assert any("viewport.height < 600" in c for c in conditions)
    defaults = screens()[0].document["resources"][0]
    for resource in screens()[0].document["resources"][1:]:  # every override has a default
        for group in ("dimensions", "strings", "colors"):
            assert set(resource.get(group, {})) <= set(defaults.get(group, {}))


@pytest.mark.parametrize(("arguments", "expected"), [
    (["start", "calves"], "calves"),
    (["start", ""], None),
    (["start", "x" * 65], None),
    (["start"], None),
    (["start", "calves", "extra"], None),
    (["stop", "calves"], None),
    (["start", 7], None),
    ("start calves", None),
    (None, None),
    ({"start": "calves"}, None),
])
def test_only_our_touch_events_name_a_routine(arguments, expected):
    assert apl.touched_routine(arguments) == expected


def device(screen: bool, version: str | None = None) -> Device:
    return Device("d", True, screen, "en-US", None, None, apl_max_version=version)


@pytest.mark.parametrize(("screen", "version", "renders"), [
    (False, None, False),
    (False, "2024.1", False),
    (True, None, True),
    (True, "2024.1", True),
    (True, apl.APL_VERSION, True),
    (True, "1.5", False),
    (True, "1.0", False),
    (True, "not-a-version", True),
])
def test_only_devices_declaring_apl_at_our_version_get_a_screen(screen, version, renders):
    assert apl.renders(device(screen, version)) is renders


def test_screen_text_is_plain_and_makes_no_medical_claim():
    labels = [speech.SCREEN_ROUTINES_TITLE, speech.SCREEN_ROUTINES_HINT, speech.SCREEN_SUGGESTED,
              speech.SCREEN_AREAS_TITLE, speech.SCREEN_NO_AREAS, speech.SCREEN_TOUCH_UNKNOWN,
              speech.SCREEN_TOUCH_UNKNOWN_CLOSED, *speech.SCREEN_PERIOD_TITLES.values()]
    assert set(speech.SCREEN_PERIOD_TITLES) == set(progress.PERIODS)
    for label in labels:
        assert not MEDICAL_CLAIMS.search(label), label
        assert "${" not in label and "<" not in label, label


def test_the_skill_manifest_declares_apl_for_every_kind_of_screen_the_layout_serves():
    manifest = json.loads((PROJECT_ROOT / "skill-package" / "skill.json").read_text())
    interfaces = {i["type"]: i for i in manifest["manifest"]["apis"]["custom"]["interfaces"]}
    assert "AUDIO_PLAYER" in interfaces  # a screen is an addition, never instead of the audio
    viewports = interfaces["ALEXA_PRESENTATION_APL"]["supportedViewports"]
    kinds = {(v["mode"], v["shape"]) for v in viewports}
    assert kinds == {("HUB", "ROUND"), ("HUB", "RECTANGLE"), ("TV", "RECTANGLE")}
    # Echo Spot (480 x 480 dp), Show 5 (960 x 480), Show 8 (960 x 600), Show 15 (1920 x 1080), TV (960 x 540)
    for mode, shape, width, height in (("HUB", "ROUND", 480, 480), ("HUB", "RECTANGLE", 960, 480),
                                       ("HUB", "RECTANGLE", 960, 600), ("HUB", "RECTANGLE", 1920, 1080),
                                       ("TV", "RECTANGLE", 960, 540)):
        assert any(v["mode"] == mode and v["shape"] == shape and v["minWidth"] <= width <= v["maxWidth"]
                   and v["minHeight"] <= height <= v["maxHeight"] for v in viewports), (mode, width, height)
