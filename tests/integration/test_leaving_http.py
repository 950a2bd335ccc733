"""Leaving cleanly: SkillDisabled deletes every row and item of the user, persons and journal
included; permission events are answered quietly; late skill events still verify. Over HTTP,
on SQLite and on dynalite.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from skill.hosting.verify import RequestVerifier
from skill.hosting.web import create_app
from skill.storage.dynamodb import DynamoAdapter
from skill.storage.records import person_key
from tests import alexa
from tests.certs import CHAIN_PATH, ChainServer, make_chain
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401  (the session fixture)
from tests.integration.test_persons_http import ANNA, BEN, play_all, start
from tests.integration.test_state_http import Rig, serve_rig
from tests.server import ThreadServer


@pytest.fixture(params=["sqlite", "dynamodb"])
def rig(request: pytest.FixtureRequest, app_settings) -> Iterator[Rig]:
    with serve_rig(request, app_settings) as served:
        yield served


def stored(rig: Rig, user: str) -> int:
    """Count every row (SQLite, journal lines included) or item (DynamoDB) of the user and its persons."""
    mine = (user, f"{user}#person#%")
    if isinstance(rig.adapter, DynamoAdapter):
        client = boto3.client("dynamodb", endpoint_url=rig.adapter.endpoint_url, region_name="us-east-1",
                              aws_access_key_id="local", aws_secret_access_key="local")
        count, start_key = 0, None
        while True:
            page = client.scan(TableName=rig.adapter.table_name, ConsistentRead=True,
                               **({"ExclusiveStartKey": start_key} if start_key else {}))
            count += sum(1 for item in page["Items"] if item["id"]["S"] == user or item["id"]["S"].startswith(
                f"{user}#person#"))
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                return count
    assert rig.db_path is not None
    with sqlite3.connect(rig.db_path) as conn:
        rows = sum(conn.execute(f"SELECT COUNT(*) FROM {table} WHERE user_id = ? OR user_id LIKE ?", mine).fetchone()[0]
                   for table in ("users", "devices", "runs", "months", "persons"))
    journal = rig.adapter.journal.path.read_bytes().rstrip(b"\0")
    return rows + journal.count(user.encode())


def household(rig: Rig, user: str) -> None:
    """Leave records of every kind: the account's run, two persons' runs (one still playing), a check-in."""
    play_all(rig, user, start(rig, user, "calves", "echo-kitchen", None), "echo-kitchen")
    play_all(rig, user, start(rig, user, "upper-back", "echo-bedroom", ANNA), "echo-bedroom")
    start(rig, user, "calves", "echo-office", BEN)
    asked = rig.ask(alexa.launch(user=user, device="echo-bedroom", person=ANNA))  # marks the run asked
    answer = rig.ask(alexa.intent("FeelingIntent", {"feeling": ("better", "better")}, user=user, device="echo-bedroom",
                                  person=ANNA, session_attributes=asked["sessionAttributes"]))
    assert "noted" in alexa.speech_of(answer), alexa.speech_of(answer)


def test_skill_disabled_leaves_no_row_or_item_of_that_user_or_its_persons(rig: Rig) -> None:
    user, neighbour = f"amzn1.ask.account.LEAVING-{rig.kind}", f"amzn1.ask.account.STAYING-{rig.kind}"
    household(rig, user)
    household(rig, neighbour)
    before, theirs = stored(rig, user), stored(rig, neighbour)
    assert before >= 10 and rig.runs(person_key(user, ANNA)), before
    status, reply = alexa.post(rig.url + "/", alexa.skill_event(
        "SkillDisabled", {"userInformationPersistenceStatus": "NOT_PERSISTED"}, user=user))
    assert status == 200 and "outputSpeech" not in reply.get("response", {}), reply
    assert stored(rig, user) == 0
    assert stored(rig, neighbour) == theirs, "another account keeps everything"
    launch = rig.ask(alexa.launch(user=user, device="echo-bedroom", person=ANNA))
    assert "Welcome to Trigger Coach" in alexa.speech_of(launch), "a person coming back starts afresh"


def test_skill_disabled_also_removes_that_users_saves_waiting_in_the_sqlite_journal(rig: Rig) -> None:
    if rig.kind != "sqlite":
        pytest.skip("only SQLite keeps a journal")
    user = "amzn1.ask.account.JOURNALED"
    with rig.write_lock():
        start(rig, user, "calves", "echo-kitchen", ANNA)
        start(rig, user, "calves", "echo-bedroom", None)
    assert rig.adapter.journal.pending() and stored(rig, user) >= 2
    status, _ = alexa.post(rig.url + "/", alexa.skill_event("SkillDisabled", user=user))
    assert status == 200 and stored(rig, user) == 0


def test_a_skill_disabled_event_for_a_user_we_never_saw_gets_200_and_no_error(rig: Rig, caplog) -> None:
    with caplog.at_level(logging.INFO):
        status, reply = alexa.post(rig.url + "/", alexa.skill_event("SkillDisabled", user="amzn1.ask.account.NOBODY"))
    assert status == 200 and reply.get("response", {}) == {}, reply
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "deleted their 0 stored record(s)" in caplog.text


@pytest.mark.parametrize("kind", ["SkillPermissionChanged", "SkillPermissionAccepted"])
def test_a_permission_event_is_logged_and_answered_200_without_speech(rig: Rig, caplog, kind) -> None:
    user = f"amzn1.ask.account.PERMITS-{rig.kind}"
    start(rig, user, "calves", "echo-kitchen", None)
    before = stored(rig, user)
    body = {"acceptedPermissions": [{"scope": "alexa::alerts:reminders:skill:readwrite"}]}
    with caplog.at_level(logging.INFO, logger="trigger_coach.alexa"):
        status, reply = alexa.post(rig.url + "/", alexa.skill_event(kind, body, user=user))
    assert status == 200 and reply.get("response", {}) == {}, reply
    assert "alexa::alerts:reminders:skill:readwrite" in caplog.text
    assert stored(rig, user) == before, "nothing stored changes"


def test_a_skill_disabled_event_up_to_an_hour_late_is_verified_and_deletes_the_user(app_settings) -> None:
    chain = make_chain(now=datetime.now(UTC))
    settings = app_settings.with_(verify=True)
    user = "amzn1.ask.account.LATE-LEAVER"
    with ChainServer({CHAIN_PATH: chain.pem()}) as certs:
        verifier = RequestVerifier(trusted_roots=[chain.root], cert_origin=certs.origin, timeout=2.0)
        app = create_app(settings, verifier=verifier)
        with ThreadServer(app) as server:
            def send(body: dict, minutes_late: float) -> tuple[int, object]:
                body["request"]["timestamp"] = (datetime.now(UTC) - timedelta(minutes=minutes_late)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ")
                raw = json.dumps(body).encode()
                return alexa.post(server.url + "/", raw, chain.headers(raw))

            assert send(alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user), 0)[0] == 200
            assert send(alexa.launch(user=user), 10)[0] == 400, "a voice request 10 minutes old is refused"
            assert send(alexa.skill_event("SkillDisabled", user=user), 70)[0] == 400, "over an hour is refused"
            db = settings.data_dir / "trigger-coach.sqlite3"
            with sqlite3.connect(db) as conn:
                assert conn.execute("SELECT COUNT(*) FROM runs WHERE user_id = ?", (user,)).fetchone()[0] == 1
            assert send(alexa.skill_event("SkillDisabled", user=user), 55)[0] == 200
            with sqlite3.connect(db) as conn:
                assert sum(conn.execute(f"SELECT COUNT(*) FROM {t} WHERE user_id = ?", (user,)).fetchone()[0]
                           for t in ("users", "devices", "runs", "months")) == 0
