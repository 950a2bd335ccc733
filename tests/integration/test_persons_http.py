"""Every person in the home: progress, check-ins, "my usual", the briefing and "forget" per
recognised person, playback per device; over HTTP, on SQLite and on dynalite.

The AudioPlayer events in these tests carry no person, as a speaker's events carry no voice:
the device record says whose run it plays.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from skill.storage.records import person_key
from skill.text import en_US as speech
from tests import alexa
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401  (the session fixture)
from tests.integration.test_state_http import Rig, play_track, said, serve_rig, token_of
from tests.together import at_once

ANNA, BEN = "amzn1.ask.person.ANNA", "amzn1.ask.person.BEN"


@pytest.fixture(params=["sqlite", "dynamodb"])
def rig(request: pytest.FixtureRequest, app_settings) -> Iterator[Rig]:
    with serve_rig(request, app_settings) as served:
        yield served


def start(rig: Rig, user: str, routine: str, device: str, person: str | None) -> str:
    reply = rig.ask(alexa.intent("StartRoutineIntent", {"routine": (routine, routine)}, user=user, device=device,
                                 person=person))
    token = token_of(reply)
    assert token, said(reply)
    return token


def play_all(rig: Rig, user: str, token: str | None, device: str) -> int:
    played = 0
    while token is not None:
        token = play_track(rig, user, token, device)
        played += 1
    return played


def progress(rig: Rig, user: str, person: str | None, device: str = "echo-kitchen") -> str:
    return said(rig.ask(alexa.intent("ProgressIntent", {"period": None}, user=user, device=device,
                                     person=person))).lower()


def test_two_persons_on_two_devices_of_one_account_complete_different_routines_at_the_same_time(rig: Rig) -> None:
    user = f"amzn1.ask.account.HOUSEHOLD-{rig.kind}"
    plan = {ANNA: ("upper-back", "echo-kitchen"), BEN: ("calves", "echo-bedroom")}
    def listen(person: str) -> int:
        routine, device = plan[person]
        return play_all(rig, user, start(rig, user, routine, device, person), device)

    played = at_once(listen, plan)
    assert played[ANNA] > 1 and played[BEN] > 1
    for person, (routine, device) in plan.items():
        runs = list(rig.runs(person_key(user, person)).values())
        assert [(r["routine_id"], r["outcome"], r["tracks_completed"]) for r in runs] == [
            (routine, "completed", played[person])], person
        record = rig.adapter.load(user, device).devices[device]
        assert (record["routine_id"], record["activity"], record["owner"]) == (
            routine, "finished", person_key(user, person))
    anna, ben = progress(rig, user, ANNA), progress(rig, user, BEN)
    assert "one session" in anna and "upper back" in anna and "calves" not in anna, anna
    assert "one session" in ben and "calves" in ben and "upper back" not in ben, ben
    assert rig.runs(user) == {}, "the account itself did no routine"
    assert speech.PROGRESS_FIRST_TIME.lower()[:30] in progress(rig, user, None)


def test_a_new_person_in_an_account_with_history_starts_fresh(rig: Rig) -> None:
    user = f"amzn1.ask.account.FRESH-PERSON-{rig.kind}"
    play_all(rig, user, start(rig, user, "calves", "echo-kitchen", None), "echo-kitchen")
    assert "feel" in said(rig.ask(alexa.launch(user=user, device="echo-kitchen"))).lower()
    launch = rig.ask(alexa.launch(user=user, device="echo-kitchen", person=ANNA))
    assert speech.WELCOME_NEW in said(launch), "no check-in and no 'again?' from the household's history"
    usual = rig.ask(alexa.intent("StartRoutineIntent", {"routine": ("my usual", None)}, user=user, person=ANNA))
    assert alexa.play_of(usual) is None and speech.NO_USUAL_YET in said(usual)
    first = rig.ask(alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user, person=ANNA))
    assert "Safety first" in said(first), "the person hears the full briefing the account heard before"
    assert speech.PROGRESS_FIRST_TIME.lower()[:30] in progress(rig, user, BEN), "a person we never saw: fresh"


def test_start_my_usual_plays_the_routine_that_person_did_last(rig: Rig) -> None:
    user = f"amzn1.ask.account.USUAL-{rig.kind}"
    start(rig, user, "upper-back", "echo-kitchen", ANNA)
    start(rig, user, "calves", "echo-bedroom", BEN)
    for person, routine in ((ANNA, "upper-back"), (BEN, "calves")):
        reply = rig.ask(alexa.intent("StartRoutineIntent", {"routine": ("my usual", None)}, user=user,
                                     device="echo-office", person=person))
        assert token_of(reply).startswith(f"{routine}|"), (person, said(reply))


def test_forget_my_history_forgets_only_that_persons_history(rig: Rig) -> None:
    user = f"amzn1.ask.account.FORGET-ONE-{rig.kind}"
    play_all(rig, user, start(rig, user, "calves", "echo-kitchen", ANNA), "echo-kitchen")
    play_all(rig, user, start(rig, user, "calves", "echo-bedroom", BEN), "echo-bedroom")
    play_all(rig, user, start(rig, user, "calves", "echo-office", None), "echo-office")
    done = rig.ask(alexa.intent("AMAZON.YesIntent", user=user, person=ANNA, session_attributes={"pending": "forget"}))
    assert said(done) == speech.FORGET_DONE
    assert speech.PROGRESS_FIRST_TIME.lower()[:30] in progress(rig, user, ANNA)
    assert "one session" in progress(rig, user, BEN)
    assert "one session" in progress(rig, user, None)


def test_an_odd_or_very_long_person_id_gets_a_record_of_its_own(rig: Rig) -> None:
    user = f"amzn1.ask.account.ODD-PERSON-{rig.kind}"
    odd = [f"amzn1.ask.person.{'Q' * 3000}", "amzn1.ask.person.#person#?/ünï\u200b"]
    for n, person in enumerate(odd):
        device = f"echo-{n}"
        assert play_all(rig, user, start(rig, user, "calves", device, person), device) > 1
    for person in odd:
        assert "one session" in progress(rig, user, person), person
    assert len(person_key(user, odd[0])) < len(user) + 100, "a long id is hashed"


def test_a_person_pausing_on_one_device_is_not_offered_another_persons_paused_run(rig: Rig) -> None:
    user = f"amzn1.ask.account.NOT-YOURS-{rig.kind}"
    token = start(rig, user, "calves", "echo-kitchen", ANNA)
    rig.ask(alexa.audio_event("PlaybackStopped", token, 3000, user=user, device="echo-kitchen"))
    ben = rig.ask(alexa.launch(user=user, device="echo-bedroom", person=BEN))
    assert ben.get("sessionAttributes", {}).get("pending") != "resume", said(ben)
    anna: dict[str, Any] = rig.ask(alexa.launch(user=user, device="echo-bedroom", person=ANNA))
    assert anna["sessionAttributes"].get("pending") == "resume", said(anna)


def test_a_person_is_listed_in_dynamodb_once_not_on_every_event(rig: Rig) -> None:
    if rig.faults is None:
        pytest.skip("watches the DynamoDB items put, at the proxy")
    put: list[str] = []
    count = rig.faults.count

    def watch(operation: str, body: bytes) -> None:
        if operation == "PutItem":
            put.append(json.loads(body)["Item"]["sk"]["S"])
        count(operation, body)

    rig.faults.count = watch  # the proxy's own bookkeeping, not the skill's code
    user = "amzn1.ask.account.LISTED-ONCE"
    tracks = play_all(rig, user, start(rig, user, "calves", "echo-kitchen", ANNA), "echo-kitchen")
    play_all(rig, user, start(rig, user, "upper-back", "echo-bedroom", ANNA), "echo-bedroom")
    assert tracks > 1 and len(put) > 2 * tracks
    assert len([sk for sk in put if sk.startswith("person#")]) == 1, put


def test_pause_and_resume_said_by_a_voice_alexa_did_not_recognise_stay_with_the_persons_run(rig: Rig) -> None:
    user = f"amzn1.ask.account.UNRECOGNISED-{rig.kind}"
    token = start(rig, user, "calves", "echo-kitchen", ANNA)
    rig.ask(alexa.audio_event("PlaybackStarted", token, user=user, device="echo-kitchen"))
    player = {"token": token, "offsetInMilliseconds": 5000, "playerActivity": "PLAYING"}
    rig.ask(alexa.intent("AMAZON.PauseIntent", audio_player=player, user=user, device="echo-kitchen"))
    rig.ask(alexa.audio_event("PlaybackStopped", token, 5000, user=user, device="echo-kitchen"))
    resumed = token_of(rig.ask(alexa.intent("AMAZON.ResumeIntent", user=user, device="echo-kitchen")))
    assert resumed == token
    assert play_all(rig, user, resumed, "echo-kitchen") > 1
    assert rig.runs(user) == {}, "no copy of the person's run under the account"
    assert "one session" in progress(rig, user, ANNA)
