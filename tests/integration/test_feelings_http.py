"""How it felt, over HTTP on SQLite and on dynalite: the check-in after a finished run, its
answer stored with the run, what a sore answer changes, and the summary sentence.

The skill runs behind a real loopback server with a real SQLite file, or with DynamoDB (a real
dynalite process). The coach's clock is set per step, so "the next day" is a real next day to
every rule and to storage alike.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from skill.alexa.builder import build_coach
from skill.hosting.web import create_app
from skill.storage import SQLITE_FILE_NAME
from skill.storage.dynamodb import DynamoAdapter
from skill.storage.sqlite import SQLiteAdapter
from skill.text import en_US as speech
from tests import alexa
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401  (the session fixture)
from tests.server import ThreadServer

MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def said(reply: dict[str, Any]) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", alexa.speech_of(reply)))


@dataclass
class Rig:
    """The skill served on one store, with a clock the test moves."""

    kind: str
    url: str
    adapter: SQLiteAdapter | DynamoAdapter
    clock: dict[str, datetime] = field(default_factory=lambda: {"now": MONDAY})

    def at(self, moment: datetime) -> None:
        self.clock["now"] = moment

    def ask(self, body: dict[str, Any]) -> dict[str, Any]:
        status, reply = alexa.post(self.url + "/", body, timeout=30)
        assert status == 200, reply
        return reply

    def runs(self, user: str) -> list[dict[str, Any]]:
        return sorted(self.adapter.get(user).get("runs", {}).values(), key=lambda r: r["started_at"])

    def complete(self, user: str, routine: str = "calves") -> None:
        assert alexa.complete_run(self.url, routine, user) > 0

    def answer(self, user: str, launch: dict[str, Any], feeling: str) -> dict[str, Any]:
        """Answer the check-in a launch asked, in the same session."""
        attrs = launch.get("sessionAttributes") or {}
        return self.ask(alexa.intent("FeelingIntent", {"feeling": (feeling, feeling)}, user=user,
                                     session_attributes=attrs))


@pytest.fixture(params=["sqlite", "dynamodb"])
def rig(request: pytest.FixtureRequest, app_settings) -> Iterator[Rig]:
    coach = build_coach(app_settings)
    clock = {"now": MONDAY}
    coach.clock = lambda: clock["now"]
    if request.param == "sqlite":
        adapter: SQLiteAdapter | DynamoAdapter = SQLiteAdapter(app_settings.data_dir / SQLITE_FILE_NAME)
    else:
        adapter = DynamoAdapter(f"feel-{uuid.uuid4().hex[:10]}", endpoint_url=request.getfixturevalue(
            "dynalite_endpoint"), create_table=True)
    with ThreadServer(create_app(app_settings, coach=coach, adapter=adapter)) as server:
        yield Rig(request.param, server.url, adapter, clock)


def test_a_sore_answer_is_stored_with_the_run_changes_the_offer_and_reaches_the_summary(rig: Rig) -> None:
    user = f"amzn1.ask.account.FEEL-SORE-{rig.kind}"
    rig.complete(user)
    rig.at(MONDAY + timedelta(days=1))
    launch = rig.ask(alexa.launch(user=user))
    assert "How did your calves feel after your last session: better, the same, or sore?" in said(launch)
    assert not launch["response"].get("shouldEndSession")
    [run] = rig.runs(user)
    assert run["feeling"] == "asked", "the question is marked before it is answered, so it is asked once"

    reply = rig.answer(user, launch, "sore")
    text = said(reply)
    assert "Give your calves a rest for a day or two" in text
    assert "Would you like to work on your upper back instead?" in text, "another area is offered"
    assert "clinician" not in text
    [run] = rig.runs(user)
    assert (run["feeling"], run["outcome"]) == ("sore", "completed")
    assert run["tracks_completed"] == run["track_count"], "the answer changed nothing else of the run"

    yes = rig.ask(alexa.intent("AMAZON.YesIntent", user=user, session_attributes=reply["sessionAttributes"]))
    assert alexa.play_of(yes)["audioItem"]["stream"]["token"].startswith("upper-back"), "yes starts the other area"

    rig.at(MONDAY + timedelta(days=1, hours=2))
    again = said(rig.ask(alexa.launch(user=user)))
    assert "How did your" not in again, "never asked twice"

    progress = said(rig.ask(alexa.intent("ProgressIntent", {"period": None}, user=user)))
    assert "Your calves felt sore after one session." in progress


def test_the_next_launch_offers_another_area_while_a_sore_one_rests(rig: Rig) -> None:
    user = f"amzn1.ask.account.FEEL-REST-{rig.kind}"
    rig.complete(user)
    rig.at(MONDAY + timedelta(days=1))
    rig.answer(user, rig.ask(alexa.launch(user=user)), "sore")
    rig.at(MONDAY + timedelta(days=2))
    text = said(rig.ask(alexa.launch(user=user)))
    assert "You told me your calves were sore, so let's give them a rest." in text
    assert "Would you like to work on your upper back instead?" in text
    rig.at(MONDAY + timedelta(days=4))
    assert "Would you like your calves routine again?" in said(rig.ask(alexa.launch(user=user)))


def test_better_is_noted_and_the_usual_offer_follows(rig: Rig) -> None:
    user = f"amzn1.ask.account.FEEL-BETTER-{rig.kind}"
    rig.complete(user)
    rig.at(MONDAY + timedelta(hours=20))
    text = said(rig.answer(user, rig.ask(alexa.launch(user=user)), "better"))
    assert "Good to hear." in text and "Would you like your calves routine again?" in text
    assert rig.runs(user)[0]["feeling"] == "better"
    assert "Your calves felt better after one session." in said(
        rig.ask(alexa.intent("ProgressIntent", {"period": None}, user=user)))


def test_no_skips_the_check_in_and_it_is_not_asked_again(rig: Rig) -> None:
    user = f"amzn1.ask.account.FEEL-NO-{rig.kind}"
    rig.complete(user)
    rig.at(MONDAY + timedelta(days=1))
    launch = rig.ask(alexa.launch(user=user))
    reply = rig.ask(alexa.intent("AMAZON.NoIntent", user=user, session_attributes=launch["sessionAttributes"]))
    assert "Would you like your calves routine again?" in said(reply)
    assert rig.runs(user)[0]["feeling"] == "skipped"
    assert "How did your" not in said(rig.ask(alexa.launch(user=user)))
    assert "felt" not in said(rig.ask(alexa.intent("ProgressIntent", {"period": None}, user=user)))


def test_sore_twice_in_a_row_suggests_a_clinician(rig: Rig) -> None:
    user = f"amzn1.ask.account.FEEL-TWICE-{rig.kind}"
    rig.complete(user)
    rig.at(MONDAY + timedelta(days=1))
    first = said(rig.answer(user, rig.ask(alexa.launch(user=user)), "sore"))
    assert "clinician" not in first
    rig.complete(user)
    rig.at(MONDAY + timedelta(days=2))
    second = said(rig.answer(user, rig.ask(alexa.launch(user=user)), "sore"))
    assert "sore after two sessions in a row, so please check with a clinician" in second
    assert [r["feeling"] for r in rig.runs(user)] == ["sore", "sore"]


def test_a_late_answer_is_ignored_politely_and_stores_nothing(rig: Rig) -> None:
    user = f"amzn1.ask.account.FEEL-LATE-{rig.kind}"
    rig.complete(user)
    before = rig.runs(user)
    # A new session: nothing was asked in it.
    reply = rig.ask(alexa.intent("FeelingIntent", {"feeling": ("better", "better")}, user=user))
    assert speech.CHECK_IN_EXPIRED in said(reply)
    assert rig.runs(user) == before
    # Asked, but answered after the run is more than three days old.
    rig.at(MONDAY + timedelta(days=1))
    launch = rig.ask(alexa.launch(user=user))
    asked = rig.runs(user)
    rig.at(MONDAY + timedelta(days=3, hours=1))
    assert speech.CHECK_IN_EXPIRED in said(rig.answer(user, launch, "sore"))
    assert rig.runs(user) == asked


def test_a_yes_to_the_check_in_asks_again_and_a_yes_to_nothing_gets_help(rig: Rig) -> None:
    user = f"amzn1.ask.account.FEEL-YES-{rig.kind}"
    rig.complete(user)
    rig.at(MONDAY + timedelta(days=1))
    launch = rig.ask(alexa.launch(user=user))
    yes = rig.ask(alexa.intent("AMAZON.YesIntent", user=user, session_attributes=launch["sessionAttributes"]))
    assert "How did your calves feel" in said(yes)
    assert said(rig.answer(user, yes, "same")).startswith("Thanks, I've noted that.")
    nothing = said(rig.ask(alexa.intent("AMAZON.YesIntent", user=user)))
    assert speech.WHICH_ROUTINE.ask in nothing


def test_a_third_day_running_gets_the_rest_advice_and_the_routine_still_starts(rig: Rig) -> None:
    user = f"amzn1.ask.account.FEEL-DAYS-{rig.kind}"
    rig.complete(user)
    rig.at(MONDAY + timedelta(days=1))
    second = rig.ask(alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user))
    assert "days in a row" not in said(second)
    rig.complete(user)
    rig.at(MONDAY + timedelta(days=2))
    third = rig.ask(alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user))
    assert said(third).startswith(speech.rest_at_start("calves", 3))
    assert alexa.play_of(third) is not None, "the advice never blocks the start"
    other = rig.ask(alexa.intent("StartRoutineIntent", {"routine": ("upper back", "upper-back")}, user=user))
    assert "days in a row" not in said(other)


@pytest.mark.parametrize("attrs", [
    {"check_in": ["not", "a", "run"]},
    {"check_in": {"run_id": 5, "area": {"x": 1}}},
    {"check_in": {"run_id": "nope", "area": "<speak>the moon</speak>"}},
    {"check_in": "yes"},
])
@pytest.mark.parametrize("name", ["AMAZON.YesIntent", "AMAZON.NoIntent", "AMAZON.NextIntent", "FeelingIntent"])
def test_a_garbled_check_in_in_the_session_gets_a_helpful_answer_and_stores_nothing(app_settings, attrs, name):
    user = "amzn1.ask.account.FEEL-GARBLED"
    with ThreadServer(create_app(app_settings)) as server:
        alexa.complete_run(server.url, "calves", user)
        before = SQLiteAdapter(app_settings.data_dir / SQLITE_FILE_NAME).get(user)
        slots = {"feeling": ("sore", "sore")} if name == "FeelingIntent" else None
        status, reply = alexa.post(server.url + "/", alexa.intent(name, slots, user=user, session_attributes=attrs))
        assert status == 200, reply
        text = said(reply)
        assert text and speech.ERROR not in text and "moon" not in text, text
        assert SQLiteAdapter(app_settings.data_dir / SQLITE_FILE_NAME).get(user) == before


def test_a_paused_run_is_offered_first_and_the_check_in_waits_for_a_later_launch(rig: Rig) -> None:
    user = f"amzn1.ask.account.FEEL-PAUSED-{rig.kind}"
    rig.complete(user)
    rig.at(MONDAY + timedelta(hours=3))
    token = alexa.play_of(rig.ask(alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user)))
    token = token["audioItem"]["stream"]["token"]
    rig.ask(alexa.audio_event("PlaybackStopped", token, 5_000, user=user))
    paused = said(rig.ask(alexa.launch(user=user)))
    assert "pick up your calves routine where you left off?" in paused and "How did your" not in paused
    assert [r.get("feeling") for r in rig.runs(user)] == [None, None], "nothing was asked yet"
