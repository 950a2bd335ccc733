"""Quick or full, and starting without a name, through the real HTTP endpoint and real audio.

The suite renders its test routines at both lengths into var/test-audio (tests/conftest.py);
the quick upper back is decoded here and measured.
"""

from __future__ import annotations

import json
import sqlite3

from skill.config import Settings
from skill.content.manifest import load_manifest
from skill.core.lengths import version
from skill.core.player import Token
from skill.core.routines import load_library
from skill.core.timeline import expand
from skill.render.encode import decode
from skill.render.layout import SAMPLE_RATE
from skill.storage import SQLITE_FILE_NAME
from tests import alexa
from tests.alexa import ask, play_of, speech_of

UPPER = ("upper back", "upper-back")


def is_quick(token: str) -> bool:
    """Return whether a token names a quick run (its length part; a screen tag may follow)."""
    parsed = Token.parse(token)
    return parsed is not None and parsed.length == "quick"


def manifest_files(settings: Settings, key: str) -> list[str]:
    manifest = load_manifest(key, settings)
    assert manifest is not None, f"{key} is not rendered"
    return [t.file for t in manifest.tracks]


def play_to_end(server, token: str, user: str) -> list[str]:
    """Let a run's tracks play out, as a device would; return the URLs of the tracks queued."""
    urls = []
    while True:
        ask(server, alexa.audio_event("PlaybackStarted", token, user=user))
        queued = play_of(ask(server, alexa.audio_event("PlaybackNearlyFinished", token, user=user)))
        last = ask(server, alexa.audio_event("PlaybackFinished", token, user=user))
        if queued is None:
            assert play_of(last) is None
            return urls
        token = queued["audioItem"]["stream"]["token"]
        urls.append(queued["audioItem"]["stream"]["url"])
        assert len(urls) < 100, "the run never ends"


def test_the_rendered_quick_upper_back_decodes_to_four_to_six_and_a_half_minutes(app_settings):
    quick = load_manifest("upper-back.quick", app_settings)
    full = load_manifest("upper-back", app_settings)
    assert quick is not None and full is not None and quick.length == "quick"
    samples = sum(len(decode(app_settings.tracks_dir / t.file)) for t in quick.tracks)
    minutes = samples / SAMPLE_RATE / 60
    print(f"quick upper back: {minutes:.2f} min decoded, {len(quick.tracks)} tracks; "
          f"full: {full.duration_ms / 60000:.2f} min, {len(full.tracks)} tracks")
    assert 4.0 <= minutes <= 6.5
    assert abs(minutes * 60000 - quick.duration_ms) < 1000  # the manifest tells the truth
    assert len(quick.tracks) == len(expand(version(load_library().get("upper-back"), "quick")))
    # tracks that sound the same are one file; the shortened holds are their own
    assert set(manifest_files(app_settings, "upper-back.quick")) - set(manifest_files(app_settings, "upper-back"))
    assert manifest_files(app_settings, "upper-back.quick")[0] == manifest_files(app_settings, "upper-back")[0]


def test_a_quick_routine_plays_the_quick_tracks_to_the_end_and_is_counted_with_its_length(server, app_settings):
    user = "amzn1.ask.account.QUICK"
    quick_files = manifest_files(app_settings, "upper-back.quick")
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": UPPER, "length": ("quick", "quick")},
                                 user=user))
    minutes = version(load_library().get("upper-back"), "quick").minutes
    assert f"your quick upper back routine. It takes about {minutes} minutes" in speech_of(r)
    play = play_of(r)
    token = play["audioItem"]["stream"]["token"]
    assert is_quick(token) and play["audioItem"]["stream"]["url"].endswith(quick_files[0])
    assert play["audioItem"]["metadata"]["title"] == "Upper back, quick"
    heard = [play["audioItem"]["stream"]["url"], *play_to_end(server, token, user)]
    assert [u.rsplit("/", 1)[1] for u in heard] == quick_files
    with sqlite3.connect(app_settings.data_dir / SQLITE_FILE_NAME) as db:
        docs = [json.loads(d) for (d,) in db.execute("SELECT doc FROM runs WHERE user_id = ?", (user,))]
    assert len(docs) == 1
    run = docs[0]
    assert (run["length"], run["outcome"], run["routine_id"]) == ("quick", "completed", "upper-back")
    assert run["track_count"] == run["tracks_completed"] == len(quick_files)
    quick = load_manifest("upper-back.quick", app_settings)
    assert run["seconds_guided"] == quick.duration_ms // 1000


def launch_past_check_in(server, user: str) -> dict:
    """Launch; when the coach first asks how the finished run felt, answer it and return the offer."""
    r = ask(server, alexa.launch(user=user))
    attrs = r.get("sessionAttributes") or {}
    if "check_in" not in attrs:
        return r
    return ask(server, alexa.intent("FeelingIntent", {"feeling": ("better", "better")}, user=user,
                                    session_attributes=attrs))


def test_the_launch_offer_remembers_quick_and_the_full_one_plays_the_whole_routine(server, app_settings):
    user = "amzn1.ask.account.OFFER"
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": UPPER, "length": ("short", "quick")}, user=user))
    play_to_end(server, play_of(r)["audioItem"]["stream"]["token"], user)
    r = launch_past_check_in(server, user)
    assert "quick upper back routine again" in speech_of(r)
    pending = r["sessionAttributes"]["pending"]
    assert pending == "start:upper-back:quick"
    # "the full one": a length and no name, answered in the session that offered
    r = ask(server, alexa.intent("StartRoutineIntent", {"length": ("the full", "full")}, user=user,
                                 session_attributes={"pending": pending}))
    play = play_of(r)
    assert play is not None and not is_quick(play["audioItem"]["stream"]["token"])
    assert play["audioItem"]["stream"]["url"].endswith(manifest_files(app_settings, "upper-back")[0])
    play_to_end(server, play["audioItem"]["stream"]["token"], user)
    r = launch_past_check_in(server, user)
    assert "your upper back routine again" in speech_of(r) and "quick" not in speech_of(r)
    # and a yes to a quick offer starts the quick one
    ask(server, alexa.intent("StartRoutineIntent", {"routine": UPPER, "length": ("five minute", None)}, user=user))
    r = ask(server, alexa.intent("AMAZON.YesIntent", user=user,
                                 session_attributes={"pending": "start:upper-back:quick"}))
    assert is_quick(play_of(r)["audioItem"]["stream"]["token"])


def test_start_my_usual_plays_the_last_routine_at_its_last_length_and_asks_someone_new(server, app_settings):
    user = "amzn1.ask.account.USUAL"
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("usual", None)}, user=user))
    assert play_of(r) is None and not r["response"]["shouldEndSession"]
    assert "haven't done a routine together yet" in speech_of(r) and "Which routine" in speech_of(r)
    ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves"), "length": ("quick", "quick")},
                             user=user))
    for said in ({}, {"routine": ("my usual", None)}, {"routine": ("routine", None)}):
        r = ask(server, alexa.intent("StartRoutineIntent", said, user=user))
        stream = play_of(r)["audioItem"]["stream"]
        assert stream["token"].startswith("calves|") and is_quick(stream["token"]), said
        assert stream["url"].endswith(manifest_files(app_settings, "calves.quick")[0])


def test_an_unknown_length_word_falls_back_to_the_length_chosen_last(server):
    user = "amzn1.ask.account.ODD"
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": UPPER, "length": ("medium rare", None)}, user=user))
    token = play_of(r)["audioItem"]["stream"]["token"]
    assert not is_quick(token)
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": UPPER, "length": ("x" * 500, None)}, user=user))
    assert play_of(r) is not None
