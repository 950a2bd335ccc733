"""A cold LaunchRequest loads only what a launch needs: no reminders, APL, render step or schema.

Each check runs a fresh interpreter that answers one LaunchRequest through the Lambda handler
(`skill.hosting.lambda_function`) on SQLite (outside Lambda, so SQLite is allowed) or on
DynamoDB (dynalite), and reports the modules it imported. What the launch does not use must
not be among them, so a gain in cold start cannot silently come undone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from skill.config import PROJECT_ROOT
from skill.hosting.package import request_modules
from skill.storage.dynamo_client import DynamoClient
from skill.storage.sigv4 import Credentials
from tests import alexa
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401  (the session fixture)
from tests.server import settings_env

# Imported only by what a launch never does: reminders, screens, Alexa Routine tasks,
# complaints, the progress summary, other locales' text (built), the render (build) step,
# the schema, Alexa's HTTP APIs, time zones; and, until a routine starts, the timeline, its quick
# versions and the rendered manifests.
NOT_AT_LAUNCH = (
    "skill.core.reminders", "skill.alexa.handlers.reminder_dialogue", "skill.alexa.reminders_api",
    "skill.alexa.api_http", "skill.alexa.apl", "skill.alexa.tasks", "skill.alexa.handlers.task_launch",
    "skill.alexa.handlers.complaint_dialogue", "skill.alexa.handlers.progress_report",
    "skill.alexa.handlers.screen_touch", "skill.core.progress.summary", "skill.core.placements",
    "skill.core.complaints", "skill.content.complaints", "skill.core.lengths", "skill.core.timeline",
    "skill.core.screens", "skill.content.manifest", "zoneinfo",
    "skill.render", "jsonschema", "http.client",
    "skill.text.en_GB", "skill.text.en_AU", "skill.text.en_CA", "skill.text.en_IN",
)

PROGRAM = """
import json, sys
from skill import text
from skill.hosting import lambda_function
for request in json.loads(sys.argv[1]):
    reply = lambda_function.lambda_handler(request, None)
ours = {m: getattr(sys.modules[m], "__file__", None) for m in sys.modules if m.startswith("skill.")}
print(json.dumps({"reply": reply, "modules": sorted(sys.modules), "texts": text.TEXTS.built, "files": ours}))
"""


def answer_cold(app_settings, requests: list[dict]) -> dict:
    """Answer `requests` in turn in a fresh interpreter; return what it printed."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRIGGER_COACH_")},
           **settings_env(app_settings)}
    done = subprocess.run([sys.executable, "-c", PROGRAM, json.dumps(requests)], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def cold_launch(app_settings, request: dict) -> tuple[dict, set[str]]:
    """Answer `request` in a fresh interpreter; return the reply, and every module it imported
    and locale text it built (as "skill.text.en_GB")."""
    answer = answer_cold(app_settings, [request])
    texts = {"skill.text." + locale.replace("-", "_") for locale in answer["texts"]}
    return answer["reply"], set(answer["modules"]) | texts


def loaded(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


@pytest.mark.parametrize("screen", [False, True], ids=["voice only", "with a screen"])
def test_a_cold_launch_of_a_new_user_imports_no_reminder_apl_render_or_schema_module(app_settings, screen):
    reply, modules = cold_launch(app_settings, alexa.launch(user="amzn1.ask.account.COLD-NEW", screen=screen))
    assert "Welcome to Trigger Coach" in alexa.speech_of(reply)
    assert "skill.alexa.handlers.conversation" in modules  # the probe sees what the launch used
    unwanted = NOT_AT_LAUNCH if not screen else tuple(m for m in NOT_AT_LAUNCH if m != "skill.alexa.apl")
    found = [name for name in unwanted if loaded(modules, name)]
    assert not found, f"a cold LaunchRequest imported {found}"


def test_a_cold_launch_on_dynamodb_creates_the_missing_table_and_imports_no_http_client_or_email(
        app_settings, dynalite_endpoint):  # noqa: F811
    table = f"cold-{uuid.uuid4().hex[:8]}"
    settings = app_settings.with_(storage="dynamodb", dynamodb_endpoint=dynalite_endpoint, dynamodb_table=table)
    reply, modules = cold_launch(settings, alexa.launch(user="amzn1.ask.account.COLD-DYNAMO"))
    assert "Welcome to Trigger Coach" in alexa.speech_of(reply)
    assert "skill.storage.dynamo_client" in modules and "socket" in modules  # it did talk to DynamoDB
    found = [name for name in (*NOT_AT_LAUNCH, "email", "skill.storage.sqlite", "sqlite3") if loaded(modules, name)]
    assert not found, f"a cold LaunchRequest on DynamoDB imported {found}"
    client = DynamoClient(dynalite_endpoint, "us-east-1", lambda: Credentials("local", "local"))
    assert client.call("DescribeTable", {"TableName": table})["Table"]["TableStatus"] == "ACTIVE"


def test_a_cold_launch_in_another_locale_builds_that_locale_s_text_only(app_settings):
    reply, modules = cold_launch(app_settings, alexa.launch(user="amzn1.ask.account.COLD-GB", locale="en-GB"))
    assert "Welcome to Trigger Coach" in alexa.speech_of(reply)
    assert "skill.text.en_GB" in modules
    assert not [m for m in ("skill.text.en_AU", "skill.text.en_CA", "skill.text.en_IN") if m in modules]


def test_the_first_request_a_deferred_handler_picks_imports_its_module_and_is_answered(app_settings):
    reply, modules = cold_launch(app_settings, alexa.intent("ComplaintIntent", {"complaint": "wobbly elbows"},
                                                            user="amzn1.ask.account.COLD-COMPLAINT"))
    assert "skill.alexa.handlers.complaint_dialogue" in modules
    assert "reprompt" in reply["response"]  # asked what hurts, not an error
    assert not loaded(modules, "skill.alexa.handlers.reminder_dialogue")


def test_every_module_that_any_kind_of_request_imports_by_name_is_one_the_lambda_bundle_ships(app_settings):
    user = "amzn1.ask.account.COLD-EVERY"
    requests = [
        alexa.launch(user=user, screen=True),
        alexa.intent("ProgressIntent", user=user),
        alexa.intent("ComplaintIntent", {"complaint": "wobbly elbows"}, user=user),
        alexa.intent("SetReminderIntent", {"routine": ("calves", "calves")}, user=user),
        alexa.intent("ListRemindersIntent", user=user),
        alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user, screen=True),
        alexa.task_launch({"routine": "calves"}, user=user),
        alexa.envelope({"type": "Alexa.Presentation.APL.UserEvent", "arguments": ["start", "calves"]},
                       user=user, screen=True),
    ]
    files = answer_cold(app_settings, requests)["files"]
    assert "skill.alexa.handlers.reminder_dialogue" in files and "skill.core.progress.summary" in files
    shipped = {str(path) for path in request_modules()}
    missing = sorted(name for name, file in files.items() if file is not None and file not in shipped)
    assert not missing, f"the Lambda bundle would lack {missing}, which these requests import"
