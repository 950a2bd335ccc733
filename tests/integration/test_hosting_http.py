"""Hosting over real HTTP: one parse per request, bad input answered with 400 and one log line."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

import pytest

from skill.hosting.envelope import EnvelopeSerializer
from skill.hosting.web import MAX_BODY, create_app
from tests import alexa
from tests.server import ThreadServer, zone_api


def started(server: ThreadServer, user: str) -> str:
    """Start a routine for `user` and return the token Alexa would now be playing."""
    status, reply = alexa.post(server.url, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")},
                                                        user=user))
    assert status == 200, reply
    token = alexa.play_of(reply)["audioItem"]["stream"]["token"]
    assert alexa.post(server.url, alexa.audio_event("PlaybackStarted", token, user=user))[0] == 200
    return token


def warnings_and_worse(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("trigger_coach")]


@pytest.mark.parametrize("offset", ["12a", 1e30, -5, True, None], ids=["12a", "1e30", "-5", "true", "null"])
def test_an_offset_that_is_not_an_integer_gets_400_and_one_log_line(server, caplog, offset):
    user = f"amzn1.ask.account.OFFSET-{abs(hash(repr(offset)))}"
    token = started(server, user)
    with caplog.at_level(logging.INFO):
        status, reply = alexa.post(server.url, alexa.audio_event("PlaybackStopped", token, offset, user=user))
    assert status == 400 and reply["check"] == "envelope", reply
    assert "offsetInMilliseconds" in reply["error"]
    [line] = warnings_and_worse(caplog)
    assert line.exc_info is None and "offsetInMilliseconds" in line.getMessage()
    # Nothing was stored from it: the run still plays, and a proper stop pauses it.
    status, reply = alexa.post(server.url, alexa.audio_event("PlaybackStopped", token, 4_000, user=user))
    assert status == 200
    status, reply = alexa.post(server.url, alexa.intent("AMAZON.ResumeIntent", user=user))
    play = alexa.play_of(reply)
    assert play["audioItem"]["stream"]["offsetInMilliseconds"] == 4_000


def test_an_sdk_unreadable_envelope_gets_400_and_one_log_line_without_a_traceback(server, caplog):
    body = alexa.launch()
    body["request"]["timestamp"] = "not a time"
    with caplog.at_level(logging.INFO):
        status, reply = alexa.post(server.url, body)
    assert status == 400 and reply["check"] == "envelope", reply
    [line] = warnings_and_worse(caplog)
    assert line.exc_info is None


def test_only_our_routes_are_served_and_no_static_folder(app_settings, tmp_path, monkeypatch):
    # Flask adds /static/<path> from the folder it starts in by default; ours must serve none.
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "secret.txt").write_text("not for the world")
    monkeypatch.chdir(tmp_path)
    with ThreadServer(create_app(app_settings)) as server:
        for path in ("/static/secret.txt", "/nothing-here"):
            try:
                urllib.request.urlopen(f"{server.url}{path}", timeout=10)
            except urllib.error.HTTPError as error:
                assert error.code == 404 and json.loads(error.read())["error"]
            else:
                raise AssertionError(f"{path} was served")


@pytest.mark.parametrize("device", ["dev-\ud800", "d" * 20_000, "dev/../../x?y#z\r\n"],
                         ids=["lone-surrogate", "20000-characters", "path-characters"])
def test_a_device_id_with_odd_characters_still_gets_its_progress_answer(app_settings, device):
    with zone_api("Europe/Berlin") as zones, ThreadServer(create_app(app_settings)) as server:
        body = alexa.intent("ProgressIntent", {"period": ("this week", "this_week")}, device=device, api_endpoint=zones)
        data = json.dumps(body).encode()  # ensure_ascii: a lone surrogate travels as \\ud800
        status, reply = alexa.post(server.url, data)
    assert status == 200, reply
    said = alexa.speech_of(reply)
    assert "routine" in said and "went wrong" not in said, said  # an answer, not the apology for a crash


def test_each_request_body_is_parsed_once(app_settings, monkeypatch):
    """The SDK, the verifier and our checks share one parse of the body (it used to be three)."""
    seen: list[object] = []
    original = json.loads

    def counting_loads(text, *args, **kwargs):
        seen.append(text)
        return original(text, *args, **kwargs)

    app = create_app(app_settings)
    body = json.dumps(alexa.launch())
    monkeypatch.setattr(json, "loads", counting_loads)
    answer = app.test_client().post("/", data=body.encode(), content_type="application/json")
    monkeypatch.undo()
    assert answer.status_code == 200
    assert seen.count(body) == 1, f"the body was parsed {seen.count(body)} times"


def test_the_web_skill_reads_envelopes_through_the_shared_reader(app_settings):
    app = create_app(app_settings)
    adapter = next(iter(app.extensions["ASK_SDK_SKILL_ADAPTER"].values()))
    assert isinstance(adapter._skill.serializer, EnvelopeSerializer)


def test_a_body_over_the_size_limit_gets_413_before_anything_reads_it(server):
    body = json.dumps({**alexa.launch(), "padding": "x" * (MAX_BODY + 1)}).encode()
    status, reply = alexa.post(server.url, body)
    assert status == 413 and reply["error"]


@pytest.mark.parametrize("wanted", ["bytes=0-1,5-9", "lines=1-2"], ids=["multi-range", "unknown-unit"])
def test_a_range_request_werkzeug_cannot_serve_gets_the_whole_track_instead_of_416(server, app_settings, wanted):
    track = next(app_settings.tracks_dir.glob("*.mp3"))
    request = urllib.request.Request(f"{server.url}/audio/{track.name}", headers={"Range": wanted})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200 and reply.read() == track.read_bytes()


@pytest.mark.parametrize("device", ["dev-\ud800", "d" * 5_000], ids=["lone-surrogate", "5000-characters"])
def test_a_device_whose_id_storage_cannot_hold_still_plays_and_keeps_its_own_record(app_settings, device):
    from skill.alexa.builder import build_adapter

    user = f"amzn1.ask.account.ODD-DEVICE-{len(device)}"
    with ThreadServer(create_app(app_settings)) as server:
        start = alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user, device=device)
        status, reply = alexa.post(server.url, json.dumps(start).encode())
        assert status == 200, reply
        token = alexa.play_of(reply)["audioItem"]["stream"]["token"]
        nearly = alexa.audio_event("PlaybackNearlyFinished", token, user=user, device=device)
        status, reply = alexa.post(server.url, json.dumps(nearly).encode())
        assert status == 200 and alexa.play_of(reply)["playBehavior"] == "ENQUEUE", reply
    stored = build_adapter(app_settings).get(user)
    assert stored["playback"]["token"] == token, stored  # saved under a key storage can hold


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_timestamp_at_the_end_of_the_calendar_still_gets_its_answer(server, stamp):
    # Valid ISO 8601, but with no UTC equivalent: it raised OverflowError, and "pause" got the apology.
    start = alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user="amzn1.ask.account.EDGE")
    status, reply = alexa.post(server.url, json.dumps(start).encode())
    token = alexa.play_of(reply)["audioItem"]["stream"]["token"]
    pause = alexa.intent("AMAZON.PauseIntent", user="amzn1.ask.account.EDGE",
                         audio_player={"token": token, "offsetInMilliseconds": 3000, "playerActivity": "PLAYING"})
    pause["request"]["timestamp"] = stamp
    status, reply = alexa.post(server.url, json.dumps(pause).encode())
    assert status == 200 and [d["type"] for d in alexa.directives(reply)] == ["AudioPlayer.Stop"], reply
