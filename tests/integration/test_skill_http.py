"""The whole dialogue through the real HTTP endpoint: waitress on loopback, real SQLite."""

from __future__ import annotations

import json
import urllib.request

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import ResponseEnvelope

from skill.core.routines import load_library
from skill.web import create_app
from tests import alexa
from tests.alexa import play_of, speech_of
from tests.server import ThreadServer

SERIALIZER = DefaultSerializer()


@pytest.fixture
def server(app_settings):
    with ThreadServer(create_app(app_settings)) as srv:
        yield srv


def ask(server, body) -> dict:
    """Post a request; assert HTTP 200 and that the reply deserializes as an Alexa response."""
    status, response = alexa.post(server.url + "/", body)
    assert status == 200, response
    envelope = SERIALIZER.deserialize(json.dumps(response), ResponseEnvelope)
    assert envelope.version == "1.0"
    return response


def no_speech(response: dict) -> None:
    body = response.get("response") or {}
    assert "outputSpeech" not in body and "card" not in body and "reprompt" not in body


def test_a_whole_dialogue_plays_pauses_resumes_moves_and_resumes_in_a_new_session(server):
    r = ask(server, alexa.launch())
    assert "Welcome" in speech_of(r) and not r["response"]["shouldEndSession"]

    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("upper back", "upper-back")}))
    play = play_of(r)
    assert play["playBehavior"] == "REPLACE_ALL" and r["response"]["shouldEndSession"] is True
    stream = play["audioItem"]["stream"]
    assert stream["url"].startswith("https://coach.example.test/audio/") and stream["url"].endswith(".mp3")
    assert stream["offsetInMilliseconds"] == 0
    assert play["audioItem"]["metadata"]["title"] == "Upper back routine"
    minutes = load_library().get("upper-back").minutes
    assert f"about {minutes} minutes" in speech_of(r) and "sharp pain" in speech_of(r)
    first = stream["token"]

    no_speech(ask(server, alexa.audio_event("PlaybackStarted", first)))
    r = ask(server, alexa.audio_event("PlaybackNearlyFinished", first, 14_000))
    no_speech(r)
    queued = play_of(r)
    assert queued["playBehavior"] == "ENQUEUE"
    assert queued["audioItem"]["stream"]["expectedPreviousToken"] == first
    second = queued["audioItem"]["stream"]["token"]
    assert second != first and second.split("|")[2] == "1"

    no_speech(ask(server, alexa.audio_event("PlaybackFinished", first, 16_000)))
    no_speech(ask(server, alexa.audio_event("PlaybackStarted", second)))

    # "Alexa, pause": the stream stops; PlaybackStopped brings the offset.
    r = ask(server, alexa.intent("AMAZON.PauseIntent", audio_player={
        "token": second, "offsetInMilliseconds": 9_000, "playerActivity": "PLAYING"}))
    assert [d["type"] for d in alexa.directives(r)] == ["AudioPlayer.Stop"]
    r = ask(server, alexa.audio_event("PlaybackStopped", second, 9_500))
    assert r["response"] == {} or not alexa.directives(r)

    # "Alexa, resume": the same token from the saved offset.
    play = play_of(ask(server, alexa.intent("AMAZON.ResumeIntent")))
    assert play["audioItem"]["stream"]["token"] == second
    assert play["audioItem"]["stream"]["offsetInMilliseconds"] == 9_500

    tokens = {second}
    for name, index in (("AMAZON.NextIntent", 2), ("AMAZON.PreviousIntent", 1),
                        ("AMAZON.RepeatIntent", 1), ("AMAZON.StartOverIntent", 0)):
        play = play_of(ask(server, alexa.intent(name)))
        token = play["audioItem"]["stream"]["token"]
        assert token.split("|")[2] == str(index), name
        assert play["audioItem"]["stream"]["offsetInMilliseconds"] == 0
        assert token not in tokens, f"{name} must use a fresh token"
        tokens.add(token)
    current = token

    # "Alexa, stop" during playback pauses; then the session is over.
    r = ask(server, alexa.intent("AMAZON.StopIntent", audio_player={
        "token": current, "offsetInMilliseconds": 4_200, "playerActivity": "PLAYING"}))
    assert [d["type"] for d in alexa.directives(r)] == ["AudioPlayer.Stop"]
    ask(server, alexa.audio_event("PlaybackStopped", current, 4_321))

    # A new session: "resume my routine" picks up where it stopped.
    r = ask(server, alexa.intent("ResumeRoutineIntent", new_session=True))
    play = play_of(r)
    assert play["audioItem"]["stream"]["token"] == current
    assert play["audioItem"]["stream"]["offsetInMilliseconds"] == 4_321
    assert "where you left off" in speech_of(r)


def test_finishing_every_track_completes_the_run_and_the_summary_counts_it(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}))
    token = play_of(r)["audioItem"]["stream"]["token"]
    finished = 0
    while token:
        ask(server, alexa.audio_event("PlaybackStarted", token))
        r = ask(server, alexa.audio_event("PlaybackNearlyFinished", token))
        nxt = play_of(r)
        ask(server, alexa.audio_event("PlaybackFinished", token))
        finished += 1
        token = nxt["audioItem"]["stream"]["token"] if nxt else None
    assert finished == 15
    # A duplicated PlaybackFinished of the last track changes nothing.
    r = ask(server, alexa.intent("ProgressIntent", {"period": None}))
    text = speech_of(r)
    assert "one session" in text.lower() or "1 session" in text.lower(), text


def test_a_routine_we_do_not_have_gets_a_helpful_answer_not_a_play(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": "knees"}))
    assert play_of(r) is None
    assert "I don't have a knees routine yet" in speech_of(r) and "upper back" in speech_of(r)
    assert r["response"]["shouldEndSession"] is False
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": None}))
    assert "which" in speech_of(r).lower() and r["response"]["reprompt"]


def test_a_device_without_audio_player_gets_an_explanation(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")},
                                 supports_audio=False))
    assert play_of(r) is None and "can't play" in speech_of(r)


def test_loop_shuffle_help_and_fallback_are_answered_politely(server):
    for name in ("AMAZON.LoopOnIntent", "AMAZON.ShuffleOffIntent"):
        assert "aren't available" in speech_of(ask(server, alexa.intent(name)))
    assert "pause" in speech_of(ask(server, alexa.intent("AMAZON.HelpIntent")))
    assert "didn't catch" in speech_of(ask(server, alexa.intent("AMAZON.FallbackIntent")))
    assert "didn't catch" in speech_of(ask(server, alexa.intent("NoSuchIntent")))


def test_commands_with_nothing_playing_say_so(server):
    for name in ("AMAZON.NextIntent", "AMAZON.PauseIntent", "AMAZON.ResumeIntent"):
        r = ask(server, alexa.intent(name))
        assert "no routine playing" in speech_of(r), name


def test_stale_and_foreign_tokens_change_nothing_and_get_an_empty_reply(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}))
    token = play_of(r)["audioItem"]["stream"]["token"]
    for bad in ("calves|someone-else|3|9", "not-ours", ""):
        r = ask(server, alexa.audio_event("PlaybackNearlyFinished", bad))
        assert not alexa.directives(r)
    r = ask(server, alexa.audio_event("PlaybackNearlyFinished", token))
    assert play_of(r)["playBehavior"] == "ENQUEUE"


def test_device_buttons_mirror_the_intents_without_speech(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}))
    first = play_of(r)["audioItem"]["stream"]["token"]
    r = ask(server, alexa.button("Next"))
    no_speech(r)
    assert play_of(r)["audioItem"]["stream"]["token"].split("|")[2] == "1"
    r = ask(server, alexa.button("Pause"))
    assert [d["type"] for d in alexa.directives(r)] == ["AudioPlayer.Stop"]
    r = ask(server, alexa.button("Play"))
    no_speech(r)
    assert play_of(r) is not None and first != play_of(r)["audioItem"]["stream"]["token"]


def test_system_exception_and_session_ended_get_empty_replies(server):
    r = ask(server, alexa.envelope({"type": "System.ExceptionEncountered",
                                    "error": {"type": "INVALID_RESPONSE", "message": "x"},
                                    "cause": {"requestId": "r"}}, session=False))
    assert not alexa.directives(r)
    r = ask(server, alexa.envelope({"type": "SessionEndedRequest", "reason": "USER_INITIATED"}))
    assert "outputSpeech" not in r["response"]


@pytest.mark.parametrize("body, content_type", [
    (b"not json", "application/json"),
    (b"", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'{"version": "1.0"}', "application/json"),
    (b'{"request": {"type": "LaunchRequest"}}', "text/plain"),
    (b"\xff\xfe\x00", "application/json"),
])
def test_transport_garbage_gets_http_400(server, body, content_type):
    req = urllib.request.Request(server.url + "/", data=body, method="POST",
                                 headers={"Content-Type": content_type})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400


def test_another_skills_application_id_gets_http_400(server):
    status, body = alexa.post(server.url + "/", alexa.launch(skill_id="amzn1.ask.skill.someone-else"))
    assert status == 400 and "application id" in body["error"]


def test_audio_is_served_with_ranges_etag_and_long_caching(server, app_settings):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}))
    name = play_of(r)["audioItem"]["stream"]["url"].rsplit("/", 1)[1]
    req = urllib.request.Request(f"{server.url}/audio/{name}", headers={"Range": "bytes=0-99"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 206 and len(resp.read()) == 100
        assert resp.headers["Content-Type"] == "audio/mpeg"
        assert resp.headers["Accept-Ranges"] == "bytes"
        assert resp.headers["ETag"] and "immutable" in resp.headers["Cache-Control"]
        assert resp.headers["Content-Range"].startswith("bytes 0-99/")
    with urllib.request.urlopen(f"{server.url}/audio/{name}", timeout=10) as resp:
        head = resp.read()[:3]
        assert resp.status == 200 and (head == b"ID3" or head[:2] == b"\xff\xfb")


@pytest.mark.parametrize("path", [
    "/audio/../pyproject.toml", "/audio/%2e%2e%2fpyproject.toml", "/audio/0000000000000000.mp3",
    "/audio/manifests", "/audio/..%2F..%2Fetc%2Fpasswd",
])
def test_audio_paths_cannot_escape_the_folder_or_find_missing_tracks(server, path):
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server.url + path, timeout=10)
    assert err.value.code == 404


def test_forget_my_history_asks_first_and_then_clears_every_run(server):
    user = "amzn1.ask.account.FORGETFUL"
    alexa.complete_run(server.url, "calves", user)
    r = ask(server, alexa.intent("ForgetHistoryIntent", user=user))
    assert "Do you want me to forget" in speech_of(r)
    pending = r["sessionAttributes"]
    r = ask(server, alexa.intent("AMAZON.NoIntent", user=user, session_attributes=pending))
    assert "kept your history" in speech_of(r)
    assert "one session" in speech_of(ask(server, alexa.intent("ProgressIntent", user=user)))
    r = ask(server, alexa.intent("ForgetHistoryIntent", user=user))
    r = ask(server, alexa.intent("AMAZON.YesIntent", user=user, session_attributes=r["sessionAttributes"]))
    assert "forgotten your routine history" in speech_of(r)
    assert "haven't done a routine yet" in speech_of(ask(server, alexa.intent("ProgressIntent", user=user)))


def test_launch_offers_to_resume_a_paused_run_and_yes_resumes_it(server):
    user = "amzn1.ask.account.RETURNING"
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user))
    token = play_of(r)["audioItem"]["stream"]["token"]
    ask(server, alexa.audio_event("PlaybackStopped", token, 3_000, user=user))
    r = ask(server, alexa.launch(user=user))
    assert "pick up where you left off" in speech_of(r)
    r = ask(server, alexa.intent("AMAZON.YesIntent", user=user, session_attributes=r["sessionAttributes"]))
    stream = play_of(r)["audioItem"]["stream"]
    assert (stream["token"], stream["offsetInMilliseconds"]) == (token, 3_000)


def test_an_absurdly_long_slot_value_is_not_read_back(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": "knee " * 5000}))
    assert "I didn't catch which routine" in speech_of(r) and len(speech_of(r)) < 400


def test_resume_while_we_believe_it_plays_restarts_the_stream_where_alexa_says_it_was(server):
    user = "amzn1.ask.account.LOST-STOP"
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user))
    token = play_of(r)["audioItem"]["stream"]["token"]
    r = ask(server, alexa.intent("AMAZON.ResumeIntent", user=user, audio_player={
        "token": token, "offsetInMilliseconds": 2_500, "playerActivity": "STOPPED"}))
    stream = play_of(r)["audioItem"]["stream"]
    assert (stream["token"], stream["offsetInMilliseconds"]) == (token, 2_500)
