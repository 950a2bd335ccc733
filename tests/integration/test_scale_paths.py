"""The scale configuration end to end: DynamoDB storage (a real dynalite) and the Lambda entry."""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
import textwrap
import traceback
import uuid

import pytest

from skill.alexa.builder import build_adapter
from skill.config import PROJECT_ROOT
from skill.core.player import PlaybackState
from skill.hosting import lambda_function
from skill.hosting.envelope import BadEnvelope
from skill.hosting.web import create_app
from tests import alexa
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401 - fixture
from tests.server import ThreadServer, settings_env


def test_the_skill_keeps_progress_in_dynamodb_when_configured(app_settings, dynalite_endpoint):  # noqa: F811
    settings = app_settings.with_(storage="dynamodb", dynamodb_endpoint=dynalite_endpoint,
                                  dynamodb_table=f"coach-{uuid.uuid4().hex[:8]}")
    user = "amzn1.ask.account.DYNAMO-USER"
    with ThreadServer(create_app(settings)) as server:
        assert alexa.complete_run(server.url, "calves", user) == 15
        status, reply = alexa.post(server.url, alexa.intent("ProgressIntent", user=user))
    assert status == 200 and "one session" in alexa.speech_of(reply)
    doc = build_adapter(settings).get(user)
    assert [r["outcome"] for r in doc["runs"].values()] == ["completed"]
    assert PlaybackState.from_dict(doc["playback"]).activity.value == "finished"


@pytest.fixture
def lambda_env(app_settings, monkeypatch):
    for name, value in {
        "TRIGGER_COACH_AUDIO_DIR": str(app_settings.audio_dir),
        "TRIGGER_COACH_DATA_DIR": str(app_settings.data_dir),
        "TRIGGER_COACH_PUBLIC_URL": "https://cdn.example.test",
    }.items():
        monkeypatch.setenv(name, value)
    lambda_function._skill.cache_clear()
    yield
    lambda_function._skill.cache_clear()


def test_the_lambda_handler_answers_with_the_same_skill(lambda_env):
    reply = lambda_function.lambda_handler(
        alexa.intent("StartRoutineIntent", {"routine": ("upper back", "upper-back")}), None)
    play = alexa.play_of(reply)
    assert play["audioItem"]["stream"]["url"].startswith("https://cdn.example.test/audio/")
    with pytest.raises(BadEnvelope, match=r"'amzn1\.ask\.skill\.other'") as caught:  # an invocation error
        lambda_function.lambda_handler(alexa.launch(skill_id="amzn1.ask.skill.other"), None)
    assert caught.value.check == "application-id"


def _without(envelope: dict, *path: str) -> dict:
    parent = envelope
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return envelope


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"x": value}
    return value


LAMBDA_GARBAGE = {
    "no context.System": _without(alexa.launch(), "context", "System"),
    "no userId": _without(alexa.launch(), "context", "System", "user", "userId"),
    "no request type": _without(alexa.launch(), "request", "type"),
    "nested too deep": {**alexa.launch(), "extra": _deep(200)},
    "offset not a number": alexa.audio_event("PlaybackStopped", "calves|r|0|1", "12a"),
    "offset negative": alexa.audio_event("PlaybackStopped", "calves|r|0|1", -5),
    "offset a float": alexa.audio_event("PlaybackStopped", "calves|r|0|1", 1e30),
    "offset true": alexa.audio_event("PlaybackStopped", "calves|r|0|1", True),
    "offset null": alexa.audio_event("PlaybackStopped", "calves|r|0|1", None),
    "unknown request type": alexa.envelope({"type": "Bogus.Request"}),
    "not an object": ["LaunchRequest"],
}


@pytest.mark.parametrize("case", list(LAMBDA_GARBAGE))
def test_the_lambda_handler_applies_the_web_services_envelope_checks(lambda_env, case, caplog):
    with caplog.at_level(logging.INFO), pytest.raises(BadEnvelope) as caught:
        lambda_function.lambda_handler(copy.deepcopy(LAMBDA_GARBAGE[case]), None)
    assert caught.value.check == "envelope"
    # What Lambda returns to the caller: the handler's own frame, nothing of the reader's insides.
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert frames[-1] == "lambda_handler" and "check_envelope" not in frames and caught.value.__cause__ is None
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
    assert "Rejected an Alexa request (envelope)" in lines[0].getMessage()


def test_the_lambda_handler_needs_neither_flask_nor_a_json_round_trip(app_settings):
    """The Lambda bundle has no web extra: the handler must import and answer without Flask."""
    code = textwrap.dedent(
        """
        import json, sys
        sys.modules["flask"] = None  # as in a bundle without the web extra
        from skill.hosting import lambda_function
        from tests import alexa
        json.dumps = None  # the event arrives parsed; turning it back into text is wasted work
        reply = lambda_function.lambda_handler(alexa.launch(), None)
        print(reply["response"]["outputSpeech"]["ssml"][:40], "flask" in sys.modules and sys.modules["flask"])
        """
    )
    env = {**os.environ, **settings_env(app_settings.with_(public_url="https://cdn.example.test"))}
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("<speak>") and done.stdout.split()[-1] == "None", done.stdout


def test_the_lambda_handler_answers_from_dynamodb_without_importing_boto3_or_botocore(
        app_settings, dynalite_endpoint):  # noqa: F811
    """Lambda's cold start pays for no boto3: our own DynamoDB client signs with the role's keys."""
    table, user = f"cold-{uuid.uuid4().hex[:8]}", "amzn1.ask.account.NO-BOTO"
    code = textwrap.dedent(
        """
        import json, sys
        from skill.hosting import lambda_function
        from tests import alexa
        user = sys.argv[1]
        launch = lambda_function.lambda_handler(alexa.launch(user=user), None)
        start = lambda_function.lambda_handler(
            alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user), None)
        print(json.dumps({"launch": launch, "start": start,
                          "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))}))
        """
    )
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRIGGER_COACH_"))},
           **settings_env(app_settings.with_(public_url="https://cdn.example.test")),
           "AWS_LAMBDA_FUNCTION_NAME": "trigger-coach", "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "ASIAROLE", "AWS_SECRET_ACCESS_KEY": "role-secret", "AWS_SESSION_TOKEN": "role-token",
           "TRIGGER_COACH_STORAGE": "dynamodb", "TRIGGER_COACH_DYNAMODB_ENDPOINT": dynalite_endpoint,
           "TRIGGER_COACH_DYNAMODB_TABLE": table}
    done = subprocess.run([sys.executable, "-c", code, user], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["loaded"] == [], "the request path imported " + ", ".join(out["loaded"])
    assert "outputSpeech" in out["launch"]["response"]
    assert alexa.play_of(out["start"])["audioItem"]["stream"]["url"].startswith("https://cdn.example.test/audio/")
    stored = build_adapter(app_settings.with_(storage="dynamodb", dynamodb_endpoint=dynalite_endpoint,
                                              dynamodb_table=table)).get(user)
    assert [run["routine_id"] for run in stored["runs"].values()] == ["calves"], "the started run is in DynamoDB"
