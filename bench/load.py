"""Load-test the real server with many users doing whole routines, then check what it stored.

Run: python bench/load.py [--users 32] [--seconds 60] [--threads 8] [--seed 1]

Starts `trigger-coach serve --no-render` as a child process on loopback (request verification
off, the local skill id, a fresh SQLite folder in a temporary directory, rendered audio from
var/test-audio, rendering it first if missing) and a stand-in for the Alexa time zone API.
Each simulated user is one client thread with its own userId, deviceId and keep-alive
connection. Until the time is up (and at most --max-runs times) it does a whole 'calves'
routine: LaunchRequest, StartRoutineIntent, then for every track PlaybackStarted,
PlaybackNearlyFinished (taking the ENQUEUE token from the reply) and PlaybackFinished, now
and then pausing (PauseIntent, PlaybackStopped, ResumeIntent) or skipping (NextIntent and the
stale PlaybackStopped of the replaced stream), and ends the run with a ProgressIntent. A run
under way when the time is up is finished, so the run takes a little longer than --seconds.

Every reply is checked: HTTP 200, a JSON response envelope, the directive the dialogue needs
(the right token, offset and play behaviour), no speech on AudioPlayer replies, and no
apology for an error or for unreachable storage. After the server stops, each user's records
are read back through `SQLiteAdapter.get` (as one document) and its runs parsed with
`progress.RunRecord`: the stored runs must be exactly the runs the client did, each completed with the tracks done and
skipped that the client counted. Prints requests, errors, throughput, p50/p99 latency, the
server's CPU time per request and its peak resident memory (VmHWM from /proc), then one
`RESULT load key=value ...` line. Exits 1 on any error or mismatch. No thresholds on time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tests` importable
    sys.path.insert(0, str(ROOT))

from skill.config import Settings  # noqa: E402
from skill.core import progress  # noqa: E402
from skill.core.player import Program, Token  # noqa: E402
from skill.storage import SQLITE_FILE_NAME  # noqa: E402
from skill.storage.records import Changes, RunWrite  # noqa: E402
from skill.storage.sqlite import SQLiteAdapter  # noqa: E402
from tests import alexa  # noqa: E402
from tests.server import TEST_AUDIO_DIR, ProcessServer  # noqa: E402
from tests.server import zone_api as time_zone_api  # noqa: E402

ROUTINE = "calves"
ZONE = "Europe/Berlin"
# Substrings of the apologies in skill.text.en_US (ERROR, STORAGE_DOWN, RECORD_UNREADABLE), free of
# characters SSML escaping would change: a reply that says one of these is an error.
APOLOGIES = ("something went wrong", "reach your saved progress", "trouble reading your saved progress")
KINDS = ("launch", "start", "event", "command", "progress")


# --- Setup --------------------------------------------------------------------------------

def program_of(settings: Settings, routine_id: str = ROUTINE) -> Program | None:
    """Return the playable program of a routine with these settings' audio, or None."""
    from skill.alexa.catalog import Catalog
    from skill.core.routines import load_library

    return Catalog(load_library([settings.routines_dir]), settings).program(routine_id)


def ensure_audio(audio_dir: Path = TEST_AUDIO_DIR, routine_id: str = ROUTINE) -> Program:
    """Return the routine's program, rendering its audio into `audio_dir` first if missing."""
    settings = Settings(audio_dir=audio_dir)
    program = program_of(settings, routine_id)
    if program is None:
        from skill.core.routines import load_library
        from skill.render import render_library

        print(f"Rendering '{routine_id}' into {audio_dir} (once; later runs reuse it) ...", file=sys.stderr)
        report = render_library([load_library([settings.routines_dir]).get(routine_id)], settings)
        if report.failures:
            sys.exit(f"Could not render '{routine_id}': {report.failures}")
        program = program_of(settings, routine_id)
    if program is None:
        sys.exit(f"Routine '{routine_id}' is still not playable from {audio_dir}; run 'trigger-coach render'.")
    return program


@contextmanager
def zone_api(zone: str = ZONE) -> Iterator[str]:
    """Serve the stand-in Alexa Settings API (every device in ZONE) on loopback; yield its URL."""
    with time_zone_api(zone) as url:
        yield url


def proc_status(pid: int) -> dict[str, int]:
    """Return the kB figures of /proc/<pid>/status (VmRSS, VmHWM, ...); {} if unreadable."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            out[name] = int(parts[0])
    return out


def proc_cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds a process has used (from /proc/<pid>/stat)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- The client ---------------------------------------------------------------------------

class ReplyError(Exception):
    """A reply that is not what the dialogue needs at this point."""


@dataclass
class Recorder:
    """Latencies by request kind and error descriptions of one client thread."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        """Return how many requests were answered (errors included)."""
        return sum(len(v) for v in self.latencies.values())

    def merge(self, other: Recorder) -> None:
        """Add another recorder's figures to this one."""
        for kind, values in other.latencies.items():
            self.latencies[kind].extend(values)
        self.errors.extend(other.errors)


class Connection:
    """One keep-alive HTTP/1.1 connection to the skill, as one device's traffic would be."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes) -> tuple[int, bytes]:
        """POST a body to / and return the status and the raw reply; never retry."""
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self._conn.request("POST", "/", body, {"Content-Type": "application/json; charset=utf-8"})
            response = self._conn.getresponse()
            data = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, data
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the connection; the next post opens a new one."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass(frozen=True)
class RunDone:
    """A run the client took to its end, and what the store must say about it."""

    run_id: str
    tracks_completed: int
    tracks_skipped: int


@dataclass(frozen=True)
class Mix:
    """How often a user pauses and resumes, or skips, on a track (probabilities per track)."""

    pause: float = 0.04
    next: float = 0.03


STEADY = Mix(0.0, 0.0)


def _has_speech(reply: dict[str, Any]) -> bool:
    body = reply.get("response") or {}
    return any(key in body for key in ("outputSpeech", "card", "reprompt"))


class SimulatedUser:
    """One listener on one device, driving whole routines through the skill's endpoint.

    With `follow_tokens` (the real skill) tokens come from the replies and every reply is
    checked. Without it (a baseline that plays nothing) the same requests are sent with
    made-up tokens and only the envelope is checked.
    """

    def __init__(
        self, user_id: str, connection: Connection, program: Program, *, rng: random.Random,
        mix: Mix = STEADY, zone_url: str = "http://127.0.0.1:9", follow_tokens: bool = True,
    ) -> None:
        self.who = {"user": user_id, "device": f"device-{user_id.rsplit('.', 1)[-1]}",
                    "api_endpoint": zone_url}
        self.user_id = user_id
        self.connection = connection
        self.program = program
        self.rng = rng
        self.mix = mix
        self.follow = follow_tokens
        self.recorder = Recorder()
        self._made_up = 0

    # One request.

    def call(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Post one request, time it, and return the reply; raise ReplyError if it is no reply."""
        data = json.dumps(body).encode()
        began = time.perf_counter()
        try:
            status, raw = self.connection.post(data)
        except (OSError, http.client.HTTPException) as exc:
            self.recorder.latencies[kind].append(time.perf_counter() - began)
            raise ReplyError(f"{kind} {body['request']['type']}: no reply ({type(exc).__name__}: {exc})") from None
        self.recorder.latencies[kind].append(time.perf_counter() - began)
        what = f"{kind} {body['request']['type']}"
        if status != 200:
            raise ReplyError(f"{what}: HTTP {status} {raw[:200]!r}")
        try:
            reply = json.loads(raw)
        except ValueError:
            raise ReplyError(f"{what}: the reply is not JSON: {raw[:200]!r}") from None
        if not isinstance(reply, dict) or reply.get("version") != "1.0" or not isinstance(reply.get("response"), dict):
            raise ReplyError(f"{what}: the reply is not a response envelope: {raw[:200]!r}")
        said = alexa.speech_of(reply).lower()
        if any(apology in said for apology in APOLOGIES):
            raise ReplyError(f"{what}: the skill apologised: {said[:200]!r}")
        return reply

    def _expect(self, ok: bool, what: str, reply: dict[str, Any]) -> None:
        if self.follow and not ok:
            raise ReplyError(f"{what}; got {json.dumps(reply.get('response'))[:300]}")

    def event(self, kind: str, token: str, offset_ms: int = 0) -> dict[str, Any]:
        """Send an AudioPlayer event; its reply may carry directives but never speech."""
        reply = self.call("event", alexa.audio_event(kind, token, offset_ms, **self.who))
        self._expect(not _has_speech(reply), f"{kind} must not speak", reply)
        return reply

    def _play(self, reply: dict[str, Any], what: str, behavior: str, previous: str | None = None) -> str:
        """Return the token of the reply's Play directive, checking its behaviour."""
        play = alexa.play_of(reply)
        if not self.follow:
            return self._made_up_token()
        ok = play is not None and play.get("playBehavior") == behavior
        self._expect(ok, f"{what} must answer with an AudioPlayer.Play {behavior}", reply)
        stream = play["audioItem"]["stream"]
        if previous is not None:
            self._expect(stream.get("expectedPreviousToken") == previous,
                         f"{what} must enqueue after {previous}", reply)
        return stream["token"]

    def _made_up_token(self) -> str:
        self._made_up += 1
        return f"{self.program.routine_id}|bench|{self._made_up}|{self._made_up}"

    def _check_token(self, token: str, index: int, run_id: str) -> None:
        """Check that a token the skill gave names track `index` of this user's run."""
        parsed = Token.parse(token)
        if self.follow and (parsed is None or (parsed.index, parsed.run_id) != (index, run_id)):
            raise ReplyError(f"the token {token!r} should name track {index} of run {run_id}")

    # A whole run.

    def routine(self) -> RunDone:
        """Launch, start the routine, play every track to its end, ask for progress."""
        reply = self.call("launch", alexa.launch(**self.who))
        self._expect(bool(alexa.speech_of(reply)) and not reply["response"].get("shouldEndSession"),
                     "a launch must greet and keep the session open", reply)
        reply = self.call("start", alexa.intent("StartRoutineIntent", {"routine": (ROUTINE, ROUTINE)}, **self.who))
        token = self._play(reply, "StartRoutineIntent", "REPLACE_ALL")
        parsed = Token.parse(token)
        run_id = parsed.run_id if parsed else token
        last = self.program.last
        index = skipped = 0
        while True:
            self._check_token(token, index, run_id)
            track_ms = self.program.track_ms[index]
            self.event("PlaybackStarted", token)
            roll = self.rng.random()
            if roll < self.mix.pause:
                self.pause_and_resume(token, track_ms)
            elif roll < self.mix.pause + self.mix.next:
                skipped += 1
                token = self.skip(token, index)
                if token is None:
                    break
                index += 1
                continue
            reply = self.event("PlaybackNearlyFinished", token, max(0, track_ms - 4000))
            queued = self._play(reply, "PlaybackNearlyFinished", "ENQUEUE", token) if index < last else None
            if index == last:
                self._expect(alexa.play_of(reply) is None, "the last track enqueues nothing", reply)
            reply = self.event("PlaybackFinished", token, track_ms)
            self._expect(not alexa.directives(reply), "PlaybackFinished after an ENQUEUE needs no directive", reply)
            if queued is None:
                break
            token, index = queued, index + 1
        reply = self.call("progress", alexa.intent("ProgressIntent", {"period": None}, new_session=True, **self.who))
        self._expect("session" in alexa.speech_of(reply).lower() and bool(reply["response"].get("shouldEndSession")),
                     "ProgressIntent must tell the sessions and end the session", reply)
        return RunDone(run_id, len(self.program.track_ms) - skipped, skipped)

    def pause_and_resume(self, token: str, track_ms: int) -> None:
        """Say "Alexa, pause", let the stream stop, then say "Alexa, resume"."""
        offset = min(3500, track_ms)
        player = {"token": token, "offsetInMilliseconds": max(0, offset - 500), "playerActivity": "PLAYING"}
        reply = self.call("command", alexa.intent("AMAZON.PauseIntent", audio_player=player, new_session=True,
                                                  **self.who))
        self._expect([d["type"] for d in alexa.directives(reply)] == ["AudioPlayer.Stop"], "pause must stop", reply)
        self.event("PlaybackStopped", token, offset)
        reply = self.call("command", alexa.intent("AMAZON.ResumeIntent", new_session=True, **self.who))
        resumed = self._play(reply, "ResumeIntent", "REPLACE_ALL")
        if self.follow:
            stream = alexa.play_of(reply)["audioItem"]["stream"]
            self._expect(resumed == token and stream["offsetInMilliseconds"] == offset,
                         f"resume must continue {token} at {offset} ms", reply)
        self.event("PlaybackStarted", token, offset)

    def skip(self, token: str, index: int) -> str | None:
        """Say "Alexa, next"; return the new track's token, or None if that ended the run."""
        player = {"token": token, "offsetInMilliseconds": 2000, "playerActivity": "PLAYING"}
        reply = self.call("command", alexa.intent("AMAZON.NextIntent", audio_player=player, new_session=True,
                                                  **self.who))
        if index == self.program.last:
            self._expect([d["type"] for d in alexa.directives(reply)] == ["AudioPlayer.Stop"],
                         "next on the last track must stop", reply)
            self.event("PlaybackStopped", token, 2000)  # after the run ended: changes nothing
            return None
        fresh = self._play(reply, "NextIntent", "REPLACE_ALL")
        # The replaced stream reports that it stopped; its token is stale by now.
        reply = self.event("PlaybackStopped", token, 2000)
        self._expect(not alexa.directives(reply), "a stale PlaybackStopped changes nothing", reply)
        return fresh


# --- Running many users -------------------------------------------------------------------

@dataclass
class LoadResult:
    """What all users did."""

    recorder: Recorder
    runs: dict[str, list[RunDone]]
    seconds: float
    broken_users: int

    @property
    def requests(self) -> int:
        """Return the number of requests sent."""
        return self.recorder.requests

    def all_latencies(self) -> list[float]:
        """Return every request's latency in seconds, sorted."""
        return sorted(x for values in self.recorder.latencies.values() for x in values)


def percentile(sorted_values: list[float], q: float) -> float:
    """Return the q-quantile (0..1) of sorted values, nearest rank; nan when empty."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def run_users(
    url: str, program: Program, *, users: int, seconds: float | None, max_runs: int,
    mix: Mix = STEADY, seed: int = 1, zone_url: str = "http://127.0.0.1:9", follow_tokens: bool = True,
    user_prefix: str = "load", hard_seconds: float | None = None, timeout: float = 30.0,
    on_start: Callable[[], None] | None = None,
) -> LoadResult:
    """Run `users` client threads, each doing whole routines until `seconds` pass or `max_runs` are done.

    `seconds=None` means no time limit (each user does exactly `max_runs` runs). A user whose
    reply is wrong stops there; its error is recorded. `hard_seconds` caps the whole run:
    threads still going then are reported as errors and left to their request timeouts.
    """
    host_port = url.split("://", 1)[1].rstrip("/")
    host, port = host_port.rsplit(":", 1)
    results: dict[str, list[RunDone]] = {}
    recorders: list[Recorder] = []
    broken = [0]
    lock = threading.Lock()
    gate = threading.Barrier(users + 1)
    stop_at = [float("inf")]

    def work(n: int) -> None:
        user_id = user_id_of(user_prefix, seed, n)
        connection = Connection(host, int(port), timeout)
        user = SimulatedUser(user_id, connection, program, rng=random.Random(seed * 100_003 + n), mix=mix,
                             zone_url=zone_url, follow_tokens=follow_tokens)
        done: list[RunDone] = []
        gate.wait()
        try:
            while len(done) < max_runs and time.monotonic() < stop_at[0]:
                done.append(user.routine())
        except ReplyError as exc:
            user.recorder.errors.append(f"{user_id}: {exc}")
            with lock:
                broken[0] += 1
        except Exception as exc:  # a bug in this client must show, not hang the run
            user.recorder.errors.append(f"{user_id}: client failure {type(exc).__name__}: {exc}")
            with lock:
                broken[0] += 1
        finally:
            connection.close()
            with lock:
                results[user_id] = done
                recorders.append(user.recorder)

    threads = [threading.Thread(target=work, args=(n,), daemon=True, name=f"user-{n}") for n in range(users)]
    for thread in threads:
        thread.start()
    if on_start:
        on_start()
    began = time.monotonic()
    stop_at[0] = began + seconds if seconds is not None else float("inf")
    gate.wait()
    limit = began + (hard_seconds if hard_seconds is not None else (seconds or 0) * 2 + 300)
    for thread in threads:
        thread.join(timeout=max(0.0, limit - time.monotonic()))
    elapsed = time.monotonic() - began
    total = Recorder()
    with lock:
        for recorder in recorders:
            total.merge(recorder)
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            total.errors.append(f"{len(stuck)} user(s) still busy after the hard limit: {', '.join(stuck[:5])}")
        runs = dict(results)
    return LoadResult(total, runs, elapsed, broken[0] + len(stuck))


def user_id_of(prefix: str, seed: int, n: int) -> str:
    """Return the userId of simulated user `n`."""
    return f"amzn1.ask.account.{prefix}-{seed}-{n:05d}"


def seed_history(db_path: Path, user_ids: list[str], days: int, area: str = ROUTINE) -> dict[str, set[str]]:
    """Store `days` completed past runs (one a day, up to yesterday) for each user; return their run ids.

    Written as the skill keeps them: a profile, one record per run, so that the load test
    reads and writes a store of realistic size (up to 1100 days: three years).
    """
    if not 0 <= days <= 1100:
        raise ValueError(f"--history {days} is outside 0..1100 days.")
    store = SQLiteAdapter(db_path)
    now = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    writes = []
    for day in range(days, 0, -1):
        started = now - timedelta(days=day)
        stamp, ended = f"{started:%Y-%m-%dT%H:%M:%SZ}", f"{started + timedelta(minutes=9):%Y-%m-%dT%H:%M:%SZ}"
        record = progress.RunRecord(
            run_id=f"seed{day:04d}a1b2c3", routine_id=ROUTINE, area=area, started_at=stamp, updated_at=ended,
            ended_at=ended, seconds_guided=540, tracks_completed=15, tracks_skipped=0, track_count=15,
            outcome=progress.COMPLETED,
        )
        writes.append(RunWrite(record.to_dict(), "seed-device"))
    profile = {"v": progress.VERSION, "epoch": 0, "layout": progress.LAYOUT,
               "last_routine": ROUTINE if days else None}
    for user_id in user_ids:
        store.save(user_id, Changes("seed-device", now, profile=profile, runs=writes))
    return {user_id: {w.record["run_id"] for w in writes} for user_id in user_ids}


def check_store(
    db_path: Path, runs: dict[str, list[RunDone]], seeded: dict[str, set[str]] | None = None,
) -> tuple[int, list[str]]:
    """Compare each user's stored runs with the runs the client did; return (stored completed, problems).

    Runs stored before the test (`seeded`) must still be there, and nothing else may appear.
    """
    store = SQLiteAdapter(db_path)
    problems: list[str] = []
    completed = 0
    for user_id, done in sorted(runs.items()):
        doc = store.get(user_id)
        before = (seeded or {}).get(user_id, set())
        stored = {}
        for run_id, raw in (doc.get("runs") or {}).items():
            try:
                stored[run_id] = progress.RunRecord.from_dict(raw)
            except ValueError as exc:
                problems.append(f"{user_id}: run {run_id} is unreadable: {exc}")
        # Seeded runs of months older than the kept history may be folded into month records:
        # they must then be counted there, exactly (every seeded run is a whole session).
        folded = sum(bucket.get("sessions", 0) for bucket in (doc.get("totals") or {}).values())
        before_kept = {run_id for run_id in before if run_id in stored}
        if folded != len(before) - len(before_kept):
            problems.append(f"{user_id}: {len(before) - len(before_kept)} seeded runs folded away but the month "
                            f"records count {folded} sessions")
        expected = {r.run_id: r for r in done}
        if set(stored) != set(expected) | before_kept:
            extra = sorted(set(stored) - set(expected) - before)
            missing = sorted(set(expected) - set(stored))
            problems.append(f"{user_id}: {len(done)} runs done (and {len(before)} before) but {len(stored)} "
                            f"stored (extra {extra[:3]}, missing {missing[:3]})")
        for run_id, want in expected.items():
            got = stored.get(run_id)
            if got is None:
                continue
            if got.outcome != progress.COMPLETED:
                problems.append(f"{user_id}: run {run_id} is {got.outcome}, not completed")
            else:
                completed += 1
            if (got.tracks_completed, got.tracks_skipped) != (want.tracks_completed, want.tracks_skipped):
                problems.append(f"{user_id}: run {run_id} stored {got.tracks_completed} done/"
                                f"{got.tracks_skipped} skipped, the client did {want.tracks_completed}/"
                                f"{want.tracks_skipped}")
        playback = doc.get("playback") or {}
        if done and playback.get("activity") != "finished":
            problems.append(f"{user_id}: playback is {playback.get('activity')!r} after its last run ended")
    return completed, problems


# --- The command --------------------------------------------------------------------------

def result_line(name: str, **figures: object) -> str:
    """Return the machine-readable last line of a benchmark: `RESULT name key=value ...`."""
    return " ".join(["RESULT", name, *(f"{key}={value}" for key, value in figures.items())])


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def main(argv: list[str] | None = None) -> int:
    """Run the load test and print its figures; return 1 on any error or mismatch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=32, help="simulated users, one thread each (default 32)")
    parser.add_argument("--seconds", type=float, default=60.0, help="start new runs for this long (default 60)")
    parser.add_argument("--max-runs", type=int, default=1000, help="at most this many runs per user (default 1000)")
    parser.add_argument("--threads", type=int, default=Settings().threads, help="waitress worker threads")
    parser.add_argument("--pause", type=float, default=Mix().pause, help="chance per track to pause and resume")
    parser.add_argument("--next", type=float, default=Mix().next, help="chance per track to skip it")
    parser.add_argument("--history", type=int, default=0, metavar="DAYS",
                        help="give each user DAYS past daily runs first (0..1100; default 0)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data folder and server log")
    args = parser.parse_args(argv)
    if args.users < 1 or args.seconds <= 0 or args.max_runs < 1:
        parser.error("--users, --seconds and --max-runs must be positive.")

    program = ensure_audio()
    work = Path(tempfile.mkdtemp(prefix="trigger-coach-load-"))
    settings = Settings(audio_dir=TEST_AUDIO_DIR, data_dir=work / "data", verify=False,
                        public_url="https://coach.example.test", threads=args.threads)
    log_path = work / "server.log"
    mix = Mix(args.pause, args.next)
    user_ids = [user_id_of("load", args.seed, n) for n in range(args.users)]
    seeded = seed_history(settings.data_dir / SQLITE_FILE_NAME, user_ids, args.history) if args.history else None
    print(f"Load test: {args.users} users doing whole '{ROUTINE}' routines ({len(program.track_ms)} tracks; "
          f"pause {mix.pause:.0%}, next {mix.next:.0%} per track) for {args.seconds:g} s")
    print(f"Server: trigger-coach serve --no-render, {args.threads} waitress threads, verification off, "
          f"SQLite in {settings.data_dir}")
    if args.history:
        print(f"History: each user starts with {args.history} completed daily runs")
    try:
        with zone_api() as zone_url, ProcessServer(settings, log_path=log_path) as server:
            pid = server.proc.pid
            idle = proc_status(pid)
            cpu_before = proc_cpu_seconds(pid)
            result = run_users(server.url, program, users=args.users, seconds=args.seconds, max_runs=args.max_runs,
                               mix=mix, seed=args.seed, zone_url=zone_url)
            cpu_used = proc_cpu_seconds(pid) - cpu_before
            peak = proc_status(pid)
        completed, problems = check_store(settings.data_dir / SQLITE_FILE_NAME, result.runs, seeded)
        log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    server_errors = [line for line in log_text.splitlines() if " ERROR " in line or "Traceback" in line]
    lat = result.all_latencies()
    rec = result.recorder
    runs_done = sum(len(v) for v in result.runs.values())
    errors = len(rec.errors)
    rps = result.requests / result.seconds
    print()
    print(f"requests      {result.requests}  in {result.seconds:.1f} s  ({rps:.1f} req/s)")
    print(f"errors        {errors}  (broken users {result.broken_users}; server log error lines "
          f"{len(server_errors)})")
    for line in rec.errors[:10]:
        print(f"  {line}")
    for line in server_errors[:5]:
        print(f"  server: {line}")
    print(f"latency       p50 {_ms(percentile(lat, 0.5))}   p99 {_ms(percentile(lat, 0.99))}   "
          f"max {_ms(lat[-1] if lat else float('nan'))}")
    for kind in KINDS:
        values = sorted(rec.latencies[kind])
        if values:
            print(f"  {kind:<9} {len(values):>7}   p50 {_ms(percentile(values, 0.5))}   "
                  f"p99 {_ms(percentile(values, 0.99))}")
    cpu_ms = cpu_used / max(1, result.requests) * 1000
    print(f"server CPU    {cpu_used:.1f} s = {cpu_ms:.2f} ms per request")
    hwm, rss = peak.get("VmHWM", 0) / 1024, idle.get("VmRSS", 0) / 1024
    print(f"server memory idle {rss:.1f} MB after start, peak {hwm:.1f} MB (VmHWM), "
          f"peak/idle {hwm / rss if rss else float('nan'):.2f}")
    print(f"runs          {runs_done} done by clients; {completed} stored as completed; "
          f"{len(problems)} mismatch(es)")
    for line in problems[:10]:
        print(f"  {line}")
    ok = errors == 0 and not problems and not server_errors and runs_done > 0
    print(("OK: " if ok else "FAILED: ") + ("every reply valid and stored progress equals the runs done"
                                             if ok else "see the errors and mismatches above"))
    print(result_line("load", users=args.users, seconds=f"{args.seconds:g}", history=args.history,
                      requests=result.requests, errors=errors, server_log_errors=len(server_errors),
                      rps=round(rps, 1), p50_ms=round(percentile(lat, 0.5) * 1000, 2),
                      p99_ms=round(percentile(lat, 0.99) * 1000, 2), server_cpu_ms_per_req=round(cpu_ms, 3),
                      runs=runs_done, stored_completed=completed, mismatches=len(problems),
                      idle_rss_mb=round(rss, 1), peak_rss_mb=round(hwm, 1), ok=int(ok)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
