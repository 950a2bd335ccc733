"""The scale configuration end to end: DynamoDB storage (a real dynalite) and the Lambda entry."""

from __future__ import annotations

import uuid

import pytest
from ask_sdk_core.exceptions import AskSdkException

from skill import lambda_function
from skill.alexa.builder import build_adapter
from skill.core.player import PlaybackState
from skill.web import create_app
from tests import alexa
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401 - fixture
from tests.server import ThreadServer


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
    with pytest.raises(AskSdkException, match="Skill ID"):  # Lambda reports it as an invocation error
        lambda_function.lambda_handler(alexa.launch(skill_id="amzn1.ask.skill.other"), None)
