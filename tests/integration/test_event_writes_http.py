"""Write only what changes: a queued track taking over is saved with the next change, over HTTP.

A mid-routine PlaybackFinished, and the PlaybackStarted of the queued track after it, change
nothing that the next event's token does not prove (`skill.core.player.follows`), so they
write nothing; the next NearlyFinished, a stop or the end of the run saves the finished track
with its own change. These tests count the writes each request makes, on SQLite (a second
connection sees the database's data version move) and on dynalite (the proxy in front of it
counts write operations), and check what a resume, a late or repeated event, a voice command
and a second server process then see.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from skill.alexa.builder import build_coach
from skill.core.player import Token
from skill.storage import SQLITE_FILE_NAME
from skill.storage.sqlite import SQLiteAdapter
from tests import alexa
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401  (the session fixture)
from tests.integration.test_state_http import CALVES, TRACKS, Rig, completed, said, serve_rig, token_of
from tests.server import ProcessServer


class Counted:
    """Send requests to a rig and tell, for each, whether it wrote anything to the store."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self._watch = sqlite3.connect(rig.db_path, isolation_level=None) if rig.db_path else None
        self._seen = self._mark()

    def _mark(self) -> int:
        if self._watch is not None:  # moves whenever another connection commits
            return self._watch.execute("PRAGMA data_version").fetchone()[0]
        assert self.rig.faults is not None
        return self.rig.faults.passed

    def ask(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Return the reply to `body` and whether answering it wrote to storage."""
        reply = self.rig.ask(body)
        mark = self._mark()
        wrote, self._seen = mark != self._seen, mark
        return reply, wrote

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()


@pytest.fixture(params=["sqlite", "dynamodb"])
def counted(request: pytest.FixtureRequest, app_settings) -> Iterator[Counted]:
    with serve_rig(request, app_settings) as rig:
        watcher = Counted(rig)
        try:
            yield watcher
        finally:
            watcher.close()


def event(kind: str, token: str, user: str, **kw: Any) -> dict[str, Any]:
    return alexa.audio_event(kind, token, user=user, **kw)


def begin(counted: Counted, user: str) -> str:
    """Start the calves routine for `user`; return the first track's token."""
    reply, wrote = counted.ask(alexa.intent("StartRoutineIntent", {"routine": CALVES}, user=user))
    token = token_of(reply)
    assert token and wrote
    return token


def into_second_track(counted: Counted, user: str) -> str:
    """Start the calves routine and play into its second track, whose start writes nothing; return its token."""
    first = begin(counted, user)
    queued = token_of(counted.ask(event("PlaybackNearlyFinished", first, user))[0])
    counted.ask(event("PlaybackFinished", first, user))
    counted.ask(event("PlaybackStarted", queued, user))
    return queued


def playing(token: str, offset_ms: int = 0) -> dict[str, Any]:
    """Return the context.AudioPlayer of a device playing `token`."""
    return {"token": token, "offsetInMilliseconds": offset_ms, "playerActivity": "PLAYING"}


def test_a_mid_routine_finished_and_the_started_after_it_write_nothing_and_the_next_nearly_finished_saves_the_track(
    counted: Counted,
) -> None:
    user = f"amzn1.ask.account.WRITE-LESS-{counted.rig.kind}"
    first = begin(counted, user)
    _, wrote = counted.ask(event("PlaybackStarted", first, user))
    assert not wrote, "the first track's start changes nothing"
    reply, wrote = counted.ask(event("PlaybackNearlyFinished", first, user))
    queued = token_of(reply)
    assert queued and wrote, "what was queued must be saved: PlaybackFinished relies on it"
    _, wrote = counted.ask(event("PlaybackFinished", first, user))
    assert not wrote, "the queued track taking over is proved by every later token"
    _, wrote = counted.ask(event("PlaybackStarted", queued, user))
    assert not wrote
    [run] = counted.rig.runs(user).values()
    assert run["tracks_completed"] == 0, "nothing saved the finished track yet"
    reply, wrote = counted.ask(event("PlaybackNearlyFinished", queued, user))
    assert wrote and Token.parse(token_of(reply)).index == 2
    [run] = counted.rig.runs(user).values()
    assert (run["tracks_completed"], run["outcome"]) == (1, "in_progress")
    device = counted.rig.adapter.load(user, "device-1").devices["device-1"]
    assert (device["index"], device["token"], device["completed"]) == (1, queued, [0])


def test_a_whole_routine_writes_once_per_track_and_is_recorded_as_before(counted: Counted, app_settings) -> None:
    user = f"amzn1.ask.account.ONE-WRITE-PER-TRACK-{counted.rig.kind}"
    writes = 0
    token: str | None = begin(counted, user)
    writes += 1
    while token is not None:
        queued = None
        for kind in ("PlaybackStarted", "PlaybackNearlyFinished", "PlaybackFinished"):
            reply, wrote = counted.ask(event(kind, token, user))
            writes += wrote
            queued = queued or token_of(reply)
        token = queued
    assert writes == 1 + (TRACKS - 1) + 1, "the start, each track's queueing of the next, the end"
    [run] = completed(counted.rig, user)
    program = build_coach(app_settings).catalog.program("calves", "full")
    assert (run["tracks_completed"], run["tracks_skipped"]) == (TRACKS, 0)
    assert run["seconds_guided"] == sum(program.track_ms) // 1000
    assert counted.rig.adapter.load(user, "device-1").devices["device-1"]["activity"] == "finished"


def test_a_stop_during_a_track_whose_start_went_unsaved_pauses_that_track_and_resume_plays_it(
    counted: Counted,
) -> None:
    user = f"amzn1.ask.account.PAUSE-UNSAVED-{counted.rig.kind}"
    queued = into_second_track(counted, user)
    stop, wrote = counted.ask(alexa.intent("AMAZON.PauseIntent", audio_player=playing(queued, 7000), user=user))
    assert [d["type"] for d in alexa.directives(stop)] == ["AudioPlayer.Stop"] and wrote, "a pause is saved"
    counted.ask(event("PlaybackStopped", queued, user, offset_ms=7000))
    device = counted.rig.adapter.load(user, "device-1").devices["device-1"]
    assert (device["index"], device["offset_ms"], device["activity"]) == (1, 7000, "paused")
    [run] = counted.rig.runs(user).values()
    assert run["tracks_completed"] == 1, "the stop saved the finished first track with it"
    resumed, _ = counted.ask(alexa.intent("AMAZON.ResumeIntent", user=user))
    stream = alexa.play_of(resumed)["audioItem"]["stream"]
    assert (stream["token"], stream["offsetInMilliseconds"]) == (queued, 7000)


def test_a_voice_command_during_a_track_whose_start_went_unsaved_acts_on_that_track(counted: Counted) -> None:
    user = f"amzn1.ask.account.NEXT-UNSAVED-{counted.rig.kind}"
    queued = into_second_track(counted, user)
    reply, _ = counted.ask(alexa.intent("AMAZON.NextIntent", audio_player=playing(queued, 3000), user=user))
    assert Token.parse(token_of(reply)).index == 2, "next from the second track is the third"
    [run] = counted.rig.runs(user).values()
    assert (run["tracks_completed"], run["tracks_skipped"]) == (1, 1)


def test_a_nearly_finished_delivered_again_after_the_queued_track_began_queues_nothing(counted: Counted) -> None:
    user = f"amzn1.ask.account.LATE-NEARLY-{counted.rig.kind}"
    first = begin(counted, user)
    queued = token_of(counted.ask(event("PlaybackNearlyFinished", first, user))[0])
    counted.ask(event("PlaybackFinished", first, user))
    counted.ask(event("PlaybackStarted", queued, user, audio_player=playing(queued)))
    late, wrote = counted.ask(event("PlaybackNearlyFinished", first, user, audio_player=playing(queued, 900)))
    assert alexa.play_of(late) is None and not wrote, "the track it would queue is playing already"
    again, _ = counted.ask(event("PlaybackNearlyFinished", queued, user, audio_player=playing(queued, 25_000)))
    assert Token.parse(token_of(again)).index == 2


def test_a_finished_delivered_twice_counts_the_track_once(counted: Counted) -> None:
    user = f"amzn1.ask.account.TWICE-FINISHED-{counted.rig.kind}"
    first = begin(counted, user)
    queued = token_of(counted.ask(event("PlaybackNearlyFinished", first, user))[0])
    for _ in range(2):
        reply, wrote = counted.ask(event("PlaybackFinished", first, user))
        assert alexa.play_of(reply) is None and not wrote
    counted.ask(event("PlaybackStarted", queued, user))
    counted.ask(event("PlaybackStarted", queued, user))
    counted.ask(event("PlaybackNearlyFinished", queued, user))
    [run] = counted.rig.runs(user).values()
    assert (run["tracks_completed"], run["tracks_skipped"]) == (1, 0)


def test_two_server_processes_on_one_sqlite_file_play_one_run_between_them_without_losing_a_track(app_settings):
    user = "amzn1.ask.account.TWO-PROCESSES"
    with ProcessServer(app_settings) as one, ProcessServer(app_settings) as two:
        servers = [one, two]
        turn = 0

        def ask(body: dict[str, Any]) -> dict[str, Any]:
            nonlocal turn
            status, reply = alexa.post(servers[turn % 2].url + "/", body, timeout=30)
            turn += 1
            assert status == 200, reply
            return reply

        token: str | None = token_of(ask(alexa.intent("StartRoutineIntent", {"routine": CALVES},
                                                      user=user)))
        while token is not None:
            ask(alexa.audio_event("PlaybackStarted", token, user=user))
            queued = token_of(ask(alexa.audio_event("PlaybackNearlyFinished", token, user=user)))
            ask(alexa.audio_event("PlaybackFinished", token, user=user))
            turn += 1  # each track's events start on the other server than the last track's
            token = queued
        reply = ask(alexa.intent("ProgressIntent", {"period": None}, user=user))
    text = said(reply).lower()
    assert "one session" in text and "under way" not in text, text
    store = SQLiteAdapter(app_settings.data_dir / SQLITE_FILE_NAME)
    [run] = store.get(user)["runs"].values()
    assert (run["outcome"], run["tracks_completed"]) == ("completed", TRACKS)
