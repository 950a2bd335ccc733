"""Fuzz the Alexa endpoint with real envelopes perturbed in every way Hypothesis can think of.

Each case starts from a user whose stored document is a copy of one reached by playing for
real (new, playing, a track enqueued, paused, a run finished, a second run under way), then
sends one to three envelopes built with tests/alexa.py (every intent, every AudioPlayer event
with the user's real, stale and foreign tokens, buttons, system requests) and mutated: keys
deleted, values of the wrong type, 1k-100k strings, odd Unicode, absurd numbers and offsets,
foreign tokens, unknown request types and intents, deep garbage. A second test posts raw bytes.

After every request: the status is 200 or 400 (413 only for a body over the size limit), a
200 deserializes as an Alexa ResponseEnvelope with well-formed SSML and obeys the AudioPlayer
reply rules, no handler crashed behind the polite error answer, a 400 changed nothing, and the
stored document of every user involved loads, its playback state passes `check_invariants`,
its run records are readable, and no run was lost or counted twice.

The app runs in-process (Flask test client) on a real SQLite file. Cases are split between the
tests; set TRIGGER_COACH_FUZZ_EXAMPLES (default 2000) for more, e.g. 20000 before a release.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope, ResponseEnvelope
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from skill.alexa.builder import build_coach
from skill.alexa.user import NO_DEVICE, device_key
from skill.config import PROJECT_ROOT, Settings
from skill.core import progress
from skill.core.player import Activity, PlaybackState, Token, check_invariants
from skill.hosting.web import MAX_BODY, create_app
from skill.storage import SQLITE_FILE_NAME, SQLiteAdapter
from tests import alexa

EXAMPLES = max(20, int(os.environ.get("TRIGGER_COACH_FUZZ_EXAMPLES", "2000")))
SERIALIZER = DefaultSerializer()
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

MODEL = json.loads((PROJECT_ROOT / "skill-package/interactionModels/custom/en-US.json").read_text())
INTENTS = [i["name"] for i in MODEL["interactionModel"]["languageModel"]["intents"]]
EVENTS = ["PlaybackStarted", "PlaybackNearlyFinished", "PlaybackFinished", "PlaybackStopped", "PlaybackFailed"]
BUTTONS = ["Play", "Pause", "Next", "Previous"]
KNOWN_TYPES = [
    "LaunchRequest", "IntentRequest", "SessionEndedRequest", "System.ExceptionEncountered",
    *(f"AudioPlayer.{e}" for e in EVENTS), *(f"PlaybackController.{b}CommandIssued" for b in BUTTONS),
]
OTHER_TYPES = [
    "CanFulfillIntentRequest", "Alexa.Presentation.APL.UserEvent", "Messaging.MessageReceived",
    "Connections.Response", "AlexaSkillEvent.SkillDisabled", "Dialog.API.Invoked",
    "AudioPlayer.PlaybackBogus", "PlaybackController.StopCommandIssued", "Bogus", "",
]
# Paths whose loss or change matters most; random paths alone would rarely pick them.
KEY_PATHS = [
    ("session",), ("context",), ("request",), ("version",), ("context", "System"),
    ("context", "System", "user"), ("context", "System", "user", "userId"),
    ("context", "System", "application"), ("context", "System", "device"),
    ("context", "System", "device", "supportedInterfaces"), ("context", "AudioPlayer"),
    ("session", "application"), ("session", "attributes"), ("session", "new"),
    ("request", "type"), ("request", "token"), ("request", "offsetInMilliseconds"),
    ("request", "intent"), ("request", "intent", "name"), ("request", "intent", "slots"),
    ("request", "timestamp"), ("request", "requestId"), ("request", "locale"),
]
WEIRD = [
    "", " ", "\x00", "\u202e\u0644\u0627", "\u200b\u200d\ufeff", "🙂" * 40, "Z\u0351\u0337\u0322" * 20,
    "<speak>&amp;</speak>", "]]><!--", "' OR 1=1 --", "../../etc/passwd", "%s%n%x", "\\u0000",
    "calves", "upper back", "CALVES", "upper-back", "null", "true", "1e309", "\r\n\t",
    "amzn1.ask.skill.00000000-0000-4000-8000-trigger0coach",
]
ABSURD_NUMBERS = [
    -1, -5, -(2**31), 2**31, 2**53 + 1, 2**63, 2**64, 10**30, 10**400, 1e30, 1e308, -1e308, 0.5, 1e-300, -0.0,
    float("nan"), float("inf"), float("-inf"), "1000", "-5", "12a", "", None, True, False, [], {},
]
# Device ids Alexa would never send; the time zone lookup puts the id into a URL.
ODD_DEVICE_IDS = [
    "dev-\ud800", "\udfff\ud800", "dev/../../x", "dev?x=1#y", "dev\r\nX-Injected: 1", "Gerät 🙂", "%2F", "",
    "d" * 5_000, "amzn1.ask.device." + "A" * 300,
]
STAGES = ["new", "playing", "enqueued", "paused", "finished", "history"]
RANK = {"in_progress": 0, "abandoned": 1, "stopped_early": 2, "completed": 3}


# --- the app under test, and what it logs ----------------------------------------------------

class CrashTrap(logging.Handler):
    """Collect the log lines that mean a crash was hidden behind a polite or 400 answer."""

    SIGNS = ("Unhandled error", "Unexpected error", "Skill dispatch exception")

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.SIGNS):
            self.records.append(record)

    def crashes(self) -> list[str]:
        """Return handler crashes; an envelope the SDK cannot deserialize is not one."""
        out = []
        for record in self.records:
            if record.getMessage().startswith("Skill dispatch exception") and _is_sdk_rejection(record):
                continue
            exc = record.exc_info[1] if record.exc_info else None
            out.append(f"{record.getMessage()}: {type(exc).__name__}: {str(exc)[:300]}")
        return out


def _is_sdk_rejection(record: logging.LogRecord) -> bool:
    # The SDK wraps deserialization failures in SerializationException; that is a bad request.
    exc = record.exc_info[1] if record.exc_info else None
    return type(exc).__name__ == "SerializationException"


@dataclass
class Template:
    doc: dict[str, Any]
    tokens: list[str]


@dataclass
class Rig:
    client: Any
    adapter: SQLiteAdapter
    settings: Settings
    programs: Callable[[str | None], Any]
    trap: CrashTrap
    templates: dict[str, Template] = field(default_factory=dict)
    hidden: Counter[str] = field(default_factory=Counter)

    def read(self, user: str) -> dict[str, Any]:
        return self.adapter.get(user)

    def post(self, body: bytes, content_type: str = "application/json") -> Any:
        self.trap.records.clear()
        return self.client.post("/", data=body, content_type=content_type)

    def all_tokens(self) -> list[str]:
        return [t for template in self.templates.values() for t in template.tokens]


@pytest.fixture(scope="module")
def rig(rendered_audio: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    settings = Settings(audio_dir=rendered_audio, data_dir=tmp_path_factory.mktemp("fuzz-data"),
                        public_url="https://coach.example.test", verify=False)
    coach = build_coach(settings)
    adapter = SQLiteAdapter(settings.data_dir / SQLITE_FILE_NAME)
    app = create_app(settings, coach=coach, adapter=adapter)
    trap = CrashTrap()
    logger = logging.getLogger("trigger_coach")
    logger.addHandler(trap)
    try:
        rig = Rig(app.test_client(), adapter, settings, coach.catalog.program, trap)
        rig.templates = build_templates(rig)
        yield rig
    finally:
        logger.removeHandler(trap)
    # Crashes on envelopes Alexa never sends are answered politely; list them for review.
    for crash, count in rig.hidden.most_common():
        print(f"hidden crash x{count}: {crash}")


def build_templates(rig: Rig) -> dict[str, Template]:
    """Play for real to reach each stage; keep each stage's document and every token seen."""

    def ask(user: str, body: dict[str, Any], seen: list[str]) -> dict[str, Any]:
        response = rig.post(json.dumps(body).encode())
        assert response.status_code == 200, response.get_data(as_text=True)
        reply = response.get_json()
        play = alexa.play_of(reply)
        if play:
            seen.append(play["audioItem"]["stream"]["token"])
        return reply

    def start(user: str, routine: str, seen: list[str]) -> str:
        ask(user, alexa.intent("StartRoutineIntent", {"routine": (routine, routine)}, user=user), seen)
        ask(user, alexa.audio_event("PlaybackStarted", seen[-1], user=user), seen)
        return seen[-1]

    def play_through(user: str, seen: list[str]) -> None:
        token: str | None = seen[-1]
        while token:
            nxt = alexa.play_of(ask(user, alexa.audio_event("PlaybackNearlyFinished", token, user=user), seen))
            ask(user, alexa.audio_event("PlaybackFinished", token, user=user), seen)
            token = nxt["audioItem"]["stream"]["token"] if nxt else None
            if token:
                ask(user, alexa.audio_event("PlaybackStarted", token, user=user), seen)

    templates: dict[str, Template] = {"new": Template({}, [])}
    for stage in STAGES[1:]:
        user, seen = f"amzn1.ask.account.TEMPLATE-{stage}", []
        if stage == "playing":
            start(user, "calves", seen)
        elif stage == "enqueued":
            token = start(user, "calves", seen)
            ask(user, alexa.audio_event("PlaybackNearlyFinished", token, user=user), seen)
        elif stage == "paused":
            start(user, "upper-back", seen)
            ask(user, alexa.intent("AMAZON.NextIntent", user=user), seen)
            ask(user, alexa.audio_event("PlaybackStarted", seen[-1], user=user), seen)
            ask(user, alexa.audio_event("PlaybackStopped", seen[-1], 4_000, user=user), seen)
        elif stage == "finished":
            start(user, "calves", seen)
            play_through(user, seen)
        elif stage == "history":
            start(user, "calves", seen)
            play_through(user, seen)
            token = start(user, "upper-back", seen)
            ask(user, alexa.audio_event("PlaybackNearlyFinished", token, user=user), seen)
            ask(user, alexa.audio_event("PlaybackFinished", token, user=user), seen)
        templates[stage] = Template(rig.read(user), seen)
        check_stored(rig, user, {}, rig.read(user), None)
    assert PlaybackState.from_dict(templates["finished"].doc["playback"]).activity is Activity.FINISHED
    assert PlaybackState.from_dict(templates["paused"].doc["playback"]).activity is Activity.PAUSED
    assert PlaybackState.from_dict(templates["enqueued"].doc["playback"]).enqueued_token
    return templates


# --- checks after every request --------------------------------------------------------------

def _counted(doc: dict[str, Any]) -> tuple[int, dict[str, dict[str, Any]]]:
    return doc.get("epoch", 0), doc.get("runs", {})


def check_stored(rig: Rig, user: str, before: dict[str, Any], after: dict[str, Any],
                 request: dict[str, Any] | None) -> None:
    """Check that a user's stored document is valid and its history only grew."""
    summary = progress.summarize(after, datetime.now(UTC), "this_week", tz_known=True)
    assert summary.unreadable == 0, f"unreadable runs in {after!r:.2000}"
    state = PlaybackState.from_dict(after.get("playback"))
    if state.activity is not Activity.IDLE:
        program = rig.programs(state.routine_id)
        assert program is not None, f"the stored run is of a routine we cannot play: {state}"
        assert check_invariants(state, program) == [], state
    if not before:
        return
    if not after:
        forgot = (request or {}).get("intent", {}).get("name") == "AMAZON.YesIntent"
        left = (request or {}).get("type") == "AlexaSkillEvent.SkillDisabled"
        assert forgot or left, "a document vanished without the user saying yes to forgetting or disabling the skill"
        return
    (epoch0, runs0), (epoch1, runs1) = _counted(before), _counted(after)
    assert epoch1 >= epoch0
    if epoch1 > epoch0:
        return
    for run_id, old in runs0.items():
        new = runs1.get(run_id)
        assert new is not None, f"run {run_id} was lost"
        assert RANK[new["outcome"]] >= RANK[old["outcome"]], (old, new)
        for key in ("tracks_completed", "seconds_guided"):
            assert new[key] >= old[key], (key, old, new)
    completed0 = sum(r["outcome"] == "completed" for r in runs0.values())
    completed1 = sum(r["outcome"] == "completed" for r in runs1.values())
    assert completed1 - completed0 <= 1, "one request completed two runs"
    assert len(runs1) - len(runs0) <= 1, "one request started two runs"


def request_device_key(body: bytes) -> str:
    """Return the key of the playback record of a request's device, as the skill keys it.

    Read through the SDK's models, as the skill reads it: a deviceId of ``false`` is the
    device "False" there, not a missing one.
    """
    envelope = SERIALIZER.deserialize(body.decode("utf-8"), RequestEnvelope)
    device = getattr(getattr(envelope.context, "system", None), "device", None)
    return device_key(getattr(device, "device_id", None))


def check_reply(rig: Rig, reply: dict[str, Any], request: dict[str, Any] | None,
                user: str | None, device: str = NO_DEVICE) -> None:
    """Check a 200 reply against Alexa's rules and against what this device's record stored."""
    envelope = SERIALIZER.deserialize(json.dumps(reply), ResponseEnvelope)
    assert envelope.version == "1.0"
    body = reply.get("response") or {}
    for speech in (body.get("outputSpeech"), (body.get("reprompt") or {}).get("outputSpeech")):
        if speech and speech.get("type") == "SSML":
            assert ET.fromstring(speech["ssml"]).tag == "speak", speech["ssml"][:300]
    kind = request.get("type") if isinstance(request, dict) else None
    directives = body.get("directives") or []
    if isinstance(kind, str) and kind.startswith(("AudioPlayer.", "PlaybackController.")):
        assert not {"outputSpeech", "card", "reprompt"} & body.keys(), body
        assert all(d["type"].startswith("AudioPlayer.") for d in directives), directives
    if kind in ("AudioPlayer.PlaybackStopped", "System.ExceptionEncountered"):
        assert not directives and "outputSpeech" not in body, body
    plays = [d for d in directives if d["type"] == "AudioPlayer.Play"]
    assert len(plays) <= 1
    if not plays:
        return
    stream = plays[0]["audioItem"]["stream"]
    assert Token.parse(stream["token"]) is not None, stream
    assert stream["url"].startswith(rig.settings.audio_base_url)
    assert (rig.settings.tracks_dir / stream["url"].rsplit("/", 1)[1]).is_file(), stream["url"]
    if user is None:
        return  # no user id, so nothing can be stored: playback still works, unrecorded
    state = PlaybackState.from_dict(rig.adapter.load(user, device).devices.get(device))
    if plays[0]["playBehavior"] == "ENQUEUE":
        assert stream["token"] == state.enqueued_token and stream["expectedPreviousToken"] == state.token
    elif plays[0]["playBehavior"] == "REPLACE_ENQUEUED":  # a repeated nearly-finished: same queued track
        assert stream["token"] == state.enqueued_token and "expectedPreviousToken" not in stream, stream
    else:
        assert stream["token"] == state.token and state.activity is Activity.PLAYING, (stream, state)


SLOT_IDS = {
    intent["name"]: {
        slot["name"]: {v.get("id") for t in MODEL["interactionModel"]["languageModel"]["types"]
                       if t["name"] == slot["type"] for v in t["values"]}
        for slot in intent.get("slots", [])
    }
    for intent in MODEL["interactionModel"]["languageModel"]["intents"]
}
SESSION_TYPES = ("LaunchRequest", "IntentRequest", "SessionEndedRequest", "CanFulfillIntentRequest")
ACTIVITIES = ("IDLE", "PAUSED", "PLAYING", "BUFFER_UNDERRUN", "FINISHED", "STOPPED")


def alexa_could_send(envelope: Any, size: int) -> bool:
    """Return whether an envelope keeps the promises Alexa's request format makes.

    Handlers may rely on these (a session on intents, a user id, slot ids from our model);
    envelopes that break them still must get a polite answer or a 400, never a 500.
    """
    def obj(value: Any, *keys: str) -> Any:
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def whole(value: Any) -> bool:
        return type(value) is int and 0 <= value < 2**63

    request, system = obj(envelope, "request"), obj(envelope, "context", "System")
    kind = obj(request, "type")
    if size > MAX_BODY or not isinstance(request, dict) or not isinstance(kind, str):
        return False
    if _deeper_than(envelope, 16):  # Alexa's envelopes nest about 7 deep
        return False
    if not all(isinstance(obj(request, k), str) for k in ("requestId", "timestamp", "locale")):
        return False
    user = obj(system, "user", "userId")
    if not isinstance(user, str) or not user or not isinstance(obj(system, "device", "supportedInterfaces"), dict):
        return False
    if not _is_text(user):  # JSON can spell a lone surrogate; Alexa's UTF-8 cannot
        return False
    if not isinstance(obj(system, "device", "deviceId"), str) or not _is_text(obj(system, "device", "deviceId")):
        return False
    if not isinstance(obj(system, "application", "applicationId"), str):
        return False
    session = obj(envelope, "session")
    if kind in SESSION_TYPES and not (isinstance(session, dict) and isinstance(session.get("new"), bool)
                                      and isinstance(session.get("attributes", {}), dict)
                                      and isinstance(obj(session, "sessionId"), str)):
        return False
    if "session" in envelope and not isinstance(session, dict):  # Alexa omits it; it never sends null
        return False
    player = obj(envelope, "context", "AudioPlayer")
    if player is not None and not (isinstance(player, dict) and whole(player.get("offsetInMilliseconds", 0))
                                   and isinstance(player.get("token", ""), str)
                                   and player.get("playerActivity", "IDLE") in ACTIVITIES):
        return False
    if kind.startswith("AudioPlayer.") and not (whole(request.get("offsetInMilliseconds", 0))
                                                and isinstance(request.get("token", ""), str)):
        return False
    if not whole(request.get("offsetInMilliseconds", 0)):
        return False
    playback_state = request.get("currentPlaybackState")
    if playback_state is not None and not (isinstance(playback_state, dict)
                                           and whole(playback_state.get("offsetInMilliseconds", 0))):
        return False
    if kind == "IntentRequest":
        name, slots = obj(request, "intent", "name"), obj(request, "intent", "slots") or {}
        if not isinstance(name, str) or not isinstance(slots, dict):
            return False
        for slot_name, slot in slots.items():
            if not isinstance(slot, dict) or not isinstance(slot.get("value", ""), str):
                return False
            known = SLOT_IDS.get(name, {}).get(slot_name, set())
            authorities = obj(slot, "resolutions", "resolutionsPerAuthority") or []
            values = [obj(a, "values") or [] for a in authorities] if isinstance(authorities, list) else None
            if values is None or not all(isinstance(v, list) for v in values):
                return False
            if any(obj(value, "value", "id") not in known for v in values for value in v):
                return False
    return True


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _deeper_than(value: Any, limit: int) -> bool:
    if limit < 0:
        return True
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(_deeper_than(child, limit - 1) for child in children)


def storage_user(body: bytes) -> str | None:
    """Return the user id the storage adapter keys this request by, if the SDK can read one."""
    try:
        envelope = SERIALIZER.deserialize(body.decode("utf-8"), RequestEnvelope)
        user_id = envelope.context.system.user.user_id
    except Exception:
        return None
    return user_id if isinstance(user_id, str) and user_id else None


def exchange(rig: Rig, body: bytes, users: set[str], content_type: str = "application/json") -> Any:
    """Post one body and run every check on the reply and on the stored documents."""
    parsed = _json_or_none(body)
    request = parsed.get("request") if isinstance(parsed, dict) else None
    target = storage_user(body)
    involved = sorted(users | {target} - {None})
    before = {u: rig.read(u) for u in involved}
    response = rig.post(body, content_type)
    status = response.status_code
    note(f"HTTP {status}: {response.get_data(as_text=True)[:600]}")
    crashes = rig.trap.crashes()
    plausible = alexa_could_send(parsed, len(body))
    if parsed is None or plausible:  # bodies that are not JSON never get far
        assert crashes == [], "a handler crashed on a request Alexa could send"
    for crash in crashes:
        rig.hidden[crash.split("\n")[0][:160]] += 1
    if len(body) > MAX_BODY:
        assert status in (400, 413), status
    else:
        assert status in (200, 400), status
    after = {u: rig.read(u) for u in involved}
    if status == 200:
        check_reply(rig, response.get_json(), request, target, request_device_key(body))
    else:
        assert after == before, "a rejected request changed stored state"
        check = (response.get_json(silent=True) or {}).get("check")
        if check == "sdk":
            assert not (plausible and _sdk_reads(body)), "a 400 hid a crash in dispatch"
        if check == "envelope":
            assert not (plausible and _sdk_reads(body)), "an envelope Alexa could send was rejected"
    for user in involved:
        check_stored(rig, user, before[user], after[user], request if isinstance(request, dict) else None)
    return response


def _sdk_reads(body: bytes) -> bool:
    """Return whether the SDK can deserialize this body into a request envelope."""
    try:
        SERIALIZER.deserialize(body.decode("utf-8"), RequestEnvelope)
    except Exception:
        return False
    return True


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def brief(value: Any) -> Any:
    """Return a value with long strings shortened, for failure notes."""
    if isinstance(value, str) and len(value) > 120:
        return f"{value[:60]}…<{len(value)} chars>"
    if isinstance(value, dict):
        return {brief(k): brief(v) for k, v in value.items()}
    if isinstance(value, list):
        return [brief(v) for v in value[:20]] + (["…"] if len(value) > 20 else [])
    return value


# --- seeds: real envelopes for the user's current state --------------------------------------

def _tokens(rig: Rig, user: str, stage: str) -> list[str | None]:
    """Return tokens to send: the user's current, queued and recent ones, stale and made up.

    The list has the same length and kinds of values whatever the stored state is, so the
    same Hypothesis choices always build the same shape of envelope (replays must not drift).
    """
    state = PlaybackState.from_dict(rig.read(user).get("playback"))
    recent = (["calves|old|0|1"] * 3 + rig.templates[stage].tokens)[-3:]
    own = [state.token or "calves|none|0|0", state.enqueued_token or "calves|none|1|0", *recent]
    run = state.run_id or "run"
    made_up = [
        f"calves|{run}|99|1", f"calves|{run}|-1|0", f"upper-back|{run}|0|999", "calves|x|0|1",
        "|||", "a|b|c|d", "not-ours", "", str(Token("calves", run, 0, 10**30)),
    ]
    return [*own, *made_up, None]


def offsets() -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(0, 600_000), st.sampled_from(ABSURD_NUMBERS), st.integers())


@st.composite
def seed_envelope(draw: Any, user: str, tokens: list[str | None], foreign: list[str]) -> dict[str, Any]:
    """Draw a valid envelope of any kind, for this user, with real and foreign tokens."""
    token = st.sampled_from(tokens) | st.sampled_from(foreign or ["none"])
    common: dict[str, Any] = {"user": user, "supports_audio": draw(st.sampled_from([True, True, True, False]))}
    kind = draw(st.sampled_from(["launch", "intent", "intent", "start", "progress", "yes", "audio", "audio",
                                 "audio", "button", "system", "ended", "other"]))
    if kind in ("intent", "start", "progress", "yes") and draw(st.booleans()):
        common["audio_player"] = {"token": draw(token), "offsetInMilliseconds": draw(offsets()),
                                  "playerActivity": draw(st.sampled_from(
                                      ["PLAYING", "PAUSED", "STOPPED", "FINISHED", "IDLE", "BUFFER_UNDERRUN"]))}
    if kind == "launch":
        return alexa.launch(**common)
    if kind == "intent":
        return alexa.intent(draw(st.sampled_from(INTENTS)), new_session=draw(st.booleans()), **common)
    if kind == "start":
        slot = draw(st.sampled_from([("calves", "calves"), ("upper back", "upper-back"), "upper back", "calf",
                                     "knees", None, ("feet", "feet"), "neck and skull"]))
        return alexa.intent("StartRoutineIntent", {"routine": slot}, **common)
    if kind == "progress":
        slot = draw(st.sampled_from([("this week", "this_week"), ("last week", "last_week"),
                                     ("this month", "this_month"), "yesterday", "today", None]))
        return alexa.intent("ProgressIntent", {"period": slot}, **common)
    if kind == "yes":
        pending = draw(st.sampled_from(["resume", "start:calves", "start:upper-back", "start:nope", "forget",
                                        "", 7, None, ["x"]]))
        name = draw(st.sampled_from(["AMAZON.YesIntent", "AMAZON.NoIntent"]))
        return alexa.intent(name, session_attributes={"pending": pending}, **common)
    if draw(st.booleans()):
        common.pop("supports_audio")  # AudioPlayer events come from devices that have one
    if kind == "audio":
        return alexa.audio_event(draw(st.sampled_from(EVENTS)), draw(token), draw(offsets()), **common)
    if kind == "button":
        return alexa.button(draw(st.sampled_from(BUTTONS)), **common)
    if kind == "system":
        return alexa.envelope({"type": "System.ExceptionEncountered",
                               "error": {"type": "INVALID_RESPONSE", "message": "bad"},
                               "cause": {"requestId": "amzn1.echo-api.request.x"}}, session=False, **common)
    if kind == "ended":
        reason = draw(st.sampled_from(["USER_INITIATED", "ERROR", "EXCEEDED_MAX_REPROMPTS"]))
        return alexa.envelope({"type": "SessionEndedRequest", "reason": reason,
                               "error": {"type": "INTERNAL_SERVICE_ERROR", "message": "x"}}, **common)
    return alexa.envelope({"type": draw(st.sampled_from(OTHER_TYPES)), "token": draw(token)},
                          session=draw(st.booleans()), **common)


# --- mutations --------------------------------------------------------------------------------

JsonPath = tuple[Any, ...]


def paths(value: Any, prefix: JsonPath = ()) -> Iterator[JsonPath]:
    """Yield the path of every value inside a JSON document, depth first."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def get_at(doc: Any, path: JsonPath) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def set_at(doc: Any, path: JsonPath, value: Any) -> None:
    """Set the value at path, creating missing objects on the way (if the parents are objects)."""
    for key in path[:-1]:
        if isinstance(doc, dict):
            if not isinstance(doc.get(key), dict | list):
                doc[key] = {}
            doc = doc[key]
        elif isinstance(doc, list) and isinstance(key, int) and key < len(doc):
            doc = doc[key]
        else:
            return  # a parent was replaced by a scalar or a list on the way
    if isinstance(doc, dict) or (isinstance(doc, list) and isinstance(path[-1], int) and path[-1] < len(doc)):
        doc[path[-1]] = value


def delete_at(doc: Any, path: JsonPath) -> None:
    try:
        parent = get_at(doc, path[:-1])
        del parent[path[-1]]
    except (KeyError, IndexError, TypeError):
        pass


json_scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30))
json_values = st.recursive(
    json_scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=12,
)
weird_text = st.sampled_from(WEIRD) | st.text(
    st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def other_type_than(value: Any) -> st.SearchStrategy[Any]:
    options = {
        "NoneType": st.none(), "bool": st.booleans(), "number": st.integers() | st.floats(),
        "str": st.text(max_size=20), "list": st.lists(json_scalars, max_size=3),
        "dict": st.dictionaries(st.text(max_size=6), json_scalars, max_size=3),
    }
    options.pop(_kind(value), None)
    return st.one_of(*options.values())


DEEP = re.compile(r'"\\u0000DEEP(\d+)\\u0000"')


def deep(depth: int) -> str:
    """Return a marker that `encode` expands to `depth` nested arrays (too deep for json.dumps)."""
    return f"\x00DEEP{depth}\x00"


MUTATIONS = ("delete", "retype", "huge", "text", "number", "offset", "token", "type", "intent", "garbage", "device")


@st.composite
def mutated(draw: Any, envelope: dict[str, Any], foreign: list[str]) -> dict[str, Any]:
    """Apply zero to four random mutations to an envelope; zero keeps it valid."""
    doc = copy.deepcopy(envelope)
    for _ in range(draw(st.integers(0, 4))):
        every = list(paths(doc))
        present = [p for p in KEY_PATHS if _has(doc, p)]
        op = draw(st.sampled_from(MUTATIONS))
        note(f"mutation {op}")
        if op == "delete" and (present or every):
            path = draw(st.sampled_from(present or every) | st.sampled_from(every or present))
            delete_at(doc, path)
        elif op == "retype" and every:
            path = draw(st.sampled_from(every) | st.sampled_from(present or every))
            set_at(doc, path, draw(other_type_than(get_at(doc, path))))
        elif op in ("huge", "text"):
            strings = [p for p in every if isinstance(get_at(doc, p), str)] or every or [("request", "type")]
            path = draw(st.sampled_from(strings) | st.sampled_from(present or strings))
            if op == "huge":
                size = draw(st.sampled_from([1_000, 10_000, 100_000]))
                set_at(doc, path, draw(st.sampled_from(["x", "é", "🙂", "calves|", "<", "\\"])) * size)
            else:
                set_at(doc, path, draw(weird_text))
        elif op == "number":
            numbers = [p for p in every if _kind(get_at(doc, p)) in ("number", "bool")] or every
            if numbers:
                set_at(doc, draw(st.sampled_from(numbers)), draw(offsets()))
        elif op == "offset":
            where = draw(st.sampled_from([("request", "offsetInMilliseconds"),
                                          ("context", "AudioPlayer", "offsetInMilliseconds")]))
            set_at(doc, where, draw(offsets()))
        elif op == "token":
            where = draw(st.sampled_from([("request", "token"), ("context", "AudioPlayer", "token")]))
            set_at(doc, where, draw(st.sampled_from(foreign or ["x"]) | weird_text | st.none()))
        elif op == "type":
            set_at(doc, ("request", "type"), draw(st.sampled_from(KNOWN_TYPES + OTHER_TYPES) | weird_text))
        elif op == "intent":
            set_at(doc, ("request", "intent", "name"), draw(st.sampled_from(INTENTS) | weird_text))
        elif op == "device":
            set_at(doc, ("context", "System", "device", "deviceId"), draw(st.sampled_from(ODD_DEVICE_IDS)))
        elif op == "garbage":
            objects = [()] + [p for p in every if isinstance(get_at(doc, p), dict)]
            where = draw(st.sampled_from(objects))
            key = draw(st.text(max_size=12) | st.sampled_from(["request", "token", "type", "userId", "intent"]))
            value = draw(json_values | st.integers(1, 3_000).map(deep))
            target = get_at(doc, where)
            if isinstance(target, dict):
                target[key] = value
    return doc


def _has(doc: Any, path: JsonPath) -> bool:
    try:
        get_at(doc, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def encode(draw: Any, doc: Any) -> bytes:
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    # A lone surrogate is written as is: bytes that are not UTF-8 (with ensure_ascii, a \\ud800 escape).
    return DEEP.sub(lambda m: "[" * int(m.group(1)) + "]" * int(m.group(1)), text).encode("utf-8", "surrogatepass")


# --- the tests ----------------------------------------------------------------------------------

@settings(FUZZ, max_examples=EXAMPLES * 4 // 5)
@given(data=st.data())
def test_mutated_envelopes_get_200_or_400_and_leave_every_stored_document_valid(rig, data):
    stage = data.draw(st.sampled_from(STAGES), label="stage")
    user = f"amzn1.ask.account.FUZZ-{uuid.uuid4().hex}"
    template = copy.deepcopy(rig.templates[stage].doc)
    if template:
        rig.adapter.update(user, lambda _: template)
    foreign = [t for s, tmpl in rig.templates.items() if s != stage for t in tmpl.tokens[-2:]]
    for step in range(data.draw(st.integers(1, 3), label="steps")):
        seed = data.draw(seed_envelope(user, _tokens(rig, user, stage), foreign))
        envelope = data.draw(mutated(seed, foreign))
        note(f"step {step}: {json.dumps(brief(envelope))[:3000]}")
        exchange(rig, encode(data.draw, envelope), {user})


@st.composite
def raw_body(draw: Any) -> bytes:
    """Draw bytes that are not quite an Alexa envelope: noise, bare JSON, damaged envelopes."""
    valid = json.dumps(alexa.launch(user="amzn1.ask.account.FUZZ-RAW")).encode()
    kind = draw(st.sampled_from(["bytes", "json", "truncated", "flipped", "encoded", "wrapped"]))
    if kind == "bytes":
        return draw(st.binary(max_size=3_000))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "truncated":
        return valid[: draw(st.integers(0, len(valid) - 1))]
    if kind == "flipped":
        body = bytearray(valid)
        for _ in range(draw(st.integers(1, 8))):
            body[draw(st.integers(0, len(body) - 1))] = draw(st.integers(0, 255))
        return bytes(body)
    if kind == "encoded":
        text = valid.decode()
        return draw(st.sampled_from([text.encode("utf-16"), text.encode("utf-32"), b"\xef\xbb\xbf" + valid,
                                     text.encode("utf-16-le"), valid + b"\x00", b" \n" + valid + b"garbage"]))
    return json.dumps(draw(st.sampled_from([[], "x", 1, None, {"request": None}, {"request": "LaunchRequest"},
                                            {"request": {"type": 1}}, {"request": {"type": "LaunchRequest"}},
                                            {"request": {"type": "LaunchRequest"}, "context": []}]))).encode()


@settings(FUZZ, max_examples=EXAMPLES // 5)
@given(body=raw_body(), content_type=st.sampled_from(
    ["application/json", "application/json", "application/json; charset=utf-8", "text/plain",
     "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]))
def test_raw_bytes_and_broken_json_get_400_and_never_crash(rig, body, content_type):
    response = exchange(rig, body, {"amzn1.ask.account.FUZZ-RAW"}, content_type)
    if not content_type.startswith("application/json"):
        assert response.status_code == 400


def test_the_fuzzer_reaches_every_request_type_and_stage(rig):
    """Guard the generators: a refactor that stops them producing real requests must fail here."""
    seen_types: set[str] = set()
    seen_statuses: set[int] = set()

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(data=st.data())
    def sample(data):
        stage = data.draw(st.sampled_from(STAGES))
        user = f"amzn1.ask.account.FUZZ-COVER-{uuid.uuid4().hex}"
        seed = data.draw(seed_envelope(user, _tokens(rig, user, stage), rig.all_tokens()))
        seen_types.add(seed["request"]["type"])
        seen_statuses.add(rig.post(json.dumps(seed).encode()).status_code)

    sample()
    assert set(KNOWN_TYPES) <= seen_types, set(KNOWN_TYPES) - seen_types
    assert seen_statuses == {200, 400}, seen_statuses
