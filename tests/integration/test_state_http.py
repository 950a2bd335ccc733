"""State that never stops playback, never mixes up devices and loses nothing: over HTTP, on
SQLite and on dynalite.

Each test runs the real skill behind a real loopback server, once with a SQLite file and once
with DynamoDB (a real dynalite behind a loopback proxy that refuses writes on demand, speaking
DynamoDB's own protocol). Faults come from outside our code: SQLite's write lock held by a
second connection, a journal filled to its reserved size, DynamoDB refusing writes.
"""

from __future__ import annotations

import html
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from skill.alexa.builder import build_coach
from skill.core import progress
from skill.core.player import Token
from skill.hosting.web import create_app
from skill.storage import SQLITE_FILE_NAME
from skill.storage.dynamodb import DynamoAdapter
from skill.storage.records import Changes
from skill.storage.sqlite import SQLiteAdapter
from skill.text import en_US as speech
from tests import alexa
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401  (the session fixture)
from tests.integration.dynamo_faults import WriteFaults, faulty_dynamodb
from tests.integration.test_storage import Store as StoreDirs
from tests.integration.test_storage import legacy_document, put_legacy
from tests.server import ThreadServer
from tests.together import at_once

CALVES = ("calves", "calves")
TRACKS = 15


def said(reply: dict[str, Any]) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", alexa.speech_of(reply)))


def token_of(reply: dict[str, Any]) -> str | None:
    play = alexa.play_of(reply)
    return play["audioItem"]["stream"]["token"] if play else None


@dataclass
class Rig:
    """The skill served on one store, and the switches that make that store fail."""

    kind: str
    url: str
    adapter: SQLiteAdapter | DynamoAdapter
    db_path: Path | None = None
    faults: WriteFaults | None = None

    def ask(self, body: dict[str, Any]) -> dict[str, Any]:
        status, reply = alexa.post(self.url + "/", body, timeout=30)
        assert status == 200, reply
        return reply

    @contextmanager
    def every_write_failing(self) -> Iterator[None]:
        """Make every save fail: the database locked and its journal full, or DynamoDB refusing."""
        if self.faults is not None:
            self.faults.fail_all()
            try:
                yield
            finally:
                self.faults.heal()
            return
        assert isinstance(self.adapter, SQLiteAdapter)
        filler = {"user_id": "amzn1.ask.account.FILLER",
                  "changes": Changes("none", datetime.now(UTC)).to_json()}
        while self.adapter.journal.append(filler):
            pass
        with self.write_lock():
            yield

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        assert self.db_path is not None
        blocker = sqlite3.connect(self.db_path, isolation_level=None, timeout=5)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()

    @contextmanager
    def next_writes_failing(self, count: int) -> Iterator[None]:
        """Make the next saves fail for a while: SQLite locked, or DynamoDB refusing `count` writes."""
        if self.faults is not None:
            self.faults.fail_next(count)
            yield
            return
        with self.write_lock():
            yield

    def runs(self, user: str) -> dict[str, dict[str, Any]]:
        return self.adapter.get(user).get("runs", {})


@contextmanager
def serve_rig(request: pytest.FixtureRequest, app_settings) -> Iterator[Rig]:
    """Serve the skill on the store `request.param` names ("sqlite" or "dynamodb"); yield its rig."""
    coach = build_coach(app_settings)
    if request.param == "sqlite":
        db_path = app_settings.data_dir / SQLITE_FILE_NAME
        adapter = SQLiteAdapter(db_path, busy_timeout=0.1, retry_budget=0.3, journal_bytes=8192)
        with ThreadServer(create_app(app_settings, coach=coach, adapter=adapter)) as server:
            yield Rig("sqlite", server.url, adapter, db_path=db_path)
        return
    endpoint = request.getfixturevalue("dynalite_endpoint")
    with faulty_dynamodb(endpoint) as (proxy, faults):
        adapter = DynamoAdapter(f"coach-{uuid.uuid4().hex[:10]}", endpoint_url=proxy, create_table=True,
                                save_budget=3.0, quick_budget=0.05)
        with ThreadServer(create_app(app_settings, coach=coach, adapter=adapter)) as server:
            yield Rig("dynamodb", server.url, adapter, faults=faults)


@pytest.fixture(params=["sqlite", "dynamodb"])
def rig(request: pytest.FixtureRequest, app_settings) -> Iterator[Rig]:
    with serve_rig(request, app_settings) as served:
        yield served


def start(rig: Rig, user: str, device: str = "device-1") -> str:
    token = token_of(rig.ask(alexa.intent("StartRoutineIntent", {"routine": CALVES}, user=user, device=device)))
    assert token, "the start must play the first track"
    return token


def play_track(rig: Rig, user: str, token: str, device: str = "device-1") -> str | None:
    """Play one track as an Echo does; return the token of the track queued after it."""
    rig.ask(alexa.audio_event("PlaybackStarted", token, user=user, device=device))
    queued = token_of(rig.ask(alexa.audio_event("PlaybackNearlyFinished", token, user=user, device=device)))
    rig.ask(alexa.audio_event("PlaybackFinished", token, user=user, device=device))
    return queued


def completed(rig: Rig, user: str) -> list[dict[str, Any]]:
    return [r for r in rig.runs(user).values() if r["outcome"] == "completed"]


def test_a_routine_plays_to_the_end_with_storage_failing_on_every_write(rig: Rig) -> None:
    user = f"amzn1.ask.account.NO-WRITES-{rig.kind}"
    played: list[int] = []
    with rig.every_write_failing():
        token: str | None = start(rig, user)
        while token is not None:
            played.append(Token.parse(token).index)
            token = play_track(rig, user, token)
        assert rig.runs(user) == {}, "nothing could be written"
    assert played == list(range(TRACKS)), "every track was queued from the token alone"
    status = rig.ask(alexa.intent("ProgressIntent", {"period": None}, user=user))
    assert speech.ERROR not in said(status)


def test_a_run_whose_saves_failed_is_saved_complete_by_the_event_after_storage_comes_back(rig: Rig) -> None:
    user = f"amzn1.ask.account.WRITES-BACK-{rig.kind}"
    with rig.every_write_failing():
        token: str | None = start(rig, user)
        for _ in range(TRACKS - 1):
            token = play_track(rig, user, token)
    assert Token.parse(token).index == TRACKS - 1
    assert play_track(rig, user, token) is None
    [run] = completed(rig, user)
    assert (run["tracks_completed"], run["tracks_skipped"]) == (TRACKS, 0)
    assert "one session" in said(rig.ask(alexa.intent("ProgressIntent", {"period": None}, user=user))).lower()


def test_four_devices_of_one_account_each_complete_their_own_run_at_the_same_time(rig: Rig) -> None:
    user = f"amzn1.ask.account.FAMILY-{rig.kind}"
    devices = [f"echo-{n}" for n in range(4)]
    def listen(device: str) -> int:
        token: str | None = start(rig, user, device)
        count = 0
        while token is not None:
            token = play_track(rig, user, token, device)
            count += 1
        return count

    finished = at_once(listen, devices)
    assert finished == {d: TRACKS for d in devices}
    runs = completed(rig, user)
    assert len(runs) == 4 and all(r["tracks_completed"] == TRACKS for r in runs)
    reply = rig.ask(alexa.intent("ProgressIntent", {"period": None}, user=user))
    assert "four sessions" in said(reply).lower() and "under way" not in said(reply), said(reply)


def test_thirty_simultaneous_start_pairs_leave_no_orphan_run(rig: Rig) -> None:
    user = f"amzn1.ask.account.DOUBLE-START-{rig.kind}"
    for _ in range(30):
        replies = list(at_once(
            lambda _: rig.ask(alexa.intent("StartRoutineIntent", {"routine": CALVES}, user=user)), range(2), timeout=60,
        ).values())
        assert len(replies) == 2 and all(token_of(r) for r in replies)
    runs = rig.runs(user)
    assert len(runs) == 60
    still = [run_id for run_id, r in runs.items() if r["outcome"] == "in_progress"]
    playing = rig.adapter.get(user)["playback"]["run_id"]
    assert still == [playing], f"orphans: {sorted(set(still) - {playing})}"
    reply = said(rig.ask(alexa.intent("ProgressIntent", {"period": None}, user=user))).lower()
    assert "one session" in reply and "it's still under way" in reply, reply


def test_a_late_playback_started_leaves_the_run_paused(rig: Rig) -> None:
    user = f"amzn1.ask.account.LATE-START-{rig.kind}"
    token = start(rig, user)
    early = datetime.now(UTC) - timedelta(seconds=30)
    stamp = early.strftime("%Y-%m-%dT%H:%M:%SZ")
    player = {"token": token, "offsetInMilliseconds": 4000, "playerActivity": "PLAYING"}
    rig.ask(alexa.intent("AMAZON.PauseIntent", audio_player=player, user=user))
    rig.ask(alexa.audio_event("PlaybackStopped", token, 4000, user=user))
    late = alexa.audio_event("PlaybackStarted", token, user=user)
    late["request"]["timestamp"] = stamp  # sent before the stop, delivered after it
    rig.ask(late)
    assert rig.adapter.get(user)["playback"]["activity"] == "paused"
    reply = rig.ask(alexa.launch(user=user))
    assert reply["sessionAttributes"].get("pending") == "resume", said(reply)
    resumed = rig.ask(alexa.intent("AMAZON.YesIntent", user=user, session_attributes={"pending": "resume"}))
    play = alexa.play_of(resumed)
    assert play["audioItem"]["stream"]["token"] == token and play["audioItem"]["stream"]["offsetInMilliseconds"] == 4000


def test_resume_on_another_device_offers_the_run_paused_most_recently(rig: Rig) -> None:
    user = f"amzn1.ask.account.MOVE-{rig.kind}"
    older = start(rig, user, "kitchen")
    rig.ask(alexa.audio_event("PlaybackStopped", older, 1000, user=user, device="kitchen"))
    newer = start(rig, user, "bedroom")
    rig.ask(alexa.audio_event("PlaybackStopped", newer, 2000, user=user, device="bedroom"))
    reply = rig.ask(alexa.intent("ResumeRoutineIntent", user=user, device="office"))
    stream = alexa.play_of(reply)["audioItem"]["stream"]
    assert Token.parse(stream["token"])[:3] == Token.parse(newer)[:3], "the same track of the same run"
    assert stream["offsetInMilliseconds"] == 2000
    devices = rig.adapter.load(user, "office").devices
    assert (devices["office"]["run_id"], devices["bedroom"]["activity"]) == (Token.parse(newer).run_id, "idle")


def test_a_run_moved_to_a_device_that_played_its_own_run_plays_there_to_the_end(rig: Rig) -> None:
    user = f"amzn1.ask.account.MOVE-AFTER-{rig.kind}"
    paused = start(rig, user, "kitchen")
    rig.ask(alexa.audio_event("PlaybackStarted", paused, user=user, device="kitchen"))
    rig.ask(alexa.audio_event("PlaybackStopped", paused, 4000, user=user, device="kitchen"))
    own: str | None = start(rig, user, "bedroom")  # a newer run, so bedroom's numbers are higher
    while own is not None:
        own = play_track(rig, user, own, "bedroom")
    reply = rig.ask(alexa.intent("AMAZON.ResumeIntent", user=user, device="bedroom"))
    stream = alexa.play_of(reply)["audioItem"]["stream"]
    moved, left = Token.parse(stream["token"]), Token.parse(paused)
    assert (moved.run_id, moved.index, stream["offsetInMilliseconds"]) == (left.run_id, 0, 4000)
    start(rig, user, "kitchen")  # someone starts a routine on the kitchen Echo at once
    assert rig.runs(user)[left.run_id]["outcome"] == "in_progress", "it is the bedroom's now"
    token: str | None = stream["token"]
    played = 0
    while token is not None:
        if played == 3:  # and again once the moved run's record names the bedroom
            start(rig, user, "kitchen")
            assert rig.runs(user)[left.run_id]["outcome"] == "in_progress", "it plays in the bedroom"
        token = play_track(rig, user, token, "bedroom")
        played += 1
    assert played == TRACKS, "the moved run played on to its last track"
    runs = rig.runs(user)
    assert runs[left.run_id]["outcome"] == "completed" and runs[left.run_id]["tracks_completed"] == TRACKS
    reply = said(rig.ask(alexa.intent("ProgressIntent", {"period": None}, user=user))).lower()
    assert "three sessions" in reply and "finished two and one is still under way" in reply, reply


def test_a_run_whose_start_was_not_saved_is_stored_once_with_one_start(rig: Rig) -> None:
    # The run is caught up from its token without a start; each event gave it a start of "now",
    # and DynamoDB keys runs by their start: one run became an item per second (hostile review).
    user = f"amzn1.ask.account.START-LOST-{rig.kind}"
    with rig.every_write_failing():
        token: str | None = start(rig, user)
    played = 0
    while token is not None:
        token = play_track(rig, user, token)
        played += 1
        if played <= 2:
            time.sleep(1.1)  # starts are stored to the second
    assert played == TRACKS
    [run] = rig.runs(user).values()
    assert run["outcome"] == "completed"
    if isinstance(rig.adapter, DynamoAdapter):
        items = rig.adapter._query(user, "run#", "run$")
        assert len(items) == 1, [item["sk"]["S"] for item, _ in items]


@pytest.mark.parametrize("rig", ["sqlite"], indirect=True)  # a folder to take away; the journal keeps the end
def test_a_run_finished_while_storage_cannot_even_be_read_is_stored_complete_when_it_is_back(
    rig: Rig, app_settings,
) -> None:
    # Hostile review: with the data folder gone from track 3 on (a lost volume), the run played
    # to its end but stayed "in progress" with 2 tracks, the summary called it under way and
    # "resume" started it again at track 3.
    user = "amzn1.ask.account.UNREADABLE-AT-END"
    token: str | None = start(rig, user)
    for _ in range(3):
        token = play_track(rig, user, token)
    data = app_settings.data_dir
    data.rename(data.with_name("data.away"))  # reads and writes fail alike
    try:
        while token is not None:
            token = play_track(rig, user, token)
    finally:
        data.with_name("data.away").rename(data)
    [run] = completed(rig, user)
    assert (run["tracks_completed"], run["tracks_skipped"]) == (TRACKS, 0)
    reply = said(rig.ask(alexa.intent("ProgressIntent", {"period": None}, user=user))).lower()
    assert "one session" in reply and "under way" not in reply, reply
    assert rig.adapter.load(user, "device-1").devices["device-1"]["activity"] == "finished"


def test_a_finished_run_survives_a_failed_save(rig: Rig) -> None:
    user = f"amzn1.ask.account.FINISH-FAILS-{rig.kind}"
    token: str | None = start(rig, user)
    for _ in range(TRACKS - 1):
        token = play_track(rig, user, token)
    rig.ask(alexa.audio_event("PlaybackStarted", token, user=user))
    rig.ask(alexa.audio_event("PlaybackNearlyFinished", token, user=user))
    with rig.next_writes_failing(3):
        rig.ask(alexa.audio_event("PlaybackFinished", token, user=user))
    [run] = completed(rig, user)
    assert run["tracks_completed"] == TRACKS
    if rig.faults is not None:
        assert rig.faults.refused == 3, "the save was refused, then retried within the budget"


def test_a_migrated_document_summarises_over_http_exactly_as_before(app_settings, tmp_path, request) -> None:
    for kind in ("sqlite", "dynamodb"):
        endpoint = request.getfixturevalue("dynalite_endpoint") if kind == "dynamodb" else None
        dirs = StoreDirs(kind, tmp_path / kind, f"coach-{uuid.uuid4().hex[:10]}", endpoint)
        (tmp_path / kind).mkdir()
        user = f"amzn1.ask.account.OLD-{kind}"
        doc = legacy_document()
        adapter = put_legacy(dirs, user, doc)
        coach = build_coach(app_settings)
        now = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
        coach.clock = lambda now=now: now
        with ThreadServer(create_app(app_settings, coach=coach, adapter=adapter)) as server:
            for period in progress.PERIODS:
                status, reply = alexa.post(server.url + "/", alexa.intent(
                    "ProgressIntent", {"period": (period.replace("_", " "), period)}, user=user))
                assert status == 200
                expected = speech.progress_summary(progress.summarize(doc, now, period, tz_known=False))
                assert said(reply).startswith(html.unescape(re.sub(r"<[^>]+>", "", speech.ssml(expected)))), \
                    (kind, period, said(reply))
            status, reply = alexa.post(server.url + "/", alexa.launch(user=user, device="another-echo"))
            assert reply["sessionAttributes"].get("pending") == "resume", "the paused run moved with the split"
