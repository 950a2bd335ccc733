"""Progress that lasts: runs survive restarts, duplicates never double-count, weeks are local."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from skill.alexa.builder import build_coach
from skill.core import progress
from skill.hosting.web import create_app
from skill.storage import SQLITE_FILE_NAME, SQLiteAdapter
from tests import alexa
from tests.server import ProcessServer, ThreadServer, zone_api

USER = "amzn1.ask.account.PROGRESS-USER"


def stored(settings, user=USER) -> dict:
    return SQLiteAdapter(settings.data_dir / SQLITE_FILE_NAME).get(user)


def completed_runs(doc: dict) -> int:
    return progress.summarize(doc, datetime.now(UTC), "this_week", tz_known=True).completed


def test_completed_runs_survive_a_server_restart(app_settings):
    with ProcessServer(app_settings) as server:
        assert alexa.complete_run(server.url, "calves", USER) == 15
        assert alexa.complete_run(server.url, "calves", USER) == 15
    with ProcessServer(app_settings) as server:
        status, reply = alexa.post(server.url + "/", alexa.intent("ProgressIntent", user=USER))
    assert status == 200
    text = alexa.speech_of(reply)
    assert "two sessions" in text, text
    assert completed_runs(stored(app_settings)) == 2


def test_the_same_playback_finished_twice_and_from_two_threads_counts_once(app_settings):
    with ThreadServer(create_app(app_settings)) as server:
        url = server.url
        _, reply = alexa.post(url, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")},
                                                     user=USER))
        token = alexa.play_of(reply)["audioItem"]["stream"]["token"]
        last = None
        while token:
            alexa.post(url, alexa.audio_event("PlaybackStarted", token, user=USER))
            _, reply = alexa.post(url, alexa.audio_event("PlaybackNearlyFinished", token, user=USER))
            queued = alexa.play_of(reply)
            if queued is None:
                last = token
                break
            alexa.post(url, alexa.audio_event("PlaybackFinished", token, user=USER))
            token = queued["audioItem"]["stream"]["token"]
        # The last track's PlaybackFinished arrives twice, concurrently, then once more.
        event = alexa.audio_event("PlaybackFinished", last, 60_000, user=USER)
        statuses: list[int] = []
        threads = [threading.Thread(target=lambda: statuses.append(alexa.post(url, event)[0])) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses.append(alexa.post(url, event)[0])
    assert statuses == [200, 200, 200]
    doc = stored(app_settings)
    assert completed_runs(doc) == 1
    assert len(doc["runs"]) == 1


def test_a_run_late_on_sunday_local_time_counts_in_that_week(app_settings):
    """23:30 on Sunday in Los Angeles is Monday 07:30 UTC: it still belongs to Sunday's week."""
    zone = ZoneInfo("America/Los_Angeles")
    sunday_late = datetime(2026, 11, 15, 23, 30, tzinfo=zone)  # a Sunday
    monday_noon = datetime(2026, 11, 16, 12, 0, tzinfo=zone)
    clock = {"now": sunday_late}
    coach = build_coach(app_settings)
    coach.clock = lambda: clock["now"].astimezone(UTC)
    app = create_app(app_settings, coach=coach)
    with zone_api(zone.key) as endpoint, ThreadServer(app) as server:
        alexa.complete_run(server.url, "calves", USER, api_endpoint=endpoint)
        clock["now"] = monday_noon
        _, this_week = alexa.post(server.url, alexa.intent(
            "ProgressIntent", {"period": ("this week", "this_week")}, user=USER, api_endpoint=endpoint))
        _, last_week = alexa.post(server.url, alexa.intent(
            "ProgressIntent", {"period": ("last week", "last_week")}, user=USER, api_endpoint=endpoint))
    assert "haven't" in alexa.speech_of(this_week) or "no sessions" in alexa.speech_of(this_week).lower(), \
        alexa.speech_of(this_week)
    assert "one session" in alexa.speech_of(last_week), alexa.speech_of(last_week)
    assert "UTC" not in alexa.speech_of(last_week)


def test_an_unknown_progress_period_gets_the_this_week_answer_and_is_logged_short(app_settings, caplog):
    odd = "next-century-" + "x" * 500
    with ThreadServer(create_app(app_settings)) as server:
        alexa.complete_run(server.url, "calves", USER)
        _, known = alexa.post(server.url, alexa.intent("ProgressIntent", {"period": ("this week", "this_week")},
                                                       user=USER))
        with caplog.at_level("INFO", logger="trigger_coach.alexa"):
            status, unknown = alexa.post(server.url, alexa.intent("ProgressIntent", {"period": ("whenever", odd)},
                                                                  user=USER))
    assert status == 200
    assert alexa.speech_of(unknown) == alexa.speech_of(known) and "one session" in alexa.speech_of(unknown)
    logged = [r.getMessage() for r in caplog.records if "Unknown progress period" in r.getMessage()]
    assert logged and all(len(message) < 120 and odd not in message for message in logged)
