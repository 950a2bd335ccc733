"""Settings inside AWS Lambda: DynamoDB by default, no SQLite, an HTTPS public URL required."""

from __future__ import annotations

import re

import pytest

from skill import config

LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "trigger-coach", "LAMBDA_TASK_ROOT": "/var/task",
          "TRIGGER_COACH_SKILL_ID": "amzn1.ask.skill.12345678-1234-4123-8123-123456789abc"}
CDN = "https://d111111abcdef8.cloudfront.net"


def test_outside_lambda_storage_stays_sqlite_and_the_public_url_may_be_empty():
    settings = config.from_env({})
    assert (settings.storage, settings.public_url) == ("sqlite", "")
    assert not config.on_lambda({})


@pytest.mark.parametrize("marker", config.LAMBDA_MARKERS)
def test_either_variable_the_lambda_runtime_sets_marks_lambda(marker):
    assert config.on_lambda({marker: "x"})


def test_on_lambda_storage_defaults_to_dynamodb():
    settings = config.from_env({**LAMBDA, "TRIGGER_COACH_PUBLIC_URL": CDN})
    assert settings.storage == "dynamodb"
    assert settings.audio_base_url == CDN + "/audio/"


def test_on_lambda_sqlite_is_refused_naming_the_setting_and_the_fix():
    with pytest.raises(config.ConfigError) as error:
        config.from_env({**LAMBDA, "TRIGGER_COACH_PUBLIC_URL": CDN, "TRIGGER_COACH_STORAGE": "sqlite"})
    assert "TRIGGER_COACH_STORAGE='sqlite'" in str(error.value)
    assert "TRIGGER_COACH_STORAGE=dynamodb" in str(error.value)


@pytest.mark.parametrize("url", ["", "http://d111111abcdef8.cloudfront.net", "  ", "https://", "https:// spaces here"])
def test_on_lambda_a_missing_or_plain_http_public_url_is_refused_naming_it(url):
    env = {**LAMBDA, "TRIGGER_COACH_STORAGE": "dynamodb"}
    if url:
        env["TRIGGER_COACH_PUBLIC_URL"] = url
    with pytest.raises(config.ConfigError, match=r"TRIGGER_COACH_PUBLIC_URL=.* HTTPS"):
        config.from_env(env)



@pytest.mark.parametrize("value", [None, "", "  "])
def test_on_lambda_a_missing_skill_id_is_refused_naming_it(value):
    # Off Lambda it defaults to a local id; on Lambda that default would refuse every request.
    env = {**LAMBDA, "TRIGGER_COACH_PUBLIC_URL": CDN}
    del env["TRIGGER_COACH_SKILL_ID"]
    if value is not None:
        env["TRIGGER_COACH_SKILL_ID"] = value
    with pytest.raises(config.ConfigError, match=r"TRIGGER_COACH_SKILL_ID is (not set|empty)"):
        config.from_env(env)


@pytest.mark.parametrize(("name", "value", "says"), [
    ("TRIGGER_COACH_SKILL_ID", "", "is empty"),
    ("TRIGGER_COACH_DYNAMODB_TABLE", " ", "is empty"),
    ("TRIGGER_COACH_DYNAMODB_ENDPOINT", "127.0.0.1:4567", "is not an http(s) URL"),
    ("TRIGGER_COACH_DYNAMODB_ENDPOINT", "http://", "is not an http(s) URL"),
])
def test_an_empty_name_or_an_endpoint_that_is_no_url_is_refused_at_start_naming_it(name, value, says):
    for env in ({name: value}, {**LAMBDA, "TRIGGER_COACH_PUBLIC_URL": CDN, name: value}):
        with pytest.raises(config.ConfigError, match=rf"{name}.* ({re.escape(says)}|is not set)"):
            config.from_env(env)


def test_on_lambda_the_region_defaults_to_the_functions_own_and_the_setting_still_wins():
    env = {**LAMBDA, "TRIGGER_COACH_PUBLIC_URL": CDN, "AWS_REGION": "eu-central-1"}
    assert config.from_env(env).aws_region == "eu-central-1"
    assert config.from_env({**env, "TRIGGER_COACH_AWS_REGION": "eu-west-1"}).aws_region == "eu-west-1"
    assert config.from_env({"AWS_REGION": "eu-central-1"}).aws_region == "us-east-1", "only on Lambda"
