"""Screens outside playback over the real HTTP endpoint: an Echo Show gets APL, a speaker never does."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import ResponseEnvelope
from ask_sdk_model.interfaces.alexa.presentation.apl import RenderDocumentDirective

from skill.alexa import apl
from skill.alexa.handlers.shared import FEATURED
from skill.text import en_US as speech
from tests import alexa
from tests.alexa import ask, play_of, speech_of
from tests.integration.dynalite_server import E2E_DIR

SERIALIZER = DefaultSerializer()
RENDER = "Alexa.Presentation.APL.RenderDocument"
VALIDATOR = E2E_DIR / "apl-validate.js"


def screen_of(response: dict) -> dict | None:
    """Return the RenderDocument directive of a response, checked through the SDK's APL type."""
    found = [d for d in alexa.directives(response) if d["type"] == RENDER]
    assert len(found) <= 1, found
    if not found:
        return None
    typed = SERIALIZER.deserialize(json.dumps(response), ResponseEnvelope).response.directives
    assert any(isinstance(d, RenderDocumentDirective) for d in typed)
    return found[0]


def without_screen(response: dict) -> dict:
    """Return the response with its RenderDocument directive taken out."""
    bare = copy.deepcopy(response)
    body = bare["response"]
    body["directives"] = [d for d in body.get("directives", []) if d["type"] != RENDER]
    if not body["directives"]:
        del body["directives"]
    return bare


def test_launch_and_the_routine_list_show_every_routine_on_a_screen_featured_first(server):
    for request in (alexa.launch(screen=True), alexa.intent("ListRoutinesIntent", screen=True)):
        r = ask(server, request)
        shown = screen_of(r)
        assert shown is not None and shown["token"] == apl.ROUTINES_TOKEN
        items = shown["datasources"]["routines"]["items"]
        assert [i["id"] for i in items][:len(FEATURED)] == list(FEATURED)
        calves = next(i for i in items if i["id"] == "calves")
        assert calves["name"] == "Calves" and calves["kit"] == ["foam roller"]
        assert r["response"]["shouldEndSession"] is False  # the question stays open, as by voice


@pytest.mark.parametrize("voice_only", [
    {},  # a speaker: AudioPlayer and nothing else
    {"supports_audio": False},  # no interfaces at all
], ids=["audio-player-only", "no-interfaces"])
def test_voice_only_devices_get_exactly_the_response_a_screen_gets_without_its_screen(server, voice_only):
    user = "amzn1.ask.account.VOICE-" + ("AUDIO" if not voice_only else "NONE")
    alexa.complete_run(server.url, "calves", user)  # something for the summary to say
    pairs = [
        (alexa.launch(user=user + "-A", **voice_only), alexa.launch(user=user + "-B", screen=True,
                                                                    supports_audio=not voice_only)),
        (alexa.intent("ListRoutinesIntent", user=user, **voice_only),
         alexa.intent("ListRoutinesIntent", user=user, screen=True, supports_audio=not voice_only)),
        (alexa.intent("ProgressIntent", user=user, **voice_only),
         alexa.intent("ProgressIntent", user=user, screen=True, supports_audio=not voice_only)),
    ]
    for spoken, touched in pairs:
        voice, shown = ask(server, spoken), ask(server, touched)
        assert screen_of(voice) is None, voice
        assert screen_of(shown) is not None, shown
        assert without_screen(shown) == voice
    assert "session" in speech_of(voice)


def test_the_weekly_summary_on_a_screen_charts_todays_minutes_and_the_areas_worked(server):
    user = "amzn1.ask.account.CHART"
    data = screen_of(ask(server, alexa.intent("ProgressIntent", user=user, screen=True)))["datasources"]["summary"]
    assert data["totals"] == "No sessions" and data["areas"] == speech.SCREEN_NO_AREAS
    assert [d["height"] for d in data["days"]] == ["0%"] * 7

    alexa.complete_run(server.url, "calves", user)
    r = ask(server, alexa.intent("ProgressIntent", user=user, screen=True))
    shown = screen_of(r)
    assert shown["token"] == apl.SUMMARY_TOKEN and r["response"]["shouldEndSession"] is True
    data = shown["datasources"]["summary"]
    assert data["title"] == "This week" and data["areas"] == "Calves"
    assert data["totals"].startswith("1 session · ")
    worked = [d for d in data["days"] if d["height"] != "0%"]
    assert len(worked) == 1 and worked[0]["height"] == f"{apl.BAR_MAX_PERCENT:.2f}%"
    today = datetime.now(UTC).date()  # no time zone known here: the summary counts in UTC
    assert worked[0]["day"] in {today.isoformat(), (today - timedelta(days=1)).isoformat()}
    assert worked[0]["minutes"] > 0 and worked[0]["value"] == str(round(worked[0]["minutes"]))
    assert [d["label"] for d in data["days"]] == list(speech.SCREEN_WEEKDAYS)


def test_touching_a_routine_starts_it_exactly_as_saying_its_name_does(server):
    touched = ask(server, alexa.user_event([apl.START, "calves"], user="amzn1.ask.account.TOUCH"))
    said = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")},
                                    user="amzn1.ask.account.SAY"))
    play, spoken_play = play_of(touched), play_of(said)
    assert play is not None and play["playBehavior"] == "REPLACE_ALL"
    assert touched["response"]["shouldEndSession"] is True  # a Play ends the session, screen or not
    assert speech_of(touched) == speech_of(said)
    assert play["audioItem"]["stream"]["url"] == spoken_play["audioItem"]["stream"]["url"]
    assert play["audioItem"]["metadata"] == spoken_play["audioItem"]["metadata"]
    assert screen_of(touched) is None  # during playback the AudioPlayer's own screen shows the track

    token = play["audioItem"]["stream"]["token"]
    queued = play_of(ask(server, alexa.audio_event("PlaybackNearlyFinished", token,
                                                   user="amzn1.ask.account.TOUCH")))
    assert queued["audioItem"]["stream"]["expectedPreviousToken"] == token  # the run is under way


@pytest.mark.parametrize("arguments", [
    [apl.START, "no-such-routine"], [apl.START], [], ["stop", "calves"], [apl.START, 12],
    [apl.START, "x" * 5000], "start calves", None, [{"start": "calves"}], [apl.START, "calves", "more"],
])
def test_a_touch_that_names_no_routine_of_ours_gets_a_spoken_answer_and_a_question(server, arguments):
    r = ask(server, alexa.user_event(arguments))
    assert play_of(r) is None
    assert speech.SCREEN_TOUCH_UNKNOWN in speech_of(r)
    assert r["response"]["shouldEndSession"] is False and r["response"]["reprompt"]


def test_a_touch_event_without_a_session_is_answered_and_closes(server):
    r = ask(server, alexa.user_event(["nonsense"], session=False))
    assert speech_of(r) == speech.ssml(speech.SCREEN_TOUCH_UNKNOWN_CLOSED)
    assert r["response"]["shouldEndSession"] is True
    r = ask(server, alexa.user_event([apl.START, "calves"], session=False))
    assert play_of(r) is not None


def test_a_screen_older_than_our_apl_version_gets_the_voice_response(server):
    old = alexa.launch(screen=True)
    old["context"]["System"]["device"]["supportedInterfaces"]["Alexa.Presentation.APL"]["runtime"] = {
        "maxVersion": "1.4"}
    assert screen_of(ask(server, old)) is None


def test_every_document_the_server_sends_passes_amazons_apl_validator(server):
    node = shutil.which("node")
    assert node, "The APL check needs Node.js 18+ (apt-get install nodejs npm)."
    assert (E2E_DIR / "node_modules" / "apl-suggester").is_dir(), (
        f"apl-suggester is not installed; run `npm ci` in {E2E_DIR} (./dev test does).")
    user = "amzn1.ask.account.VALIDATE"
    alexa.complete_run(server.url, "calves", user)
    sent = [screen_of(ask(server, alexa.launch(user=user, screen=True))),
            screen_of(ask(server, alexa.intent("ProgressIntent", user=user, screen=True))),
            screen_of(ask(server, alexa.intent("ProgressIntent", {"period": ("this month", "this_month")},
                                               user=user, screen=True)))]
    documents = [d["document"] for d in sent]
    assert sent[2]["datasources"]["summary"]["title"] == "This month"
    spoiled = copy.deepcopy(documents[0])  # proof that the checker looks: one bad size
    spoiled["mainTemplate"]["items"][0]["item"]["items"][0]["fontSize"] = "huge"
    result = subprocess.run([node, str(VALIDATOR)], input=json.dumps([*documents, spoiled]),
                            capture_output=True, text=True, timeout=120, check=False, cwd=E2E_DIR)
    assert result.returncode == 0, result.stderr[-2000:]
    *findings, caught = json.loads(result.stdout)
    assert findings == [[], [], []], findings
    assert any(f["path"].endswith("/fontSize") for f in caught), caught


def test_asking_while_a_routine_plays_leaves_the_players_screen_alone(server):
    user = "amzn1.ask.account.PLAYING"
    play = play_of(ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")},
                                            user=user, screen=True)))
    token = play["audioItem"]["stream"]["token"]
    ask(server, alexa.audio_event("PlaybackStarted", token, user=user, screen=True))
    playing = {"token": token, "offsetInMilliseconds": 5_000, "playerActivity": "PLAYING"}
    for name in ("ProgressIntent", "ListRoutinesIntent"):
        r = ask(server, alexa.intent(name, user=user, screen=True, audio_player=playing))
        assert speech_of(r) and screen_of(r) is None, name
    paused = {**playing, "playerActivity": "PAUSED"}
    assert screen_of(ask(server, alexa.intent("ProgressIntent", user=user, screen=True, audio_player=paused)))
