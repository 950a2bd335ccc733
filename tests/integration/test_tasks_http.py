"""Alexa Routines: the StartRoutine custom task, over HTTP on the real server, and its task file."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from skill.alexa import tasks
from skill.config import LOCAL_SKILL_ID, PROJECT_ROOT
from skill.core.player import Token
from skill.core.routines import load_library
from skill.hosting.web import create_app
from skill.text import en_US as speech
from tests import alexa
from tests.server import ThreadServer


@pytest.fixture
def url(app_settings) -> Iterator[str]:
    with ThreadServer(create_app(app_settings)) as server:
        yield server.url + "/"


def said(reply: dict[str, Any]) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", alexa.speech_of(reply)))


def ask(url: str, body: dict[str, Any]) -> dict[str, Any]:
    status, reply = alexa.post(url, body)
    assert status == 200, reply
    return reply


def test_a_custom_task_launch_starts_the_routine_with_playback_in_that_one_response(url):
    reply = ask(url, alexa.task_launch({"routine": "upper-back"}))
    play = alexa.play_of(reply)
    assert play is not None, said(reply)
    token = Token.parse(play["audioItem"]["stream"]["token"])
    assert (token.routine_id, token.index, token.length) == ("upper-back", 0, "full")
    assert reply["response"]["shouldEndSession"] is True and "reprompt" not in reply["response"]
    assert "upper back" in said(reply).lower()


def test_a_custom_task_plays_the_length_it_names(url):
    reply = ask(url, alexa.task_launch({"routine": "calves", "length": "quick"}))
    token = Token.parse(alexa.play_of(reply)["audioItem"]["stream"]["token"])
    assert (token.routine_id, token.length) == ("calves", "quick")


def test_a_custom_task_starts_the_routine_even_while_a_check_in_is_due(url):
    user = "amzn1.ask.account.TASK-AFTER-RUN"
    alexa.complete_run(url, "calves", user)
    assert "feel" in said(ask(url, alexa.launch(user=user))).lower(), "a plain launch asks how it felt"
    reply = ask(url, alexa.task_launch({"routine": "calves"}, user=user))
    assert alexa.play_of(reply) is not None, "a task is a request to start, not to talk"


@pytest.mark.parametrize(("inputs", "expected"), [
    ({"routine": "elbows"}, "a routine called elbows, which I don't have"),
    ({"routine": "upper_back!!"}, "a routine called upper back, which I don't have"),
    ({"routine": "x" * 500}, "the routine it names, which I don't have"),
    ({}, speech.TASK_NO_ROUTINE),
    ({"routine": ""}, speech.TASK_NO_ROUTINE),
    ({"routine": 7}, speech.TASK_NO_ROUTINE),
    (None, speech.TASK_NO_ROUTINE),
    (["upper-back"], speech.TASK_NO_ROUTINE),
    ({"routine": "calves", "length": "medium"}, speech.TASK_BAD_LENGTH),
    ({"routine": "calves", "length": 5}, speech.TASK_BAD_LENGTH),
])
def test_a_custom_task_with_missing_or_wrong_inputs_gets_a_spoken_explanation(url, inputs, expected):
    reply = ask(url, alexa.task_launch(inputs))
    assert alexa.play_of(reply) is None
    assert expected in said(reply), said(reply)
    assert "Alexa app" in said(reply) and reply["response"]["shouldEndSession"] is True


@pytest.mark.parametrize("task", [
    {"name": "amzn1.ask.skill.someone-else.StartRoutine"},
    {"name": "StartRoutine"},
    {"version": "2"},
])
def test_a_task_that_is_not_our_start_routine_gets_a_spoken_explanation(url, task):
    reply = ask(url, alexa.task_launch({"routine": "calves"}, **task))
    assert alexa.play_of(reply) is None and said(reply) == speech.TASK_NOT_OURS


def test_the_task_file_offers_exactly_the_routines_of_the_library():
    library = load_library()
    assert tasks.check_task(library) is None
    definition = json.loads(tasks.TASK_PATH.read_text(encoding="utf-8"))
    inputs = definition["components"]["schemas"]["Input"]["properties"]
    assert inputs["routine"]["enum"] == sorted(r.id for r in library.routines)
    assert inputs["length"]["enum"] == ["full", "quick"]
    assert list(definition["paths"]) == [f"/{tasks.TASK_NAME}"]
    assert tasks.TASK_PATH.name == f"{tasks.TASK_NAME}.{tasks.TASK_VERSION}.json"


def test_the_skill_manifest_declares_the_task_and_the_skill_events():
    manifest = json.loads((PROJECT_ROOT / "skill-package" / "skill.json").read_text())["manifest"]
    assert manifest["apis"]["custom"]["tasks"] == [{"name": tasks.TASK_NAME, "version": tasks.TASK_VERSION}]
    events = {s["eventName"] for s in manifest["events"]["subscriptions"]}
    assert {"SKILL_DISABLED", "SKILL_PERMISSION_CHANGED"} <= events


def test_a_routine_added_to_the_library_makes_the_task_check_fail(tmp_path):
    library = load_library()
    path = tmp_path / "StartRoutine.1.json"
    tasks.write_task(library, path)
    assert tasks.check_task(library, path) is None
    extra = library.routines[0]._replace(id="new-routine")
    grown = library._replace(routines=(*library.routines, extra))
    drift = tasks.check_task(grown, path)
    assert drift is not None and "trigger-coach model" in drift
    assert "missing" in tasks.check_task(library, tmp_path / "none.json")


def test_a_task_name_is_our_skill_id_and_the_task_name():
    assert tasks.is_our_task(f"{LOCAL_SKILL_ID}.StartRoutine", LOCAL_SKILL_ID)
    assert not tasks.is_our_task(f"{LOCAL_SKILL_ID}.StartRoutineX", LOCAL_SKILL_ID)
    assert not tasks.is_our_task(None, LOCAL_SKILL_ID)
