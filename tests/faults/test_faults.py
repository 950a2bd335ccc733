"""Faults the skill must survive: storage locked, gone or corrupt, audio missing, a full disk
while rendering, and the server killed with SIGKILL in the middle of writes.

Everything runs for real: the Flask app behind waitress on loopback (or the `serve` command
as a child process), the real SQLite file, real MP3s and the real renderer. Nothing of ours
is mocked; faults come from a second SQLite connection holding the write lock, a file where
the data folder should be, bytes written into a row, deleted files, a file object that runs
out of space, and SIGKILL.
"""

from __future__ import annotations

import errno
import html
import http.client
import io
import json
import os
import re
import shutil
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from skill.alexa.catalog import Catalog
from skill.config import Settings
from skill.core import progress
from skill.core.player import Activity, PlaybackState, check_invariants
from skill.core.routines import load_library
from skill.core.timeline import expand
from skill.hosting.web import create_app
from skill.render import load_manifest, render_routine
from skill.render.cache import Store
from skill.render.encode import Mp3Encoder
from skill.render.tracks import Renderer, RenderError
from skill.render.voices import make_voice
from skill.storage import SQLITE_FILE_NAME, SQLiteAdapter
from skill.text import en_US as speech
from tests import alexa
from tests.alexa import play_of, speech_of
from tests.server import ProcessServer, ThreadServer

CALVES = ("calves", "calves")


# --- helpers ------------------------------------------------------------------------------------

def said(reply: dict[str, Any]) -> str:
    """Return the reply's speech as plain text."""
    return html.unescape(re.sub(r"<[^>]+>", "", speech_of(reply)))


def ask(url: str, body: dict[str, Any]) -> dict[str, Any]:
    """Post a request; assert HTTP 200 and return the reply."""
    status, reply = alexa.post(url + "/", body, timeout=15)
    assert status == 200, reply
    return reply


def token_of(reply: dict[str, Any]) -> str | None:
    play = play_of(reply)
    return play["audioItem"]["stream"]["token"] if play else None


def start(url: str, user: str) -> str:
    reply = ask(url, alexa.intent("StartRoutineIntent", {"routine": CALVES}, user=user))
    token = token_of(reply)
    assert token, reply
    return token


def play_through(url: str, user: str, token: str | None) -> int:
    """Play every remaining track the way an Echo does; return how many finished."""
    finished = 0
    while token:
        ask(url, alexa.audio_event("PlaybackStarted", token, user=user))
        queued = token_of(ask(url, alexa.audio_event("PlaybackNearlyFinished", token, user=user)))
        ask(url, alexa.audio_event("PlaybackFinished", token, user=user))
        finished += 1
        token = queued
    return finished


def completed_runs(doc: dict[str, Any]) -> int:
    return sum(run["outcome"] == "completed" for run in doc.get("runs", {}).values())


def assert_valid(doc: dict[str, Any], settings: Settings) -> None:
    """Check a stored document the way the next request will read it."""
    summary = progress.summarize(doc, datetime.now(UTC), "this_week", tz_known=True)
    assert summary.unreadable == 0
    state = PlaybackState.from_dict(doc.get("playback"))
    if state.activity is not Activity.IDLE:
        program = Catalog(load_library([settings.routines_dir]), settings).program(state.routine_id)
        assert program is not None and check_invariants(state, program) == [], state


@contextmanager
def write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold SQLite's write lock on the database from another connection (BEGIN EXCLUSIVE)."""
    blocker = sqlite3.connect(path, isolation_level=None, timeout=5)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        yield blocker
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


@pytest.fixture
def db_path(app_settings: Settings) -> Path:
    return app_settings.data_dir / SQLITE_FILE_NAME


@pytest.fixture
def impatient_server(app_settings: Settings, db_path: Path) -> Iterator[ThreadServer]:
    """Serve the skill with a store that gives up on a locked database after 0.2 s."""
    adapter = SQLiteAdapter(db_path, busy_timeout=0.2, retry_budget=0.5)
    with ThreadServer(create_app(app_settings, adapter=adapter)) as server:
        yield server


# --- storage locked -----------------------------------------------------------------------------

def test_a_write_locked_database_still_starts_playback_answers_progress_and_recovers(
    impatient_server, db_path, app_settings
):
    url, user = impatient_server.url, "amzn1.ask.account.LOCKED"
    assert play_through(url, user, start(url, user)) == 15

    with write_lock(db_path):
        reply = ask(url, alexa.intent("StartRoutineIntent", {"routine": CALVES}, user=user))
        assert play_of(reply)["playBehavior"] == "REPLACE_ALL"
        assert "calves routine" in said(reply) and speech.ERROR not in said(reply)
        token = token_of(reply)
        reply = ask(url, alexa.intent("ProgressIntent", {"period": None}, user=user))
        assert "one session" in said(reply).lower(), said(reply)  # WAL readers do not wait for writers
        reply = ask(url, alexa.audio_event("PlaybackNearlyFinished", token, user=user))
        assert "outputSpeech" not in reply["response"]

    doc = SQLiteAdapter(db_path).get(user)  # reading replays the journal
    assert completed_runs(doc) == 1 and len(doc["runs"]) == 2, "the locked start was journaled, then replayed"
    assert_valid(doc, app_settings)
    assert "two sessions" in said(ask(url, alexa.intent("ProgressIntent", {"period": None}, user=user))).lower()
    token = start(url, user)
    queued = play_of(ask(url, alexa.audio_event("PlaybackNearlyFinished", token, user=user)))
    assert queued["playBehavior"] == "ENQUEUE", "state is saved again once the lock is gone"


def test_starting_a_routine_while_the_database_is_write_locked_is_journaled_and_counted_after(
    impatient_server, db_path
):
    url, user = impatient_server.url, "amzn1.ask.account.LOCKED-START"
    ask(url, alexa.launch(user=user))
    with write_lock(db_path):
        reply = ask(url, alexa.intent("StartRoutineIntent", {"routine": CALVES}, user=user))
        assert SQLiteAdapter(db_path).journal.pending(), "the refused save waits in the journal"
    assert play_of(reply) is not None
    assert speech.STORAGE_DOWN not in said(reply), "nothing was lost, so there is nothing to apologise for"
    reply = ask(url, alexa.intent("ProgressIntent", {"period": None}, user=user))
    assert "one session" in said(reply).lower(), said(reply)
    assert not SQLiteAdapter(db_path).journal.pending()


def test_a_full_journal_and_a_locked_database_get_the_apology(app_settings, db_path):
    adapter = SQLiteAdapter(db_path, busy_timeout=0.1, retry_budget=0, journal_bytes=64)
    with ThreadServer(create_app(app_settings, adapter=adapter)) as server:
        url, user = server.url, "amzn1.ask.account.LOCKED-FULL"
        with write_lock(db_path):
            reply = ask(url, alexa.intent("StartRoutineIntent", {"routine": CALVES}, user=user))
    assert play_of(reply) is not None
    assert speech.STORAGE_DOWN in said(reply)
    assert said(reply).index("calves routine") < said(reply).index(speech.STORAGE_DOWN), (
        "the greeting comes first, then the apology")


def test_a_run_finished_while_the_database_is_write_locked_is_still_counted(impatient_server, db_path):
    url, user = impatient_server.url, "amzn1.ask.account.LOCKED-FINISH"
    token = start(url, user)
    for _ in range(14):
        ask(url, alexa.audio_event("PlaybackStarted", token, user=user))
        queued = token_of(ask(url, alexa.audio_event("PlaybackNearlyFinished", token, user=user)))
        ask(url, alexa.audio_event("PlaybackFinished", token, user=user))
        token = queued
    ask(url, alexa.audio_event("PlaybackStarted", token, user=user))
    with write_lock(db_path):
        ask(url, alexa.audio_event("PlaybackFinished", token, user=user))
    assert completed_runs(SQLiteAdapter(db_path).get(user)) == 1


# --- storage unavailable ------------------------------------------------------------------------

def test_storage_that_vanishes_after_startup_gets_apologies_while_playback_works_then_recovers(
    app_settings, db_path
):
    app = create_app(app_settings)
    data, moved = app_settings.data_dir, app_settings.data_dir.with_name("data-moved")
    with ThreadServer(app) as server:
        url, user = server.url, "amzn1.ask.account.NO-STORAGE"
        data.rename(moved)
        data.write_text("a file where the data folder should be")
        try:
            reply = ask(url, alexa.intent("StartRoutineIntent", {"routine": CALVES}, user=user))
            assert speech.STORAGE_DOWN in said(reply) and "calves routine" in said(reply)
            assert said(reply).index("calves routine") < said(reply).index(speech.STORAGE_DOWN)
            assert play_of(reply)["playBehavior"] == "REPLACE_ALL"
            token = token_of(reply)
            reply = ask(url, alexa.intent("ProgressIntent", {"period": None}, user=user))
            assert said(reply) == speech.STORAGE_DOWN
            reply = ask(url, alexa.launch(user=user))
            assert speech.STORAGE_DOWN in said(reply) and reply["response"]["shouldEndSession"] is False
            assert said(reply).startswith(speech.WELCOME_NEW + " " + speech.STORAGE_DOWN)
            assert said(reply).endswith(speech.WHICH_ROUTINE.ask)
            for kind in ("PlaybackStarted", "PlaybackNearlyFinished", "PlaybackFinished"):
                assert "outputSpeech" not in ask(url, alexa.audio_event(kind, token, user=user))["response"]
        finally:
            data.unlink()
            moved.rename(data)
        assert play_through(url, user, start(url, user)) == 15
        assert completed_runs(SQLiteAdapter(db_path).get(user)) == 1


def test_a_data_folder_that_is_a_file_stops_the_server_at_startup_with_a_sentence_naming_it(
    app_settings, tmp_path
):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    server = ProcessServer(app_settings.with_(data_dir=blocker))
    with pytest.raises(RuntimeError) as failed:
        server.start()
    message = str(failed.value)
    assert str(blocker) in message and "check that its directory exists and is writable" in message


# --- corrupt records ----------------------------------------------------------------------------

CORRUPT = {
    "not JSON": '{"v": 1, "runs": {',
    "a JSON array": "[1, 2, 3]",
    "an impossible playback state": json.dumps({"v": 1, "playback": {"activity": "dancing"}}),
    "runs that are not an object": json.dumps({"v": 1, "epoch": 0, "runs": [], "totals": {}}),
    "a newer document version": json.dumps({"v": 99, "epoch": 0, "runs": {}, "totals": {}}),
}


@pytest.mark.parametrize("damage", CORRUPT)
def test_a_corrupt_record_gets_gentle_answers_is_never_overwritten_and_spares_other_users(
    app_settings, db_path, damage
):
    with ThreadServer(create_app(app_settings)) as server:
        url, victim, other = server.url, "amzn1.ask.account.CORRUPT", "amzn1.ask.account.HEALTHY"
        with closing(sqlite3.connect(db_path)) as db, db:
            db.execute("INSERT INTO users (user_id, doc, rev, updated_at) VALUES (?, ?, 7, 'then')",
                       (victim, CORRUPT[damage]))

        def row() -> tuple[Any, ...]:
            with closing(sqlite3.connect(db_path)) as db:
                return db.execute("SELECT doc, rev, updated_at FROM users WHERE user_id = ?", (victim,)).fetchone()

        reply = ask(url, alexa.launch(user=victim))
        assert "Trigger Coach" in said(reply) and speech.ERROR not in said(reply)
        reply = ask(url, alexa.intent("StartRoutineIntent", {"routine": CALVES}, user=victim))
        assert play_of(reply) is not None, f"playback must still work: {said(reply)}"
        token = token_of(reply)
        for kind in ("PlaybackStarted", "PlaybackNearlyFinished", "PlaybackFinished"):
            ask(url, alexa.audio_event(kind, token, user=victim))
        reply = ask(url, alexa.intent("ProgressIntent", {"period": None}, user=victim))
        assert said(reply) == speech.PROGRESS_UNREADABLE
        assert row() == (CORRUPT[damage], 7, "then"), "the unreadable record was overwritten"

        assert play_through(url, other, start(url, other)) == 15
        assert "one session" in said(ask(url, alexa.intent("ProgressIntent", {"period": None}, user=other))).lower()
        assert row() == (CORRUPT[damage], 7, "then")


# --- audio missing ------------------------------------------------------------------------------

@pytest.fixture
def audio_copy(rendered_audio: Path, tmp_path: Path) -> Path:
    """Copy the rendered tracks (never the shared folder itself) to delete files from."""
    shutil.copytree(rendered_audio / "tracks", tmp_path / "audio" / "tracks")
    return tmp_path / "audio"


def test_a_deleted_track_is_a_404_and_the_skill_keeps_answering(app_settings, audio_copy):
    settings = app_settings.with_(audio_dir=audio_copy)
    manifest = load_manifest("calves", settings)
    gone = manifest.tracks[1].file
    (settings.tracks_dir / gone).unlink()
    with ThreadServer(create_app(settings)) as server:
        url, user = server.url, "amzn1.ask.account.MISSING-AUDIO"
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{url}/audio/{gone}", timeout=10)
        assert missing.value.code == 404
        with urllib.request.urlopen(f"{url}/audio/{manifest.tracks[0].file}", timeout=10) as present:
            assert present.status == 200

        first = start(url, user)
        ask(url, alexa.audio_event("PlaybackStarted", first, user=user))
        queued = play_of(ask(url, alexa.audio_event("PlaybackNearlyFinished", first, user=user)))
        assert queued["audioItem"]["stream"]["url"].endswith(gone)
        second = queued["audioItem"]["stream"]["token"]
        ask(url, alexa.audio_event("PlaybackFinished", first, user=user))
        # The Echo cannot fetch the file: it reports the failure, and the run pauses there.
        reply = ask(url, alexa.audio_event("PlaybackFailed", second, user=user))
        assert "outputSpeech" not in reply["response"]
        state = PlaybackState.from_dict(SQLiteAdapter(settings.data_dir / SQLITE_FILE_NAME).get(user)["playback"])
        assert (state.activity, state.index) == (Activity.PAUSED, 1)
        reply = ask(url, alexa.intent("AMAZON.ResumeIntent", user=user))
        assert play_of(reply)["audioItem"]["stream"]["token"] == second
        reply = ask(url, alexa.intent("ProgressIntent", {"period": None}, user=user))
        assert "one session" in said(reply).lower()


def test_a_routine_whose_manifest_is_gone_is_explained_not_played(app_settings, audio_copy):
    settings = app_settings.with_(audio_dir=audio_copy)
    (settings.tracks_dir / "manifests" / "calves.json").unlink()
    with ThreadServer(create_app(settings)) as server:
        reply = ask(server.url, alexa.intent("StartRoutineIntent", {"routine": CALVES}))
        assert play_of(reply) is None and said(reply) == speech.AUDIO_NOT_READY
        assert play_of(ask(server.url, alexa.intent("StartRoutineIntent", {"routine": ("upper back", "upper-back")})))


# --- disk full while rendering ------------------------------------------------------------------

class FillsUp(io.FileIO):
    """A real file on a disk that runs out of space after `room` more bytes."""

    def __init__(self, path: Path, mode: str, room: int) -> None:
        super().__init__(path, mode)
        self.room = room

    def write(self, data: Any) -> int:
        data = bytes(data)
        if len(data) > self.room:
            super().write(data[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.name)
        self.room -= len(data)
        return super().write(data)


def full_disk_for(names: Callable[[str], bool]) -> Callable[[Path, str], Any]:
    """Return a Store opener whose files fill the disk halfway when `names(final name)` holds."""

    def opener(path: Path, mode: str) -> Any:
        final = path.name[1:].split(".", 2)  # ".<key>.<ext>.<pid>.<hex>.tmp"
        if names(f"{final[0]}.{final[1]}"):
            return FillsUp(path, mode, room=64)
        return open(path, mode)

    return opener


@pytest.fixture
def render_settings(rendered_audio: Path, tmp_path: Path) -> Settings:
    """Return settings with an empty track folder and the warm sentence cache (no synthesis)."""
    shutil.copytree(rendered_audio / "cache", tmp_path / "render" / "cache")
    return Settings(audio_dir=tmp_path / "render")


def leftovers(settings: Settings) -> list[Path]:
    return [p for p in settings.audio_dir.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("victim", ["mp3", "json"])
def test_a_disk_that_fills_up_mid_track_names_routine_and_track_leaves_no_partial_file_and_renders_the_rest(
    render_settings, victim
):
    settings = render_settings
    calves = load_library().get("calves")
    voice = make_voice(settings)
    tracks = expand(calves)
    keys = [Renderer(settings, voice).track_key(t) for t in tracks]
    index = next(i for i in range(3, len(keys)) if keys.count(keys[i]) == 1)  # sides may share a file
    key = keys[index]
    store = Store(settings, open_file=full_disk_for(lambda name: name == f"{key}.{victim}"))

    with pytest.raises(RenderError) as failed:
        render_routine(calves, settings, voice=voice, store=store)
    [failure] = failed.value.failures
    assert (failure.routine_id, failure.track_index) == ("calves", index)
    assert f"Routine 'calves', track {index}" in str(failure) and "No space left on device" in str(failure)
    assert "Free some disk space" in str(failure)
    assert leftovers(settings) == [], "a temporary file survived the failed write"
    assert not (settings.tracks_dir / "meta" / f"{key}.json").exists()
    if victim == "mp3":
        assert not (settings.tracks_dir / f"{key}.mp3").exists(), "a partial MP3 under its real name"
    assert Store(settings).track_meta(key) is None, "a half-written track must not count as rendered"
    assert all(Store(settings).track_meta(k) for k in keys if k != key), "the other tracks were rendered"
    assert load_manifest("calves", settings) is None

    encoder = Mp3Encoder()
    manifest = render_routine(calves, settings, voice=voice, encoder=encoder)
    assert encoder.calls == 1 and manifest.tracks[index].file == f"{key}.mp3"
    assert voice.calls == 0, "the warm sentence cache means no synthesis"


def test_a_disk_full_when_writing_the_manifest_is_a_clear_error_and_keeps_the_tracks(render_settings):
    settings = render_settings
    calves = load_library().get("calves")

    def no_room_for_manifests(path: Path, mode: str) -> Any:
        if path.parent.name == "manifests":
            return open("/dev/full", "wb")  # a real device: every write is ENOSPC
        return open(path, mode)

    store = Store(settings, open_file=no_room_for_manifests)
    with pytest.raises(RenderError) as failed:
        render_routine(calves, settings, store=store)
    [failure] = failed.value.failures
    assert failure.routine_id == "calves" and "No space left on device" in str(failure)
    assert leftovers(settings) == [] and load_manifest("calves", settings) is None
    encoder = Mp3Encoder()
    manifest = render_routine(calves, settings, encoder=encoder)
    assert len(manifest.tracks) == 15 and encoder.calls == 0, "every track was kept and is reused"


# --- SIGKILL in the middle of writes --------------------------------------------------------------

def test_a_nearly_finished_delivered_again_after_its_reply_was_lost_queues_the_next_track(app_settings):
    with ThreadServer(create_app(app_settings)) as server:
        url, user = server.url, "amzn1.ask.account.LOST-ENQUEUE"
        first = start(url, user)
        ask(url, alexa.audio_event("PlaybackStarted", first, user=user))
        lost = token_of(ask(url, alexa.audio_event("PlaybackNearlyFinished", first, user=user)))
        again = ask(url, alexa.audio_event("PlaybackNearlyFinished", first, user=user))
    assert token_of(again) == lost
    assert play_of(again)["playBehavior"] in ("ENQUEUE", "REPLACE_ENQUEUED")


@dataclass
class Crashable:
    """The `serve` child process, killed with SIGKILL and restarted on the same data folder."""

    settings: Settings
    log: Path
    server: ProcessServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    kills: int = 0

    def start(self) -> None:
        server = ProcessServer(self.settings, log_path=self.log).start()
        with self.lock:
            self.server = server

    def url(self) -> str:
        with self.lock:
            assert self.server is not None
            return self.server.url

    def kill_and_restart(self) -> None:
        with self.lock:
            assert self.server is not None
            self.server.kill()
            self.kills += 1
        self.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


@dataclass
class Listener:
    """One Echo playing calves runs to the end, retrying whatever the transport lost."""

    server: Crashable
    user: str
    runs: int
    deadline: float
    sent: Callable[[], None]
    finished_with_200: int = 0
    retries: int = 0
    retried_last: bool = False
    stalls: int = 0
    errors: list[str] = field(default_factory=list)

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        """Deliver one request until it gets an HTTP answer; a retry may reach a server that
        already processed it, exactly like an event Alexa redelivers."""
        self.retried_last = False
        while True:
            try:
                status, reply = alexa.post(self.server.url() + "/", body, timeout=10)
            except TRANSPORT_ERRORS:
                if time.monotonic() > self.deadline:
                    raise
                self.retries += 1
                self.retried_last = True
                time.sleep(0.05)
                continue
            self.sent()
            assert status == 200, (status, reply)
            return reply

    def event(self, kind: str, token: str) -> dict[str, Any]:
        return self.send(alexa.audio_event(kind, token, user=self.user))

    def play(self) -> None:
        for _ in range(self.runs):
            token: str | None = token_of(self.send(
                alexa.intent("StartRoutineIntent", {"routine": CALVES}, user=self.user)))
            index = 0
            while token is not None:
                self.event("PlaybackStarted", token)
                queued = token_of(self.event("PlaybackNearlyFinished", token))
                redelivered = self.retried_last
                last = index == 14
                self.event("PlaybackFinished", token)
                self.event("PlaybackFinished", token)  # Alexa may deliver an event twice
                if last:
                    self.finished_with_200 += 1
                    break
                if queued is None:
                    # The first NearlyFinished was processed but its reply died with the server:
                    # nothing is queued on the device. The listener says "Alexa, repeat".
                    assert redelivered, f"no ENQUEUE for track {index} although nothing was lost"
                    self.stalls += 1
                    queued = token_of(self.send(alexa.intent("AMAZON.RepeatIntent", user=self.user)))
                token, index = queued, index + 1

    def __call__(self) -> None:
        try:
            self.play()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.errors.append(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_sigkill_in_the_middle_of_writes_loses_and_doubles_no_completed_run(app_settings, db_path, tmp_path):
    server = Crashable(app_settings, tmp_path / "server.log")
    server.start()
    sent = 0
    sent_lock = threading.Lock()

    def count() -> None:
        nonlocal sent
        with sent_lock:
            sent += 1

    deadline = time.monotonic() + 240
    users = [f"amzn1.ask.account.CRASH-{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
    listeners = [Listener(server, user, runs=2, deadline=deadline, sent=count) for user in users]
    threads = [threading.Thread(target=listener, daemon=True) for listener in listeners]
    try:
        for thread in threads:
            thread.start()
        # Each run is 1 + 15 * 4 requests; kill at about a third and two thirds of the way.
        total = sum(listener.runs for listener in listeners) * 61
        for fraction in (0.3, 0.65):
            while sent < total * fraction and any(t.is_alive() for t in threads):
                assert time.monotonic() < deadline, "the listeners made no progress"
                time.sleep(0.005)
            if any(t.is_alive() for t in threads):
                server.kill_and_restart()
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in threads), "a listener hung"
    finally:
        server.stop()

    assert [listener.errors for listener in listeners] == [[]] * len(listeners)
    assert server.kills == 2, "the kills came too late to land mid-run"
    adapter = SQLiteAdapter(db_path)
    for listener in listeners:
        doc = adapter.get(listener.user)
        assert completed_runs(doc) == listener.finished_with_200 == listener.runs, (listener.user, doc["runs"])
        assert_valid(doc, app_settings)
        assert PlaybackState.from_dict(doc["playback"]).activity is Activity.FINISHED
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    print(f"SIGKILL: {sent} replies, {server.kills} kills, {sum(x.retries for x in listeners)} transport "
          f"retries, {sum(x.stalls for x in listeners)} lost enqueues recovered by 'repeat'")


# --- a nearly full and a full disk under the SQLite store -----------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """Mount a real 4 MB tmpfs (a disk that can fill up) for the data folder."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root and a kernel that allows it: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill the disk with one file, then give back `leave` bytes; return the file."""
    filler = disk / "filler"
    with open(filler, "ab") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def test_a_nearly_full_disk_keeps_taking_writes_and_a_full_one_journals_until_there_is_room(
    app_settings, small_disk
):
    settings = app_settings.with_(data_dir=small_disk / "data")
    db_path = settings.data_dir / SQLITE_FILE_NAME
    adapter = SQLiteAdapter(db_path, retry_budget=0.2)
    with ThreadServer(create_app(settings, adapter=adapter)) as server:
        url, user = server.url, "amzn1.ask.account.SMALL-DISK"
        assert play_through(url, user, start(url, user)) == 15  # the WAL reaches its working size
        filler = fill(small_disk, leave=48 * 1024)
        for _ in range(3):
            assert play_through(url, user, start(url, user)) == 15
        assert not adapter.journal.pending(), "48 KB free was enough for every write"
        assert completed_runs(SQLiteAdapter(db_path).get(user)) == 4

        fill(small_disk, leave=0)
        starts = 0
        while not adapter.journal.pending():  # no byte free: the WAL and free pages still take a lot
            assert starts < 400, "400 starts fitted on a disk with no byte free"
            start(url, user)
            starts += 1
        assert play_through(url, user, start(url, user)) == 15, "playback never waits for the disk"
        reply = ask(url, alexa.intent("ProgressIntent", {"period": None}, user=user))
        assert speech.ERROR not in said(reply) and speech.STORAGE_DOWN not in said(reply)
        assert adapter.journal.pending(), "the saves the full disk refused wait in the reserved journal"
        filler.unlink()
        reply = ask(url, alexa.intent("ProgressIntent", {"period": None}, user=user))
        assert "five sessions" in said(reply).lower(), said(reply)
    assert not adapter.journal.pending()
    doc = SQLiteAdapter(db_path).get(user)
    assert completed_runs(doc) == 5 and len(doc["runs"]) == 4 + starts + 1
    print(f"disk full: {starts} starts were written with no byte free before the journal took over")
